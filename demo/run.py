"""The scripted end-to-end demo: three nations, the bridge, and a live alert picture.

:func:`run_demo` runs the whole pipeline against one cluster:

1. create every topic;
2. position a reader on the alert and warning topics *now* (before anything is
   produced, so nothing is missed and nothing old is replayed);
3. start the bridge and the three national producers (threads, one stop event);
4. inject the scenario's launches on the accelerated clock;
5. fold alerts and warnings into an :class:`~consumers.view.AlertPicture` until
   every injected missile has an IMPACT alert, the time runs out, a service
   fails, or the user interrupts;
6. stop the services and summarise each missile against ground truth.

Presentation is the caller's: progress and alert updates go to a
:class:`DemoDisplay`, so the same run drives a Rich Live view or plain lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from consumers.positions import StartKind, StartPosition
from consumers.reader import RecordReader
from consumers.view import AlertPicture, TrackView
from demo.services import Service, ServiceThreads
from demo.summary import MissileSummary, match_launches, plausible, summarise
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import NATIONS
from trilink.kafka import RecordTopics, Source
from trilink.model import AlertStatus, FusedAlert, LaunchEvent, MissileWarning, Record

log = logging.getLogger(__name__)

_FINAL = frozenset({AlertStatus.IMPACT, AlertStatus.DROPPED})


class DemoDisplay(Protocol):
    """Where the demo reports what happens."""

    def step(self, text: str) -> AbstractContextManager[object]:
        """A phase that may take a while (a spinner while it runs)."""
        ...

    def injected(self, launches: Sequence[LaunchEvent]) -> None: ...

    def alert(self, alert: FusedAlert, watch: DemoWatch) -> None:
        """A new alert update (duplicates already dropped)."""
        ...


class Pipeline(Protocol):
    """What the demo runs: the services and the scenario injection."""

    def services(self) -> Mapping[str, Service]: ...

    def ready(self) -> bool:
        """True once every service consumes (e.g. its group has joined)."""
        ...

    def start_session(self) -> None:
        """Set the session clock the services and the injection share."""
        ...

    def prepare(self, partitions: int) -> None:
        """Create every topic the run uses, on whichever cluster holds it."""
        ...

    def watched(self) -> list[Source[Record]]:
        """The alert and warning topics the live picture folds in."""
        ...

    def inject(self) -> Sequence[LaunchEvent]:
        """Publish the scenario's launches, timed from now; returns them as published."""
        ...


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """One demo run. ``timeout_s`` bounds the watch (wall seconds after injection)."""

    kafka: KafkaConfig
    topics: Topics = field(default_factory=Topics)
    partitions: int = 3
    timeout_s: float = 300.0
    startup_timeout_s: float = 60.0


class DemoWatch:
    """The injected launches and the alert picture of their scenario(s).

    A missile is *finished* once a track matched to it (one-to-one, so in a salvo
    one track cannot finish its sister missile too) has ended: IMPACT, or DROPPED
    when it flew out of every sensor's coverage before coming down (an IRBM over
    the Pacific does). The run is complete when every missile is finished and no
    track that could still be one of them remains open.
    """

    def __init__(self, launches: Sequence[LaunchEvent]) -> None:
        self.launches = tuple(launches)
        self.picture = AlertPicture()
        self._scenarios = {launch.scenario_id for launch in launches}
        self._finished: list[LaunchEvent] = []
        self._open_candidates = True

    def feed(self, record: Record | None) -> FusedAlert | None:
        """Fold in a record; the alert if it is a new update of this run's scenario."""
        if isinstance(record, MissileWarning):
            self.picture.observe_warning(record)
        elif (
            isinstance(record, FusedAlert)
            and record.scenario_id in self._scenarios
            and self.picture.apply(record)
        ):
            self._finished, self._open_candidates = self._progress()
            return record
        return None

    def tracks(self) -> list[TrackView]:
        return self.picture.tracks()

    def finished(self) -> list[LaunchEvent]:
        """Launches matched one-to-one to a track that has ended (IMPACT or DROPPED)."""
        return list(self._finished)

    def impacted(self) -> list[LaunchEvent]:
        """Launches matched one-to-one to a track that reported its IMPACT."""
        done = [t for t in self.tracks() if t.latest.status is AlertStatus.IMPACT]
        matched = {launch.launch_id for launch in match_launches(done, self.launches).values()}
        return [launch for launch in self.launches if launch.launch_id in matched]

    def _progress(self) -> tuple[list[LaunchEvent], bool]:
        tracks = self.tracks()
        ended = [t for t in tracks if t.final]
        matched = {launch.launch_id for launch in match_launches(ended, self.launches).values()}
        finished = [launch for launch in self.launches if launch.launch_id in matched]
        still_open = any(
            plausible(t, launch) for t in tracks if not t.final for launch in self.launches
        )
        return finished, still_open

    def complete(self) -> bool:
        """True once every injected launch is finished and no candidate track is open."""
        return (
            bool(self.launches)
            and len(self._finished) == len(self.launches)
            and not self._open_candidates
        )

    def summary(self) -> list[MissileSummary]:
        return summarise(self.tracks(), self.launches)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """How a run ended, and what it saw."""

    rows: tuple[MissileSummary, ...]
    launches: tuple[LaunchEvent, ...]
    complete: bool
    interrupted: bool
    failed: Mapping[str, str]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.complete and not self.failed and not self.interrupted


def all_topics(topics: Topics) -> list[str]:
    return [
        topics.launches,
        topics.warnings_kor,
        topics.warnings_jpn,
        topics.warnings_usa,
        topics.alerts,
        topics.dead_letter,
        topics.bridge_state,
        topics.heartbeats,
    ]


def single_cluster_topics(topics: Topics, codec: Codec) -> list[Source[Record]]:
    """The alerts and the three warning topics of one cluster."""
    typed = RecordTopics.of(topics, codec)
    return [typed.alerts, *(typed.warnings(n) for n in NATIONS)]


def run_demo(
    config: DemoConfig, pipeline: Pipeline, codec: Codec, display: DemoDisplay
) -> DemoResult:
    """Run the demo (see the module docstring); never raises on Ctrl-C, reports it."""
    started = time.monotonic()
    with display.step("creating topics"):
        pipeline.prepare(config.partitions)
    watched = pipeline.watched()
    threads = ServiceThreads()
    launches: Sequence[LaunchEvent] = ()
    watch = DemoWatch(())
    interrupted = False
    try:
        with RecordReader(config.kafka, watched) as reader:
            with display.step("positioning the alert reader"):
                reader.open(StartPosition(StartKind.NOW))
            with display.step("setting the session clock"):
                pipeline.start_session()
            with display.step("starting the bridge and the national producers"):
                for name, service in pipeline.services().items():
                    threads.start(name, service)
                _await_ready(pipeline, threads, config.startup_timeout_s)
            with display.step("injecting the scenario"):
                launches = pipeline.inject()
            watch = DemoWatch(launches)
            display.injected(launches)
            for alert in _watch(reader, watch, threads, config.timeout_s):
                display.alert(alert, watch)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with display.step("stopping the producers and the bridge"):
            still = threads.stop()
    failed = {name: f"{type(exc).__name__}: {exc}" for name, exc in threads.failures().items()}
    failed.update({name: "did not stop" for name in still})
    return DemoResult(
        rows=tuple(watch.summary()),
        launches=tuple(launches),
        complete=bool(launches) and watch.complete(),
        interrupted=interrupted,
        failed=failed,
        elapsed_s=time.monotonic() - started,
    )


def _await_ready(pipeline: Pipeline, threads: ServiceThreads, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not pipeline.ready():
        if threads.failures() or threads.stopped_early():
            return  # reported by the caller through the result
        if time.monotonic() >= deadline:
            log.warning("services not ready after %.0f s; injecting anyway", timeout_s)
            return
        time.sleep(0.1)


def _watch(
    reader: RecordReader, watch: DemoWatch, threads: ServiceThreads, timeout_s: float
) -> Iterator[FusedAlert]:
    deadline = time.monotonic() + timeout_s

    def stop() -> bool:
        return (
            watch.complete()
            or time.monotonic() >= deadline
            or bool(threads.failures())
            or bool(threads.stopped_early())
        )

    for delivery in reader.read(follow=True, stop=stop):
        if delivery.error is not None:
            log.warning(
                "undecodable record %s[%d]@%d: %s",
                delivery.topic,
                delivery.partition,
                delivery.offset,
                delivery.error.reason,
            )
            continue
        alert = watch.feed(delivery.record)
        if alert is not None:
            yield alert
