"""Several partitions read as one stream in timestamp order (``trilink.kafka.merge``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from tests.conftest import GroupId
from tests.integration.test_kafka_helpers import _produce_each
from trilink.config import KafkaConfig
from trilink.kafka import assign_from_beginning, consumer_config, producer_config, wait_for
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


def _two_backlogs(kafka_config: KafkaConfig, a: str, b: str, start_ms: int) -> None:
    for i in range(6):
        _produce_each(kafka_config, a, [b"a%d" % i], timestamp_ms=start_ms + 2_000 * i)
        _produce_each(kafka_config, b, [b"b%d" % i], timestamp_ms=start_ms + 2_000 * i + 1_000)


def test_behind_a_partition_still_to_fetch_is_waited_for(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    # Ten minutes behind, b's records are at the broker but not fetched (b paused, as
    # a fetcher busy with a's backlog): the merge holds a's records until b's come.
    a, b = new_topic(), new_topic()
    _two_backlogs(kafka_config, a, b, int(time.time() * 1e3) - 600_000)
    consumer = Consumer(consumer_config(kafka_config, new_group))
    resumed: list[int] = []

    def clock() -> float:
        # The fetcher turns to b while the merge waits: resumed from within the wait
        # (one thread, as in the service; a client call from a second thread would
        # queue behind the poll's).
        if merge.held == 6 and not resumed:
            consumer.resume([TopicPartition(b, 0)])
            resumed.append(merge.held)
        return time.monotonic()

    try:
        assign_from_beginning(consumer, [a, b])
        consumer.pause([TopicPartition(b, 0)])
        merge = TimeMerge(consumer, capacity=50, idle_s=60.0, monotonic=clock)
        got = merge.poll(100, 5.0)
        assert resumed == [6] and merge.waits > 0  # it waited, holding a's six
        assert [m.value() for m in got[:2]] == [b"a0", b"b0"]
    finally:
        consumer.close()


def test_the_wait_is_bounded_and_fresh_records_do_not_wait(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: GroupId
) -> None:
    def drain(merge: TimeMerge, n: int) -> list[bytes]:
        got: list[bytes] = []

        def more() -> bool:
            got.extend(bytes(m.value() or b"") for m in merge.poll(100, 0.2))
            return len(got) == n

        wait_for(more, 30.0)
        return got

    a, b, c, d = new_topic(), new_topic(), new_topic(), new_topic()
    _two_backlogs(kafka_config, a, b, int(time.time() * 1e3) - 600_000)
    _two_backlogs(kafka_config, c, d, int(time.time() * 1e3))
    for topics, behind_s, idle_s in (([a, b], 2.0, 0.5), ([c, d], 300.0, 600.0)):
        consumer = Consumer(consumer_config(kafka_config, new_group()))
        try:
            # Behind, b never fetched: a's come out after at most idle_s. Fresh
            # (published within behind_s), d never fetched: c's come out unheld.
            assign_from_beginning(consumer, topics)
            consumer.pause([TopicPartition(topics[1], 0)])
            merge = TimeMerge(consumer, capacity=50, idle_s=idle_s, behind_s=behind_s)
            assert drain(merge, 6) == [b"a%d" % i for i in range(6)]  # the first's
            # Behind it did wait (and stopped); fresh it never did.
            assert (merge.waits > 0) == (topics[0] == a)
        finally:
            consumer.close()


def test_what_precedes_a_lagging_partitions_last_record_is_not_held(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: str
) -> None:
    # b's six are fetched; then b pauses with a seventh at the broker. a's next record
    # is older than b's last fetched one: b's rest cannot precede it, so no wait.
    a, b = new_topic(), new_topic()
    start = int(time.time() * 1e3) - 600_000
    _two_backlogs(kafka_config, a, b, start)
    consumer = Consumer(consumer_config(kafka_config, new_group))
    try:
        assign_from_beginning(consumer, [a, b])
        merge = TimeMerge(consumer, capacity=50, idle_s=600.0)
        got: list[Message] = []
        wait_for(lambda: got.extend(merge.poll(100, 0.2)) or len(got) == 12, 20.0)
        consumer.pause([TopicPartition(b, 0)])
        waits = merge.waits  # a first fetch may have come before the other's
        _produce_each(kafka_config, a, [b"a6"], timestamp_ms=start + 10_500)
        _produce_each(kafka_config, b, [b"b6"], timestamp_ms=start + 11_500)
        later: list[bytes] = []
        wait_for(lambda: later.extend(bytes(m.value() or b"") for m in merge.poll(100, 0.2))
                 or len(later) == 1, 20.0)  # fmt: skip
        assert later == [b"a6"] and merge.waits == waits and merge.held == 0
    finally:
        consumer.close()


def test_unfetched_while_a_partition_holds_records_not_fetched_yet(
    kafka_config: KafkaConfig,
    new_topic: Callable[..., str],
    new_group: GroupId,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A quiet poll with b's backlog at the broker is "not fetched yet", not "nothing
    # published"; once b is read to its end it is quiet. A partition that delivers
    # nothing for stall_s is let go, with a warning.
    a, b, empty = new_topic(), new_topic(), new_topic()
    _two_backlogs(kafka_config, a, b, int(time.time() * 1e3) - 600_000)
    consumer = Consumer(consumer_config(kafka_config, new_group()))
    now = [0.0]
    try:
        assign_from_beginning(consumer, [a, b, empty])
        consumer.pause([TopicPartition(b, 0)])
        merge = TimeMerge(consumer, capacity=50, stall_s=30.0, monotonic=lambda: now[0])
        got: list[Message] = []
        wait_for(lambda: got.extend(merge.poll(100, 0.2)) or len(got) == 6, 20.0)
        assert merge.unfetched()
        now[0] += 29.0
        assert merge.unfetched()
        consumer.resume([TopicPartition(b, 0)])
        wait_for(lambda: got.extend(merge.poll(100, 0.2)) or len(got) == 12, 20.0)
        now[0] += 1.0  # past recheck_s: the ends are asked again
        assert not merge.unfetched()

        _produce_each(kafka_config, b, [b"b6"])
        consumer.pause([TopicPartition(b, 0)])
        now[0] += 1.0
        assert merge.unfetched()
        now[0] += 31.0  # stalled past stall_s: let go
        with caplog.at_level(logging.WARNING, logger="trilink.kafka.merge"):
            assert not merge.unfetched() and not merge.unfetched()
        assert len([r for r in caplog.records if "delivered none" in r.message]) == 1
    finally:
        consumer.close()


def test_a_transactional_partition_read_to_its_end_is_not_unfetched(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: GroupId
) -> None:
    # The commit marker takes an offset that no poll delivers (a relay writes its
    # copies in transactions): the consumer's position moves past it.
    topic = new_topic()
    producer = Producer(producer_config(kafka_config, **{"transactional.id": f"txn-{topic}"}))
    producer.init_transactions(30)
    producer.begin_transaction()
    for value in (b"x", b"y", b"z"):
        producer.produce(topic, value, partition=0)
    producer.commit_transaction(30)
    consumer = Consumer(consumer_config(kafka_config, new_group()))
    now = [0.0]
    try:
        assign_from_beginning(consumer, [topic])
        merge = TimeMerge(consumer, capacity=50, monotonic=lambda: now[0])
        got: list[Message] = []
        wait_for(lambda: got.extend(merge.poll(100, 0.2)) or len(got) == 3, 20.0)

        def quiet() -> bool:
            got.extend(merge.poll(100, 0.2))
            now[0] += 1.0
            return not merge.unfetched()

        wait_for(quiet, 20.0)
        assert [m.value() for m in got] == [b"x", b"y", b"z"]
    finally:
        consumer.close()
