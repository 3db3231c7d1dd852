"""Why a run fails: each system track with the national tracks that fed it.

``python -m evaluation.diagnose SCENARIO [--seed N] [--physics atmosphere]`` simulates
the scenario (in another flight model with ``--physics``), fuses it offline
(:func:`evaluation.scoring.run_offline`) and prints, per system track in order of its
first alert, the missile it *is* (majority origin), the missiles it *carries*,
whether the score calls it merged or extra, and for every contributor: the missile
behind most of its detections, when it joined (event time after the first launch),
when its nation first reported it and first observed it, and its detection counts by
origin. A merge reads as a contributor whose missile is not the track's; a plume hop
as a contributor with a few detections of many missiles.

``--nees`` adds, per nation, how far each national track's first report is from the
true state of its missile in its own covariance's terms: the 6-dof NEES (a
consistent estimate: median 5.3, 90th percentile 10.6).

``--track NATION/TRACK_ID`` (repeatable) adds one national track's life: which missile
caused each of its detections, and per report its height, speed and the speed a climb
to that height needs (``tracking.plausibility.plausible``), its position sigma, whether it
says it thrusts, and its distance to the nearest missiles. A track that began on other
missiles' detections (a ripple's plume hop) reads as a run of other names first.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

from bridge.config import EngineConfig
from evaluation.origin import (
    NationalKey,
    assign_tracks,
    delivered_counts,
    national_missiles,
    system_origins,
)
from evaluation.scoring import Simulated, run_offline, simulate_scenario
from tracking.plausibility import least_climb_speed
from tracking.propagate import from_upper_triangle
from trilink.air import height_rows
from trilink.constants import US
from trilink.model import FusedAlert, Nation
from trilink.physics import Physics


def explain(run: Simulated, alerts: Sequence[FusedAlert]) -> list[str]:
    """The lines of the report described in the module docstring."""
    missiles = [t.name for t in run.truths]
    t0 = min(t.start_us for t in run.truths)
    national = national_missiles(run.origins, set(missiles))
    first: dict[NationalKey, tuple[int, int]] = {}  # (reported, observed) of its first report
    for nation, ws in run.warnings.items():
        for w in ws:
            key = (nation, w.track_id)
            first[key] = min(
                first.get(key, (w.reported_us, w.observed_us)), (w.reported_us, w.observed_us)
            )
    joined: dict[tuple[str, NationalKey], int] = {}
    for a in sorted(alerts, key=lambda a: (a.newest_report_us, a.system_track_id, a.version)):
        for c in a.contributors:
            joined.setdefault((a.system_track_id, (c.nation, c.track_id)), a.newest_report_us)
    all_warnings = [w for ws in run.warnings.values() for w in ws]
    delivered = delivered_counts(alerts, all_warnings, run.origin_times)
    systems = system_origins(alerts, run.origins, missiles, delivered)
    verdict = assign_tracks(systems, missiles)

    def at(us: int) -> str:
        return f"T+{(us - t0) / US:.1f}"

    lines = [
        f"{run.scenario} seed {run.seed}: {len(systems)} system tracks, {len(missiles)} missiles"
    ]
    for tid, s in systems.items():
        flags = " MERGED" * (tid in verdict.merged) + " EXTRA" * (tid in verdict.extra)
        lines.append(f"{tid} is {s.majority} carries {sorted(s.carries)}{flags}")
        mine = sorted((us, key) for (t, key), us in joined.items() if t == tid)
        for us, key in mine:
            reported, observed = first[key]
            counts = dict(run.origins.get(key, {}))
            here = dict(delivered.get((tid, key), {}))
            lines.append(
                f"    {key[0].value}/{key[1]} is {national.get(key)}: joined {at(us)},"
                f" first report {at(reported)} (observed {at(observed)}), detections {counts},"
                f" delivered here {here}"
            )
    if verdict.missed:
        lines.append(f"missed: {', '.join(verdict.missed)}")
    return lines


def first_report_nees(run: Simulated) -> dict[str, list[float]]:
    """Per nation, the 6-dof NEES of each national track's first report against the true
    state of the missile behind most of its detections (velocity by central difference)."""
    truths = {t.name: t for t in run.truths}
    national = national_missiles(run.origins, set(truths))
    out: dict[str, list[float]] = {}
    for nation, ws in run.warnings.items():
        seen: set[str] = set()
        for w in ws:
            missile = national.get((nation, w.track_id))
            if w.track_id in seen or missile is None:
                continue
            seen.add(w.track_id)
            truth = truths[missile]
            t = float(w.observed_us)
            if not truth.start_us + 0.05 * US <= t <= truth.end_us - 0.05 * US:
                continue
            r = truth.positions(np.array([t - 0.05 * US, t, t + 0.05 * US]))
            state = np.concatenate([r[1], (r[2] - r[0]) / 0.1])
            e = np.concatenate([w.position_m, w.velocity_mps]) - state
            p = np.asarray(from_upper_triangle(w.covariance))
            out.setdefault(nation.value, []).append(float(e @ np.linalg.solve(p, e)))
    return out


def _short(launch_id: str) -> str:
    # Launch ids end in "-NN-<hash>": the launch's number names it briefly.
    parts = launch_id.rsplit("-", 2)
    return parts[1] if len(parts) == 3 else launch_id


def track_life(run: Simulated, key: str, limit: int = 30) -> list[str]:
    """One national track (``NATION/TRACK_ID``): its detections' origins, then its first
    ``limit`` reports against the missiles (see the module docstring)."""
    nation_text, _, track_id = key.partition("/")
    nation = Nation(nation_text)
    t0 = min(t.start_us for t in run.truths)
    names = {t.name: _short(t.name) for t in run.truths}
    origins = run.origin_times.get((nation, track_id), [])
    lines = [
        f"{key}: {len(origins)} detections, in order: "
        + " ".join(names.get(o, "-") if o else "-" for _, o in origins[:40])
    ]
    for w in [w for w in run.warnings.get(nation, []) if w.track_id == track_id][:limit]:
        x = np.concatenate([w.position_m, w.velocity_mps])
        p = np.asarray(from_upper_triangle(w.covariance))
        speed = float(np.linalg.norm(x[3:6]))
        along = x[3:6] / max(speed, 1e-9)
        h = float(height_rows(x[0:3]))
        near = sorted(
            (float(np.linalg.norm(t.positions(np.array([w.observed_us]))[0] - x[0:3])), t.name)
            for t in run.truths
            if t.start_us <= w.observed_us <= t.end_us
        )[:3]
        lines.append(
            f"  T+{(w.observed_us - t0) / US:6.1f} h {h / 1e3:5.1f} km"
            f" speed {speed:5.0f} +- {math.sqrt(float(along @ p[3:6, 3:6] @ along)):4.0f}"
            f" (climb needs {float(least_climb_speed(h)):4.0f}) m/s"
            f" pos sigma {math.sqrt(float(np.trace(p[0:3, 0:3]))):5.0f} m"
            f"{' thrusting' if w.boosting else ''}; nearest "
            + ", ".join(f"{names[n]} {d / 1e3:.1f} km" for d, n in near)
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m evaluation.diagnose SCENARIO [--seed N] [--physics P] [--nees]
    [--track NATION/TRACK_ID ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", help="built-in scenario, YAML file or catalogue date")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nees", action="store_true", help="NEES of first reports per nation")
    parser.add_argument(
        "--track",
        action="append",
        default=[],
        metavar="NATION/TRACK_ID",
        help="one national track's detections and reports against the missiles",
    )
    parser.add_argument(
        "--physics",
        choices=[p.value for p in Physics],
        help="flight model instead of the scenario's own",
    )
    args = parser.parse_args(argv)
    physics = None if args.physics is None else Physics(args.physics)
    run = simulate_scenario(args.scenario, args.seed, physics)
    alerts, _ = run_offline(run.warnings, EngineConfig(physics=run.physics))
    print("\n".join(explain(run, alerts)))
    if args.nees:
        for nation, values in sorted(first_report_nees(run).items()):
            median, p90 = np.percentile(values, [50, 90])
            print(f"{nation}: first reports {len(values)}, NEES median {median:.1f}, p90 {p90:.1f}")
    for key in args.track:
        print("\n".join(track_life(run, key)))


if __name__ == "__main__":
    main()
