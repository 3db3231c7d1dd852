"""Look inside any topic: decode each record, whichever framing it uses, or say why not.

``trilink inspect`` is the tool for "what is actually on this topic?": it reads
raw records from chosen offsets and reports, per record, the framing (Avro
single-object with its schema fingerprint, or Confluent with its schema id), the
schema, and the decoded record — or the :class:`DecodeError` reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from consumers.errors import ConsumerError
from consumers.reader import METADATA_TIMEOUT_S, Delivery, RecordReader, check_reachable
from consumers.render import jsonable
from trilink.codec import CONFLUENT_MAGIC, SINGLE_OBJECT_MAGIC, Codec
from trilink.config import KafkaConfig
from trilink.errors import KafkaError
from trilink.kafka import AnyTopic, consumer_config, topic_partitions


def framing_of(value: bytes | None) -> str:
    """What the header of ``value`` claims, without decoding the body."""
    if value is None:
        return "null (tombstone)"
    if not value:
        return "empty"
    if value[:2] == SINGLE_OBJECT_MAGIC and len(value) >= 10:
        return f"single-object fingerprint {value[2:10].hex()}"
    if value[:1] == CONFLUENT_MAGIC and len(value) >= 5:
        return f"confluent schema id {int.from_bytes(value[1:5], 'big')}"
    return f"unknown framing (first byte 0x{value[0]:02x})"


@dataclass(frozen=True, slots=True)
class Inspection:
    """One record as ``inspect`` reports it."""

    delivery: Delivery

    @property
    def framing(self) -> str:
        return framing_of(self.delivery.value)

    @property
    def schema(self) -> str | None:
        record = self.delivery.record
        return None if record is None else record.SCHEMA

    @property
    def ok(self) -> bool:
        return self.delivery.record is not None

    def to_json(self) -> dict[str, Any]:
        """Where, framing, and the record (times ISO) or the error with its reason."""
        d = self.delivery
        out: dict[str, Any] = {
            "topic": d.topic,
            "partition": d.partition,
            "offset": d.offset,
            "timestamp_us": d.timestamp_us,
            "key": None if d.key is None else d.key.decode("utf-8", "backslashreplace"),
            "size": None if d.value is None else len(d.value),
            "framing": self.framing,
        }
        out = jsonable(out)
        if d.record is not None:
            out["schema"] = d.record.SCHEMA
            out["record"] = jsonable(d.record)
        elif d.error is not None:
            out["error"] = {"type": d.error.error_type, "reason": d.error.reason}
        return out


def _starts(
    kafka: KafkaConfig, topic: str, partition: int | None, offset: int | None
) -> list[TopicPartition]:
    """Start offsets: ``offset`` on each chosen partition (negative counts back from the end;
    None is the first offset)."""
    check_reachable(kafka)
    probe = Consumer(consumer_config(kafka, "trilink-inspect-probe"))
    try:
        parts = topic_partitions(probe, [topic], METADATA_TIMEOUT_S)
        if partition is not None:
            chosen = [tp for tp in parts if tp.partition == partition]
            if not chosen:
                raise ConsumerError(
                    f"topic {topic} has no partition {partition} (it has 0..{len(parts) - 1})"
                )
            parts = chosen
        starts = []
        for tp in parts:
            try:
                low, high = probe.get_watermark_offsets(
                    tp, timeout=METADATA_TIMEOUT_S, cached=False
                )
            except KafkaException as exc:
                raise KafkaError(
                    f"cannot read offsets: {exc}", topic=topic, partition=tp.partition
                ) from exc
            if offset is None:
                start = low
            elif offset < 0:
                start = max(low, high + offset)
            else:
                start = max(low, offset)
            starts.append(TopicPartition(topic, tp.partition, start))
        return starts
    finally:
        probe.close()


def inspect_topic(
    kafka: KafkaConfig,
    codec: Codec,
    topic: str,
    *,
    partition: int | None = None,
    offset: int | None = None,
    count: int = 10,
    idle_timeout: float = 5.0,
) -> Iterator[Inspection]:
    """Up to ``count`` records of ``topic`` from ``offset`` (on every partition, or on
    ``partition``), stopping at the ends the partitions had when it began."""
    if count < 1:
        raise ConsumerError("--count must be at least 1")
    starts = _starts(kafka, topic, partition, offset)
    with RecordReader(kafka, [AnyTopic(topic, codec)], dedupe=False) as reader:
        reader.open_at(starts)
        for delivery in reader.read(follow=False, max_records=count, idle_timeout=idle_timeout):
            yield Inspection(delivery)
