"""IMPACT deadlines: when each open system track's predicted impact falls due.

A heap of (predicted impact time, system track id) with at most one *live* entry
per track, the earliest queued: queueing a later time for a track that already has
one is a no-op, queueing an earlier one supersedes it (the old entry stays in the
heap, dead, and is skipped when popped). A prediction that moved later is not
chased here; whoever pops a deadline that is no longer due queues the new one.
Kept in memory only: a restarted engine queues every restored track again.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class ImpactSchedule:
    """The deadline heap; pops each track's live deadline once it falls due."""

    _heap: list[tuple[int, str]] = field(default_factory=list, init=False)
    _queued: dict[str, int] = field(default_factory=dict, init=False)  # the live entries

    def queue(self, track_id: str, time_us: int) -> None:
        """Make ``time_us`` the track's deadline unless an earlier one is queued."""
        queued = self._queued.get(track_id)
        if queued is None or time_us < queued:
            self._queued[track_id] = time_us
            heapq.heappush(self._heap, (time_us, track_id))

    def due(self, horizon_us: int) -> Iterator[str]:
        """Pop, in deadline order, the tracks whose live deadline is at or before
        ``horizon_us``; each leaves the schedule.

        Lazy, so what the caller queues while iterating is seen: a deadline queued at
        or before the horizon comes out of this same iteration.
        """
        while self._heap and self._heap[0][0] <= horizon_us:
            time_us, track_id = heapq.heappop(self._heap)
            if self._queued.get(track_id) != time_us:
                continue  # superseded by an earlier deadline
            del self._queued[track_id]
            yield track_id

    def __len__(self) -> int:
        """Tracks with a live deadline."""
        return len(self._queued)
