"""Committing a consumer's progress together with the output it caused.

One object, a :class:`Checkpoint`, owns the positions a consume–transform–produce
loop has consumed but not committed yet, and the delivery guarantee:

* :class:`ExactlyOnce`: the outputs and the offsets in one Kafka transaction;
* :class:`AtLeastOnce`: produce, flush, then commit the offsets.

A loop reads like this, whichever strategy :func:`open_checkpoint` returns::

    checkpoint = open_checkpoint(kafka, consumer, exactly_once=True, transactional_id="t")
    while running:
        batch = poll_batch(consumer)
        checkpoint.consumed(batch)
        if not checkpoint.commit([topic.message(transform(m)) for m in batch]):
            ...  # aborted and rewound: drop state derived from the uncommitted input

The consumer must be explicitly assigned (``consumer.assign``), as every trilink
service is: a rewind re-assigns its partitions at the group's committed offsets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka import KafkaError as ConfluentError

from trilink.config import KafkaConfig
from trilink.errors import ConfigError, DeliveryError, FencedError
from trilink.kafka.clients import producer_config
from trilink.kafka.consume import rewind
from trilink.kafka.producer import (
    DeliveryTracker,
    Outgoing,
    ResilientProducer,
    Sender,
    is_fenced_or_fatal,
)

log = logging.getLogger(__name__)

# A transactional id held by a newer instance: replacing the producer would fence
# that instance in turn, and two zombies would take turns publishing.
_FENCED = frozenset({ConfluentError.PRODUCER_FENCED, ConfluentError._FENCED})

ProducerFactory = Callable[[dict[str, Any]], Producer]


@dataclass(slots=True)
class CheckpointStats:
    """What a checkpoint has done (for logs, tests and the benchmark)."""

    commits: int = 0  # successful commits: transactions, or flush + offset commit
    produced: int = 0  # messages handed to the producer, retries included
    aborts: int = 0  # transactions aborted after an abortable error
    replaced: int = 0  # transactional producers replaced after a fatal error
    rewinds: int = 0  # times the consumer was put back at its committed offsets


class Checkpoint(Protocol):
    """Owns a consumer's uncommitted positions and commits them with the output they caused.

    ``consumed(messages)`` notes the position after each message; ``commit(outputs)``
    delivers ``outputs`` and commits every noted position with them, all or nothing
    (exactly-once) or outputs first (at-least-once). Positions may ride along with a
    later commit: a batch that caused no output need not be committed on its own.
    """

    exactly_once: bool
    stats: CheckpointStats
    tracker: DeliveryTracker

    def consumed(self, messages: Iterable[Message]) -> None:
        """Note the positions after ``messages``; they are committed with the next commit."""
        ...

    @property
    def pending(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> offset noted but not committed yet."""
        ...

    def commit(self, outputs: Sequence[Outgoing] = ()) -> bool:
        """Deliver ``outputs`` and commit the noted positions with them.

        True once both are done. False when the attempt was aborted and the consumer
        rewound to its committed offsets: everything consumed since the last commit
        will be delivered again, so the caller drops whatever it derived from it.
        Raises :class:`~trilink.errors.DeliveryError` when it cannot go on.
        """
        ...

    def close(self) -> None:
        """Flush what is in flight (nothing is committed) and release the producer."""
        ...


class _Positions:
    """The uncommitted positions of one consumer, shared by both strategies."""

    def __init__(self, consumer: Consumer | None, name: str) -> None:
        self.name = name
        self.stats = CheckpointStats()
        self._consumer = consumer
        self._pending: dict[tuple[str, int], int] = {}

    def consumed(self, messages: Iterable[Message]) -> None:
        for m in messages:
            self._pending[(str(m.topic()), int(m.partition() or 0))] = int(m.offset() or 0) + 1

    @property
    def pending(self) -> dict[tuple[str, int], int]:
        return dict(self._pending)

    def _offsets(self) -> list[TopicPartition]:
        return [TopicPartition(t, p, o) for (t, p), o in sorted(self._pending.items())]

    def _where(self) -> dict[str, Any]:
        """Topic/partition/offset for an error: the first uncommitted position."""
        if not self._pending:
            return {}
        (topic, partition), offset = min(self._pending.items())
        return {"topic": topic, "partition": partition, "offset": offset}


def _error_of(exc: KafkaException) -> ConfluentError | None:
    err = exc.args[0] if exc.args else None
    return err if isinstance(err, ConfluentError) else None


class ExactlyOnce(_Positions):
    """Outputs and offsets committed in one Kafka transaction.

    1. ``init_transactions()`` once per producer, before anything else: it fences an
       older producer with the same ``transactional.id`` and aborts its open
       transaction, so what that one left half-done is never committed;
    2. ``begin_transaction()``;
    3. ``produce()`` every output, each with a delivery callback (a failed delivery
       makes the commit fail with an abortable error);
    4. ``send_offsets_to_transaction()`` with the positions after the consumed
       messages and the consumer's ``consumer_group_metadata()``;
    5. ``commit_transaction()``, retried (up to ``max_attempts`` times) while the
       error is retriable: outputs and offsets become visible together, or not at all;
    6. on an abortable error (``txn_requires_abort``): ``abort_transaction()``, then
       rewind the consumer to its committed offsets and return False, so the
       caller redoes the input from there;
    7. on a fatal error, or an abort that fails: replace the producer (the new one
       runs step 1, which aborts the open transaction), then rewind as in 6. Fenced
       by a newer instance (``PRODUCER_FENCED``), it raises :class:`FencedError`
       instead: replacing would fence that instance in turn;
    8. after ``max_attempts`` commits in a row that did not complete, it raises
       :class:`~trilink.errors.DeliveryError`.

    With nothing to produce and nothing consumed, ``commit`` opens no transaction.
    """

    exactly_once = True

    def __init__(
        self,
        consumer: Consumer,
        config: Mapping[str, Any],
        *,
        name: str = "exactly-once",
        max_attempts: int = 5,
        timeout_s: float = 30.0,
        producer_factory: ProducerFactory = Producer,
    ) -> None:
        super().__init__(consumer, name)
        if not config.get("transactional.id"):
            raise ConfigError(f"{name}: exactly-once delivery needs a transactional.id")
        self.tracker = DeliveryTracker(name)
        self._consumer: Consumer = consumer
        self._config = dict(config)
        self._factory = producer_factory
        self._max_attempts = max_attempts
        self._timeout = timeout_s
        self._failures = 0  # commits in a row that did not complete
        self._in_transaction = False
        self._producer = self._new_producer()

    def _new_producer(self) -> Producer:
        try:
            producer = self._factory(self._config)
            producer.init_transactions(self._timeout)
        except KafkaException as exc:
            raise DeliveryError(f"{self.name}: cannot initialise transactions: {exc}") from exc
        return producer

    def commit(self, outputs: Sequence[Outgoing] = ()) -> bool:
        if not outputs and not self._pending:
            return True
        try:
            self._transaction(outputs)
        except KafkaException as exc:
            self._recover(exc)
            return False
        self._pending.clear()
        self._failures = 0
        self.stats.commits += 1
        return True

    def _transaction(self, outputs: Sequence[Outgoing]) -> None:
        producer = self._producer
        producer.begin_transaction()
        self._in_transaction = True
        for out in outputs:
            self._produce(producer, out)
        if self._pending:
            producer.send_offsets_to_transaction(
                self._offsets(), self._consumer.consumer_group_metadata(), self._timeout
            )
        for attempt in range(1, self._max_attempts + 1):
            try:
                producer.commit_transaction(self._timeout)
                break
            except KafkaException as exc:
                err = _error_of(exc)
                if err is None or not err.retriable() or attempt == self._max_attempts:
                    raise
                log.debug("%s: commit retried: %s", self.name, err.str())
        self._in_transaction = False

    def _produce(self, producer: Producer, out: Outgoing) -> None:
        while True:
            try:
                if out.headers:
                    producer.produce(
                        out.topic,
                        out.value,
                        out.key,
                        headers=list(out.headers),
                        on_delivery=self.tracker,
                    )
                else:
                    producer.produce(out.topic, out.value, out.key, on_delivery=self.tracker)
                self.stats.produced += 1
                return
            except BufferError:  # local queue full: serve delivery reports, then retry
                producer.poll(0.05)

    def _recover(self, exc: KafkaException) -> None:
        """Steps 6-8 of the class docstring: abort or replace, rewind, or give up."""
        err = _error_of(exc)
        where = self._where()
        if err is not None and err.code() in _FENCED:
            raise FencedError(
                f"{self.name}: fenced by a newer instance: {err.str()}", **where
            ) from exc
        abortable = err is not None and err.txn_requires_abort() and not err.fatal()
        if not abortable and not is_fenced_or_fatal(err):
            raise DeliveryError(f"{self.name}: transaction failed: {exc}", **where) from exc
        self._failures += 1
        if self._failures >= self._max_attempts:
            raise DeliveryError(
                f"{self.name}: transaction still failing after {self._failures} attempts: {exc}",
                **where,
            ) from exc
        if abortable and self._abort():
            log.warning("%s: transaction aborted: %s", self.name, exc)
        else:
            self._replace(exc)
        self._pending.clear()
        rewind(self._consumer)
        self.stats.rewinds += 1
        log.warning("%s: consumer rewound to its committed offsets", self.name)

    def _abort(self) -> bool:
        """Abort the open transaction; False if the producer is no longer usable."""
        try:
            self._producer.abort_transaction(self._timeout)
        except KafkaException as exc:
            # Whatever the reason, a new producer's init_transactions() aborts it for us.
            log.warning("%s: abort failed: %s", self.name, exc)
            return False
        self._in_transaction = False
        self.stats.aborts += 1
        return True

    def _replace(self, exc: KafkaException) -> None:
        log.warning("%s: replacing the transactional producer after %s", self.name, exc)
        old = self._producer
        try:
            old.purge()
            old.flush(1.0)  # serves the purged messages' reports to their callbacks
        except KafkaException as purge_exc:
            log.debug("%s: draining the old producer failed: %s", self.name, purge_exc)
        self._in_transaction = False
        self._producer = self._new_producer()
        self.stats.replaced += 1

    def close(self) -> None:
        if self._in_transaction:  # an error left it open: release the partitions' LSO now
            try:
                self._producer.abort_transaction(self._timeout)
            except KafkaException as exc:
                log.warning("%s: abort at close failed: %s", self.name, exc)
            self._in_transaction = False
        left = self._producer.flush(10.0)
        if left:
            log.warning("%s: %d message(s) undelivered at close", self.name, left)


class AtLeastOnce(_Positions):
    """Produce, flush, then commit the offsets.

    Outputs go through a :class:`~trilink.kafka.ResilientProducer` (idempotent,
    acks=all, replaced after being fenced or a fatal error); one whose delivery
    fails is produced again, up to ``max_attempts`` in all, before the offsets are
    committed. A crash between the flush and the offset commit replays the batch,
    so consumers of the output must tolerate duplicates. Without a consumer it is a
    produce-and-flush sink. ``commit`` never returns False: nothing is rewound.
    """

    exactly_once = False

    def __init__(
        self,
        consumer: Consumer | None,
        producer: ResilientProducer,
        *,
        name: str = "at-least-once",
        max_attempts: int = 5,
        timeout_s: float = 30.0,
    ) -> None:
        super().__init__(consumer, name)
        self.sender = Sender(producer, attempts=max_attempts)
        self.tracker = producer.tracker
        self._timeout = timeout_s

    def commit(self, outputs: Sequence[Outgoing] = ()) -> bool:
        for out in outputs:
            self.sender.send(out)
        resent = self.sender.resent
        lost = self.sender.drain(self._timeout)
        self.stats.produced += len(outputs) + self.sender.resent - resent
        if lost:
            err = self.tracker.last_error
            raise DeliveryError(
                f"{self.name}: {lost} message(s) not delivered"
                + (f": {err.str()}" if err is not None else ""),
                **self._where(),
            )
        if self._pending and self._consumer is not None:
            self._commit_offsets(self._consumer)
        self.stats.commits += 1
        return True

    def _commit_offsets(self, consumer: Consumer) -> None:
        try:
            answer = consumer.commit(offsets=self._offsets(), asynchronous=False)
        except KafkaException as exc:
            # Harmless for at-least-once: the offsets stay pending and ride with the
            # next commit; a restart before that replays the batch.
            log.warning("%s: offset commit failed: %s", self.name, exc)
            return
        failed = [tp for tp in answer or [] if tp.error is not None]
        for tp in failed:
            log.warning(
                "%s: offset commit failed at %s[%d]@%d: %s",
                self.name,
                tp.topic,
                tp.partition,
                tp.offset,
                tp.error,
            )
        if not failed:
            self._pending.clear()

    def close(self) -> None:
        self.sender.producer.close(10.0)


def open_checkpoint(
    kafka: KafkaConfig,
    consumer: Consumer,
    *,
    exactly_once: bool,
    transactional_id: str | None = None,
    name: str = "delivery",
    **overrides: Any,
) -> Checkpoint:
    """The checkpoint for ``consumer``: :class:`ExactlyOnce` with ``transactional_id``,
    or :class:`AtLeastOnce`. ``overrides`` are producer properties (librdkafka names).

    Exactly-once initialises its transactions here (fencing an older instance).
    """
    if exactly_once:
        config = producer_config(kafka, **{"transactional.id": transactional_id, **overrides})
        return ExactlyOnce(consumer, config, name=name)
    producer = ResilientProducer(producer_config(kafka, **overrides), name=name)
    return AtLeastOnce(consumer, producer, name=name)
