"""The benchmark runs end to end (tiny profile) and produces figures: never what they are."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _latency(section: dict[str, Any]) -> None:
    assert "error" not in section, section.get("error")
    assert section["count"] > 0
    for key in ("p50_us", "p99_us", "p999_us", "max_us"):
        assert _positive(section[key]), (key, section[key])
    assert section["p50_us"] <= section["p99_us"] <= section["p999_us"] <= section["max_us"]


@pytest.fixture(scope="module")
def tiny_run(kafka: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out_dir = tmp_path_factory.mktemp("bench")
    out, md = out_dir / "results.json", out_dir / "BENCHMARKS.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--profile",
            "tiny",
            "--out",
            str(out),
            "--markdown",
            str(md),
            "--bootstrap-servers",
            kafka.bootstrap_servers,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), md.read_text()


@pytest.mark.timeout(300)
def test_tiny_profile_produces_every_figure(tiny_run: tuple[dict[str, Any], str]) -> None:
    results, _ = tiny_run
    meta = results["meta"]
    assert meta["profile"] == "tiny"
    assert meta["machine"]["cpu_cores"] >= 1
    assert meta["machine"]["librdkafka"]

    base = results["broker_baseline"]
    _latency(base["ping_pong"])
    assert base["paced"]
    for hop in base["paced"]:
        _latency(hop)
    # The exactly-once step alone: a cycle is at least its commit.
    txn = base["transaction"]
    assert "error" not in txn, txn.get("error")
    _latency(txn)
    _latency(txn["commit"])
    assert txn["commit"]["p50_us"] <= txn["p50_us"]

    runs = results["pipeline"]["runs"]
    assert runs
    for run in runs:
        _latency(run)
        assert run["alerts_received"] > 0
        assert all(isinstance(v, float) and math.isfinite(v) for v in run["bridge_added"].values())

    pair = results["throughput"]["transactional"]
    for kind in ("bridge", "passthrough"):
        assert "error" not in pair[kind], pair[kind].get("error")
        assert _positive(pair[kind]["warnings_per_s"])
        assert pair[kind]["svc_consumed"] == pair[kind]["warnings"]
    assert _positive(pair["ratio"])

    mem = results["memory"]
    assert "error" not in mem, mem.get("error")
    assert _positive(mem["rss_after_warmup_mb"]) and _positive(mem["rss_end_mb"])
    assert math.isfinite(mem["growth_after_warmup_pct"])
    assert len(mem["samples"]) >= 2

    sim = results["simulation"]
    assert "error" not in sim, sim.get("error")
    assert sim["warnings"] > 0
    assert _positive(sim["speedup"])
    # Judged with the physics on (issue 13), vacuum measured beside it.
    assert sim["physics"] == "atmosphere" and set(sim["runs"]) == {"vacuum", "atmosphere"}
    assert all(_positive(r["speedup"]) and r["warnings"] > 0 for r in sim["runs"].values())

    threat = results["threat"]
    assert "error" not in threat, threat.get("error")
    assert threat["n"] > 0 and threat["alerts"] >= threat["n"]
    for part in (threat, threat["raw"], threat["cpu"]):
        assert _positive(part["median_us"]) and _positive(part["p99_us"])
        assert part["median_us"] <= part["p99_us"] <= part["max_us"]
    assert threat["with_overflight"]["n"] + threat["without_overflight"]["n"] == threat["n"]

    security = results["security"]
    assert "error" not in security, security.get("error")
    assert security["records"] > 0 and security["header_bytes"] > 0
    for op in ("sign", "verify"):
        assert 0 < security[f"{op}_median_us"] <= security[f"{op}_p99_us"]

    assert [t["target"] for t in results["targets"]] == [
        "bridge-added p99 latency at 1,000 warnings/s",
        "bridge keeps up at 10,000 warnings/s",
        "bridge throughput vs passthrough",
        "bridge throughput on one core",
        "bridge RSS growth after warm-up",
        "simulation speed, salvo-20, atmosphere",
        "threat assessment per alert",
        "engine cost per warning at 100 vs 10 missiles in flight",
        "engine vs the Stone Soup peer, per warning, at no worse GOSPA",
    ]

    peer = results["peer"]
    assert "error" not in peer, peer.get("error")
    [row] = peer["scenarios"]
    assert row["scenario"] == "tight-salvo" and row["warnings"] > 0
    for key in ("trilink_us_per_warning", "peer_us_per_warning", "speedup"):
        assert _positive(row[key]), (key, row[key])
    assert math.isfinite(row["trilink_gospa"]) and math.isfinite(row["peer_gospa"])

    engine = results["verification"]["engine"]
    assert "error" not in engine, engine.get("error")
    for mode in ("with", "without"):
        assert _positive(engine[mode]["warnings_per_s"])
    assert _positive(engine["ratio"])
    service = results["verification"]["service"]
    assert "error" not in service, service.get("error")
    for mode in ("with", "without"):
        assert service[mode]["svc_consumed"] == service[mode]["warnings"]
        assert service[mode]["svc_dead_letters"] == 0
    assert _positive(service["ratio"])

    scaling = results["scaling"]
    assert "error" not in scaling, scaling.get("error")
    assert [p["missiles"] for p in scaling["points"]] == [10, 100]
    for point in scaling["points"]:
        assert _positive(point["cpu_us_per_warning"]) and point["timed_warnings"] > 0
    assert _positive(scaling["growth"])


@pytest.mark.timeout(300)
def test_tiny_profile_writes_the_report(tiny_run: tuple[dict[str, Any], str]) -> None:
    _, markdown = tiny_run
    for heading in (
        "## Machine",
        "## Targets",
        "## 1. Broker baseline",
        "## 2. Pipeline latency",
        "## 3. Throughput",
        "## 4. Memory",
        "## 5. Simulation speed",
        "## 6. Threat assessment per alert",
        "## 7. Record signing and verification per warning",
        "## 8. The bridge with and without record verification",
        "## 9. Engine cost per warning against missiles in flight",
        "## 10. trilink's engine against the Stone Soup peer",
    ):
        assert heading in markdown
    assert "error:" not in markdown
