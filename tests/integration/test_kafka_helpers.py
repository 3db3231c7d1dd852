"""Kafka helpers on the real broker: topics, polling, explicit assignment, lag, fencing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.conftest import KafkaEndpoint
from trilink.broker import EmbeddedBroker
from trilink.config import KafkaConfig, Topics
from trilink.errors import KafkaError
from trilink.kafka import (
    DeliveryTracker,
    ResilientProducer,
    admin,
    assign_from_beginning,
    assign_from_now,
    assign_since,
    consumer_config,
    end_offsets,
    ensure_topics,
    group_lag,
    iter_messages,
    poll_batch,
    poll_one,
    producer_config,
    topic_partitions,
    wait_for,
)

_SHARED: dict[str, ResilientProducer] = {}


def _produce_each(kafka_config: KafkaConfig, topic: str, values: list[bytes], **kw: int) -> None:
    """One flush per message: every record in its own batch.

    The producer is shared across tests: an idempotent producer's first
    delivery waits ~0.5 s for its producer id.
    """
    producer = _SHARED.get(kafka_config.bootstrap_servers)
    if producer is None:
        producer = _SHARED.setdefault(
            kafka_config.bootstrap_servers, ResilientProducer(producer_config(kafka_config))
        )
    failed = producer.tracker.failed
    for value in values:
        producer.produce(topic, value, **kw)
        assert producer.flush(10) == 0
    assert producer.tracker.failed == failed


def _produce_batch(kafka_config: KafkaConfig, topic: str, values: list[bytes]) -> None:
    """All messages in one record batch (long linger, one flush)."""
    with ResilientProducer(producer_config(kafka_config, **{"linger.ms": 200})) as producer:
        for value in values:
            producer.produce(topic, value, partition=0)
        assert producer.flush(10) == 0
        assert producer.tracker.delivered == len(values)


def _consumer(kafka_config: KafkaConfig, group: str, **overrides: object) -> Consumer:
    return Consumer(consumer_config(kafka_config, group, **overrides))


def _values(consumer: Consumer, expect: int) -> list[bytes]:
    """The next ``expect`` values, then a check that nothing more is waiting."""
    got = [
        m.value() or b"" for m in iter_messages(consumer, 10.0, max_messages=expect, strict=True)
    ]
    got += [m.value() or b"" for m in iter_messages(consumer, 0.3, strict=True)]
    return got


def test_ensure_topics_is_idempotent_and_waits(kafka_config: KafkaConfig) -> None:
    names = [f"ensure-{os.getpid()}-{time.monotonic_ns()}-{i}" for i in range(2)]
    ensure_topics(kafka_config, names, partitions=2)
    ensure_topics(kafka_config, [*names, names[0]], partitions=5)  # exists: left alone
    parts = topic_partitions(admin(kafka_config), names)
    assert sorted((tp.topic, tp.partition) for tp in parts) == sorted(
        (n, p) for n in names for p in range(2)
    )


def test_topics_fixture_creates_every_topic(topics: Topics, kafka_config: KafkaConfig) -> None:
    names = [topics.launches, topics.alerts, topics.dead_letter, *topics.all_warnings()]
    assert len(topic_partitions(admin(kafka_config), names)) == 3 * len(names)
    assert topics.alerts.startswith("alerts.trilateral-")


def test_unknown_topic_is_a_clear_error(kafka_config: KafkaConfig) -> None:
    with pytest.raises(KafkaError, match=r"does not exist.*topic=no-such-topic"):
        topic_partitions(admin(kafka_config), ["no-such-topic-4b1e"])


def test_produce_track_and_read_back(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic(partitions=3)
    tracker = DeliveryTracker("test")
    seen: list[int] = []
    with ResilientProducer(producer_config(kafka_config), tracker=tracker) as producer:
        for i in range(30):
            producer.produce(
                topic,
                b"v%d" % i,
                key=b"k%d" % (i % 5),
                headers={"n": str(i).encode()},
                on_delivery=lambda err, msg: seen.append(msg.offset()) if err is None else None,
            )
        assert producer.flush(10) == 0
    assert (tracker.delivered, tracker.failed, len(seen)) == (30, 0, 30)

    consumer = _consumer(kafka_config, new_group)
    try:
        assign_from_beginning(consumer, [topic])
        messages = list(iter_messages(consumer, 1.0, strict=True))
    finally:
        consumer.close()
    assert sorted(m.value() for m in messages) == sorted(b"v%d" % i for i in range(30))
    by_key: dict[bytes, list[int]] = {}
    for m in messages:
        assert dict(m.headers() or [])["n"] == (m.value() or b"")[1:]
        by_key.setdefault(m.key() or b"", []).append(int((m.value() or b"v0")[1:]))
    assert all(v == sorted(v) for v in by_key.values())  # per-key order kept


def test_iter_messages_limits(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic()
    _produce_each(kafka_config, topic, [b"a", b"b", b"c"])
    consumer = _consumer(kafka_config, new_group)
    try:
        assign_from_beginning(consumer, [topic])
        assert [m.value() for m in iter_messages(consumer, 5.0, max_messages=2)] == [b"a", b"b"]
        assert list(iter_messages(consumer, 5.0, stop=lambda: True)) == []
        assert [m.value() for m in iter_messages(consumer, 0.5)] == [b"c"]
    finally:
        consumer.close()


def test_poll_batch_and_partition_eof_is_not_an_error(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic()
    _produce_each(kafka_config, topic, [b"1", b"2"])
    consumer = _consumer(kafka_config, new_group, **{"enable.partition.eof": True})
    try:
        assign_from_beginning(consumer, [topic])
        got = wait_for(lambda: poll_batch(consumer, 10, 0.2, strict=True), 10)
        got += poll_batch(consumer, 10, 0.2, strict=True)
        assert [m.value() for m in got] == [b"1", b"2"]
        # At the end of the partition librdkafka reports EOF; strict polling must not raise.
        assert poll_one(consumer, 0.5, strict=True) is None
    finally:
        consumer.close()


def test_assign_from_now_skips_the_whole_last_batch(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    """Tansu reports the end as last-batch-start + 1; seeking there would replay."""
    topic = new_topic(partitions=2)
    _produce_batch(kafka_config, topic, [b"old-%d" % i for i in range(5)])
    consumer = _consumer(kafka_config, new_group)
    try:
        assigned = assign_from_now(consumer, [topic])
        assert {(tp.topic, tp.partition) for tp in assigned} == {(topic, 0), (topic, 1)}
        _produce_each(kafka_config, topic, [b"new-1", b"new-2"], partition=0)
        assert _values(consumer, 2) == [b"new-1", b"new-2"]
    finally:
        consumer.close()


def test_assign_from_now_on_empty_topic(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic()
    consumer = _consumer(kafka_config, new_group)
    try:
        assign_from_now(consumer, [topic])
        _produce_each(kafka_config, topic, [b"first"])
        assert _values(consumer, 1) == [b"first"]
    finally:
        consumer.close()


def test_assign_since(
    kafka: KafkaEndpoint, kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic()
    now_ms = int(time.time() * 1000)
    for i, age_s in enumerate((3600, 1800, 10, 5)):
        _produce_each(kafka_config, topic, [b"%d" % i], timestamp_ms=now_ms - age_s * 1000)
    consumer = _consumer(kafka_config, new_group)
    try:
        assign_since(consumer, [topic], (now_ms - 60_000) * 1000)
        got = _values(consumer, 2 if kafka.kind != "embedded" else 4)
    finally:
        consumer.close()
    assert got[-2:] == [b"2", b"3"]
    if kafka.kind != "embedded":  # Tansu ignores the time and starts at the beginning
        assert got == [b"2", b"3"]


def test_end_offsets_and_group_lag(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic(partitions=2)
    _produce_each(kafka_config, topic, [b"a", b"b", b"c"], partition=0)
    assert end_offsets(kafka_config, [topic]) == {(topic, 0): 3, (topic, 1): 0}

    consumer = _consumer(kafka_config, new_group)
    try:  # a standalone (assigned) consumer commits for the group without joining it
        consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    finally:
        consumer.close()
    lags = group_lag(kafka_config, new_group, [topic])
    assert [(lag.partition, lag.committed, lag.end, lag.lag) for lag in lags] == [
        (0, 1, 3, 2),
        (1, None, 0, 0),
    ]


def test_resilient_producer_recovers_after_being_fenced() -> None:
    """A stalled broker times out in-flight messages; the idempotent producer is then
    fenced (on Tansu, forever) and must be replaced to deliver again. Uses its own
    broker because it freezes it."""
    with EmbeddedBroker() as broker:
        config = KafkaConfig(broker.bootstrap_servers)
        ensure_topics(config, ["fenced"], partitions=1)
        producer = ResilientProducer(producer_config(config, **{"message.timeout.ms": 1500}))
        producer.produce("fenced", b"before")
        assert producer.flush(10) == 0
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            producer.produce("fenced", b"lost")
            wait_for(lambda: producer.tracker.failed >= 1 or producer.poll(0.1) < 0, 10)
        finally:
            os.kill(broker.pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            before = producer.tracker.delivered
            producer.produce("fenced", b"after")
            producer.flush(10)
            if producer.tracker.delivered > before:
                break
        assert producer.tracker.delivered >= 2
        producer.close()

        consumer = Consumer(consumer_config(config, "fenced-check"))
        try:
            assign_from_beginning(consumer, ["fenced"])
            values = [m.value() for m in iter_messages(consumer, 1.0, strict=True)]
        finally:
            consumer.close()
        assert values[0] == b"before" and values[-1] == b"after"
        assert producer.recreated >= 1
        assert producer.tracker.last_error is not None


def test_plain_producer_config_is_idempotent(kafka_config: KafkaConfig) -> None:
    config = producer_config(kafka_config, **{"linger.ms": 7})
    assert (config["enable.idempotence"], config["acks"], config["linger.ms"]) == (True, "all", 7)
    Producer(config).flush(1)
