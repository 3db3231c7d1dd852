"""``trilink demo`` end to end as a user runs it (a real process): the default two
bilateral systems on their own embedded brokers, and one cluster (the session broker)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli import main as cli_main
from tests.conftest import KafkaEndpoint

pytestmark = pytest.mark.paced

CLI = [sys.executable, "-c", "from cli.main import main; main()"]
LAUNCH = re.compile(r"^\s+launch (demo-\d+-[0-9a-f]+): (\S+)", re.MULTILINE)


def _demo(kafka: KafkaEndpoint, *args: str) -> list[str]:
    return [*CLI, "demo", "--bootstrap-servers", kafka.bootstrap_servers, *args]


# One rerun, like the other whole-pipeline process tests: once in about a dozen runs on
# a loaded machine the demo process died of SIGSEGV inside a native library (not
# reproduced since); the fault handler puts every thread's stack in the output.
@pytest.mark.flaky(reruns=1)
@pytest.mark.timeout(180)
def test_demo_once_shows_every_missile_with_alerts_and_lead_times() -> None:
    # The default, as `make demo` runs it: two systems, each on its own embedded broker,
    # at the default speed (25x). At 50x the two systems' services (four producers, two
    # bridges, two relays) fell behind the clock on two cores, and Korea and the US never
    # reported a KN-25 of the salvo (docs/score.md, "Stop 37"): a fault of its own, not
    # what this test is about.
    done = subprocess.run(
        [*CLI, "demo", "--once", "--timeout", "120"],
        capture_output=True,
        text=True,
        timeout=160,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert re.search(r"^map: http://127\.0\.0\.1:\d+/", out, re.MULTILINE), out[:2000]
    launches = dict(LAUNCH.findall(out))
    # The demo scenario: the 2022-10-04 IRBM over Japan, then a KN-25 salvo.
    assert len(launches) == 4
    assert sorted(launches.values()) == ["kn-25", "kn-25", "kn-25", "new-irbm-2022"]
    assert re.search(r"^ALERT .* NEW ", out, re.MULTILINE)
    for launch_id in launches:
        (row,) = [line for line in out.splitlines() if line.startswith(f"{launch_id} (")]
        # Matched to a fused track that ended, with its first alert and impact point.
        assert re.search(r": ST-\S+ v\d+ (IMPACT|DROPPED); first detection", row), row
        assert "first alert T+" in row and "impact " in row and "error " in row
    rows = [line for line in out.splitlines() if line.startswith(tuple(launches))]
    # Japan's radars see the salvo late: sharing gives it warning before its own detection.
    assert any(re.search(r"JPN T\+[\d.]+ s, lead [\d.]+ s", row) for row in rows), rows
    # The two systems: what crossed each way, a Korean track Japan never received,
    # and the warning time Japan-US still gained over Japan's own sensors.
    crossed = re.findall(r"^  (KOR|JPN) reports .*: (\d+) crossed, (\d+) withheld", out, re.M)
    assert {nation for nation, _, _ in crossed} == {"KOR", "JPN"}, out[-2000:]
    assert all(int(n) > 0 for _, n, _ in crossed)
    withheld = re.search(
        r"withheld from Japan: KOR track (\S+) \(SECRET//REL TO USA, KOR\): (\d+) reports "
        r"stayed on ROK-US, never received on Japan-US",
        out,
    )
    assert withheld and int(withheld.group(2)) > 0, out[-2000:]
    lead = re.search(r"Japan-US alerted before Japan's own sensors on (\d+) of (\d+)", out)
    assert lead and int(lead.group(1)) > 0, out[-2000:]


@pytest.mark.timeout(90)
def test_ctrl_c_stops_everything_and_still_summarises(kafka: KafkaEndpoint) -> None:
    proc = subprocess.Popen(
        _demo(kafka, "--once", "--speed", "25"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("scenario injected"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    assert "stopping the producers and the bridge" in out
    assert "summary" in out


def test_an_unknown_scenario_is_a_one_line_usage_error() -> None:
    cli_main._load()
    result = CliRunner().invoke(cli_main.app, ["demo", "--once", "--scenario", "no-such-thing"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-thing" in lines[0], result.stderr
