"""A nation's producer as a Kafka service: launches in, that nation's warnings out.

Loop (every ``tick_s`` of wall time until ``stop`` is set):

1. poll the ground-truth launch topic; each record is decoded into a
   :class:`~trilink.model.LaunchEvent` and given to the simulation of its scenario
   (a record that does not decode, or a launch that cannot be flown, goes to the
   dead-letter topic with the reason — the service never stops for bad input);
2. advance every scenario's :class:`~producers.national.NationalSimulation` to now on
   the session clock (:mod:`trilink.kafka.clock`: real time, or one shared epoch and
   rate for the whole session, so every injection and the bridge share a time base);
3. publish the warnings that came due on the nation's topic, key = local track id,
   through an idempotent, acks=all :class:`~trilink.kafka.ResilientProducer`
   (recreated after a fatal error) and the :class:`~trilink.kafka.Sender` that the
   at-least-once checkpoint also delivers with: a warning whose delivery fails is
   produced again on the next tick (a few times) — the bridge drops duplicates by
   (nation, track, sequence).

Launches are read from "now" on (explicit assignment, no consumer group): a producer
started after an injection ignores it, exactly as a sensor that was off would.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, Message

from producers.national import NationalConfig, NationalSimulation
from sim.errors import SimError
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig, Topics
from trilink.errors import DecodeError, TrilinkError, ValidationError
from trilink.health import RateLimitedLog
from trilink.kafka import (
    RecordTopics,
    ResilientProducer,
    Sender,
    assign_from_now,
    consumer_config,
    ensure_topics,
    poll_batch,
    producer_config,
)
from trilink.kafka.clock import SessionClock, join_session_clock
from trilink.model import DeadLetter, MissileWarning, Nation
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

_MAX_RESENDS = 3  # a warning is produced at most 1 + this many times


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """Everything a national producer needs besides the cluster."""

    nation: Nation
    # The session clock's speed: given, agreed with the cluster; None follows it.
    speed: float | None = None
    topics: Topics = field(default_factory=Topics)
    national: NationalConfig = field(default_factory=NationalConfig)
    tick_s: float = 0.05
    group: str = ""

    def __post_init__(self) -> None:
        if self.nation not in (Nation.KOR, Nation.JPN, Nation.USA):
            raise TrilinkError(f"no national producer for {self.nation.value}")
        if self.speed is not None and not (math.isfinite(self.speed) and self.speed > 0.0):
            raise TrilinkError(f"speed must be > 0, got {self.speed}")

    @property
    def service(self) -> str:
        return f"producer-{self.nation.value.lower()}"


@dataclass(slots=True)
class ProducerStats:
    """Counters of a running producer (for logs and tests)."""

    launches: int = 0
    warnings: int = 0
    dead_letters: int = 0
    resent: int = 0
    ready: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class _Scenario:
    start_us: int
    sim: NationalSimulation


class NationalProducer:
    """One nation's producer service; ``run(stop)`` serves until ``stop`` is set."""

    def __init__(
        self,
        kafka: KafkaConfig,
        config: ProducerConfig,
        *,
        codec: Codec | None = None,
        clock: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.kafka = kafka
        self.config = config
        self.codec = codec or codec_for(kafka)
        self.clock = clock
        self.session: SessionClock | None = None
        self.stats = ProducerStats()
        self._dead_log = RateLimitedLog(log, "dead letter")
        self._scenarios: dict[tuple[str, int], _Scenario] = {}
        numbers = itertools.count(1)
        self._track_ids = lambda: f"{config.nation.value}-{next(numbers):04d}"
        self._sender: Sender | None = None
        self._topics = RecordTopics.of(config.topics, self.codec)
        self._warnings = self._topics.warnings(config.nation)

    # -- life cycle -----------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; queued warnings are flushed before returning."""
        topics = self.config.topics
        out_topic = self._warnings.name
        ensure_topics(self.kafka, [topics.launches, out_topic, topics.dead_letter])
        self.session = join_session_clock(
            self.kafka,
            topics.clock,
            self.codec,
            speed=self.config.speed,
            service=self.config.service,
            wall=self.clock,
        )
        group = self.config.group or f"trilink-{self.config.service}"
        consumer = Consumer(consumer_config(self.kafka, group))
        producer = ResilientProducer(
            producer_config(self.kafka), name=f"{self.config.service} producer"
        )
        self._sender = Sender(producer, attempts=1 + _MAX_RESENDS)
        try:
            assign_from_now(consumer, [topics.launches])
            self.stats.ready.set()
            log.info(
                "%s ready: reading %s; writing %s; clock %s",
                self.config.service,
                topics.launches,
                out_topic,
                self.session.definition.describe(),
            )
            while not stop.is_set():
                self.session.poll()
                for msg in poll_batch(consumer, 100, self.config.tick_s):
                    self._on_message(msg)
                self._step()
                self._sender.poll(0)
        finally:
            producer.close()
            consumer.close()
            self.session.close()
            self._sender = None

    # -- input ----------------------------------------------------------------------
    def _on_message(self, msg: Message) -> None:
        value = msg.value()
        try:
            event = self._topics.launches.decode(value)
        except (DecodeError, ValidationError) as exc:
            self._dead_letter(msg, exc.error_type, exc.reason)
            return
        self.stats.launches += 1
        start = event.scenario_start_us or event.launch_time_us
        scenario = self._scenarios.get((event.scenario_id, start))
        if scenario is None:
            sim = NationalSimulation(
                self.config.nation, config=self.config.national, track_ids=self._track_ids
            )
            scenario = _Scenario(start, sim)
            self._scenarios[(event.scenario_id, start)] = scenario
        # Catch the scenario's clock up to now first, so a late launch is seen as late.
        for warning in scenario.sim.advance(self._sim_now(scenario)):
            self._publish(warning)
        try:
            scenario.sim.add_launch(event)
        except SimError as exc:
            self._dead_letter(msg, "simulation", f"launch {event.launch_id}: {exc}")
            return
        log.info(
            "%s: launch %s (%s) from %s, %.1f s of simulation time before launch",
            self.config.service,
            event.launch_id,
            event.missile,
            event.site,
            (event.launch_time_us - scenario.sim.clock_us) / 1e6,
        )

    def _dead_letter(self, msg: Message, error_type: str, reason: str) -> None:
        topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), msg.offset()
        self._dead_log(f"{topic}[{partition}]@{offset}: {reason}")
        record = DeadLetter(
            topic=topic,
            partition=partition,
            offset=int(offset if offset is not None else -1),
            key=msg.key(),
            value=msg.value(),
            error_type=error_type,
            reason=reason,
            time_us=self._sim_now(),
            service=self.config.service,
        )
        assert self._sender is not None
        # Not produced again if it fails: a dead letter is a report, not the data.
        self._sender.send(self._topics.dead_letter.message(record), attempts=1)
        self.stats.dead_letters += 1

    # -- output ---------------------------------------------------------------------
    def _sim_now(self, scenario: _Scenario | None = None) -> int:
        # Every scenario runs on the one session clock: a scenario injected an hour
        # into the session is on the same time base as the first, and as the bridge.
        del scenario
        return self.clock() if self.session is None else self.session.now()

    def _step(self) -> None:
        assert self._sender is not None
        self.stats.resent += self._sender.retry()
        for key, scenario in list(self._scenarios.items()):
            for warning in scenario.sim.advance(self._sim_now(scenario)):
                self._publish(warning)
            if scenario.sim.idle:
                del self._scenarios[key]

    def _publish(self, warning: MissileWarning) -> None:
        assert self._sender is not None
        self._sender.send(self._warnings.message(warning))
        self.stats.warnings += 1
