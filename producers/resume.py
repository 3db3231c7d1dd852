"""Resuming a national producer after a restart: which launches to replay, which warnings
its topic already holds (pure; the reading is in :mod:`producers.logs`).

A producer killed mid-salvo loses its trackers. Since the national simulation is
deterministic (same launches and seeds, same warnings, whatever the stepping) and track
ids depend only on the scenario (:func:`producers.national.scenario_tag`), a restarted
producer rebuilds its picture by *replay*:

1. the launches of the session still worth flying (:func:`replay_selection`) are read again
   from the launch topic and given to fresh simulations, each advanced first to the
   time its record was written, as the live loop would have been;
2. the tail of its own warnings topic tells what it already published
   (:class:`PublishedMarks`): per track the highest sequence, per scenario the newest
   ``reported_us``;
3. the simulations are advanced to now and every warning goes through
   :meth:`PublishedMarks.published`: what the topic has is suppressed;
4. of what came due while it was down, :func:`catch_up` keeps each track's newest
   report (its current state, or its end), which is published at once; from then on
   every new warning is published as it comes due.

The bridge therefore sees the same track ids continue with higher sequence numbers: a
restart is not a new missile, and no (track, sequence) carries two reports.

Why not publish the whole backlog: at 20x a few seconds down are minutes of scenario
time, and a burst of minutes-old reports (a boost-phase INITIAL whose predicted impact
time has passed, superseded updates) makes the bridge found system tracks it closes at
once and mis-associate the salvo; a track's newest report is what a late joiner needs.
Sequence numbers then jump, which the bridge accepts (it drops only replays).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trilink.model import LaunchEvent, MissileWarning, TrackStatus

DEFAULT_WINDOW_S = 2 * 3600.0
"""Launches older than this (scenario time) are not replayed: their flights are over."""
DEFAULT_TAIL = 5000
"""Records read back per partition of the producer's own topic at start-up."""
# A launch record written this long before the session clock was (re)defined still
# belongs to it: the clock's set time and the record's timestamp are read from two
# processes' wall clocks, in µs and ms.
CLOCK_SLACK_US = 1_000_000


def replay_selection(
    launches: Sequence[tuple[LaunchEvent, int | None]],
    *,
    now_us: int,
    window_us: int,
    clock_set_at_us: int,
) -> list[int]:
    """Which of the launches read back at start-up are flown again (their indices, in
    log order).

    ``launches`` pairs each launch with its record's (wall) timestamp, None if the
    broker gave none; ``now_us`` is session time. A launch injected before the session
    clock in force was set belongs to an earlier session, whose launch times mean
    nothing on this clock. A scenario is replayed whole or not at all (its track ids
    are numbered over all its launches): whole if any of its launches is less than
    ``window_us`` before now, none if all have long come down.
    """
    current = [
        i
        for i, (_, written) in enumerate(launches)
        if written is None or written + CLOCK_SLACK_US >= clock_set_at_us
    ]
    latest: dict[tuple[str, int], int] = {}
    for i in current:
        event = launches[i][0]
        key = scenario_key(event)
        latest[key] = max(latest.get(key, event.launch_time_us), event.launch_time_us)
    return [i for i in current if latest[scenario_key(launches[i][0])] > now_us - window_us]


def scenario_key(event: LaunchEvent) -> tuple[str, int]:
    """The scenario a launch belongs to: its id and start (one simulation each)."""
    return (event.scenario_id, event.scenario_start_us or event.launch_time_us)


@dataclass(slots=True)
class PublishedMarks:
    """What a nation's warnings topic already holds, as far as its tail tells.

    ``complete`` says the tail reached the first record of every partition: then a
    track without a sequence mark was never published at all. When some partition's
    tail was cut (more than the tail's length on it), a track without a mark may have
    scrolled out of it; its warnings count as published up to its scenario's newest
    ``reported_us``, or up to ``floor_us`` for a scenario not in the tail either.
    The floor is the oldest ``reported_us`` a cut tail holds: the producer publishes
    each warning as soon as it is due, so everything reported before that one had gone
    out by the time it did.
    """

    sequences: dict[str, int] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    floor_us: int = 0
    records: int = 0

    def note(self, warning: MissileWarning) -> None:
        """Count ``warning`` (read back from the topic) as published."""
        self.records += 1
        track = warning.track_id
        self.sequences[track] = max(self.sequences.get(track, 0), warning.sequence)
        scenario = warning.scenario_id
        self.reported[scenario] = max(self.reported.get(scenario, 0), warning.reported_us)

    def cut(self, oldest_reported_us: int | None) -> None:
        """A partition's tail did not reach its start; ``oldest_reported_us`` is the
        oldest ``reported_us`` read from it (None if nothing in it could be read)."""
        self.complete = False
        if oldest_reported_us is not None:
            self.floor_us = max(self.floor_us, oldest_reported_us)

    def published(self, warning: MissileWarning) -> bool:
        """Whether the topic already holds ``warning`` (by its track and sequence)."""
        sequence = self.sequences.get(warning.track_id)
        if sequence is not None:
            # Records of one key stay in order in their partition: its highest
            # sequence is exact, and a later report of the track continues after it.
            return warning.sequence <= sequence
        if self.complete:
            return False
        mark = self.reported.get(warning.scenario_id, self.floor_us)
        return warning.reported_us <= max(mark, self.floor_us)

    @property
    def empty(self) -> bool:
        return not self.records


def catch_up(due: Iterable[MissileWarning], marks: PublishedMarks) -> list[MissileWarning]:
    """What to publish of the warnings that came due while the producer was down (none of
    them on the topic): per track its newest, in reporting order; nothing of a track the
    topic never had that has already ended (it would only open a track to close it)."""
    newest: dict[str, MissileWarning] = {}
    for w in due:
        held = newest.get(w.track_id)
        if held is None or w.sequence > held.sequence:
            newest[w.track_id] = w
    ended = (TrackStatus.IMPACTED, TrackStatus.LOST)
    chosen = [w for w in newest.values() if w.track_id in marks.sequences or w.status not in ended]
    return sorted(chosen, key=lambda w: (w.reported_us, w.track_id))


@dataclass(slots=True)
class ResumeStats:
    """What a start-up replay did (logged, and read by tests)."""

    launches_read: int = 0
    launches_replayed: int = 0
    marks: PublishedMarks = field(default_factory=PublishedMarks)
    suppressed: int = 0  # warnings the replay produced that the topic already held
    caught_up: int = 0  # warnings published by the start-up catch-up (due while down)
    superseded: int = 0  # warnings due while down that the catch-up left out
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for the log."""
        marks = self.marks
        tail = "whole topic" if marks.complete else "tail"
        return (
            f"replayed {self.launches_replayed} of {self.launches_read} launches; "
            f"{marks.records} warnings read back ({tail}, {len(marks.sequences)} tracks); "
            f"{self.suppressed} suppressed as already published; of those due while down "
            f"{self.caught_up} published, {self.superseded} superseded; {self.seconds:.1f} s"
        )
