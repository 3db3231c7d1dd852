"""Several partitions read as one stream in timestamp order (``trilink.kafka.merge``)."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Consumer

from tests.integration.test_kafka_helpers import _produce_each
from trilink.config import KafkaConfig
from trilink.kafka import assign_from_beginning, consumer_config, wait_for
from trilink.kafka.merge import TimeMerge

T_MS = 1_790_000_000_000


def test_a_backlog_of_two_topics_comes_out_in_timestamp_order(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    # Each topic's backlog is fetched as one run; the merge interleaves them by time.
    a, b = new_topic(), new_topic()
    for i in range(6):
        _produce_each(kafka_config, a, [b"a%d" % i], timestamp_ms=T_MS + 2_000 * i)
        _produce_each(kafka_config, b, [b"b%d" % i], timestamp_ms=T_MS + 2_000 * i + 1_000)
    consumer = Consumer(consumer_config(kafka_config, new_group))
    try:
        assign_from_beginning(consumer, [a, b])
        merge = TimeMerge(consumer, capacity=50)
        # Fill without handing anything out, until both backlogs are held.
        wait_for(lambda: merge.poll(0, 0.2) == [] and merge.held == 12, 20.0)
        first = merge.poll(5, 0.2)
        rest = merge.poll(100, 0.2)
        got = [m.value() for m in first + rest]
        assert got == [b"%s%d" % (t, i) for i in range(6) for t in (b"a", b"b")]
        assert len(first) == 5 and merge.held == 0
        # Each partition's own order is kept: its offsets come out ascending.
        offsets = [m.offset() for m in first + rest if m.topic() == a]
        assert offsets == sorted(offsets)
    finally:
        consumer.close()


def test_clear_forgets_what_is_held(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    topic = new_topic()
    _produce_each(kafka_config, topic, [b"x", b"y"])
    consumer = Consumer(consumer_config(kafka_config, new_group))
    try:
        assign_from_beginning(consumer, [topic])
        merge = TimeMerge(consumer, capacity=10)
        wait_for(lambda: merge.poll(0, 0.2) == [] and merge.held == 2, 20.0)
        merge.clear()
        assert merge.held == 0 and merge.poll(10, 0.0) == []
    finally:
        consumer.close()
