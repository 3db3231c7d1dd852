"""A typed record reader: decoded trilink records from any topics, from any start position.

By default partitions are assigned explicitly (no group join, so reading starts at
once) through :mod:`trilink.kafka`'s ``assign_*`` helpers, which make "from now"
mean the same on every broker. With a ``group`` the reader subscribes instead and
commits what it has read, so a restarted consumer resumes where it stopped.

A one-shot read (``follow=False``) stops once every partition has reached the end
offset it had when reading began; a follower runs until stopped. Undecodable
records are yielded too, with the :class:`DecodeError` that says why, so tools can
show them instead of hiding them. Each topic decodes its own records: a typed
:class:`~trilink.kafka.Topic` rejects any other record type, an
:class:`~trilink.kafka.AnyTopic` takes whichever trilink record it finds.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from consumers.errors import ConsumerError
from consumers.positions import StartKind, StartPosition
from trilink.config import KafkaConfig
from trilink.errors import DecodeError, KafkaError
from trilink.kafka import (
    Source,
    assign_from_beginning,
    assign_from_now,
    assign_since,
    consumer_config,
    poll_one,
    topic_partitions,
)
from trilink.kafka.probe import check_reachable
from trilink.model import FusedAlert, MissileWarning, Record

log = logging.getLogger(__name__)

METADATA_TIMEOUT_S = 5.0
"""How long to wait for the broker to answer before calling it unreachable."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record read, with where it came from. Exactly one of ``record`` and
    ``error`` is set."""

    topic: str
    partition: int
    offset: int
    timestamp_us: int | None
    key: bytes | None
    value: bytes | None
    record: Record | None
    error: DecodeError | None = None


def identity(record: Record) -> tuple[str, ...] | None:
    """The key under which a record is a duplicate of another (None: never).

    An alert is (system track id, version) — the bridge's contract — and a
    warning its message id.
    """
    if isinstance(record, FusedAlert):
        return ("alert", record.system_track_id, str(record.version))
    if isinstance(record, MissileWarning):
        return ("warning", record.message_id)
    return None


def missing_topics(kafka: KafkaConfig, topics: Sequence[str]) -> list[str]:
    """The topics of ``topics`` the cluster does not have (yet)."""
    probe = Consumer(consumer_config(kafka, f"trilink-probe-{uuid.uuid4().hex[:8]}"))
    try:
        metadata = probe.list_topics(timeout=METADATA_TIMEOUT_S).topics
    except KafkaException as exc:
        raise KafkaError(f"cannot read metadata: {exc}") from exc
    finally:
        probe.close()
    return [
        t for t in topics if t not in metadata or metadata[t].error or not metadata[t].partitions
    ]


def wait_for_topics(kafka: KafkaConfig, topics: Sequence[str], timeout: float | None) -> None:
    """Wait until every topic exists (a follower may start before the topic's producer).
    ``timeout`` None waits forever; raises KafkaError when it runs out."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while missing := missing_topics(kafka, topics):
        if deadline is not None and time.monotonic() >= deadline:
            raise KafkaError(f"topic does not exist after {timeout:g} s", topic=missing[0])
        time.sleep(0.5)


def _timestamp_us(msg: Message) -> int | None:
    kind, millis = msg.timestamp()
    return None if kind == 0 or millis < 0 else millis * 1000  # 0: TIMESTAMP_NOT_AVAILABLE


class RecordReader:
    """Decoded records from ``topics``. Use as a context manager; not thread-safe."""

    def __init__(
        self,
        kafka: KafkaConfig,
        topics: Sequence[Source[Record]],
        *,
        group: str | None = None,
        dedupe: bool = True,
        client: dict[str, Any] | None = None,
    ) -> None:
        if not topics:
            raise ConsumerError("no topics to read")
        self._kafka = kafka
        self._sources = {t.name: t for t in topics}
        self._topics = list(self._sources)
        self._group = group
        self._dedupe = dedupe
        self._client = dict(client or {})
        self._consumer: Consumer | None = None
        self._ends: dict[tuple[str, int], int] = {}
        self._floors: dict[tuple[str, int], int] = {}
        self._seen: set[tuple[str, ...]] = set()
        self.duplicates = 0

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self, start: StartPosition) -> None:
        """Connect and position on every partition of the topics (raises KafkaError when
        the cluster is unreachable or a topic does not exist)."""
        check_reachable(self._kafka)
        reset = "earliest" if start.kind is StartKind.BEGINNING else "latest"
        group = self._group or f"trilink-cli-{uuid.uuid4().hex[:12]}"
        config = consumer_config(
            self._kafka,
            group,
            auto_commit=self._group is not None,
            **{"auto.offset.reset": reset, **self._client},
        )
        consumer = Consumer(config)
        self._consumer = consumer
        parts = topic_partitions(consumer, self._topics, METADATA_TIMEOUT_S)
        self._watermarks(consumer, parts)
        if self._group is not None:
            self._subscribe(consumer, start)
        elif start.kind is StartKind.BEGINNING:
            assign_from_beginning(consumer, self._topics, timeout=METADATA_TIMEOUT_S)
        elif start.kind is StartKind.NOW:
            assign_from_now(consumer, self._topics, timeout=METADATA_TIMEOUT_S)
        else:
            assert start.since_us is not None
            assign_since(consumer, self._topics, start.since_us, timeout=METADATA_TIMEOUT_S)

    def open_at(self, starts: Sequence[TopicPartition]) -> None:
        """Connect and assign exactly ``starts`` (topic, partition, offset); a one-shot
        read then stops at those partitions' current ends."""
        check_reachable(self._kafka)
        group = f"trilink-cli-{uuid.uuid4().hex[:12]}"
        consumer = Consumer(consumer_config(self._kafka, group, **self._client))
        self._consumer = consumer
        self._watermarks(consumer, list(starts))
        for tp in starts:
            where = (tp.topic, tp.partition)
            self._floors[where] = max(self._floors[where], tp.offset)
        consumer.assign(list(starts))

    def _subscribe(self, consumer: Consumer, start: StartPosition) -> None:
        def on_assign(c: Consumer, parts: list[TopicPartition]) -> None:
            if start.kind is StartKind.SINCE and start.since_us is not None:
                query = [
                    TopicPartition(p.topic, p.partition, start.since_us // 1000) for p in parts
                ]
                found = c.offsets_for_times(query, timeout=METADATA_TIMEOUT_S)
                c.assign([p for p in found if p.offset >= 0] or parts)

        consumer.subscribe(self._topics, on_assign=on_assign)

    def _watermarks(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        for tp in parts:
            try:
                low, high = consumer.get_watermark_offsets(
                    tp, timeout=METADATA_TIMEOUT_S, cached=False
                )
            except KafkaException as exc:
                raise KafkaError(
                    f"cannot read end offset: {exc}", topic=tp.topic, partition=tp.partition
                ) from exc
            self._ends[(tp.topic, tp.partition)] = high
            self._floors[(tp.topic, tp.partition)] = low

    def read(
        self,
        *,
        follow: bool,
        max_records: int | None = None,
        idle_timeout: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[Delivery]:
        """Records in arrival order (per partition in offset order).

        Ends after ``max_records``, after ``idle_timeout`` seconds with nothing new,
        when ``stop()`` turns true, or — unless ``follow`` — once the end offsets
        seen at :meth:`open` are reached.
        """
        consumer = self._require()
        pending = (
            set() if follow else {tp for tp, end in self._ends.items() if end > self._floors[tp]}
        )
        count = 0
        idle_since = time.monotonic()
        while max_records is None or count < max_records:
            if stop is not None and stop():
                return
            msg = poll_one(consumer, 0.1)
            if msg is None:
                if not follow and not self._still_pending(consumer, pending):
                    return
                if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                    return
                continue
            idle_since = time.monotonic()
            where = (str(msg.topic()), int(msg.partition() or 0))
            offset = int(msg.offset() or 0)
            if where in pending and offset + 1 >= self._ends[where]:
                pending.discard(where)
            delivery = self._decode(msg, where, offset)
            if delivery is None:
                continue
            count += 1
            yield delivery

    def _still_pending(self, consumer: Consumer, pending: set[tuple[str, int]]) -> bool:
        """Drop partitions whose position passed their end (control records deliver
        nothing but still move the position); True while any is left."""
        if pending:
            for pos in consumer.position([TopicPartition(t, p) for t, p in pending]):
                if pos.offset >= 0 and pos.offset >= self._ends[(pos.topic, pos.partition)]:
                    pending.discard((pos.topic, pos.partition))
        return bool(pending)

    def _decode(self, msg: Message, where: tuple[str, int], offset: int) -> Delivery | None:
        value = msg.value()
        record: Record | None = None
        error: DecodeError | None = None
        try:
            record = self._sources[where[0]].decode(value)
        except DecodeError as exc:
            error = exc
        if record is not None and self._dedupe:
            key = identity(record)
            if key is not None:
                if key in self._seen:
                    self.duplicates += 1
                    return None
                self._seen.add(key)
        return Delivery(
            topic=where[0],
            partition=where[1],
            offset=offset,
            timestamp_us=_timestamp_us(msg),
            key=msg.key(),
            value=value,
            record=record,
            error=error,
        )

    def _require(self) -> Consumer:
        if self._consumer is None:
            raise ConsumerError("reader is not open")
        return self._consumer

    def close(self) -> None:
        """Leave the group (if any) and close the consumer."""
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                consumer.close()
            except (KafkaException, RuntimeError) as exc:  # already closed or broker gone
                log.debug("closing consumer: %s", exc)
