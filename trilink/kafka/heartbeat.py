"""Heartbeats on the cluster: services publish their health, ``trilink status`` reads it."""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.errors import ConfigError, DecodeError, KafkaError
from trilink.health import HealthMonitor, Heartbeat
from trilink.kafka.clients import consumer_config, ensure_topics, producer_config, topic_partitions
from trilink.kafka.consume import poll_one

log = logging.getLogger(__name__)


class HeartbeatPublisher:
    """Publishes a service's heartbeats with a producer of its own.

    Its own, because a transactional service producer cannot write outside its
    transactions, and health must get out even when the service's output is stuck.
    """

    def __init__(self, kafka: KafkaConfig, topic: str, codec: Codec) -> None:
        ensure_topics(kafka, [topic], partitions=1)
        self.topic = topic
        self.codec = codec
        self.failed = 0
        self._producer = Producer(producer_config(kafka, **{"linger.ms": 0}))

    def publish(self, beat: Heartbeat) -> None:
        """Queue ``beat`` (keyed by service and instance); never blocks the service."""

        def delivered(err: object, _msg: object) -> None:
            if err is not None:
                self.failed += 1
                log.debug("heartbeat not delivered: %s", err)

        value = self.codec.encode_dict(Heartbeat.SCHEMA, beat.to_dict())
        key = f"{beat.service}/{beat.instance}".encode()
        try:
            self._producer.produce(self.topic, value, key, on_delivery=delivered)
        except BufferError:  # the broker is unreachable and the queue full: skip a beat
            self.failed += 1
        self._producer.poll(0)

    def close(self, timeout: float = 2.0) -> None:
        """Deliver what is queued, waiting at most ``timeout`` seconds."""
        self._producer.flush(timeout)


def read_heartbeats(
    kafka: KafkaConfig, topic: str, codec: Codec, *, timeout: float = 10.0
) -> list[Heartbeat]:
    """The newest heartbeat of every (service, instance) on ``topic``."""
    consumer = Consumer(consumer_config(kafka, f"trilink-status-{time.time_ns()}"))
    newest: dict[tuple[str, str], Heartbeat] = {}
    try:
        ends: dict[int, int] = {}
        starts = []
        for tp in topic_partitions(consumer, [topic], timeout):
            try:
                low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
            except KafkaException as exc:
                raise KafkaError(f"cannot read heartbeats: {exc}", topic=topic) from exc
            if high > low:
                ends[tp.partition] = high - 1
                starts.append(TopicPartition(topic, tp.partition, low))
        if not starts:
            return []
        consumer.assign(starts)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Past the reported ends, drain what is still fetched: Tansu reports the
            # end of a partition as the start of its last batch.
            msg = poll_one(consumer, 0.5 if ends else 0.2)
            if msg is None:
                if ends:
                    continue
                break
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            if offset >= ends.get(partition, -1):
                ends.pop(partition, None)
            try:
                _, datum = codec.decode_dict(msg.value(), Heartbeat.SCHEMA)
                beat = Heartbeat.from_dict(datum)
            except (DecodeError, ConfigError, KeyError, TypeError, ValueError) as exc:
                log.debug("heartbeat %s[%d]@%d skipped: %s", topic, partition, offset, exc)
                continue
            key = (beat.service, beat.instance)
            if key not in newest or beat.time_us >= newest[key].time_us:
                newest[key] = beat
    finally:
        consumer.close()
    return sorted(newest.values(), key=lambda b: (b.service, b.instance))


def consumer_lag(consumer: Consumer) -> int:
    """Records between ``consumer``'s positions and the ends of its assigned partitions.

    From the client's cached watermarks (no broker round trip), so it is cheap enough
    for every heartbeat; never negative (Tansu may report an end short of the truth).
    """
    try:
        parts = consumer.position(consumer.assignment())
    except KafkaException:
        return 0
    lag = 0
    for tp in parts:
        try:
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
        except KafkaException:
            continue
        if tp.offset >= 0 and high >= 0:
            lag += max(0, high - tp.offset)
    return lag


class ServiceHealth:
    """A service's health reporting: the periodic line in its log and its heartbeats."""

    def __init__(
        self,
        monitor: HealthMonitor,
        publisher: HeartbeatPublisher | None,
        logger: logging.Logger,
    ) -> None:
        self.monitor = monitor
        self.publisher = publisher
        self.logger = logger

    def tick(self, consumer: Consumer | None = None) -> Heartbeat | None:
        """Once per period: measure the lag, log the health line, publish the heartbeat."""
        if not self.monitor.due():
            return None
        if consumer is not None:
            self.monitor.lag_records = consumer_lag(consumer)
        beat = self.monitor.heartbeat()
        self.monitor.log(self.logger, beat)
        if self.publisher is not None:
            self.publisher.publish(beat)
        return beat

    def close(self) -> None:
        """A last heartbeat saying the service stops."""
        self.monitor.stopping = True
        if self.publisher is not None:
            self.publisher.publish(self.monitor.heartbeat())
            self.publisher.close()
