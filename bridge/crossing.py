"""Release across: a partner's reports from its home system to the other system.

Korea and Japan have no direct link. The bridge, the only party connected to both
bilateral systems, copies each partner's reports to the other system when their
signed label releases them to every nation there (Korea's to Japan-US as
``crossed.kor``, Japan's to ROK-US as ``crossed.jpn``). The record crosses
unchanged — key, value and the originator's label and signature — so the fusion on
the other side verifies the originator, not the bridge. A record that fails
verification does not cross (its home system's fusion dead-letters it), and one
whose label withholds it from the other system never leaves home: no byte of it,
no count, no timing reaches the other side.

Exactly once with no transaction spanning two clusters; per batch:

1. at start, read the target topic to its end; the last ``trilink-crossed-from``
   header per partition names the source offset already copied (one relay per
   direction is the writer of its target topic), so the relay resumes after it;
2. poll up to ``batch_size`` records from the source partitions (explicitly assigned);
3. verify each (signature, key trusted for the topic's nation, label) and keep those
   releasable to the target system's whole audience;
4. produce them to the same partition of the target topic with an idempotent,
   acks=all producer, each with a delivery callback, its source timestamp and the
   header naming its source position; flush; a failed delivery stops the relay (a
   restart resumes at step 1, so nothing is lost and nothing is copied twice).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from bridge.errors import ServiceError
from bridge.recovery import read_to_end
from trilink.config import KafkaConfig, Topics
from trilink.errors import SecurityError
from trilink.kafka import consumer_config, ensure_topics, poll_batch, producer_config
from trilink.kafka.clients import topic_partitions
from trilink.security import TrustStore, Verifier, security_headers
from trilink.systems import Crossing

log = logging.getLogger(__name__)

CROSSED_FROM_HEADER = "trilink-crossed-from"


@dataclass(slots=True)
class CrossingStats:
    """What one direction of release did (for logs, the demo and tests)."""

    crossed: int = 0
    withheld: int = 0  # verified, but its label does not release it to the other system
    refused: Counter[str] = field(default_factory=Counter)  # unverifiable, by reason
    ready: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True, slots=True)
class CrossingConfig:
    """One direction of release and the two clusters it joins."""

    crossing: Crossing
    source: KafkaConfig
    target: KafkaConfig
    topics: Topics = field(default_factory=Topics)
    batch_size: int = 500
    poll_timeout_s: float = 0.05


def raw_headers(msg: Message) -> list[tuple[str, bytes]]:
    """A consumed record's headers as (name, bytes) pairs, valueless ones dropped."""
    found: list[tuple[str, bytes]] = []
    for item in msg.headers() or []:
        name, value = item[0], item[1]
        if value is not None:
            found.append((str(name), value if isinstance(value, bytes) else str(value).encode()))
    return found


def crossed_from(msg: Message) -> tuple[int, int] | None:
    """(source partition, source offset) a crossed record names, or None."""
    for name, value in raw_headers(msg):
        if name == CROSSED_FROM_HEADER and value:
            partition, _, offset = value.decode("ascii", "replace").rpartition(":")
            _, _, part = partition.rpartition(":")
            if part.isdigit() and offset.isdigit():
                return int(part), int(offset)
    return None


class Relay:
    """Copies one partner's releasable reports across until ``stop`` is set."""

    def __init__(self, config: CrossingConfig, trust: TrustStore) -> None:
        self.config = config
        self.trust = trust
        self.stats = CrossingStats()
        c = config.crossing
        self.source_topic = c.source_topic(config.topics)
        self.target_topic = c.target_topic(config.topics)
        self.audience = c.target.audience
        self.name = f"relay {c.nation.value} {c.source.display}->{c.target.display}"

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop``; ServiceError if the target refuses a record."""
        cfg = self.config
        ensure_topics(cfg.source, [self.source_topic])
        consumer = Consumer(
            consumer_config(cfg.source, f"trilink-bridge-relay-{cfg.crossing.nation.value}")
        )
        producer = Producer(producer_config(cfg.target, **{"linger.ms": 1}))
        try:
            sources = topic_partitions(consumer, [self.source_topic])
            ensure_topics(cfg.target, [self.target_topic], partitions=len(sources))
            resume = self._resume_points()
            consumer.assign(
                [
                    TopicPartition(
                        self.source_topic, tp.partition, resume.get(tp.partition, OFFSET_BEGINNING)
                    )
                    for tp in sources
                ]
            )
            self.stats.ready.set()
            log.info("%s: ready (%d partitions)", self.name, len(sources))
            # A fresh verifier per run: a restart re-reads nothing already crossed.
            verifier = Verifier(self.trust)
            while not stop.is_set():
                msgs = poll_batch(consumer, cfg.batch_size, cfg.poll_timeout_s)
                if msgs:
                    self._cross(verifier, producer, msgs)
        finally:
            producer.flush(10.0)
            consumer.close()

    def _resume_points(self) -> dict[int, int]:
        """Source partition -> next source offset to copy (step 1)."""
        copied: dict[int, int] = {}

        def on_record(msg: Message) -> None:
            origin = crossed_from(msg)
            if origin is not None:
                copied[origin[0]] = max(copied.get(origin[0], -1), origin[1])

        read_to_end(
            self.config.target,
            self.target_topic,
            f"trilink-bridge-relay-{self.config.crossing.nation.value}-resume",
            on_record,
        )
        return {partition: offset + 1 for partition, offset in copied.items()}

    def _cross(self, verifier: Verifier, producer: Producer, msgs: list[Message]) -> None:
        """Steps 3 and 4 for one batch."""
        failures: list[str] = []

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}/{msg.partition()}: {err.str()}")

        for msg in msgs:
            topic, partition = str(msg.topic()), int(msg.partition() or 0)
            offset = int(msg.offset() or 0)
            try:
                verified = verifier.verify(
                    security_headers(raw_headers(msg)),
                    msg.value() or b"",
                    nation=self.config.crossing.nation,
                    where=(topic, partition, offset),
                )
            except SecurityError as exc:
                self.stats.refused[exc.error_type] += 1
                continue
            if not verified.label.releasable(self.audience):
                self.stats.withheld += 1
                continue
            headers: list[tuple[str, str | bytes | None]] = [*raw_headers(msg)]
            headers.append((CROSSED_FROM_HEADER, f"{topic}:{partition}:{offset}".encode()))
            # The source record's timestamp goes along (as MirrorMaker's does): the
            # target's bridge orders a backlog across its topics by it.
            kind, stamp_ms = msg.timestamp()
            producer.produce(
                self.target_topic,
                msg.value(),
                msg.key(),
                partition=partition,
                headers=headers,
                on_delivery=delivered,
                timestamp=stamp_ms if kind != TIMESTAMP_NOT_AVAILABLE and stamp_ms > 0 else 0,
            )
            self.stats.crossed += 1
        producer.flush(30.0)
        if failures or len(producer) > 0:
            raise ServiceError(
                f"{self.name}: {len(failures) or len(producer)} record(s) not delivered to "
                f"{self.target_topic}: {failures[:1]}"
            )
