"""The bridge under faults, as a process: killed again and again mid-salvo.

Each run checks the bridge's contract on the alerts topic: every missile one system
track ending with IMPACT, no (system track id, version) twice, no version gap.
The figures (time to the first alert after a restart) are printed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.integration.procs import stop
from tests.integration.test_bridge import produce, salvo
from tests.integration.test_bridge_recovery import AlertReader, start_bridge
from trilink.config import KafkaConfig, Topics
from trilink.kafka import wait_for
from trilink.kafka.clients import WaitTimeout
from trilink.model import AlertStatus, FusedAlert

MISSILES = 6
KILLS = 20 if os.environ.get("TRILINK_CAMPAIGN") else 4


# The whole pipeline as processes on 2 cores: one rerun if a loaded machine upsets it.
pytestmark = pytest.mark.flaky(reruns=1)


def _check_contract(alerts: list[FusedAlert], truth: dict[tuple[object, str], str]) -> None:
    keys = [(a.system_track_id, a.version) for a in alerts]
    assert len(keys) == len(set(keys)), "a (system track id, version) was published twice"
    versions: dict[str, list[int]] = defaultdict(list)
    final: dict[str, FusedAlert] = {}
    for a in alerts:
        versions[a.system_track_id].append(a.version)
        final[a.system_track_id] = a
    for track_id, seen in versions.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), f"version gap on {track_id}"
    closed = [a for a in final.values() if a.status is AlertStatus.IMPACT]
    per_track = [{truth[(c.nation, c.track_id)] for c in a.contributors} for a in closed]
    detail = [
        (
            a.system_track_id,
            a.version,
            sorted(f"{c.nation.value}/{c.track_id}" for c in a.contributors),
        )
        for a in closed
    ]
    assert all(len(m) == 1 for m in per_track), f"a system track merged two missiles: {detail}"
    held = sorted(m for ms in per_track for m in ms)
    assert held == sorted(f"M{i}" for i in range(MISSILES)), "a missile split or missing"
    assert len(final) == MISSILES, f"{len(final)} system tracks for {MISSILES} missiles"


def _settled_count(reader: AlertReader, quiet_polls: int = 3) -> int:
    """Alerts read once ``quiet_polls`` polls in a row bring nothing new."""
    quiet = 0
    while quiet < quiet_polls:
        count = len(reader.alerts)
        quiet = quiet + 1 if len(reader.read()) == count else 0
    return len(reader.alerts)


def _ready_count(log: Path) -> int:
    return log.read_text().count("bridge ready") if log.exists() else 0


def test_bridge_killed_at_random_moments_mid_salvo(
    kafka_config: KafkaConfig, topics: Topics, new_group: str, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    try:
        _kill_again_and_again(kafka_config, topics, new_group, log)
    except (AssertionError, WaitTimeout):
        # What the bridges decided about membership: the first thing to read on a failure.
        text = log.read_text() if log.exists() else ""
        print(
            "\n".join(
                ln
                for ln in text.splitlines()
                if "bridge.associator" in ln or "bridge.exchange" in ln
            )
        )
        raise


def _kill_again_and_again(
    kafka_config: KafkaConfig, topics: Topics, new_group: str, log: Path
) -> None:
    rng = random.Random(1414)
    reports = salvo(MISSILES, 4.0, seed=77, topics=topics)
    truth = {(r.warning.nation, r.warning.track_id): r.missile for r in reports}
    chunks = reports
    cut = [round(len(chunks) * (i + 1) / (KILLS + 1)) for i in range(KILLS)]
    bounds = list(zip([0, *cut], [*cut, len(chunks)], strict=True))
    reader = AlertReader(kafka_config, topics.alerts, f"{new_group}-reader")
    first_alert_s: list[float] = []
    try:
        for n, (lo, hi) in enumerate(bounds):
            # The salvo goes on while the bridge is down: a restart finds a backlog on
            # all three topics (a burst produced while it polls would instead arrive
            # partition by partition, which no live feed does).
            before = _settled_count(reader)  # all the killed instance committed
            produce(kafka_config, chunks[lo:hi])
            proc = start_bridge(kafka_config, topics, new_group, log)
            try:
                wait_for(lambda n=n: _ready_count(log) > n, 60.0, message="bridge not ready")
                restarted = time.monotonic()
                if n == KILLS:  # the last instance sees the salvo to its end
                    wait_for(
                        lambda: len(reader.closed()) >= MISSILES,
                        90.0,
                        message="final alerts missing",
                    )
                    break
                wait_for(
                    lambda b=before: len(reader.read()) > b,
                    60.0,
                    message="no alert after a restart",
                )
                first_alert_s.append(time.monotonic() - restarted)
                time.sleep(rng.uniform(0.0, 1.5))  # the fault: a kill at a random moment
                proc.send_signal(signal.SIGKILL)
                proc.wait(10.0)
            finally:
                if n == KILLS or proc.poll() is None:
                    stop(proc)
        alerts = reader.read()
    finally:
        reader.consumer.close()
    print(
        f"\n{KILLS} kills: first alert after restart max {max(first_alert_s):.2f} s, "
        f"median {sorted(first_alert_s)[len(first_alert_s) // 2]:.2f} s"
    )
    assert max(first_alert_s) < 30.0
    _check_contract(alerts, truth)


def test_contract_checker_catches_a_duplicate() -> None:
    """The checks above can fail: a repeated version is caught."""
    from tests.factories import make_alert

    alert = make_alert()
    with pytest.raises(AssertionError, match="published twice"):
        _check_contract([alert, alert], {})
