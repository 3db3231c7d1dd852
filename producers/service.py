"""A nation's producer as a Kafka service: launches in, that nation's warnings out.

Start-up (``producers.resume``): the producer reads back the tail of its own topic
(what it already published) and the launch topic from the beginning, flies again the
launches of this session that may still be in the air, and catches up to now,
publishing only what its topic does not hold yet. A producer restarted mid-salvo thus
continues its national tracks under the same ids with the next sequence numbers,
publishes each track's newest report of those that came due while it was down, and
takes up a launch injected meanwhile; restarted after the scenario ended, it publishes
nothing again.

Loop (every ``tick_s`` of wall time until ``stop`` is set):

1. poll the ground-truth launch topic; each record is decoded into a
   :class:`~trilink.model.LaunchEvent` and given to the simulation of its scenario,
   advanced first to the time the record was written (a record that does not decode,
   or a launch that cannot be flown, goes to the dead-letter topic with the reason —
   the service never stops for bad input);
2. advance every scenario's :class:`~producers.national.NationalSimulation` to now on
   the session clock (:mod:`trilink.kafka.clock`: real time, or one shared epoch and
   rate for the whole session, so every injection and the bridge share a time base);
3. publish the warnings that came due on the nation's topic, key = local track id,
   through an idempotent, acks=all :class:`~trilink.kafka.ResilientProducer`
   (recreated after a fatal error) and the :class:`~trilink.kafka.Sender` that the
   at-least-once checkpoint also delivers with: a warning whose delivery fails is
   produced again on the next tick (a few times) — the bridge drops duplicates by
   (nation, track, sequence).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, Message

from producers.labelling import Labeller, ReleasePolicy
from producers.logs import read_launch_log, read_published
from producers.national import NationalConfig, NationalSimulation
from producers.resume import (
    DEFAULT_TAIL,
    DEFAULT_WINDOW_S,
    PublishedMarks,
    ResumeStats,
    catch_up,
    replay_selection,
    scenario_key,
)
from sim.errors import SimError
from trilink.clock import SimClock
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig, Topics
from trilink.errors import DecodeError, TrilinkError, ValidationError
from trilink.health import HealthMonitor, RateLimitedLog
from trilink.kafka import (
    RecordTopics,
    ResilientProducer,
    Sender,
    consumer_config,
    ensure_topics,
    poll_batch,
    producer_config,
)
from trilink.kafka.clock import SessionClock, join_session_clock
from trilink.kafka.heartbeat import HeartbeatPublisher, ServiceHealth
from trilink.model import DeadLetter, LaunchEvent, MissileWarning, Nation
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

_MAX_RESENDS = 3  # a warning is produced at most 1 + this many times


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    """Everything a national producer needs besides the cluster.

    ``resume_window_s`` (scenario seconds) and ``resume_tail`` (records per partition)
    bound what a start-up reads back: see :mod:`producers.resume`.
    """

    nation: Nation
    # The session clock's speed: given, agreed with the cluster; None follows it.
    speed: float | None = None
    topics: Topics = field(default_factory=Topics)
    national: NationalConfig = field(default_factory=NationalConfig)
    tick_s: float = 0.05
    group: str = ""
    resume_window_s: float = DEFAULT_WINDOW_S
    resume_tail: int = DEFAULT_TAIL

    def __post_init__(self) -> None:
        if self.nation not in (Nation.KOR, Nation.JPN, Nation.USA):
            raise TrilinkError(f"no national producer for {self.nation.value}")
        if self.speed is not None and not (math.isfinite(self.speed) and self.speed > 0.0):
            raise TrilinkError(f"speed must be > 0, got {self.speed}")
        if not (math.isfinite(self.resume_window_s) and self.resume_window_s >= 0.0):
            raise TrilinkError(f"resume window must be >= 0 s, got {self.resume_window_s}")
        if self.resume_tail < 1:
            raise TrilinkError(f"resume tail must be >= 1 record, got {self.resume_tail}")

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
    resume: ResumeStats = field(default_factory=ResumeStats)
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
        labeller: Labeller | None = None,
    ) -> None:
        self.kafka = kafka
        self.config = config
        self.codec = codec or codec_for(kafka)
        self.clock = clock
        # Labels every warning; signs it when given the nation's key.
        self.labeller = labeller or Labeller(
            config.nation, policy=ReleasePolicy(frozenset(config.national.releasable_to))
        )
        self.session: SessionClock | None = None
        self.stats = ProducerStats()
        self._dead_log = RateLimitedLog(log, "dead letter")
        self._scenarios: dict[tuple[str, int], _Scenario] = {}
        self._marks = PublishedMarks()
        # While resuming: the warnings that came due while down, for ``catch_up``.
        self._due: list[MissileWarning] | None = None
        self._sender: Sender | None = None
        self._stepped_us = 0  # session time the simulations were last stepped to
        self._topics = RecordTopics.of(config.topics, self.codec)
        self._warnings = self._topics.warnings(config.nation)

    # -- life cycle -----------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Resume (see the module docstring), then serve until ``stop`` is set; queued
        warnings are flushed before returning."""
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
        health = ServiceHealth(
            HealthMonitor(
                service=self.config.service,
                instance=f"{socket.gethostname()}/{os.getpid()}",
                inputs=(topics.launches,),
                outputs=(out_topic, topics.dead_letter),
                clock=self._sim_now,
                keeps_clock=True,
            ),
            HeartbeatPublisher(self.kafka, topics.heartbeats, self.codec),
            log,
        )
        try:
            self._resume(consumer, group)
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
                # Event time is how far the simulation has been stepped: a simulation
                # slower than an accelerated clock falls behind it, and says so.
                health.monitor.observe(event_us=self._stepped_us)
                health.monitor.processed = self.stats.warnings
                health.monitor.dead_letters = self.stats.dead_letters
                health.tick(consumer)
                for msg in poll_batch(consumer, 100, self.config.tick_s):
                    self._on_message(msg)
                self._step()
                self._sender.poll(0)
        finally:
            health.close()
            producer.close()
            consumer.close()
            self.session.close()
            self._sender = None

    def _resume(self, consumer: Consumer, group: str) -> None:
        """Read back what was published and the session's launches, replay them, and
        catch up to now; ``consumer`` is left following the launch topic."""
        assert self.session is not None and self._sender is not None
        began = time.monotonic()
        stats = self.stats.resume
        self._due = []
        self._marks = stats.marks = read_published(
            self.kafka, self._warnings, tail=self.config.resume_tail, group=f"{group}-resume"
        )
        read: list[tuple[Message, LaunchEvent]] = []
        for msg in read_launch_log(consumer, self.config.topics.launches):
            stats.launches_read += 1
            try:
                read.append((msg, self._topics.launches.decode(msg.value())))
            except (DecodeError, ValidationError):
                continue  # dead-lettered when it was first read
        chosen = replay_selection(
            [(event, _written_us(msg)) for msg, event in read],
            now_us=self._sim_now(),
            window_us=round(self.config.resume_window_s * 1e6),
            clock_set_at_us=self.session.definition.set_at_us,
        )
        stats.launches_replayed = len(chosen)
        for i in chosen:
            self._take(*read[i], replay=True)
        self._step()
        due, self._due = self._due, None
        caught_up = catch_up(due, self._marks)
        for warning in caught_up:
            self._publish(warning)
        stats.caught_up = len(caught_up)
        stats.superseded = len(due) - len(caught_up)
        stats.seconds = time.monotonic() - began
        log.info("%s resumed: %s", self.config.service, stats.describe())

    # -- input ----------------------------------------------------------------------
    def _on_message(self, msg: Message) -> None:
        try:
            event = self._topics.launches.decode(msg.value())
        except (DecodeError, ValidationError) as exc:
            self._dead_letter(msg, exc.error_type, exc.reason)
            return
        self._take(msg, event, replay=False)

    def _take(self, msg: Message, event: LaunchEvent, *, replay: bool) -> None:
        """Give ``event`` to its scenario's simulation, first advanced to when ``msg``
        was written; a replayed launch that cannot be flown was dead-lettered before."""
        self.stats.launches += 1
        key = scenario_key(event)
        scenario = self._scenarios.get(key)
        if scenario is None:
            sim = NationalSimulation(self.config.nation, config=self.config.national)
            scenario = _Scenario(key[1], sim)
            self._scenarios[key] = scenario
        # Catch the scenario's clock up to the record's time first, so a late launch is
        # seen as late, and seen alike live and when replayed after a restart.
        for warning in scenario.sim.advance(self._written_sim_us(msg)):
            self._publish(warning)
        try:
            scenario.sim.add_launch(event)
        except SimError as exc:
            if not replay:
                self._dead_letter(msg, "simulation", f"launch {event.launch_id}: {exc}")
            return
        log.info(
            "%s: launch %s (%s) from %s, %.1f s of simulation time before launch%s",
            self.config.service,
            event.launch_id,
            event.missile,
            event.site,
            (event.launch_time_us - scenario.sim.clock_us) / 1e6,
            " (replayed)" if replay else "",
        )

    def _written_sim_us(self, msg: Message) -> int:
        """Session time when ``msg`` was written (now if later, or if it has no time)."""
        now = self._sim_now()
        written = _written_us(msg)
        if written is None or self.session is None:
            return now
        return min(now, SimClock(self.session.definition).at(written))

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
    def _sim_now(self) -> int:
        # Every scenario runs on the one session clock: a scenario injected an hour
        # into the session is on the same time base as the first, and as the bridge.
        return self.clock() if self.session is None else self.session.now()

    def _step(self) -> None:
        assert self._sender is not None
        self.stats.resent += self._sender.retry()
        until = self._sim_now()
        for key, scenario in list(self._scenarios.items()):
            for warning in scenario.sim.advance(until):
                self._publish(warning)
            if scenario.sim.idle:
                del self._scenarios[key]
        self._stepped_us = until

    def _publish(self, warning: MissileWarning) -> None:
        assert self._sender is not None
        if self._marks.published(warning):
            # A replay after a restart: the topic has this one already.
            self.stats.resume.suppressed += 1
            return
        if self._due is not None:
            self._due.append(warning)
            return
        body, label = self.labeller.apply(warning)
        out = self._warnings.message(body)
        self._sender.send(out.with_headers(self.labeller.headers(out.value or b"", label, body)))
        self.stats.warnings += 1


def _written_us(msg: Message) -> int | None:
    """The record's timestamp (wall µs), None if the broker gave none."""
    kind, ms = msg.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE or ms < 0 else ms * 1000
