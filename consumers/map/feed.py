"""The map's Kafka side: one thread reads the alerts (and truth, and each nation's
warnings, when the cluster has them) into a :class:`~consumers.map.state.MapState`.

The reader is a plain :class:`~consumers.reader.RecordReader` following the topics;
the session clock comes from the clock topic, so the page can run the scenario's
clock (``T+45 s``) at the demo's speed-up. The thread publishes the state a few
times a second, never per record, and reconnects after an error from where it
stopped (alerts are applied once by (track, version), so re-reading is harmless).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import KafkaException

from consumers.map.state import MapState
from consumers.positions import StartKind, StartPosition
from consumers.reader import RecordReader, missing_topics
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import NATIONS
from trilink.errors import KafkaError, TrilinkError
from trilink.kafka import RecordTopics, Source
from trilink.kafka.clock import SessionClock
from trilink.model import Record

log = logging.getLogger(__name__)

REWIND_US = 5_000_000
"""After a reconnect, read again from this long before the last record seen."""
RECHECK_S = 10.0
"""How often to look again for the optional topics that did not exist yet."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What the feed reads and how often it publishes.

    ``truth`` and ``warnings`` are read when their topics exist; the alerts topic
    is waited for (the map may start before the bridge).
    """

    topics: Topics = field(default_factory=Topics)
    start: StartPosition = field(default_factory=lambda: StartPosition(StartKind.NOW))
    truth: bool = True
    warnings: bool = True
    publish_s: float = 0.2
    retry_s: float = 2.0


class MapFeed:
    """The reading thread (see the module docstring). ``start`` then ``stop``."""

    def __init__(
        self, kafka: KafkaConfig, codec: Codec, state: MapState, config: FeedConfig | None = None
    ) -> None:
        self.kafka = kafka
        self.codec = codec
        self.state = state
        self.config = config or FeedConfig()
        self._stop = threading.Event()
        self._positioned = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_us: int | None = None
        self._absent: list[str] = []
        self.error: str | None = None

    def start(self, *, wait_positioned: float | None = None) -> None:
        """Start reading; with ``wait_positioned`` wait (seconds) until the reader is
        positioned, so that nothing produced after this returns is missed (KafkaError
        if it is not by then)."""
        self._thread = threading.Thread(target=self._run, name="map-feed", daemon=True)
        self._thread.start()
        if wait_positioned is not None and not self._positioned.wait(wait_positioned):
            raise KafkaError(
                f"the map's reader was not positioned after {wait_positioned:g} s: {self.error}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and wait for the thread (it notices within a poll interval)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        start = self.config.start
        while not self._stop.is_set():
            try:
                self._session(start)
            except (TrilinkError, KafkaException) as exc:
                self.error = str(exc)
                log.warning("map feed: %s; retrying in %.0f s", exc, self.config.retry_s)
                self.state.set_status("error", str(exc))
                self._stop.wait(self.config.retry_s)
            if self._last_us is not None:
                start = StartPosition(StartKind.SINCE, self._last_us - REWIND_US)

    def _sources(self) -> list[Source[Record]]:
        cfg = self.config
        typed = RecordTopics.of(cfg.topics, self.codec)
        self.state.set_status("waiting", f"for topic {cfg.topics.alerts}")
        while missing_topics(self.kafka, [cfg.topics.alerts]):
            if self._stop.wait(1.0):
                return []
        optional: list[Source[Record]] = []
        if cfg.truth:
            optional.append(typed.launches)
        if cfg.warnings:
            optional.extend(typed.warnings(n) for n in NATIONS)
        absent = set(missing_topics(self.kafka, [s.name for s in optional]))
        if absent:
            log.info("map feed: not reading %s (no such topic yet)", ", ".join(sorted(absent)))
        self._absent = sorted(absent)
        return [typed.alerts, *(s for s in optional if s.name not in absent)]

    def _session(self, start: StartPosition) -> None:
        sources = self._sources()
        if not sources:
            return
        clock = SessionClock(self.kafka, self.config.topics.clock, self.codec)
        try:
            clock.poll(1.0)
            self.state.set_clock(clock.definition)
            with RecordReader(self.kafka, sources) as reader:
                reader.open(start)
                self._positioned.set()
                self.error = None
                self.state.set_status("live", ", ".join(s.name for s in sources))
                while not self._stop.is_set():
                    self._read(reader, clock, time.monotonic() + RECHECK_S)
                    if self._absent and len(missing_topics(self.kafka, self._absent)) < len(
                        self._absent
                    ):
                        return  # a topic appeared (its producer started): read it too
        finally:
            clock.close()

    def _read(self, reader: RecordReader, clock: SessionClock, until: float) -> None:
        """Read until idle for a publish interval (or ``until``, monotonic), publishing
        at most once an interval."""
        every = self.config.publish_s
        last = time.monotonic()

        def stop() -> bool:
            return self._stop.is_set() or time.monotonic() >= until

        for delivery in reader.read(follow=True, idle_timeout=every, stop=stop):
            if delivery.record is not None:
                self.state.apply(delivery.record)
            elif delivery.error is not None:
                log.warning(
                    "map feed: undecodable record on %s: %s", delivery.topic, delivery.error
                )
            if delivery.timestamp_us is not None:
                self._last_us = delivery.timestamp_us
            if time.monotonic() - last >= every:
                self._tick(clock)
                last = time.monotonic()
        self._tick(clock)

    def _tick(self, clock: SessionClock) -> None:
        clock.poll(0.0)
        self.state.set_clock(clock.definition)
        self.state.publish()
