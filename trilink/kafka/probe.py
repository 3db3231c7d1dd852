"""Is the cluster there? One clear line instead of a minute of librdkafka retries."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaException

from trilink.config import KafkaConfig
from trilink.errors import KafkaError
from trilink.kafka.clients import consumer_config

METADATA_TIMEOUT_S = 5.0
"""How long to wait for the broker to answer before calling it unreachable."""


def check_reachable(kafka: KafkaConfig, timeout: float = METADATA_TIMEOUT_S) -> None:
    """Raise KafkaError with one clear line if the cluster does not answer in time."""
    probe = Consumer(consumer_config(kafka, f"trilink-probe-{uuid.uuid4().hex[:8]}"))
    try:
        probe.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise KafkaError(
            f"cannot reach Kafka at {kafka.bootstrap_servers} within {timeout:g} s"
        ) from exc
    finally:
        probe.close()
