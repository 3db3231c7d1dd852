"""Client configuration, admin and topic helpers shared by every role."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka import KafkaError as ConfluentError
from confluent_kafka.admin import AdminClient, NewTopic

from trilink.config import KafkaConfig
from trilink.errors import KafkaError, TrilinkError

log = logging.getLogger(__name__)
_librdkafka_log = logging.getLogger("trilink.librdkafka")

T = TypeVar("T")


class WaitTimeout(TrilinkError, TimeoutError):
    """A condition did not become true in time."""


def _common(kafka: KafkaConfig) -> dict[str, Any]:
    # librdkafka logs through Python logging (served on poll) instead of stderr.
    return {"logger": _librdkafka_log, **kafka.base()}


def producer_config(kafka: KafkaConfig, **overrides: Any) -> dict[str, Any]:
    """Idempotent, acks=all producer properties. ``overrides`` use librdkafka names:
    ``producer_config(k, **{"linger.ms": 5})``."""
    return {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 1,
        **_common(kafka),
        **overrides,
    }


def consumer_config(
    kafka: KafkaConfig, group: str, *, auto_commit: bool = False, **overrides: Any
) -> dict[str, Any]:
    """Consumer properties tuned for low latency on any broker.

    ``fetch.wait.max.ms`` is tiny because Tansu sleeps the full wait; the
    session timeout is the smallest Apache Kafka accepts by default, which
    also keeps Tansu's group joins (about half of it) short.
    """
    return {
        "group.id": str(group),
        "enable.auto.commit": auto_commit,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "fetch.wait.max.ms": 2,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        **_common(kafka),
        **kafka.consumer,
        **overrides,
    }


def admin(kafka: KafkaConfig, **overrides: Any) -> AdminClient:
    """An AdminClient for the cluster."""
    return AdminClient({**_common(kafka), **overrides})


def ensure_topics(
    kafka: KafkaConfig,
    names: Iterable[str],
    partitions: int = 3,
    *,
    replication_factor: int = -1,
    timeout: float = 15.0,
) -> None:
    """Create the topics that do not exist yet and wait until metadata shows them all.

    Idempotent; an existing topic is left as it is (whatever its partition
    count). ``replication_factor=-1`` means the broker's default.
    """
    wanted = list(dict.fromkeys(names))
    client = admin(kafka)
    try:
        existing = client.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise KafkaError(f"cannot list topics: {exc}") from exc
    missing = [n for n in wanted if n not in existing]
    if missing:
        futures = client.create_topics(
            [NewTopic(n, partitions, replication_factor) for n in missing],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                err = exc.args[0]
                if err.code() != ConfluentError.TOPIC_ALREADY_EXISTS:
                    raise KafkaError(f"cannot create topic: {err.str()}", topic=name) from exc
        log.info("created topics %s", ", ".join(missing))

    def visible() -> bool:
        topics = client.list_topics(timeout=timeout).topics
        return all(n in topics and topics[n].error is None and topics[n].partitions for n in wanted)

    wait_for(visible, timeout, 0.05, message=f"topics {wanted} not visible after {timeout:g} s")


def topic_partitions(
    client: Consumer | AdminClient, topics: Iterable[str], timeout: float = 10.0
) -> list[TopicPartition]:
    """Every partition of ``topics``; KafkaError if a topic does not exist.

    Reads the whole-cluster metadata: asking about one topic by name can
    auto-create it on some brokers.
    """
    try:
        metadata = client.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise KafkaError(f"cannot read metadata: {exc}") from exc
    found: list[TopicPartition] = []
    for topic in topics:
        meta = metadata.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise KafkaError("topic does not exist", topic=topic)
        found.extend(TopicPartition(topic, p) for p in sorted(meta.partitions))
    return found


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    message: str | None = None,
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Raises :class:`WaitTimeout` (a TimeoutError) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(message or f"condition not met within {timeout:g} s")
        time.sleep(interval)
