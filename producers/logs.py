"""Reading logs back at a producer's start-up: its own warnings (the tail) and the launches.

Both read to the *true* end of each partition, which on the embedded broker is not the
end it reports (the first offset of the last batch + 1, see docs/embedded-broker.md):
first up to the reported end, then on until a short poll brings nothing more. Nobody
else writes a producer's topic while it starts, and launches that arrive later are
read by the same consumer afterwards, so nothing falls between the two.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from producers.errors import ProducerError
from producers.resume import PublishedMarks
from trilink.config import KafkaConfig
from trilink.errors import DecodeError, ValidationError
from trilink.kafka import Topic, consumer_config, poll_one, topic_partitions
from trilink.model import MissileWarning

log = logging.getLogger(__name__)

QUIET_S = 0.3  # a poll this long that brings nothing: past the true end
TIMEOUT_S = 30.0  # reading the reported ends takes longer: the broker is not answering


def read_to_end(
    consumer: Consumer,
    starts: Iterable[TopicPartition],
    *,
    timeout_s: float = TIMEOUT_S,
    quiet_s: float = QUIET_S,
) -> list[Message]:
    """Assign ``starts`` and return every record from there to the end, in the order read.

    The consumer stays assigned and positioned after the last record. Raises
    ProducerError if the reported ends are not reached within ``timeout_s``: a producer
    that cannot read what it published must not guess.
    """
    starts = list(starts)
    pending: dict[tuple[str, int], int] = {}
    for tp in starts:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False)
        except KafkaException as exc:
            raise ProducerError(
                f"cannot read the end of {tp.topic}[{tp.partition}]: {exc}"
            ) from exc
        if high > max(low, tp.offset):
            pending[(tp.topic, tp.partition)] = high - 1
    consumer.assign(starts)
    out: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while True:
        msg = poll_one(consumer, 0.2 if pending else quiet_s)
        if msg is not None:
            out.append(msg)
            key = (str(msg.topic()), int(msg.partition() or 0))
            if key in pending and int(msg.offset() or 0) >= pending[key]:
                del pending[key]
            continue
        if not pending:
            return out
        # A control record at the end delivers nothing but moves the position past it.
        for pos in consumer.position([TopicPartition(t, p) for t, p in pending]):
            if pos.offset >= 0 and pos.offset > pending[(pos.topic, pos.partition)]:
                del pending[(pos.topic, pos.partition)]
        if pending and time.monotonic() >= deadline:
            raise ProducerError(
                f"could not read to the end of {sorted(pending)} in {timeout_s:g} s"
            )


def read_published(
    kafka: KafkaConfig, topic: Topic[MissileWarning], *, tail: int, group: str
) -> PublishedMarks:
    """What ``topic`` holds, from the last ``tail`` (or more) records of each partition."""
    marks = PublishedMarks()
    consumer = Consumer(consumer_config(kafka, group))
    try:
        starts: list[TopicPartition] = []
        cut: set[int] = set()
        for tp in topic_partitions(consumer, [topic.name]):
            try:
                low, high = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S, cached=False)
            except KafkaException as exc:
                raise ProducerError(f"cannot read the end of {topic.name}: {exc}") from exc
            # The reported end may trail the true one: this reads at least ``tail``.
            start = max(low, high - tail)
            if start > low:
                cut.add(tp.partition)
            starts.append(TopicPartition(tp.topic, tp.partition, start))
        oldest: dict[int, int] = {}
        for msg in read_to_end(consumer, starts):
            try:
                warning = topic.decode(msg.value())
            except (DecodeError, ValidationError) as exc:
                log.warning("%s@%s: not a warning, ignored: %s", topic.name, msg.offset(), exc)
                continue
            marks.note(warning)
            p = int(msg.partition() or 0)
            oldest[p] = min(oldest.get(p, warning.reported_us), warning.reported_us)
        for p in sorted(cut):
            marks.cut(oldest.get(p))
    finally:
        consumer.close()
    return marks


def read_launch_log(consumer: Consumer, topic: str) -> list[Message]:
    """Every record on the launch topic so far; ``consumer`` then follows new ones."""
    return read_to_end(consumer, _from_beginning(consumer, topic))


def _from_beginning(consumer: Consumer, topic: str) -> list[TopicPartition]:
    starts = []
    for tp in topic_partitions(consumer, [topic]):
        try:
            low, _ = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S, cached=False)
        except KafkaException as exc:
            raise ProducerError(f"cannot read the start of {topic}: {exc}") from exc
        starts.append(TopicPartition(tp.topic, tp.partition, low))
    return starts
