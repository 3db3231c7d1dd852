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
2. hand out up to ``max_messages`` records, each time the head of the partition
   whose head has the smallest timestamp (ties: the one fetched first).

Each partition's own order is kept (a head is only ever taken from the front), so
offsets noted in the order handed out are always a prefix of each partition: a
checkpoint that commits them never skips a buffered record. Live, with nothing
buffered, records pass straight through. After the consumer is rewound to its
committed offsets, :meth:`TimeMerge.clear` drops what is held (it is fetched again).

Timestamps are the records' own (CreateTime: when a producer published them;
LogAppendTime where a topic says so), compared across partitions without decoding
a value.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, Message

from trilink.errors import ConfigError
from trilink.kafka.consume import poll_batch

__all__ = ["TimeMerge"]

Entry = tuple[int, int, Message]  # (timestamp ms, fetch order, record)


@dataclass
class TimeMerge:
    """``poll`` like :func:`~trilink.kafka.consume.poll_batch`, merged by timestamp."""

    consumer: Consumer
    capacity: int = 5_000  # records held between polls, at most (memory bound)
    _queues: dict[tuple[str, int], deque[Entry]] = field(default_factory=dict, init=False)
    _held: int = field(default=0, init=False)
    _order: itertools.count[int] = field(default_factory=itertools.count, init=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ConfigError(f"capacity must be at least 1, got {self.capacity}")

    @property
    def held(self) -> int:
        """Records fetched and not handed out yet."""
        return self._held

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        """Up to ``max_messages`` records, the earliest first (steps 1 and 2)."""
        room = self.capacity - self._held
        if room > 0:
            wait = timeout if self._held == 0 else 0.0
            for msg in poll_batch(self.consumer, room, wait):
                self._add(msg)
        return self._take(max_messages)

    def clear(self) -> None:
        """Forget what is held (the consumer was rewound: it is fetched again)."""
        self._queues.clear()
        self._held = 0

    def _add(self, msg: Message) -> None:
        kind, ms = msg.timestamp()
        stamp = ms if kind != TIMESTAMP_NOT_AVAILABLE and ms >= 0 else -1
        key = (str(msg.topic()), int(msg.partition() or 0))
        self._queues.setdefault(key, deque()).append((stamp, next(self._order), msg))
        self._held += 1

    def _take(self, max_messages: int) -> list[Message]:
        heads = [(q[0][0], q[0][1], key) for key, q in self._queues.items() if q]
        heapq.heapify(heads)
        out: list[Message] = []
        while heads and len(out) < max_messages:
            _, _, key = heapq.heappop(heads)
            queue = self._queues[key]
            out.append(queue.popleft()[2])
            if queue:
                heapq.heappush(heads, (queue[0][0], queue[0][1], key))
        self._held -= len(out)
        return out
