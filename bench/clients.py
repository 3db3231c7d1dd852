"""Kafka clients for the load generators and probes, with the settings listed in the report.

They are the pipeline's own settings (``trilink.kafka.producer_config`` /
``consumer_config``, what the national producers and the bridge use) on topics with
the pipeline's partition count, plus ``BENCH_CLIENT``, which the bench also hands
to the bridge and the passthrough so that every consumer in a run fetches alike.
Probes use ``assign()`` from offset 0 of fresh topics, never a group join (which
costs about ``session.timeout.ms / 2`` on Tansu).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from trilink.config import KafkaConfig
from trilink.kafka import consumer_config, ensure_topics, producer_config

# Tansu holds a fetch for the full fetch.wait.max.ms (0 delivers nothing): 1 ms is
# the smallest useful wait.
BENCH_CLIENT: Mapping[str, Any] = MappingProxyType({"fetch.wait.max.ms": 1})
PARTITIONS = 3  # ensure_topics' default, as the pipeline's topics have
# The paced load producers batch for up to 20 ms. Tansu's memory storage serves a
# partition ever more slowly as it fills with record batches (a partition of ~6,000
# single-record batches delivers ~10 records/s; see the linger sweep in the report),
# so at 1,000 warnings/s the default linger.ms=1 makes the broker, not the service
# under test, fall behind within seconds. The ping-pong hop keeps the default.
LOAD_PRODUCER: Mapping[str, Any] = MappingProxyType({"linger.ms": 20})


def kafka(bootstrap: str) -> KafkaConfig:
    return KafkaConfig(bootstrap, consumer=MappingProxyType(dict(BENCH_CLIENT)))


def uid(prefix: str) -> str:
    return f"bench.{prefix}.{uuid.uuid4().hex[:10]}"


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = PARTITIONS) -> None:
    """Create fresh topics and wait until metadata shows them."""
    ensure_topics(kafka(bootstrap), list(names), partitions)


def producer_settings(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    return producer_config(kafka(bootstrap), **overrides)


def consumer_settings(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    return consumer_config(kafka(bootstrap), uid("probe"), **overrides)


def producer(bootstrap: str, **overrides: Any) -> Producer:
    return Producer(producer_settings(bootstrap, **overrides))


def load_producer(bootstrap: str, **overrides: Any) -> Producer:
    """The paced load generators' producer: ``LOAD_PRODUCER`` on top of the pipeline's."""
    return producer(bootstrap, **{**LOAD_PRODUCER, **overrides})


def consumer(bootstrap: str, **overrides: Any) -> Consumer:
    return Consumer(consumer_settings(bootstrap, **overrides))


def assign_from_start(c: Consumer, topics: Iterable[str], partitions: int = PARTITIONS) -> None:
    """Assign every partition of ``topics`` from offset 0 (the topics are fresh)."""
    c.assign([TopicPartition(t, p, 0) for t in topics for p in range(partitions)])


def end_offsets(bootstrap: str, topics: Iterable[str], partitions: int = PARTITIONS) -> int:
    """Sum of the high watermarks of ``topics``: how many offsets they hold."""
    c = consumer(bootstrap)
    try:
        total = 0
        for t in topics:
            for p in range(partitions):
                _low, high = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
                total += high
        return total
    finally:
        c.close()


def _public(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in settings.items()
        if k not in ("bootstrap.servers", "logger", "group.id") and not callable(v)
    }


def settings_for_report(bootstrap: str) -> dict[str, Any]:
    """The librdkafka properties of the load producers and probe consumers."""
    return {
        "ping_pong_producer": {
            k: v for k, v in _public(producer_settings(bootstrap)).items() if k not in BENCH_CLIENT
        },
        "load_producer": {
            k: v
            for k, v in _public(producer_settings(bootstrap, **LOAD_PRODUCER)).items()
            if k not in BENCH_CLIENT
        },
        "probe_consumer": _public(consumer_settings(bootstrap)),
        "partitions_per_topic": PARTITIONS,
        "probe_assignment": "assign() from offset 0 of fresh topics (no group join)",
    }
