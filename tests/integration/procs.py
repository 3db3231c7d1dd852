"""The pipeline as a user runs it: producers, bridge and injects as separate processes.

Shared by the live-operation tests (README's flow, broker freezes, floods).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer

from consumers.view import AlertPicture, TrackView
from demo.summary import NominalImpact, match_launches
from producers.national import solve_launch
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import US
from trilink.geodesy import distance_bearing
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, wait_for
from trilink.model import AlertStatus, FusedAlert, LaunchEvent

ROOT = Path(__file__).resolve().parents[2]
CODEC = Codec()
NATIONS = ("KOR", "JPN", "USA")


def cli(kafka: KafkaConfig, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``trilink ARGS`` as a process writing to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRILINK_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10.0)


def bridge_args(topics: Topics) -> tuple[str, ...]:
    group = f"bridge-{topics.alerts}"
    return (
        "bridge", "--group", group, "--transactional-id", group,
        "--warnings-usa", topics.warnings_usa, "--warnings-kor", topics.warnings_kor,
        "--warnings-jpn", topics.warnings_jpn, "--alerts-topic", topics.alerts,
        "--dead-letter-topic", topics.dead_letter, "--state-topic", topics.bridge_state,
        "--clock-topic", topics.clock,
    )  # fmt: skip


@dataclass
class Processes:
    """Three producers and a bridge on ``topics``, the first producer setting the clock."""

    kafka: KafkaConfig
    topics: Topics
    logs_dir: Path
    speed: float
    logs: dict[str, Path] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        for nation in NATIONS:
            self._spawn(f"producer-{nation}", *self.producer_args(nation))
        self._spawn("bridge", *bridge_args(self.topics))
        for name, path in self.logs.items():
            wait_for(
                lambda p=path: "ready" in p.read_text(), timeout=60,
                message=f"{name} never said it was ready: {self.tail(name)}",
            )  # fmt: skip

    def producer_args(self, nation: str) -> tuple[str, ...]:
        t = self.topics
        return (
            "producer", "--nation", nation, "--speed", str(self.speed),
            "--launches-topic", t.launches, "--clock-topic", t.clock,
            "--warnings-topic", getattr(t, f"warnings_{nation.lower()}"),
        )  # fmt: skip

    def kill(self, name: str) -> None:
        """SIGKILL ``name`` (no flush, no goodbye) and reap it."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10.0)

    def restart_producer(self, nation: str) -> None:
        """Start ``nation``'s producer again (its log goes on) and wait until it is ready."""
        name = f"producer-{nation}"
        log = self.logs[name]
        before = log.stat().st_size
        self._spawn(name, *self.producer_args(nation))

        def ready() -> bool:
            return "ready" in log.read_bytes()[before:].decode(errors="replace")

        wait_for(ready, timeout=60, message=f"{name} never came back: {self.tail(name)}")

    def _spawn(self, name: str, *args: str) -> None:
        log = self.logs[name] = self.logs_dir / f"{name}.log"
        log.touch()
        self.procs[name] = cli(self.kafka, log, *args)

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs.get(name)
        return path.read_text()[-chars:] if path is not None and path.exists() else ""

    def inject(self, *args: str) -> list[str]:
        """``trilink inject ARGS``; the launch ids it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "cli", "inject", *args, "-b", self.kafka.bootstrap_servers,
             "--launches-topic", self.topics.launches, "--clock-topic", self.topics.clock],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            stop(proc)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())


@contextmanager
def running(
    kafka: KafkaConfig, topics: Topics, logs_dir: Path, speed: float
) -> Iterator[Processes]:
    procs = Processes(kafka, topics, logs_dir, speed)
    try:
        procs.start()
        yield procs
    finally:
        procs.stop()


def read_launches(kafka: KafkaConfig, topics: Topics, ids: set[str]) -> list[LaunchEvent]:
    """The launch events with these ids, from the launch topic."""
    consumer = Consumer(consumer_config(kafka, f"launches-{topics.launches}-{len(ids)}"))
    found: dict[str, LaunchEvent] = {}
    try:
        assign_from_beginning(consumer, [topics.launches])

        def all_read() -> bool:
            for m in poll_batch(consumer, 500, 0.2):
                event = CODEC.decode(m.value(), LaunchEvent)
                found[event.launch_id] = event
            return ids <= set(found)

        wait_for(all_read, timeout=30)
    finally:
        consumer.close()
    return [found[i] for i in sorted(ids)]


class Picture:
    """The alerts topic folded into tracks, read from the beginning."""

    def __init__(self, kafka: KafkaConfig, topic: str) -> None:
        self.picture = AlertPicture()
        self.alerts: list[FusedAlert] = []
        self._consumer = Consumer(consumer_config(kafka, f"check-{topic}-{id(self)}"))
        assign_from_beginning(self._consumer, [topic])

    def read(self) -> list[TrackView]:
        for m in poll_batch(self._consumer, 500, 0.2):
            alert = CODEC.decode(m.value(), FusedAlert)
            self.alerts.append(alert)
            self.picture.apply(alert)
        return self.picture.tracks()

    def wait_ended(self, launches: list[LaunchEvent], speed: float, slack_s: float = 120) -> None:
        """Until every launch has a track and every track has ended."""

        def ended() -> bool:
            tracks = self.read()
            matched = match_launches(tracks, launches)
            return len(matched) == len(launches) and all(t.final for t in tracks)

        longest = max(solve_launch(e).flight_time_s for e in launches)
        wait_for(ended, timeout=longest / speed + slack_s, interval=0.5,
                 message="not every missile ended")  # fmt: skip

    def close(self) -> None:
        self._consumer.close()


def describe(track_id: str, alerts: list[FusedAlert]) -> str:
    """What a system track was made of, for a failure message: its alerts' statuses,
    every contributor and its first and final impact prediction."""
    mine = sorted((a for a in alerts if a.system_track_id == track_id), key=lambda a: a.version)
    if not mine:
        return f"{track_id}: no alerts"
    who = sorted({f"{c.nation.value}/{c.track_id}" for a in mine for c in a.contributors})
    ends = [a.impact for a in (mine[0], mine[-1])]
    where = [None if i is None else (round(i.lat_deg, 2), round(i.lon_deg, 2)) for i in ends]
    statuses = dict(Counter(a.status.value for a in mine))
    return f"{track_id}: {statuses}; contributors {who}; impact first/final {where}"


def check_picture(
    tracks: list[TrackView],
    launches: list[LaunchEvent],
    alerts: list[FusedAlert],
    *,
    precise: bool = True,
) -> None:
    """Every missile one track ending IMPACT, no (system track id, version) twice; with
    ``precise``, also at the right time and with its impact point inside its own ellipse
    (a fault test that asks only for recovery does not check that)."""
    keys = [(a.system_track_id, a.version) for a in alerts]
    assert len(keys) == len(set(keys)), "a (system track id, version) was published twice"
    matched = match_launches(tracks, launches)
    extra = [t.system_track_id for t in tracks if t.system_track_id not in matched]
    assert not extra, f"tracks no launch explains: {[describe(t, alerts) for t in extra]}"
    assert len(matched) == len(launches), "a launch has no track"
    truth = NominalImpact()
    for track in tracks:
        launch = matched[track.system_track_id]
        final = track.latest
        assert final.status is AlertStatus.IMPACT, (launch.launch_id, final.status, final.note)
        if not precise:
            continue
        impact = final.impact
        assert impact is not None
        lat, lon = truth.impact(launch)
        error_km = distance_bearing(impact.lat_deg, impact.lon_deg, lat, lon)[0] / 1000.0
        # Within its own 95% ellipse (plus the metres the solver lands from nominal).
        assert error_km <= impact.ellipse.semi_major_km + 0.5, (launch.launch_id, error_km)
        true_impact_us = launch.launch_time_us + round(solve_launch(launch).flight_time_s * US)
        off_s = (impact.time_us - true_impact_us) / US
        assert abs(off_s) <= 5.0, (
            f"{launch.launch_id}: impact time {off_s:+.1f} s off; final note {final.note!r}; "
            f"{describe(track.system_track_id, alerts)}"
        )
        assert final.alert_us >= true_impact_us - 5 * US, "closed before the missile came down"
