"""End offsets and consumer-group lag (for ``trilink topics`` and health checks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from trilink.config import KafkaConfig
from trilink.errors import KafkaError
from trilink.kafka.clients import admin, topic_partitions


def _list_offsets(
    client: AdminClient, parts: list[TopicPartition], spec: OffsetSpec, timeout: float
) -> dict[tuple[str, int], int]:
    futures = client.list_offsets({tp: spec for tp in parts}, request_timeout=timeout)
    out = {}
    for tp, future in futures.items():
        try:
            out[(tp.topic, tp.partition)] = future.result().offset
        except KafkaException as exc:
            raise KafkaError(f"cannot list offsets: {exc}", topic=tp.topic) from exc
    return out


def end_offsets(
    kafka: KafkaConfig, topics: Iterable[str], *, timeout: float = 10.0
) -> dict[tuple[str, int], int]:
    """(topic, partition) -> end offset (next offset to be written).

    On Tansu this is the first offset of the last record batch plus one (an
    under-estimate while batches hold several records).
    """
    client = admin(kafka)
    return _list_offsets(
        client, topic_partitions(client, topics, timeout), OffsetSpec.latest(), timeout
    )


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """How far a consumer group is behind on one partition."""

    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing here
    end: int
    lag: int


def group_lag(
    kafka: KafkaConfig, group: str, topics: Iterable[str], *, timeout: float = 10.0
) -> list[PartitionLag]:
    """Committed offset, end offset and lag of ``group`` on every partition of ``topics``.

    Without a commit the lag counts from the partition's first offset. Lag is
    clamped at 0 (Tansu's end offsets can trail the true end).
    """
    client = admin(kafka)
    parts = topic_partitions(client, topics, timeout)
    ends = _list_offsets(client, parts, OffsetSpec.latest(), timeout)
    starts = _list_offsets(client, parts, OffsetSpec.earliest(), timeout)
    # str(): confluent-kafka rejects str subclasses as group ids here.
    request = [ConsumerGroupTopicPartitions(str(group), parts)]
    try:
        answer = client.list_consumer_group_offsets(request, request_timeout=timeout)[
            group
        ].result()
    except KafkaException as exc:
        raise KafkaError(f"cannot read offsets of group {group!r}: {exc}") from exc
    lags = []
    for tp in answer.topic_partitions:
        key = (tp.topic, tp.partition)
        committed = tp.offset if tp.offset >= 0 else None
        base = committed if committed is not None else starts[key]
        lags.append(
            PartitionLag(tp.topic, tp.partition, committed, ends[key], max(0, ends[key] - base))
        )
    return sorted(lags, key=lambda lag: (lag.topic, lag.partition))
