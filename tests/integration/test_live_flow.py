"""README's multi-terminal flow, as processes: a broker, three producers, the bridge, and
five injects of different kinds spread over ten minutes of scenario time with idle gaps.

Every missile must come out as one system track that ends with IMPACT at the right
time, its impact point within its own ellipse: the same session clock for every
process is what makes the later injects fuse as well as the first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from consumers.view import AlertPicture
from demo.summary import NominalImpact, match_launches
from producers.national import solve_launch
from trilink.clock import SimClock
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import US
from trilink.geodesy import distance_bearing
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, wait_for
from trilink.kafka.clock import read_clock
from trilink.model import AlertStatus, FusedAlert, LaunchEvent

ROOT = Path(__file__).resolve().parents[2]
CODEC = Codec()
SPEED = 20.0
GAP_S = 150.0  # scenario seconds between injects: 5 injects span 600 s

pytestmark = pytest.mark.slow


def _cli(kafka: KafkaConfig, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRILINK_")}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )


def _inject(kafka: KafkaConfig, topics: Topics, *args: str) -> list[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "inject",
            *args,
            "-b",
            kafka.bootstrap_servers,
            "--launches-topic",
            topics.launches,
            "--clock-topic",
            topics.clock,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture
def services(
    kafka_config: KafkaConfig, topics: Topics, tmp_path: Path
) -> Iterator[dict[str, Path]]:
    logs: dict[str, Path] = {}
    procs: list[subprocess.Popen[bytes]] = []
    common = ("--launches-topic", topics.launches, "--clock-topic", topics.clock)
    try:
        for nation in ("KOR", "JPN", "USA"):
            log = logs[nation] = tmp_path / f"producer-{nation}.log"
            field = f"warnings_{nation.lower()}"
            procs.append(
                _cli(
                    kafka_config,
                    log,
                    "producer",
                    "--nation",
                    nation,
                    "--speed",
                    str(SPEED),
                    *common,
                    "--warnings-topic",
                    getattr(topics, field),
                )
            )
        log = logs["bridge"] = tmp_path / "bridge.log"
        procs.append(
            _cli(
                kafka_config,
                log,
                "bridge",
                "--group",
                f"bridge-{topics.alerts}",
                "--transactional-id",
                f"bridge-{topics.alerts}",
                "--warnings-usa",
                topics.warnings_usa,
                "--warnings-kor",
                topics.warnings_kor,
                "--warnings-jpn",
                topics.warnings_jpn,
                "--alerts-topic",
                topics.alerts,
                "--dead-letter-topic",
                topics.dead_letter,
                "--state-topic",
                topics.bridge_state,
                "--clock-topic",
                topics.clock,
            )
        )
        for name, path in logs.items():
            wait_for(
                lambda p=path: p.exists() and "ready" in p.read_text(),
                timeout=60,
                message=f"{name} never said it was ready: {path.read_text()[-2000:]}",
            )
        yield logs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def test_five_injects_over_ten_minutes_each_fused_right(
    kafka_config: KafkaConfig, topics: Topics, services: dict[str, Path]
) -> None:
    clock_def = read_clock(kafka_config, topics.clock, CODEC)
    assert clock_def is not None and clock_def.rate == SPEED
    session = SimClock(clock_def)
    start = session.now()
    injects = [
        (
            "--site",
            "sunan",
            "--missile",
            "kn-23",
            "--bearing",
            "95",
            "--range-km",
            "420",
            "--apogee-km",
            "50",
            "--seed",
            "3",
        ),
        ("--historical", "2022-10-04", "--seed", "4"),
        ("--scenario", str(ROOT / "scenarios" / "tight-salvo.yaml"), "--seed", "5"),
        (
            "--site",
            "wonsan",
            "--missile",
            "kn-25",
            "--bearing",
            "60",
            "--range-km",
            "380",
            "--apogee-km",
            "60",
            "--count",
            "3",
            "--spacing-s",
            "20",
            "--seed",
            "6",
        ),
        ("--scenario", "sunan-srbm", "--seed", "7"),
    ]
    launch_ids: list[str] = []
    for i, args in enumerate(injects):
        due = start + round(i * GAP_S * US)
        wait_for(lambda d=due: session.now() >= d, timeout=GAP_S / SPEED + 30)
        launch_ids += _inject(kafka_config, topics, *args)
    assert len(launch_ids) == 1 + 1 + 4 + 3 + 1

    launches = _read_launches(kafka_config, topics, set(launch_ids))
    picture = AlertPicture()
    consumer = Consumer(consumer_config(kafka_config, f"check-{topics.alerts}"))
    assign_from_beginning(consumer, [topics.alerts])

    def all_closed() -> bool:
        for m in poll_batch(consumer, 500, 0.2):
            picture.apply(CODEC.decode(m.value(), FusedAlert))
        matched = match_launches(picture.tracks(), launches)
        return len(matched) == len(launches) and all(t.final for t in picture.tracks())

    try:
        longest = max(solve_launch(e).flight_time_s for e in launches)
        wait_for(
            all_closed,
            timeout=longest / SPEED + 120,
            interval=0.5,
            message="not every missile ended",
        )
    finally:
        consumer.close()
    tracks = picture.tracks()
    matched = match_launches(tracks, launches)
    extra = [t.system_track_id for t in tracks if t.system_track_id not in matched]
    assert not extra, f"tracks no launch explains: {extra}\n{_log_tail(services['bridge'])}"
    truth = NominalImpact()
    for track in tracks:
        launch = matched[track.system_track_id]
        final = track.latest
        assert final.status is AlertStatus.IMPACT, (launch.launch_id, final.status, final.note)
        impact = final.impact
        assert impact is not None
        lat, lon = truth.impact(launch)
        error_km = distance_bearing(impact.lat_deg, impact.lon_deg, lat, lon)[0] / 1000.0
        ellipse_km = impact.ellipse.semi_major_km
        # Within its own 95% ellipse (plus the metres the solver lands from nominal).
        assert error_km <= ellipse_km + 0.5, (launch.launch_id, error_km, ellipse_km)
        true_impact_us = launch.launch_time_us + round(solve_launch(launch).flight_time_s * US)
        assert abs(impact.time_us - true_impact_us) <= 5 * US, launch.launch_id
        assert final.alert_us >= true_impact_us - 5 * US, "closed before the missile came down"


def _read_launches(kafka: KafkaConfig, topics: Topics, ids: set[str]) -> list[LaunchEvent]:
    consumer = Consumer(consumer_config(kafka, f"launches-{topics.launches}"))
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


def _log_tail(path: Path) -> str:
    return path.read_text()[-3000:] if path.exists() else ""
