"""The picture when nations are out: the engine offline on what the others still report.

A nation's feed can be out for a whole raid: its radars down or jammed, its link to the
common platform cut, its producer stopped. The bridge then fuses what the other two (or
the one left) report, and the picture must still count the raid right: a missile only
Japan sees is first seen in flight (late), far from where Korea would have seen it, and
the holds that wait for a late track's own data to settle it must not wait for ever.

:func:`without` takes a simulated run as if the nations ``out`` had published nothing:
their warnings gone, and the truth narrowed to the missiles the others still report (a
missile nobody left sees cannot be in the picture, and is not counted missed).
:func:`outage_counts` fuses it offline and scores it.

``python -m evaluation.outage SCENARIO... [--seeds N] [--physics atmosphere]`` prints,
per case (each nation out, then each nation alone), the runs whose picture is clean (no
extra, merged or missed track) and the counts summed over the scenarios and seeds, then
every run that was not clean. ``make score-outage`` runs it over ``scenarios/battery``.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bridge.config import EngineConfig
from evaluation.delay import scenario_paths
from evaluation.origin import national_missiles
from evaluation.scoring import Simulated, run_offline, score, simulate_scenario
from trilink.model import Nation
from trilink.physics import Physics

NATIONS = (Nation.KOR, Nation.USA, Nation.JPN)
CASES: tuple[tuple[Nation, ...], ...] = (
    (Nation.KOR,),
    (Nation.USA,),
    (Nation.JPN,),
    (Nation.USA, Nation.JPN),
    (Nation.KOR, Nation.JPN),
    (Nation.KOR, Nation.USA),
)
"""The nations out in each case: each one alone out, then each one alone left."""


@dataclass(frozen=True, slots=True)
class OutageCounts:
    """One run's picture with nations out: the missiles still reported, and the score."""

    seen: int
    tracks: int
    extra: int
    merged: int
    missed: int

    @property
    def clean(self) -> bool:
        return self.extra == self.merged == self.missed == 0


def label(out: Collection[Nation]) -> str:
    """``KOR out``, or ``JPN alone`` when only one nation is left."""
    left = [n for n in NATIONS if n not in out]
    if len(left) == 1:
        return f"{left[0].value} alone"
    return " and ".join(n.value for n in NATIONS if n in out) + " out"


def without(run: Simulated, out: Collection[Nation]) -> Simulated:
    """``run`` as if the nations ``out`` had published nothing: their warnings and
    detection origins dropped, the truth narrowed to the missiles the others report."""
    warnings = {n: list(ws) for n, ws in run.warnings.items() if n not in out}
    reported = {(n, w.track_id) for n, ws in warnings.items() for w in ws}
    origins = {k: c for k, c in run.origins.items() if k in reported}
    times = {k: t for k, t in run.origin_times.items() if k in reported}
    names = {t.name for t in run.truths}
    seen = set(national_missiles(origins, names).values())
    truths = [t for t in run.truths if t.name in seen]
    return replace(run, truths=truths, warnings=warnings, origins=origins, origin_times=times)


def outage_counts(run: Simulated, out: Collection[Nation]) -> OutageCounts:
    """Fuse ``run`` offline with the nations ``out`` silent, and score the picture."""
    left = without(run, out)
    alerts, _ = run_offline(left.warnings, EngineConfig(physics=left.physics))
    s = score(left.truths, left.warnings, alerts, left.origins, left.physics, left.origin_times)
    return OutageCounts(len(left.truths), s.system_tracks, s.extra_tracks, s.merged, s.missed)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="+", help="scenario names, files or directories")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 (1-10)")
    parser.add_argument("--physics", choices=[p.value for p in Physics], default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 10:
        parser.error(f"--seeds must be between 1 and 10, got {args.seeds}")
    physics = Physics(args.physics) if args.physics else None
    totals = {out: [0, 0, 0, 0, 0] for out in CASES}  # runs, clean, extra, merged, missed
    failed: list[str] = []
    for name in scenario_paths(args.scenario):
        for seed in range(args.seeds):
            run = simulate_scenario(name, seed, physics)
            for out in CASES:
                n = outage_counts(run, out)
                t = totals[out]
                t[0] += 1
                t[1] += n.clean
                t[2], t[3], t[4] = t[2] + n.extra, t[3] + n.merged, t[4] + n.missed
                if not n.clean:
                    failed.append(
                        f"{Path(name).stem} seed {seed}, {label(out)}: {n.seen} missiles seen, "
                        f"{n.tracks} tracks, extra {n.extra}, merged {n.merged}, missed {n.missed}"
                    )
    print("case | clean runs | extra | merged | missed")
    for out, (runs, clean, extra, merged, missed) in totals.items():
        print(f"{label(out)} | {clean}/{runs} | {extra} | {merged} | {missed}")
    for line in failed:
        print(line)


if __name__ == "__main__":
    main()
