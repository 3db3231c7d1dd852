"""Several partitions read as one stream in timestamp order, as far as it is fetched.

A service that starts behind (a restart, a consumer that lagged) receives each
partition's backlog in fetch-sized runs: a minute of one nation's warnings, then a
minute of the next nation's. Processed in that order, a fusion service sees one
feed far ahead of the others, and what it decides then (which national track goes
with which) differs from what it decides on the same data live. Kafka Streams
answers this by picking, among the partitions' buffered head records, the one with
the smallest timestamp (its ``PartitionGroup``); :class:`TimeMerge` does the same
over what the consumer has fetched:

1. take everything already fetched (waiting up to the poll timeout only when
   nothing is buffered), up to ``capacity`` records held;
2. behind (the oldest head more than ``behind_s`` older than the wall clock), while
   an assigned partition holds nothing here but has records at the broker past what
   was fetched (its lag), hand out only heads stamped no later than its last fetched
   record, and when there are none, wait for its records - at most ``idle_s`` per
   partition until it next delivers, as Kafka Streams' ``max.task.idle.ms`` bounds it;
3. hand out up to ``max_messages`` records, each time the head of the partition
   whose head has the smallest timestamp (ties: the one fetched first).

Step 2 is why a backlog read after an outage comes out as it was published: the
fetcher returns one partition's minutes before it asks for the next partition's,
and merging only what is fetched would hand out one nation's whole backlog first
(after a broker freeze the bridge got Korea's 200 s of a salvo, then the others':
docs/score.md, "Stop 39"). Live, the heads are fresh and nothing waits; the lag is
asked of the broker only when behind, at most every ``recheck_s`` per partition
(Tansu may report an end short of the truth: then less is waited for, never more).

Each partition's own order is kept (a head is only ever taken from the front), so
offsets noted in the order handed out are always a prefix of each partition: a
checkpoint that commits them never skips a buffered record. Live, with nothing
buffered, records pass straight through. After the consumer is rewound to its
committed offsets, :meth:`TimeMerge.clear` drops what is held (it is fetched again).

A quiet poll is not a quiet stream while a partition still has records at the broker:
:meth:`TimeMerge.unfetched` says so (its end past the consumer's position), so that a
service does not let event time run on past records it has not fetched yet (the
bridge, restored after a broker freeze, ticked 75 s of event time before its first
fetch came and closed a track whose reports were waiting: docs/score.md, "Stop 44").

Timestamps are the records' own (CreateTime: when a producer published them;
LogAppendTime where a topic says so), compared across partitions without decoding
a value.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)

from trilink.errors import ConfigError
from trilink.kafka.consume import poll_batch

__all__ = ["TimeMerge"]

log = logging.getLogger(__name__)

Entry = tuple[int, int, Message]  # (timestamp ms, fetch order, record)
Key = tuple[str, int]


@dataclass
class TimeMerge:
    """``poll`` like :func:`~trilink.kafka.consume.poll_batch`, merged by timestamp."""

    consumer: Consumer
    capacity: int = 5_000  # records held between polls, at most (memory bound)
    idle_s: float = 0.0  # step 2's bound per partition; 0 waits for nothing
    behind_s: float = 2.0  # heads older than this (wall clock) are a backlog
    recheck_s: float = 0.25  # a partition's end asked of the broker at most this often
    timeout_s: float = 5.0  # for one such request
    stall_s: float = 10.0  # unfetched(): a partition behind this long without delivering
    wall_ms: Callable[[], float] = field(default=lambda: time.time() * 1e3, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    _queues: dict[Key, deque[Entry]] = field(default_factory=dict, init=False)
    _held: int = field(default=0, init=False)
    _order: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _next: dict[Key, int] = field(default_factory=dict, init=False)  # after the last fetched
    _last: dict[Key, int] = field(default_factory=dict, init=False)  # its timestamp
    _ends: dict[Key, tuple[float, int | None]] = field(default_factory=dict, init=False)
    _waited: dict[Key, float] = field(default_factory=dict, init=False)  # since, per partition
    _stalled: dict[Key, float] = field(default_factory=dict, init=False)  # unfetched() since
    _let_go: set[Key] = field(default_factory=set, init=False)  # stalled past stall_s

    waits: int = field(default=0, init=False)  # polls that waited in step 2 (a statistic)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ConfigError(f"capacity must be at least 1, got {self.capacity}")
        if min(self.idle_s, self.behind_s, self.recheck_s, self.stall_s) < 0.0:
            raise ConfigError("idle_s, behind_s, recheck_s and stall_s must not be negative")

    @property
    def held(self) -> int:
        """Records fetched and not handed out yet."""
        return self._held

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        """Up to ``max_messages`` records, the earliest first (steps 1 to 3)."""
        drained = self._fill(timeout if self._held == 0 else 0.0)
        while drained and self._held and max_messages > 0:
            lagging = self._lagging()
            if not lagging:
                break
            # What precedes every lagging partition's last fetched record precedes the
            # rest of it too (a partition's timestamps rise with its offsets): handed
            # out now; only what may come after a record still to fetch waits.
            ready = self._take(max_messages, min(self._last.get(k, -1) for k in lagging))
            if ready:
                return ready
            self.waits += 1
            now = self.monotonic()
            left = min(self._waited.setdefault(k, now) + self.idle_s for k in lagging) - now
            if left <= 0.0:
                log.warning("merge: waited %.1f s for %s; going on without", self.idle_s,
                            ", ".join(f"{t}[{p}]" for t, p in sorted(lagging)))  # fmt: skip
                break
            drained = self._fill(min(left, 0.1))
        return self._take(max_messages, None)

    def unfetched(self) -> bool:
        """Whether an assigned partition has records at the broker past the consumer's
        position (or, never fetched, past where it starts reading): a poll that
        returned nothing then means "not fetched yet", not "nothing was published".

        An end the broker does not give (unreachable) counts as unfetched. Ends are
        asked at most every ``recheck_s`` per partition; a partition unfetched for
        ``stall_s`` without delivering is let go (a warning) until it delivers again,
        so a fetch that cannot proceed holds a caller back for that long at most.
        """
        if self._held:
            return True
        try:
            positions = self.consumer.position(self.consumer.assignment())
        except KafkaException:
            return False
        now = self.monotonic()
        behind = False
        for tp in positions:
            key = (tp.topic, tp.partition)
            fetched = int(tp.offset) if tp.offset >= 0 else self._fetched(tp)
            end = self._end(tp, now, timeout_s=min(self.timeout_s, 1.0))
            if fetched is not None and end is not None and end <= fetched:
                self._stalled.pop(key, None)
                self._let_go.discard(key)
                continue
            since = self._stalled.setdefault(key, now)
            if now - since < self.stall_s:
                behind = True
            elif key not in self._let_go:
                self._let_go.add(key)
                log.warning("merge: %s[%d] has records at the broker (end %s, fetched %s) and "
                            "delivered none for %.0f s; going on without", tp.topic,
                            tp.partition, end, fetched, self.stall_s)  # fmt: skip
            if end is None:
                break  # the broker is not answering: one timeout per call is enough
        return behind

    def clear(self) -> None:
        """Forget what is held (the consumer was rewound: it is fetched again)."""
        self._queues.clear()
        self._next.clear()
        self._last.clear()
        self._ends.clear()
        self._waited.clear()
        self._stalled.clear()
        self._let_go.clear()
        self._held = 0

    def _fill(self, wait: float) -> bool:
        """Step 1; True if it took all that was fetched (room was left over)."""
        room = self.capacity - self._held
        if room <= 0:
            return False
        got = poll_batch(self.consumer, room, wait)
        for msg in got:
            self._add(msg)
        return len(got) < room

    def _add(self, msg: Message) -> None:
        kind, ms = msg.timestamp()
        stamp = ms if kind != TIMESTAMP_NOT_AVAILABLE and ms >= 0 else -1
        key = (str(msg.topic()), int(msg.partition() or 0))
        self._queues.setdefault(key, deque()).append((stamp, next(self._order), msg))
        self._next[key] = int(msg.offset() or 0) + 1
        self._last[key] = stamp
        self._waited.pop(key, None)  # it delivered: a later silence is waited for anew
        self._stalled.pop(key, None)
        self._let_go.discard(key)
        self._held += 1

    def _lagging(self) -> list[Key]:
        """Step 2's partitions to wait for: none unless behind; else those holding
        nothing here, not waited for past ``idle_s``, whose end is past what was
        fetched."""
        heads = [q[0][0] for q in self._queues.values() if q and q[0][0] >= 0]
        if not heads or self.wall_ms() - min(heads) <= self.behind_s * 1e3:
            return []
        try:
            assigned = self.consumer.assignment()
        except KafkaException:
            return []
        now = self.monotonic()
        out = []
        for tp in assigned:
            key = (tp.topic, tp.partition)
            if self._queues.get(key) or now - self._waited.get(key, now) >= self.idle_s:
                continue
            fetched, end = self._fetched(tp), self._end(tp, now)
            if fetched is not None and end is not None and end > fetched:
                out.append(key)
        return out

    def _fetched(self, tp: TopicPartition) -> int | None:
        """The offset after the last record fetched: the consumer's position if this
        merge has seen none of the partition's records yet, else where it starts
        reading (its group's committed offset, else the partition's start, as
        ``auto.offset.reset=earliest``); None if the broker does not say."""
        key = (tp.topic, tp.partition)
        if key in self._next:
            return self._next[key]
        part = [TopicPartition(tp.topic, tp.partition)]
        try:
            (pos,) = self.consumer.position(part)
            if pos.offset < 0:
                (pos,) = self.consumer.committed(part, timeout=self.timeout_s)
            start = int(pos.offset)
            if start < 0:
                start = self.consumer.get_watermark_offsets(
                    part[0], timeout=self.timeout_s, cached=False
                )[0]
        except KafkaException:
            return None
        self._next[key] = int(start)
        return int(start)

    def _end(self, tp: TopicPartition, now: float, timeout_s: float | None = None) -> int | None:
        """The partition's end at the broker (asked at most every ``recheck_s``; an
        unanswered request is remembered as None as long)."""
        key = (tp.topic, tp.partition)
        asked = self._ends.get(key)
        if asked is not None and now - asked[0] < self.recheck_s:
            return asked[1]
        end: int | None = None
        try:
            _low, high = self.consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition),
                timeout=self.timeout_s if timeout_s is None else timeout_s,
                cached=False,
            )
            end = int(high)
        except KafkaException:
            pass
        self._ends[key] = (now, end)
        return end

    def _take(self, max_messages: int, upto_ms: int | None) -> list[Message]:
        """Step 3, stopping at a head stamped after ``upto_ms`` if given."""
        heads = [(q[0][0], q[0][1], key) for key, q in self._queues.items() if q]
        heapq.heapify(heads)
        out: list[Message] = []
        while heads and len(out) < max_messages:
            if upto_ms is not None and heads[0][0] > upto_ms:
                break
            _, _, key = heapq.heappop(heads)
            queue = self._queues[key]
            out.append(queue.popleft()[2])
            if queue:
                heapq.heappush(heads, (queue[0][0], queue[0][1], key))
        self._held -= len(out)
        return out
