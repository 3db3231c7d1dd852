"""What the bridge will publish, held back for at most a commit interval.

Every batch touches system tracks, and the engine snapshots each one it touched
(step 6 of its walk). Committed with every batch, those snapshots made every batch
a transaction of its own: at 1,000 warnings/s the bridge committed ~140
transactions a second, each costing broker round trips (produce, offsets, end),
and a batch with an alert due waited for the previous batch's snapshot-only
commit to finish before its own could start. Draining a backlog, every full batch
built and encoded a snapshot of every track it touched (~120 µs each), to be
superseded by the next batch's.

A snapshot is only read after a restart, and only the newest per track counts
(the state topic is compacted, and ``bridge.recovery`` keeps the last per key), so
it need not be published at once. Like Kafka Streams' ``commit.interval.ms``, the
:class:`Outbox` holds output for at most ``interval_s``: the ids of the tracks
touched (each is snapshotted once, as it stands when the commit is made:
``Engine(snapshots=False)``, ``Engine.snapshots_of``) and tombstones always,
alerts and dead letters only while the bridge is behind (more input is fetched and
waiting: a backlog, whose alerts report what is already older than a commit
interval). Live, an alert or a dead letter is committed with the batch that made
it, together with whatever is held.

Exactly-once is unchanged: a batch left uncommitted has its offsets left
uncommitted too (they ride with the next commit, as a batch that produced nothing
already did), so the committed offsets, snapshots and alerts always describe the
same point of the input. A crash replays at most ``interval_s`` of input from the
committed offsets onto the committed snapshots, as a rewind after an aborted
transaction already did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from trilink.kafka import Outgoing

__all__ = ["Outbox", "Release"]


@dataclass(frozen=True, slots=True)
class Release:
    """What one commit publishes: the alerts and dead letters, already encoded (and
    labelled: their labels are those of when they were issued), in the order they
    were issued; the tracks to snapshot (touched, in the order first touched), and the
    tombstones."""

    records: list[Outgoing]
    touched: list[str]
    tombstones: list[str]
    alerts: int
    dead_letters: int

    @property
    def empty(self) -> bool:
        return not (self.records or self.touched or self.tombstones)


@dataclass
class Outbox:
    """Output not yet handed to the checkpoint."""

    interval_s: float
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    _records: list[Outgoing] = field(default_factory=list, init=False)
    _alerts: int = field(default=0, init=False)
    _dead_letters: int = field(default=0, init=False)
    # Track id -> True while it is to be snapshotted, False once it is a tombstone.
    _tracks: dict[str, bool] = field(default_factory=dict, init=False)
    _since: float | None = field(default=None, init=False)  # when the oldest came in

    def __len__(self) -> int:
        return len(self._records) + len(self._tracks)

    @property
    def urgent(self) -> bool:
        """Whether alerts or dead letters are held (what a live bridge never holds)."""
        return bool(self._records)

    def hold(
        self,
        records: Sequence[Outgoing],
        touched: Sequence[str] = (),
        tombstones: Sequence[str] = (),
        *,
        alerts: int = 0,
        dead_letters: int = 0,
    ) -> None:
        """Take encoded alerts and dead letters (``alerts`` and ``dead_letters`` of
        ``records``), the ids of tracks touched and tombstones (which replace them)."""
        if not (records or touched or tombstones):
            return
        if self._since is None:
            self._since = self.monotonic()
        self._records += records
        self._alerts += alerts
        self._dead_letters += dead_letters
        for track_id in touched:
            self._tracks.setdefault(track_id, True)
        for track_id in tombstones:
            self._tracks[track_id] = False

    def due(self) -> bool:
        """Whether the oldest output held has waited ``interval_s``."""
        return self._since is not None and self.monotonic() - self._since >= self.interval_s

    def release(self) -> Release:
        """Everything held, to commit at once; nothing is held after."""
        touched = [t for t, live in self._tracks.items() if live]
        tombstones = [t for t, live in self._tracks.items() if not live]
        out = Release(self._records, touched, tombstones, self._alerts, self._dead_letters)
        self.clear()
        return out

    def clear(self) -> None:
        """Drop what is held (the engine is being rebuilt from the committed state, and
        the input behind it is read again)."""
        self._records, self._tracks = [], {}
        self._alerts = self._dead_letters = 0
        self._since = None
