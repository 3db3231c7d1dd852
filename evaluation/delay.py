"""The picture when one nation's feed arrives late: the engine offline, as a live bridge
reads it (no I/O).

Each nation's link has its own delay: a backlog after a restart, a slower path, a
loaded producer. :func:`run_delayed` feeds the engine every report at its
publication time plus its nation's delay, in batches of what arrived within a window
of a batch's first (a poll), the clock standing at the batch's last arrival.

``python -m evaluation.delay SCENARIO [--seed S]`` prints, per delay and window, the
system tracks and the extra, merged and missed counts of the score.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run = simulate_scenario(args.scenario, args.seed)
    config = EngineConfig(physics=run.physics)
    cases: list[tuple[str, dict[Nation, float], float]] = [("in time", {}, 0.0)]
    for window in WINDOWS_S:
        for nation in (Nation.KOR, Nation.USA, Nation.JPN):
            for delay in DELAYS_S:
                cases.append((f"{nation.value} +{delay:g} s", {nation: delay}, window))
    print("case | window s | tracks | extra | merged | missed")
    for label, delays, window in cases:
        n = counts(run, run_delayed(run.warnings, delays, window, config))
        print(f"{label} | {window:g} | {n[0]} | {n[1]} | {n[2]} | {n[3]}")


if __name__ == "__main__":
    main()
