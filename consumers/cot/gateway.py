"""The CoT gateway: follow the alerts topic, send every alert's CoT events to a TAK server.

Reads with :class:`~consumers.reader.RecordReader` (partitions assigned, no
group: a restarted gateway starts from now, or from the beginning, and the TCP
sender's snapshot gives a reconnecting server the current picture). Follows the
session clock topic so CoT times are wall-clock times even when the scenario
runs faster than real time. Events already stale when they would be sent are
skipped: replaying a topic from the beginning sends what is still current, not
history a TAK client would throw away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from consumers.cot.events import CotTiming, alert_events
from consumers.cot.send import MAX_QUEUE, Protocol, Sender, SendStats, open_sender
from consumers.cot.text import PlaceNamer
from consumers.positions import StartPosition
from consumers.reader import Delivery, RecordReader, missing_topics
from trilink.clock import SimClock
from trilink.codec import codec_for
from trilink.config import KafkaConfig, Topics
from trilink.errors import ConfigError
from trilink.health import RateLimitedLog
from trilink.kafka import RecordTopics
from trilink.kafka.clock import SessionClock, join_session_clock
from trilink.model import FusedAlert
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

STATS_EVERY_S = 60.0
"""How often a running gateway logs what it sent."""


@dataclass(frozen=True, slots=True)
class CotConfig:
    """Where the events go and how long they stay valid."""

    tak_host: str = "127.0.0.1"
    tak_port: int = 8087
    protocol: Protocol = Protocol.TCP
    topics: Topics = field(default_factory=Topics)
    timing: CotTiming = field(default_factory=CotTiming)
    queue_size: int = 1000
    follow_clock: bool = True
    flush_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.tak_host.strip():
            raise ConfigError("TAK host must not be empty")
        if not 1 <= self.tak_port <= 65535:
            raise ConfigError(f"TAK port must be 1..65535, got {self.tak_port}")
        if not 1 <= self.queue_size <= MAX_QUEUE:
            raise ConfigError(f"queue size must be 1..{MAX_QUEUE}, got {self.queue_size}")
        if not 0.0 <= self.flush_s <= 60.0:
            raise ConfigError(f"flush time must be 0..60 s, got {self.flush_s:g}")


@dataclass
class GatewayStats:
    """What the gateway read and made (the sender counts what reached the server)."""

    alerts: int = 0
    events: int = 0
    stale: int = 0
    undecodable: int = 0
    failed: int = 0


class CotGateway:
    """Fused alerts in, CoT events out. ``sender`` and ``wall`` are injectable (tests)."""

    def __init__(
        self,
        kafka: KafkaConfig,
        config: CotConfig,
        *,
        place: PlaceNamer | None = None,
        sender: Sender | None = None,
        wall: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.kafka = kafka
        self.config = config
        self.place = place
        self.wall = wall
        self.sender = sender
        self.stats = GatewayStats()
        self._clock: SessionClock | None = None
        self._bad = RateLimitedLog(log, "CoT gateway: alert skipped")

    def run(
        self,
        start: StartPosition,
        stop: threading.Event,
        *,
        max_alerts: int | None = None,
        idle_timeout: float | None = None,
    ) -> GatewayStats:
        """Send CoT for every alert until ``stop`` is set, ``max_alerts`` records were
        read, or ``idle_timeout`` seconds pass without one."""
        cfg = self.config
        codec = codec_for(self.kafka)
        topic = RecordTopics.of(cfg.topics, codec).alerts
        if self.sender is None:
            self.sender = open_sender(
                cfg.protocol, cfg.tak_host, cfg.tak_port, queue_size=cfg.queue_size
            )
        try:
            if not self._wait_for_topic(topic.name, stop):
                return self.stats
            if cfg.follow_clock:
                self._clock = join_session_clock(
                    self.kafka, cfg.topics.clock, codec, speed=None, service="cot", wall=self.wall
                )
            log.info(
                "CoT gateway: %s -> %s://%s:%d",
                topic.name,
                cfg.protocol.value,
                cfg.tak_host,
                cfg.tak_port,
            )
            with RecordReader(self.kafka, [topic]) as reader:
                reader.open(start)
                last_log = time.monotonic()
                for delivery in reader.read(
                    follow=True, max_records=max_alerts, idle_timeout=idle_timeout, stop=stop.is_set
                ):
                    self.handle(delivery)
                    if time.monotonic() - last_log >= STATS_EVERY_S:
                        self._log_stats()
                        last_log = time.monotonic()
        finally:
            self.sender.close(cfg.flush_s)
            if self._clock is not None:
                self._clock.close()
            self._log_stats()
        return self.stats

    def _wait_for_topic(self, name: str, stop: threading.Event) -> bool:
        """Wait until the alerts topic exists (the gateway may start before the bridge
        created it); False if stopped first."""
        said = False
        while missing_topics(self.kafka, [name]):
            if not said:
                log.warning("CoT gateway: waiting for topic %s", name)
                said = True
            if stop.wait(0.5):
                return False
        return True

    def to_wall(self, scenario_us: int) -> int:
        """Wall time at which the session clock reads ``scenario_us``."""
        if self._clock is None:
            return scenario_us
        return SimClock(self._clock.definition).wall_at(scenario_us)

    def clock_note(self) -> str:
        """How an accelerated session clock reads (empty in real time)."""
        if self._clock is None or self._clock.definition.real_time:
            return ""
        return self._clock.definition.describe()

    def handle(self, delivery: Delivery) -> None:
        """Convert one delivery and hand its events to the sender."""
        if delivery.error is not None or not isinstance(delivery.record, FusedAlert):
            self.stats.undecodable += 1
            reason = delivery.error.reason if delivery.error is not None else "not an alert"
            self._bad(f"{delivery.topic}[{delivery.partition}]@{delivery.offset}: {reason}")
            return
        alert = delivery.record
        self.stats.alerts += 1
        if self._clock is not None:
            self._clock.poll(0.0)  # a redefined session clock applies from this alert on
        try:
            events = alert_events(
                alert,
                timing=self.config.timing,
                to_wall=self.to_wall,
                place=self.place,
                clock=self.clock_note(),
            )
        except (ValueError, ArithmeticError) as exc:  # a malformed alert, not a reason to stop
            self.stats.failed += 1
            self._bad(f"{alert.system_track_id} v{alert.version}: {exc}")
            return
        now = self.wall()
        assert self.sender is not None
        for event in events:
            if event.stale_us <= now:
                self.stats.stale += 1
                continue
            self.sender.send(event)
            self.stats.events += 1

    def _log_stats(self) -> None:
        s = self.stats
        sent = self.sender.stats() if self.sender is not None else SendStats()
        log.info(
            "CoT gateway: %d alerts -> %d events (%d already stale, %d undecodable, %d failed); "
            "sent %d, dropped %d, held %d, resent %d, %s",
            s.alerts,
            s.events,
            s.stale,
            s.undecodable,
            s.failed,
            sent.sent,
            sent.dropped,
            sent.held,
            sent.resent,
            "connected" if sent.connected else "not connected",
        )
