"""The no-op reference for the bridge: decode -> encode -> produce, with the bridge's plumbing.

Everything but the fusion is the bridge's: the consumer properties
(``trilink.kafka``), ``poll_batch`` with the bridge's batch size and poll timeout,
the explicit assignment at the group's committed offsets, the typed topics and
their codec, and the very same delivery: a :func:`~trilink.kafka.open_checkpoint`
checkpoint that, per batch, commits one output record per warning (the warning
decoded and encoded again, same key: the local track id) with the positions after the batch, in one
transaction (``transactional=True``; see :class:`~trilink.kafka.ExactlyOnce`) or
by produce, flush, then offset commit, on the bridge's cadence (``bridge.outbox``):
output waits up to ``commit_interval_s`` while the polls come back full (behind),
and is committed with its batch otherwise. The ratio bridge / passthrough is then
the cost of the fusion itself.
"""

from __future__ import annotations

import logging
import threading

from confluent_kafka import OFFSET_STORED, Consumer, Message, TopicPartition

from bridge.config import BridgeConfig
from bridge.outbox import Outbox
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig
from trilink.kafka import (
    Checkpoint,
    DeliveryTracker,
    RecordTopics,
    Topic,
    consumer_config,
    ensure_topics,
    open_checkpoint,
    poll_batch,
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
        self._outbox = Outbox(config.commit_interval_s)
        self.delivery = DeliveryTracker("passthrough")  # the checkpoint's, once running
        topics = RecordTopics.of(config.topics, self.codec)
        self._inputs = {t.name: t for t in topics.by_nation.values()}
        # Warnings on the alerts topic, keyed like their input (the local track id).
        self._output = Topic(
            config.topics.alerts, MissileWarning, self.codec, lambda w: w.track_id.encode()
        )

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set."""
        inputs = list(self._inputs)
        ensure_topics(self.kafka, [*inputs, self._output.name])
        consumer = Consumer(consumer_config(self.kafka, self.config.group))
        try:
            checkpoint = open_checkpoint(
                self.kafka,
                consumer,
                exactly_once=self.config.transactional,
                transactional_id=self.config.transactional_id,
                name="passthrough",
                **{"linger.ms": 1},
            )
            self.delivery = checkpoint.tracker
            try:
                parts = topic_partitions(consumer, inputs)
                consumer.assign(
                    [TopicPartition(tp.topic, tp.partition, OFFSET_STORED) for tp in parts]
                )
                self.ready.set()
                while not stop.is_set():
                    msgs = poll_batch(consumer, self.config.batch_size, self.config.poll_timeout_s)
                    if msgs:
                        self._handle(checkpoint, msgs)
                    elif self._outbox.due():
                        self._commit(checkpoint)
            finally:
                checkpoint.close()
        finally:
            consumer.close()

    def _handle(self, checkpoint: Checkpoint, msgs: list[Message]) -> None:
        checkpoint.consumed(msgs)
        records = [
            self._output.message(self._inputs[str(m.topic())].decode(m.value())) for m in msgs
        ]
        self._outbox.hold(records, alerts=len(records))
        if len(msgs) < self.config.batch_size or self._outbox.due():
            self._commit(checkpoint)

    def _commit(self, checkpoint: Checkpoint) -> None:
        out = self._outbox.release()
        # Stateless: after an abort the rewound input is simply consumed and copied again.
        if checkpoint.commit(out.records):
            self.consumed += out.alerts
