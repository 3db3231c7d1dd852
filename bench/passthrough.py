"""The no-op reference for the bridge: decode -> encode -> produce, with the bridge's plumbing.

Everything but the fusion is the bridge's: the consumer and producer properties
(``trilink.kafka``), ``poll_batch`` with the bridge's batch size and poll timeout,
the explicit assignment at the group's committed offsets, the codec and its
framing, and the same delivery: per batch, with ``transactional=True``,

1. ``begin_transaction()``;
2. produce one record per warning (the warning decoded and encoded again, same key);
3. ``send_offsets_to_transaction()`` with the positions after the batch;
4. ``commit_transaction()``;

or, with ``transactional=False``, produce, flush, then commit the offsets. The
ratio bridge / passthrough is then the cost of the fusion itself.
"""

from __future__ import annotations

import logging
import threading

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
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig
from trilink.kafka import (
    DeliveryTracker,
    consumer_config,
    ensure_topics,
    poll_batch,
    producer_config,
    topic_partitions,
)
from trilink.model import MissileWarning

log = logging.getLogger(__name__)


class PassthroughService:
    """Copies every warning of the bridge's input topics to its alerts topic."""

    def __init__(self, kafka: KafkaConfig, config: BridgeConfig, codec: Codec | None = None):
        self.kafka = kafka
        self.config = config
        self.codec = codec or codec_for(kafka)
        self.consumed = 0
        self.ready = threading.Event()
        self.delivery = DeliveryTracker("passthrough")

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set."""
        topics = self.config.topics
        inputs = list(topics.all_warnings())
        ensure_topics(self.kafka, [*inputs, topics.alerts])
        overrides = {"linger.ms": 1}
        if self.config.transactional:
            overrides["transactional.id"] = self.config.transactional_id  # type: ignore[assignment]
        producer = Producer(producer_config(self.kafka, **overrides))
        if self.config.transactional:
            producer.init_transactions(30.0)
        consumer = Consumer(consumer_config(self.kafka, self.config.group))
        try:
            parts = topic_partitions(consumer, inputs)
            consumer.assign([TopicPartition(tp.topic, tp.partition, OFFSET_STORED) for tp in parts])
            self.ready.set()
            while not stop.is_set():
                msgs = poll_batch(consumer, self.config.batch_size, self.config.poll_timeout_s)
                if msgs:
                    self._handle(consumer, producer, msgs)
        finally:
            consumer.close()
            producer.flush(10.0)

    def _handle(self, consumer: Consumer, producer: Producer, msgs: list[Message]) -> None:
        out = self.config.topics.alerts
        records = [
            (m.key(), self.codec.encode(self.codec.decode(m.value(), MissileWarning))) for m in msgs
        ]
        pending: dict[tuple[str, int], int] = {}
        for m in msgs:
            pending[(str(m.topic()), int(m.partition() or 0))] = int(m.offset() or 0) + 1
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(pending.items())]
        if self.config.transactional:
            producer.begin_transaction()
            for key, value in records:
                self._produce(producer, out, key, value)
            producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30.0)
            self._commit(producer)
        else:
            for key, value in records:
                self._produce(producer, out, key, value)
            producer.flush(30.0)
            consumer.commit(offsets=offsets, asynchronous=False)
        self.consumed += len(msgs)

    def _produce(self, producer: Producer, topic: str, key: bytes | None, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=self.delivery)
                return
            except BufferError:
                producer.poll(0.05)

    @staticmethod
    def _commit(producer: Producer) -> None:
        while True:
            try:
                producer.commit_transaction(30.0)
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, ConfluentError) and err.retriable():
                    continue
                raise
