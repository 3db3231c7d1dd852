"""The picture when one nation's feed arrives late: the engine offline, as a live bridge
reads it (no I/O).

Each nation's link has its own delay: a backlog after a restart, a slower path, a
loaded producer. :func:`run_delayed` feeds the engine every report at its
publication time plus its nation's delay, in batches of what arrived within a window
of a batch's first (a poll), the clock standing at the batch's last arrival.

``python -m evaluation.delay SCENARIO [--seed S]`` prints, per delay and window, the
system tracks and the extra, merged and missed counts of the score. Given several
scenarios (or a directory of them: ``make score-delay`` runs ``scenarios/battery``),
it prints one row per scenario, the cases summed, then every case that was not clean.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

from bridge.config import EngineConfig
from bridge.engine import Engine
from evaluation.scoring import DRAIN_US, Simulated, arrivals, score, simulate_scenario
from trilink.codec import Codec
from trilink.constants import US
from trilink.model import FusedAlert, MissileWarning, Nation

DELAYS_S = (5.0, 10.0, 30.0)
WINDOWS_S = (0.0, 3.0)


def run_delayed(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    delays_s: Mapping[Nation, float],
    window_s: float,
    config: EngineConfig | None = None,
) -> list[FusedAlert]:
    """Every alert of the engine over reports arriving ``delays_s`` after publication,
    taken in batches of what arrived within ``window_s`` of a batch's first (0: one
    arrival time at a time)."""
    config = config or EngineConfig()
    stream = arrivals(warnings, config.topics, delays_s)
    now = [0]
    engine = Engine(config, Codec(), lambda: now[0])
    alerts: list[FusedAlert] = []
    window_us, i = round(window_s * US), 0
    while i < len(stream):
        j = i
        while j < len(stream) and stream[j][0] <= stream[i][0] + window_us:
            j += 1
        now[0] = stream[j - 1][0]
        alerts += engine.process_warnings([(t, w) for _, t, w in stream[i:j]]).alerts
        i = j
    if stream:
        now[0] = stream[-1][0] + DRAIN_US
        alerts += engine.tick(now[0]).alerts
    return alerts


def counts(run: Simulated, alerts: list[FusedAlert]) -> tuple[int, int, int, int]:
    """(system tracks, extra, merged, missed) of the score of ``alerts``."""
    s = score(run.truths, run.warnings, alerts, run.origins, run.physics, run.origin_times)
    return s.system_tracks, s.extra_tracks, s.merged, s.missed


def _cases() -> list[tuple[str, dict[Nation, float], float]]:
    cases: list[tuple[str, dict[Nation, float], float]] = [("in time", {}, 0.0)]
    for window in WINDOWS_S:
        for nation in (Nation.KOR, Nation.USA, Nation.JPN):
            for delay in DELAYS_S:
                cases.append((f"{nation.value} +{delay:g} s", {nation: delay}, window))
    return cases


def scenario_paths(paths: Sequence[str]) -> list[str]:
    """Scenario names and files, a directory standing for its ``*.yaml`` files."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        out += sorted(str(f) for f in path.glob("*.yaml")) if path.is_dir() else [p]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="+", help="scenario names, files or directories")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    scenarios = scenario_paths(args.scenario)
    if len(scenarios) == 1:
        run = simulate_scenario(scenarios[0], args.seed)
        config = EngineConfig(physics=run.physics)
        print("case | window s | tracks | extra | merged | missed")
        for label, delays, window in _cases():
            n = counts(run, run_delayed(run.warnings, delays, window, config))
            print(f"{label} | {window:g} | {n[0]} | {n[1]} | {n[2]} | {n[3]}")
        return
    # Several: one row per scenario, the cases summed, then every case that failed.
    print("scenario | clean cases | extra | merged | missed")
    failed: list[str] = []
    for name in scenarios:
        run = simulate_scenario(name, args.seed)
        config = EngineConfig(physics=run.physics)
        totals, clean, cases = [0, 0, 0], 0, _cases()
        for label, delays, window in cases:
            n = counts(run, run_delayed(run.warnings, delays, window, config))
            totals = [t + k for t, k in zip(totals, n[1:], strict=True)]
            if n[1:] == (0, 0, 0):
                clean += 1
            else:
                failed.append(
                    f"{Path(name).stem} {label} window {window:g} s: "
                    f"extra {n[1]}, merged {n[2]}, missed {n[3]}"
                )
        print(f"{Path(name).stem} | {clean}/{len(cases)} | {totals[0]} | {totals[1]} | {totals[2]}")
    for line in failed:
        print(line)


if __name__ == "__main__":
    main()
