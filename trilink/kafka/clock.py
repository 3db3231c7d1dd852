"""Agreeing on the session's clock through a one-partition topic.

Every service calls :func:`agree_clock` at start-up with the definition it would
use on its own. The topic decides:

1. read every definition on the clock topic;
2. if there is none, publish the proposal (generation 0) and read again: when two
   services race, the first record in the log wins for both;
3. the definition in force is the one with the highest generation (ties: the
   earliest offset); a service whose requested rate disagrees with it is told so
   in one line instead of silently running on another time base.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from trilink.clock import REAL_TIME, ClockDefinition, SimClock
from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.errors import ConfigError, DecodeError, KafkaError
from trilink.kafka.clients import consumer_config, ensure_topics, producer_config
from trilink.kafka.consume import poll_one
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

_KEY = b"clock"


def _definition(
    codec: Codec, value: bytes | None, topic: str, offset: int
) -> ClockDefinition | None:
    """The definition in one clock record, or None (logged) if it is not one."""
    try:
        _, datum = codec.decode_dict(value, ClockDefinition.SCHEMA)
        return ClockDefinition.from_dict(datum)
    except (DecodeError, ConfigError, KeyError, TypeError, ValueError) as exc:
        log.warning("clock topic %s@%d: ignoring a bad definition: %s", topic, offset, exc)
        return None


def read_clock(
    kafka: KafkaConfig, topic: str, codec: Codec, *, timeout: float = 10.0
) -> ClockDefinition | None:
    """The definition in force on ``topic``, or None if none was ever written."""
    consumer = Consumer(consumer_config(kafka, f"trilink-clock-{time.time_ns()}"))
    try:
        tp = TopicPartition(topic, 0)
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
        except KafkaException as exc:
            raise KafkaError(f"cannot read the clock topic: {exc}", topic=topic) from exc
        if high <= low:
            return None
        consumer.assign([TopicPartition(topic, 0, low)])
        best: tuple[int, int, ClockDefinition] | None = None
        deadline = time.monotonic() + timeout
        last = low - 1
        while time.monotonic() < deadline:
            # Past the reported end, drain what is still fetched: Tansu reports the
            # end of a partition as the start of its last batch.
            msg = poll_one(consumer, 0.5 if last < high - 1 else 0.2)
            if msg is None:
                if last < high - 1:
                    continue
                break
            last = int(msg.offset() or 0)
            found = _definition(codec, msg.value(), topic, last)
            if found is None:
                continue
            rank = (found.generation, -last)
            if best is None or rank > best[:2]:
                best = (found.generation, -last, found)
        return None if best is None else best[2]
    finally:
        consumer.close()


def write_clock(kafka: KafkaConfig, topic: str, codec: Codec, definition: ClockDefinition) -> None:
    """Publish ``definition`` on the clock topic and wait until the broker has it."""
    producer = Producer(producer_config(kafka))
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    producer.produce(
        topic,
        codec.encode_dict(ClockDefinition.SCHEMA, definition.to_dict()),
        _KEY,
        partition=0,  # the clock is read from partition 0, whatever the topic's count
        on_delivery=delivered,
    )
    if producer.flush(10.0) or failures:
        raise KafkaError(f"cannot write the clock: {failures or 'timed out'}", topic=topic)


def _read_back(
    kafka: KafkaConfig, topic: str, codec: Codec, *, timeout: float = 30.0
) -> ClockDefinition:
    """The definition in force once a write is acknowledged, waiting until it shows.

    An acknowledged record is not at once visible to every reader: a
    ``read_committed`` reader stops at the last stable offset, and under
    ``acks=1`` a follower may still trail the high watermark; with services
    racing to write, one such read came back empty on a loaded CI machine.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        found = read_clock(kafka, topic, codec, timeout=max(0.5, deadline - time.monotonic()))
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise KafkaError(
                f"the clock just written is not readable after {timeout:g} s", topic=topic
            )
        log.info("clock topic %s: the definition just written is not visible yet", topic)
        time.sleep(delay)
        delay = min(1.0, delay * 2)


def agree_clock(
    kafka: KafkaConfig,
    topic: str,
    codec: Codec,
    proposal: ClockDefinition,
    *,
    strict_rate: bool = True,
) -> ClockDefinition:
    """The session's clock: the one on ``topic``, or ``proposal`` if there is none yet.

    With ``strict_rate`` a definition in force at another rate is an error (a
    producer asked for 10x on a cluster running at 25x would publish reports the
    bridge cannot place); without it the service adopts what it finds.
    """
    ensure_topics(kafka, [topic], partitions=1)
    found = read_clock(kafka, topic, codec)
    if found is None:
        write_clock(kafka, topic, codec, replace(proposal, generation=0))
        found = _read_back(kafka, topic, codec)
    if strict_rate and found.rate != proposal.rate:
        raise ConfigError(
            f"the session clock runs at {found.describe()} (set by {found.set_by or '?'}); "
            f"this service asked for {proposal.rate:g}x: use the same --speed, or reset it "
            "with 'trilink clock reset'"
        )
    return found


def reset_clock(
    kafka: KafkaConfig, topic: str, codec: Codec, proposal: ClockDefinition
) -> ClockDefinition:
    """Supersede the definition in force (next generation); services restarted adopt it."""
    ensure_topics(kafka, [topic], partitions=1)
    found = read_clock(kafka, topic, codec)
    generation = 0 if found is None else found.generation + 1
    definition = replace(proposal, generation=generation)
    write_clock(kafka, topic, codec, definition)
    return definition


class SessionClock:
    """The session clock as a service sees it while it runs: follows the clock topic.

    Scenario time comes from the definition in force; :meth:`poll` (called from the
    service's loop, non-blocking) adopts a newer one as soon as it is written — a
    service started before the clock was set, or a ``trilink clock --reset``.
    Until a definition exists the session runs on real time.
    """

    def __init__(
        self,
        kafka: KafkaConfig,
        topic: str,
        codec: Codec,
        *,
        initial: ClockDefinition | None = None,
        wall: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.topic = topic
        self.codec = codec
        self.wall = wall
        self.definition = initial or REAL_TIME
        self._rank: tuple[int, int] | None = None
        ensure_topics(kafka, [topic], partitions=1)
        self._consumer = Consumer(consumer_config(kafka, f"trilink-clock-{time.time_ns()}"))
        self._consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])

    def now(self) -> int:
        """Scenario time now."""
        return SimClock(self.definition, self.wall).now()

    @property
    def rate(self) -> float:
        return self.definition.rate

    def poll(self, timeout: float = 0.0) -> bool:
        """Read new definitions; True if the one in force changed."""
        changed = False
        while True:
            msg = poll_one(self._consumer, timeout)
            if msg is None:
                return changed
            timeout = 0.0
            offset = int(msg.offset() or 0)
            found = _definition(self.codec, msg.value(), self.topic, offset)
            if found is None:
                continue
            rank = (found.generation, -offset)
            if self._rank is None or rank > self._rank:
                self._rank = rank
                if found != self.definition:
                    log.warning("session clock: %s", found.describe())
                    self.definition = found
                    changed = True

    def close(self) -> None:
        self._consumer.close()


def join_session_clock(
    kafka: KafkaConfig,
    topic: str,
    codec: Codec,
    *,
    speed: float | None,
    service: str,
    wall: Callable[[], int] = wall_clock_us,
) -> SessionClock:
    """The clock a service runs on: with ``speed`` given, agreed (proposed if the session
    has none; a different rate in force is an error); without, followed as it is."""
    initial = None
    if speed is not None:
        now = wall()
        proposal = ClockDefinition(now, speed, set_by=service, set_at_us=now)
        initial = agree_clock(kafka, topic, codec, proposal)
    clock = SessionClock(kafka, topic, codec, initial=initial, wall=wall)
    clock.poll(1.0)
    return clock
