"""The bridge as a Kafka service: consume national warnings, publish the common picture.

Exactly-once (``transactional=True``), per batch:

1. poll up to ``batch_size`` records from the warning topics (explicitly assigned,
   resuming at the group's committed offsets);
2. run them through the pure engine (alerts, dead letters, state snapshots);
3. ``begin_transaction()``;
4. produce the alerts (key = system track id), the dead letters and the
   snapshots of every touched system track (key = system track id);
5. ``send_offsets_to_transaction()`` with the positions after the batch and the
   consumer's group metadata;
6. ``commit_transaction()``; on an abortable error abort and redo 3-6 with the
   same output (the engine already moved on; its output is deterministic);
   a fatal error (e.g. fenced by a newer instance) stops the service.

A batch that produced nothing (only replays) opens no transaction: its offsets
ride with the next one (Tansu commits an offsets-only transaction only once).

Correctness does not rest on transactions: the engine ignores reports at or
below a track's applied sequence and numbers alerts above everything already on
the alerts topic, so with ``transactional=False`` (produce, flush, then commit
offsets: at-least-once) and on brokers where aborted output stays visible
(Tansu) no (system track id, version) is ever published twice.

Start-up: ``init_transactions()`` first (fences a previous instance and aborts its
open transaction), then the state and alerts topics are read to their end
(``recovery``) and the engine restored before the first warning is polled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_STORED,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka import KafkaError as ConfluentError

from bridge.config import BridgeConfig
from bridge.engine import Engine, Inbound, Outcome
from bridge.errors import ServiceError
from bridge.recovery import recover
from bridge.state import BridgeTrackState
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig
from trilink.kafka import (
    DeliveryTracker,
    ResilientProducer,
    consumer_config,
    ensure_topics,
    poll_batch,
    producer_config,
    topic_partitions,
)
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

_TXN_ATTEMPTS = 5


@dataclass(slots=True)
class Stats:
    """Counters a running service exposes (for logs and tests)."""

    batches: int = 0
    consumed: int = 0
    alerts: int = 0
    dead_letters: int = 0
    replayed: int = 0
    transactions: int = 0
    aborts: int = 0
    restored_tracks: int = 0
    ready: threading.Event = field(default_factory=threading.Event)


class BridgeService:
    """Runs the engine against a cluster until ``stop`` is set."""

    def __init__(
        self,
        kafka: KafkaConfig,
        config: BridgeConfig,
        *,
        codec: Codec | None = None,
        clock: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.kafka = kafka
        self.config = config
        self.codec = codec or codec_for(kafka)
        self.clock = clock
        self.engine = Engine(config.engine, self.codec, clock)
        self.stats = Stats()
        self._pending: dict[tuple[str, int], int] = {}  # offsets not yet committed
        self._txn: Producer | None = None
        self._plain: ResilientProducer | None = None
        self._failed: list[tuple[str, bytes | None, bytes | None]] = []

    # -- life cycle -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; the batch in hand is finished first."""
        topics = self.config.topics
        inputs = list(topics.all_warnings())
        ensure_topics(self.kafka, [*inputs, topics.alerts, topics.dead_letter, topics.bridge_state])
        self._open_producer()
        try:
            recovered = recover(
                self.kafka, topics.bridge_state, topics.alerts, self.config.group, self.codec
            )
            self.engine.restore(recovered.states.values(), recovered.published)
            self.stats.restored_tracks = len(recovered.states)
            consumer = Consumer(consumer_config(self.kafka, self.config.group))
            try:
                lost = self.engine.resume()
                if not lost.empty:
                    log.warning(
                        "re-issuing %d alert(s) lost with a cut-short transaction", len(lost.alerts)
                    )
                    self._deliver(consumer, lost)
                parts = topic_partitions(consumer, inputs)
                consumer.assign(
                    [TopicPartition(tp.topic, tp.partition, OFFSET_STORED) for tp in parts]
                )
                self.stats.ready.set()
                log.info("bridge serving %s", ", ".join(inputs))
                self._loop(consumer, stop)
            finally:
                consumer.close()
        finally:
            self._close_producer()

    def _loop(self, consumer: Consumer, stop: threading.Event) -> None:
        last_input = time.monotonic()
        last_event = self.engine.event_us
        while not stop.is_set():
            msgs = poll_batch(consumer, self.config.batch_size, self.config.poll_timeout_s)
            if msgs:
                last_input, last_event = time.monotonic(), self.engine.event_us
                self._handle(consumer, msgs)
                last_event = self.engine.event_us
                continue
            idle = time.monotonic() - last_input
            if self.config.idle_advance and idle >= 1.0 and last_event:
                # Nothing arrives: let event time run at the scenario clock's pace so
                # that impact times still pass.
                out = self.engine.tick(last_event + round(idle * self.config.idle_rate * 1e6))
                if not out.empty:
                    self._deliver(consumer, out)

    def _handle(self, consumer: Consumer, msgs: list[Message]) -> None:
        batch = [
            Inbound(
                str(m.topic()),
                int(m.partition() or 0),
                int(m.offset() or 0),
                m.key(),
                m.value(),
                _headers(m),
            )
            for m in msgs
        ]
        for m in msgs:
            self._pending[(str(m.topic()), int(m.partition() or 0))] = int(m.offset() or 0) + 1
        out = self.engine.process(batch)
        self.stats.batches += 1
        self.stats.consumed += len(msgs)
        self.stats.replayed += out.replayed
        if out.empty:
            return  # offsets ride with the next transaction
        self._deliver(consumer, out)

    # -- output -------------------------------------------------------------------------

    def _records(self, out: Outcome) -> list[tuple[str, bytes | None, bytes | None]]:
        topics = self.config.topics
        records: list[tuple[str, bytes | None, bytes | None]] = []
        for alert in out.alerts:
            records.append(
                (topics.alerts, alert.system_track_id.encode(), self.codec.encode(alert))
            )
        for dead in out.dead_letters:
            records.append((topics.dead_letter, dead.key, self.codec.encode(dead)))
        for state in out.states:
            value = self.codec.encode_dict(BridgeTrackState.SCHEMA, state.to_dict())
            records.append((topics.bridge_state, state.system_track_id.encode(), value))
        for track_id in out.tombstones:
            records.append((topics.bridge_state, track_id.encode(), None))
        return records

    def _deliver(self, consumer: Consumer, out: Outcome) -> None:
        records = self._records(out)
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(self._pending.items())]
        if self.config.transactional:
            self._deliver_transaction(consumer, records, offsets)
        else:
            self._deliver_plain(consumer, records, offsets)
        self._pending.clear()
        self.stats.alerts += len(out.alerts)
        self.stats.dead_letters += len(out.dead_letters)

    def _deliver_transaction(
        self,
        consumer: Consumer,
        records: list[tuple[str, bytes | None, bytes | None]],
        offsets: list[TopicPartition],
    ) -> None:
        producer = self._txn
        assert producer is not None
        for attempt in range(1, _TXN_ATTEMPTS + 1):
            try:
                producer.begin_transaction()
                for topic, key, value in records:
                    self._produce(producer, topic, key, value)
                if offsets:
                    producer.send_offsets_to_transaction(
                        offsets, consumer.consumer_group_metadata(), 30.0
                    )
                self._commit(producer)
                self.stats.transactions += 1
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if (
                    not isinstance(err, ConfluentError)
                    or err.fatal()
                    or not err.txn_requires_abort()
                ):
                    raise ServiceError(f"transaction failed: {exc}") from exc
                log.warning("aborting transaction (attempt %d): %s", attempt, err.str())
                self.stats.aborts += 1
                producer.abort_transaction(30.0)
        raise ServiceError(f"transaction still failing after {_TXN_ATTEMPTS} attempts")

    def _commit(self, producer: Producer) -> None:
        while True:
            try:
                producer.commit_transaction(30.0)
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, ConfluentError) and err.retriable():
                    continue
                raise

    def _produce(
        self, producer: Producer, topic: str, key: bytes | None, value: bytes | None
    ) -> None:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=self._on_delivery)
                return
            except BufferError:
                producer.poll(0.05)

    def _on_delivery(self, err: ConfluentError | None, msg: Message) -> None:
        if err is not None:
            log.warning("delivery to %s failed: %s", msg.topic(), err.str())

    def _deliver_plain(
        self,
        consumer: Consumer,
        records: list[tuple[str, bytes | None, bytes | None]],
        offsets: list[TopicPartition],
    ) -> None:
        producer = self._plain
        assert producer is not None
        pending = records
        for _ in range(_TXN_ATTEMPTS):
            self._failed = []
            for topic, key, value in pending:
                producer.produce(topic, value, key, on_delivery=self._collect(topic, key, value))
            producer.flush(30.0)
            if not self._failed:
                break
            log.warning("re-producing %d record(s) that failed delivery", len(self._failed))
            pending = self._failed
        else:
            raise ServiceError("output could not be delivered")
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                # Harmless for correctness: the batch is replayed and ignored on restart.
                log.warning("offset commit failed: %s", exc)

    def _collect(
        self, topic: str, key: bytes | None, value: bytes | None
    ) -> Callable[[ConfluentError | None, Message], None]:
        def report(err: ConfluentError | None, _msg: Message) -> None:
            if err is not None:
                self._failed.append((topic, key, value))

        return report

    # -- producers ------------------------------------------------------------------------

    def _open_producer(self) -> None:
        if self.config.transactional:
            conf = producer_config(
                self.kafka,
                **{"transactional.id": self.config.transactional_id, "linger.ms": 1},
            )
            try:
                self._txn = Producer(conf)
                self._txn.init_transactions(30.0)
            except KafkaException as exc:
                raise ServiceError(f"cannot initialise transactions: {exc}") from exc
        else:
            self._plain = ResilientProducer(
                producer_config(self.kafka), name="bridge", tracker=DeliveryTracker("bridge")
            )

    def _close_producer(self) -> None:
        if self._txn is not None:
            self._txn.flush(10.0)
        if self._plain is not None:
            self._plain.close()


def _headers(msg: Message) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for item in msg.headers() or []:
        name, value = item[0], item[1]
        found[str(name)] = value if isinstance(value, bytes) else str(value or "").encode()
    return found
