"""The checkpoint strategies against scripted clients (no I/O): which calls, in which
order, what is committed, and what happens on each kind of error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from confluent_kafka import OFFSET_STORED, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka import KafkaError as ConfluentError

from trilink.errors import ConfigError, DeliveryError, FencedError, TrilinkError
from trilink.kafka import (
    AtLeastOnce,
    DeliveryTracker,
    ExactlyOnce,
    Outgoing,
    ResilientProducer,
    Sender,
)

OUT = [Outgoing("out", b"k1", b"v1"), Outgoing("out", b"k2", b"v2")]
TXN = {"transactional.id": "txn-1"}


def _msgs(*where: tuple[str, int, int]) -> list[Message]:
    return [Message(topic=t, partition=p, offset=o) for t, p, o in where]


def _abortable() -> KafkaException:
    return KafkaException(
        ConfluentError(ConfluentError._TIMED_OUT, "delivery failed", txn_requires_abort=True)
    )


def _fatal(code: int = ConfluentError._FATAL) -> KafkaException:
    return KafkaException(ConfluentError(code, "fatal", fatal=True))


class FakeConsumer:
    def __init__(self) -> None:
        self.assigned = [TopicPartition("in", 0, 7), TopicPartition("in", 1, 3)]
        self.assigns: list[list[TopicPartition]] = []
        self.commits: list[list[TopicPartition]] = []
        self.commit_error: KafkaException | None = None

    def assignment(self) -> list[TopicPartition]:
        return self.assigned

    def assign(self, parts: list[TopicPartition]) -> None:
        self.assigns.append(parts)

    def consumer_group_metadata(self) -> str:
        return "group-metadata"

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> list[TopicPartition]:
        assert asynchronous is False
        if self.commit_error is not None:
            raise self.commit_error
        self.commits.append(offsets)
        return offsets


class FakeTxnProducer:
    """Records every call; ``fail[call]`` is raised once when ``call`` happens,
    ``always[call]`` every time."""

    def __init__(self, log: list[Any], fail: dict[str, KafkaException]) -> None:
        self.log = log
        self.fail = fail
        self.always: dict[str, KafkaException] = {}
        self.buffer_full = 0

    def _call(self, name: str, *args: Any) -> None:
        self.log.append((name, *args))
        if name in self.always:
            raise self.always[name]
        if name in self.fail:
            raise self.fail.pop(name)

    def init_transactions(self, timeout: float) -> None:
        self._call("init")

    def begin_transaction(self) -> None:
        self._call("begin")

    def produce(self, topic: str, value: bytes, key: bytes, *, on_delivery: Any) -> None:
        if self.buffer_full:
            self.buffer_full -= 1
            raise BufferError("queue full")
        assert callable(on_delivery)
        self._call("produce", topic, key, value)

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self._call("offsets", [(tp.topic, tp.partition, tp.offset) for tp in offsets], metadata)

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort")

    def poll(self, timeout: float) -> int:
        self.log.append(("poll",))
        return 0

    def purge(self) -> None:
        self.log.append(("purge",))

    def flush(self, timeout: float) -> int:
        return 0


def _exactly_once(
    fail: dict[str, KafkaException] | None = None, **kw: Any
) -> tuple[ExactlyOnce, FakeConsumer, list[Any], list[FakeTxnProducer]]:
    log: list[Any] = []
    made: list[FakeTxnProducer] = []
    plan = fail if fail is not None else {}

    def factory(config: dict[str, Any]) -> Any:
        assert config["transactional.id"] == "txn-1"
        made.append(FakeTxnProducer(log, plan))
        return made[-1]

    consumer = FakeConsumer()
    checkpoint = ExactlyOnce(cast(Consumer, consumer), TXN, producer_factory=factory, **kw)
    return checkpoint, consumer, log, made


def _names(log: list[Any]) -> list[str]:
    return [entry[0] for entry in log]


def test_exactly_once_commits_outputs_and_offsets_in_one_transaction() -> None:
    checkpoint, _, log, _ = _exactly_once()
    checkpoint.consumed(_msgs(("in", 1, 4), ("in", 0, 7), ("in", 0, 8)))
    assert checkpoint.commit(OUT) is True
    assert log == [
        ("init",),
        ("begin",),
        ("produce", "out", b"k1", b"v1"),
        ("produce", "out", b"k2", b"v2"),
        ("offsets", [("in", 0, 9), ("in", 1, 5)], "group-metadata"),
        ("commit",),
    ]
    assert checkpoint.pending == {}
    assert (checkpoint.stats.commits, checkpoint.stats.produced) == (1, 2)


def test_exactly_once_with_nothing_to_do_opens_no_transaction() -> None:
    checkpoint, _, log, _ = _exactly_once()
    assert checkpoint.commit([]) is True
    assert _names(log) == ["init"]
    checkpoint.consumed(_msgs(("in", 0, 1)))
    assert checkpoint.commit([]) is True  # offsets only: the caller's choice
    assert _names(log) == ["init", "begin", "offsets", "commit"]


def test_abortable_error_aborts_and_rewinds_to_the_committed_offsets() -> None:
    checkpoint, consumer, log, made = _exactly_once({"commit": _abortable()})
    checkpoint.consumed(_msgs(("in", 0, 7)))
    assert checkpoint.commit(OUT) is False
    assert _names(log)[-2:] == ["commit", "abort"]
    assert checkpoint.pending == {}
    assert [(tp.topic, tp.partition, tp.offset) for tp in consumer.assigns[-1]] == [
        ("in", 0, OFFSET_STORED),
        ("in", 1, OFFSET_STORED),
    ]
    assert (checkpoint.stats.aborts, checkpoint.stats.rewinds, len(made)) == (1, 1, 1)
    # Redone from the rewound input: the same producer commits it.
    checkpoint.consumed(_msgs(("in", 0, 7)))
    assert checkpoint.commit(OUT) is True
    assert _names(log)[-1] == "commit" and checkpoint.stats.commits == 1


def test_retriable_commit_error_is_retried_in_place() -> None:
    retriable = KafkaException(ConfluentError(ConfluentError._TIMED_OUT, retriable=True))
    checkpoint, _, log, _ = _exactly_once({"commit": retriable})
    checkpoint.consumed(_msgs(("in", 0, 1)))
    assert checkpoint.commit(OUT) is True
    assert _names(log).count("commit") == 2 and "abort" not in _names(log)


def test_fatal_error_replaces_the_producer_and_rewinds() -> None:
    checkpoint, consumer, log, made = _exactly_once({"produce": _fatal()})
    checkpoint.consumed(_msgs(("in", 0, 1)))
    assert checkpoint.commit(OUT) is False
    assert len(made) == 2 and _names(log)[-2:] == ["purge", "init"]
    assert (checkpoint.stats.replaced, checkpoint.stats.rewinds) == (1, 1)
    assert consumer.assigns
    checkpoint.consumed(_msgs(("in", 0, 1)))
    assert checkpoint.commit(OUT) is True


def test_failed_abort_replaces_the_producer() -> None:
    checkpoint, _, _, made = _exactly_once({"commit": _abortable(), "abort": _fatal()})
    checkpoint.consumed(_msgs(("in", 0, 1)))
    assert checkpoint.commit(OUT) is False
    assert len(made) == 2 and checkpoint.stats.replaced == 1


def test_fenced_is_raised_with_where_it_happened() -> None:
    fenced = _fatal(ConfluentError.PRODUCER_FENCED)
    checkpoint, consumer, _, made = _exactly_once({"begin": fenced})
    checkpoint.consumed(_msgs(("in", 1, 41)))
    with pytest.raises(FencedError) as info:
        checkpoint.commit(OUT)
    assert isinstance(info.value, DeliveryError) and isinstance(info.value, TrilinkError)
    assert (info.value.topic, info.value.partition, info.value.offset) == ("in", 1, 42)
    assert info.value.__cause__ is fenced
    assert len(made) == 1 and not consumer.assigns  # neither replaced nor rewound


def test_other_errors_are_converted_not_retried() -> None:
    odd = KafkaException(ConfluentError(ConfluentError._STATE, "erroneous state"))
    checkpoint, consumer, _, _ = _exactly_once({"offsets": odd})
    checkpoint.consumed(_msgs(("in", 0, 1)))
    with pytest.raises(DeliveryError, match="transaction failed") as info:
        checkpoint.commit(OUT)
    assert info.value.__cause__ is odd and not consumer.assigns


def test_gives_up_after_max_attempts_in_a_row() -> None:
    checkpoint, _, _, made = _exactly_once(max_attempts=3)
    made[0].always["commit"] = _abortable()
    for _ in range(2):
        checkpoint.consumed(_msgs(("in", 0, 1)))
        assert checkpoint.commit(OUT) is False
    checkpoint.consumed(_msgs(("in", 0, 1)))
    with pytest.raises(DeliveryError, match="after 3 attempts"):
        checkpoint.commit(OUT)
    assert len(made) == 1 and checkpoint.stats.aborts == 2


def test_full_local_queue_is_served_then_produced() -> None:
    checkpoint, _, log, made = _exactly_once()
    made[0].buffer_full = 2
    assert checkpoint.commit(OUT[:1]) is True
    assert _names(log) == ["init", "begin", "poll", "poll", "produce", "commit"]


def test_exactly_once_needs_a_transactional_id() -> None:
    made: list[Any] = []
    with pytest.raises(ConfigError):
        ExactlyOnce(cast(Consumer, FakeConsumer()), {}, producer_factory=made.append)
    assert made == []  # refused before any producer exists


def test_close_aborts_a_transaction_left_open() -> None:
    odd = KafkaException(ConfluentError(ConfluentError._STATE, "erroneous state"))
    checkpoint, _, log, _ = _exactly_once({"offsets": odd})
    checkpoint.consumed(_msgs(("in", 0, 1)))
    with pytest.raises(DeliveryError):
        checkpoint.commit(OUT)
    checkpoint.close()
    assert _names(log)[-1] == "abort"


# -- at-least-once ---------------------------------------------------------------------


class FakeResilient:
    """A ResilientProducer stand-in: deliveries are reported on flush, failing as scripted."""

    def __init__(self, failures: dict[bytes, int] | None = None) -> None:
        self.name = "fake"
        self.tracker = DeliveryTracker("fake")
        self.failures = dict(failures or {})  # key -> how many deliveries of it fail
        self.queued: list[tuple[str, bytes | None, bytes | None, Callable[..., None]]] = []
        self.delivered: list[tuple[str, bytes | None, bytes | None]] = []
        self.stuck = 0

    def produce(self, topic: str, value: Any, key: Any, *, on_delivery: Any) -> None:
        self.queued.append((topic, key, value, on_delivery))

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 10.0) -> int:
        if self.stuck:
            return self.stuck
        queued, self.queued = self.queued, []
        for topic, key, value, report in queued:
            msg = Message(topic=topic, key=key, value=value)
            if self.failures.get(key or b"", 0) > 0:
                self.failures[key or b""] -= 1
                report(ConfluentError(ConfluentError._MSG_TIMED_OUT), msg)
            else:
                self.delivered.append((topic, key, value))
                report(None, msg)
        return 0

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)


def _at_least_once(producer: FakeResilient, **kw: Any) -> tuple[AtLeastOnce, FakeConsumer]:
    consumer = FakeConsumer()
    return AtLeastOnce(cast(Consumer, consumer), cast(ResilientProducer, producer), **kw), consumer


def test_at_least_once_delivers_then_commits_offsets() -> None:
    producer = FakeResilient()
    checkpoint, consumer = _at_least_once(producer)
    checkpoint.consumed(_msgs(("in", 0, 7), ("in", 1, 2)))
    assert checkpoint.commit(OUT) is True
    assert producer.delivered == [("out", b"k1", b"v1"), ("out", b"k2", b"v2")]
    assert [(tp.topic, tp.partition, tp.offset) for tp in consumer.commits[0]] == [
        ("in", 0, 8),
        ("in", 1, 3),
    ]
    assert checkpoint.pending == {} and checkpoint.exactly_once is False


def test_at_least_once_reproduces_failed_deliveries_before_committing() -> None:
    producer = FakeResilient({b"k2": 2})
    checkpoint, consumer = _at_least_once(producer, max_attempts=3)
    checkpoint.consumed(_msgs(("in", 0, 7)))
    assert checkpoint.commit(OUT) is True
    assert producer.delivered[-1] == ("out", b"k2", b"v2")
    assert checkpoint.sender.resent == 2 and checkpoint.stats.produced == 4
    assert len(consumer.commits) == 1


def test_at_least_once_out_of_attempts_commits_nothing() -> None:
    producer = FakeResilient({b"k1": 5})
    checkpoint, consumer = _at_least_once(producer, max_attempts=2)
    checkpoint.consumed(_msgs(("in", 0, 7)))
    with pytest.raises(DeliveryError, match="1 message") as info:
        checkpoint.commit(OUT)
    assert (info.value.topic, info.value.partition, info.value.offset) == ("in", 0, 8)
    assert not consumer.commits and checkpoint.pending == {("in", 0): 8}


def test_at_least_once_undelivered_at_the_timeout_commits_nothing() -> None:
    producer = FakeResilient()
    producer.stuck = 2
    checkpoint, consumer = _at_least_once(producer)
    checkpoint.consumed(_msgs(("in", 0, 7)))
    with pytest.raises(DeliveryError, match="2 message"):
        checkpoint.commit(OUT)
    assert not consumer.commits


def test_a_failed_offset_commit_keeps_the_offsets_for_the_next_one() -> None:
    checkpoint, consumer = _at_least_once(FakeResilient())
    consumer.commit_error = KafkaException(ConfluentError(ConfluentError._TRANSPORT))
    checkpoint.consumed(_msgs(("in", 0, 7)))
    assert checkpoint.commit(OUT) is True
    assert checkpoint.pending == {("in", 0): 8}
    consumer.commit_error = None
    checkpoint.consumed(_msgs(("in", 1, 0)))
    assert checkpoint.commit([]) is True
    assert len(consumer.commits[0]) == 2 and checkpoint.pending == {}


def test_sender_retries_on_the_next_tick_and_counts_what_is_lost() -> None:
    producer = FakeResilient({b"k1": 9})
    sender = Sender(cast(ResilientProducer, producer), attempts=2)
    sender.send(OUT[0])
    sender.send(OUT[1], attempts=1)
    producer.flush()
    assert sender.waiting == 1 and sender.lost == 0
    assert sender.retry() == 1
    producer.flush()
    assert (sender.waiting, sender.lost, sender.resent) == (0, 1, 1)
    with pytest.raises(ValueError):
        Sender(cast(ResilientProducer, producer), attempts=0)


def test_a_commit_that_stays_retriable_gives_up() -> None:
    checkpoint, _, log, made = _exactly_once(max_attempts=2)
    made[0].always["commit"] = KafkaException(
        ConfluentError(ConfluentError._TIMED_OUT, retriable=True)
    )
    checkpoint.consumed(_msgs(("in", 0, 1)))
    with pytest.raises(DeliveryError, match="transaction failed"):
        checkpoint.commit(OUT)
    assert _names(log).count("commit") == 2
