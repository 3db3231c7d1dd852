"""Polling that handles every error case, and explicit partition assignment.

Explicit assignment (no group join) is how trilink reads "from now", "from the
beginning" or "since a time" the same way on every broker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_STORED,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka import KafkaError as ConfluentError

from trilink.errors import KafkaError
from trilink.kafka.clients import topic_partitions

log = logging.getLogger(__name__)


def _checked(msg: Message, strict: bool) -> Message | None:
    err = msg.error()
    if err is None:
        return msg
    if err.code() == ConfluentError._PARTITION_EOF:
        return None
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if strict or err.fatal():
        raise KafkaError(
            f"consume failed: {err.str()}", topic=topic, partition=partition, offset=offset
        )
    log.warning("consume error (continuing): %s at %s[%s]@%s", err.str(), topic, partition, offset)
    return None


def poll_one(consumer: Consumer, timeout: float = 1.0, *, strict: bool = False) -> Message | None:
    """One message, or None (nothing in time, partition EOF, or a logged transient error).

    Fatal errors (and, with ``strict``, any error) raise KafkaError with
    topic/partition/offset.
    """
    msg = consumer.poll(timeout)
    return None if msg is None else _checked(msg, strict)


def poll_batch(
    consumer: Consumer, max_messages: int = 500, timeout: float = 0.1, *, strict: bool = False
) -> list[Message]:
    """Up to ``max_messages`` good messages: waits at most ``timeout`` for the first,
    then takes only what is already fetched.

    ``Consumer.consume(n, timeout)`` alone returns when ``n`` messages are queued *or*
    the timeout passes, so at low rates every batch would wait the full timeout:
    latency would be set by the poll timeout, not by the data.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    out = []
    good = _checked(first, strict)
    if good is not None:
        out.append(good)
    if max_messages > 1:
        for msg in consumer.consume(max_messages - 1, 0):
            good = _checked(msg, strict)
            if good is not None:
                out.append(good)
    return out


def iter_messages(
    consumer: Consumer,
    timeout: float | None = 1.0,
    *,
    max_messages: int | None = None,
    stop: Callable[[], bool] | None = None,
    strict: bool = False,
) -> Iterator[Message]:
    """Messages as they arrive. Ends once ``timeout`` seconds pass without one
    (None: never), after ``max_messages``, or when ``stop()`` turns true."""
    count = 0
    idle_since = time.monotonic()
    while max_messages is None or count < max_messages:
        if stop is not None and stop():
            return
        msg = poll_one(consumer, 0.1, strict=strict)
        if msg is not None:
            count += 1
            idle_since = time.monotonic()
            yield msg
        elif timeout is not None and time.monotonic() - idle_since >= timeout:
            return


def assign_from_beginning(
    consumer: Consumer, topics: Iterable[str], *, timeout: float = 10.0
) -> list[TopicPartition]:
    """Assign every partition of ``topics`` from its first offset (no group join)."""
    parts = [
        TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
        for tp in topic_partitions(consumer, topics, timeout)
    ]
    consumer.assign(parts)
    return parts


def assign_from_now(
    consumer: Consumer, topics: Iterable[str], *, timeout: float = 10.0, settle: float = 2.0
) -> list[TopicPartition]:
    """Assign every partition of ``topics`` so that only records produced after
    this call returns are delivered.

    Tansu reports a partition's end as the *first* offset of its last record
    batch plus one, so seeking to the reported end (or ``auto.offset.reset=
    latest``) replays the rest of that batch. Instead: assign at end - 1, then
    read and discard until each such partition has delivered (or passed) that
    offset and the local queue is empty; correct on Apache Kafka too. Gives up
    waiting after ``settle`` seconds (e.g. an open transaction) and carries on.
    """
    starts = []
    pending: dict[tuple[str, int], int] = {}
    for tp in topic_partitions(consumer, topics, timeout):
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
        except KafkaException as exc:
            raise KafkaError(f"cannot read end offset: {exc}", topic=tp.topic) from exc
        offset = high - 1 if high > low else high
        if high > low:
            pending[(tp.topic, tp.partition)] = offset
        starts.append(TopicPartition(tp.topic, tp.partition, offset))
    consumer.assign(starts)
    _skip_backlog(consumer, pending, settle)
    return starts


def _skip_backlog(consumer: Consumer, pending: dict[tuple[str, int], int], settle: float) -> None:
    deadline = time.monotonic() + settle
    while pending and time.monotonic() < deadline:
        msg = poll_one(consumer, 0.05)
        if msg is not None:
            pending.pop((str(msg.topic()), int(msg.partition() or 0)), None)
            continue
        # A control record (transaction marker) at end - 1 delivers nothing but
        # still moves the position past it.
        for pos in consumer.position([TopicPartition(t, p) for t, p in pending]):
            if pos.offset >= 0 and pos.offset > pending[(pos.topic, pos.partition)]:
                pending.pop((pos.topic, pos.partition), None)
    if pending:
        log.warning("assign_from_now: gave up skipping the backlog of %s", sorted(pending))
    while poll_one(consumer, 0.0) is not None:  # the rest of the last batches, already fetched
        pass


def assign_since(
    consumer: Consumer, topics: Iterable[str], time_us: int, *, timeout: float = 10.0
) -> list[TopicPartition]:
    """Assign every partition of ``topics`` from the first record at or after ``time_us``.

    Uses the broker's time index (``offsets_for_times``). Tansu ignores the
    timestamp and answers the earliest offset, so there this replays more;
    compare ``msg.timestamp()`` if exactness matters.
    """
    parts = topic_partitions(consumer, topics, timeout)
    query = [TopicPartition(tp.topic, tp.partition, time_us // 1000) for tp in parts]
    try:
        found = consumer.offsets_for_times(query, timeout=timeout)
    except KafkaException as exc:
        raise KafkaError(f"cannot look up offsets by time: {exc}") from exc
    starts = []
    for tp in found:
        if tp.error is not None:
            raise KafkaError(
                f"offset lookup failed: {tp.error}", topic=tp.topic, partition=tp.partition
            )
        offset = tp.offset
        if offset < 0:  # nothing that recent: start at the end
            offset = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)[1]
        starts.append(TopicPartition(tp.topic, tp.partition, offset))
    consumer.assign(starts)
    return starts


def rewind(consumer: Consumer) -> list[TopicPartition]:
    """Put every assigned partition of ``consumer`` back at its group's committed offset
    (``auto.offset.reset`` where nothing is committed); returns the new assignment.

    Re-assigning rather than seeking also drops the messages already fetched past
    the committed offsets, and works on partitions that have not started fetching.
    """
    try:
        assigned = consumer.assignment()
        starts = [TopicPartition(tp.topic, tp.partition, OFFSET_STORED) for tp in assigned]
        if starts:
            consumer.assign(starts)
    except KafkaException as exc:
        raise KafkaError(f"cannot rewind the consumer: {exc}") from exc
    return starts
