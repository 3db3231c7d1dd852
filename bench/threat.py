"""Threat assessment per alert: what ``threat.alert.with_threat`` costs on the hot path.

The bridge assesses every alert it publishes (``bridge.alerts.fused_alert``), so the
cost is paid per alert, inside the bridge-added latency. Measured on realistic
alerts: every alert the engine issues offline (``evaluation.scoring.run_offline``)
for the built-in scenarios, with the assessment it carried taken off, assessed again
one by one in publication order, ``repeats`` passes over all of them.

An alert's *cost* is its fastest pass: the machine is shared, and a pass the thread
was preempted in measures the scheduler, not the assessment. The raw figures (every
pass) are reported too, as the hot path saw them during the run, and so is the
thread's CPU time. Alerts whose track crosses land (an overflight) cost more, since
every sample over land is tested against the land and its prefectures.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from trilink.model import FusedAlert

SCENARIOS = ("demo", "salvo-20", "2022-10-04", "tight-salvo")


def scenario_alerts(names: Sequence[str] = SCENARIOS, seed: int = 0) -> list[FusedAlert]:
    """Every alert the engine issues offline for the scenarios, without its assessment."""
    from evaluation.scoring import run_offline
    from producers.national import simulate_all
    from producers.scenario_file import load_scenario

    alerts: list[FusedAlert] = []
    for name in names:
        issued, _ = run_offline(simulate_all(list(load_scenario(name, seed).launches)))
        alerts += [dataclasses.replace(a, threat=None, threatened=()) for a in issued]
    return alerts


def _summary(us: np.ndarray) -> dict[str, Any]:
    if not len(us):
        return {"n": 0, "median_us": None, "p99_us": None, "max_us": None}
    return {
        "n": len(us),
        "median_us": round(float(np.median(us)), 1),
        "p99_us": round(float(np.percentile(us, 99)), 1),
        "max_us": round(float(us.max()), 1),
    }


def run(alerts: Sequence[FusedAlert], repeats: int = 3) -> dict[str, Any]:
    """Time ``with_threat`` on each alert with an impact prediction, ``repeats`` passes.

    One untimed pass first: it loads the data and lets GEOS build the indexes of the
    prepared land and unit geometries, which it does on their first use.
    """
    from threat.alert import default_assessor, with_threat

    default_assessor()
    timed = [a for a in alerts if a.impact is not None]
    if not timed:
        raise ValueError("no alert with an impact prediction to assess")
    found = [with_threat(a).threat for a in timed]
    if any(t is None for t in found):  # with_threat logs a failure and carries on
        raise RuntimeError("an assessment failed (see the log)")
    over = np.array([t is not None and bool(t.overflights) for t in found])
    samples = np.array([_samples(a) for a in timed])
    wall = np.empty((repeats, len(timed)))
    cpu = np.empty((repeats, len(timed)))
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for r in range(repeats):
        for i, alert in enumerate(timed):
            c0, t0 = cpu_clock(), clock()
            with_threat(alert)
            t1, c1 = clock(), cpu_clock()
            wall[r, i], cpu[r, i] = (t1 - t0) / 1000, (c1 - c0) / 1000
    cost = wall.min(axis=0)
    return {
        **_summary(cost),
        "repeats": repeats,
        "alerts_without_impact": len(alerts) - len(timed),
        "with_overflight": _summary(cost[over]),
        "without_overflight": _summary(cost[~over]),
        "raw": _summary(wall.ravel()),
        "cpu": _summary(cpu.min(axis=0)),
        "track_samples": {"median": int(np.median(samples)), "max": int(samples.max())},
    }


def _samples(alert: FusedAlert) -> int:
    from threat.alert import alert_track

    track = alert_track(alert)
    return 0 if track is None else len(track.time_us)


def run_scenarios(
    names: Sequence[str] = SCENARIOS, repeats: int = 3, seed: int = 0
) -> dict[str, Any]:
    """:func:`run` on the alerts of the scenarios (simulated and fused first, untimed)."""
    t0 = time.perf_counter()
    alerts = scenario_alerts(names, seed)
    prepared_s = time.perf_counter() - t0
    return {
        "scenarios": list(names),
        "seed": seed,
        "alerts": len(alerts),
        "simulate_and_fuse_s": round(prepared_s, 1),
        **run(alerts, repeats),
    }
