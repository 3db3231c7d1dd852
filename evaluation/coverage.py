"""Whether the 95% impact ellipses say what they claim: how often they hold the impact.

Every fused alert and every national warning with an impact prediction carries a
95% ellipse (semi-axes and the major axis's bearing, ``trilink.model.Ellipse``). If
the ellipses are calibrated, the missile's real impact point lies inside about 95%
of them. Too few (an overconfident prediction) and the warning list built from the
ellipse (``threat.assess``) leaves out the area the missile comes down in; far more,
with the truth near the centre of every one (an overcautious prediction), and it warns
areas that were never at risk. Both are measured here, on the tracks matched to
missiles (``evaluation.origin``): the share of ellipses holding the impact, and the
median normalised miss (:func:`normalised_miss`), which is ``MEDIAN_CALIBRATED`` for a
calibrated Gaussian prediction, less for a cautious one, more for an overconfident one.

Predictions made while the missile still burns are counted apart: a ballistic
prediction from a thrusting missile falls short by however far the rest of the burn
carries it, which no ellipse of the state's covariance describes. After burnout the
figure is the calibration of the flight model and of the covariance behind it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pymap3d

from evaluation.truth import TruthPath
from tracking.propagate import CHI2_2D_95
from trilink.constants import NATIONS
from trilink.model import FusedAlert, GroundPoint, MissileWarning, Nation

JsonObject = dict[str, object]

MEDIAN_CALIBRATED = round(2.0 * math.log(2.0) / CHI2_2D_95, 4)
"""The median normalised miss of calibrated 2-D Gaussian predictions (0.2314): the
squared Mahalanobis miss is chi-square with 2 degrees of freedom, median 2 ln 2."""


def normalised_miss(predicted: GroundPoint, lat_deg: float, lon_deg: float) -> float:
    """(u/a)² + (v/b)² of the point in the predicted 95% ellipse's axes: at most 1 inside.

    The offset is taken in the local east-north plane at the predicted point (the
    ellipse's own plane); a degenerate axis counts as a metre.
    """
    east, north, _ = pymap3d.geodetic2enu(
        lat_deg, lon_deg, 0.0, predicted.lat_deg, predicted.lon_deg, 0.0
    )
    e = predicted.ellipse
    bearing = math.radians(e.orientation_deg)  # the major axis, clockwise from north
    along = east * math.sin(bearing) + north * math.cos(bearing)
    across = east * math.cos(bearing) - north * math.sin(bearing)
    a = max(e.semi_major_km * 1000.0, 1.0)
    b = max(e.semi_minor_km * 1000.0, 1.0)
    return float((along / a) ** 2 + (across / b) ** 2)


@dataclass(frozen=True, slots=True)
class Held:
    """How many of ``n`` predictions held their missile's impact in their 95% ellipse."""

    inside: int = 0
    n: int = 0

    @property
    def fraction(self) -> float | None:
        return round(self.inside / self.n, 4) if self.n else None

    def __add__(self, other: Held) -> Held:
        return Held(self.inside + other.inside, self.n + other.n)

    @classmethod
    def of(cls, misses: Iterable[float]) -> Held:
        values = list(misses)
        return cls(sum(1 for q in values if q <= 1.0), len(values))

    def to_json(self) -> JsonObject:
        return {"inside": self.inside, "n": self.n, "fraction": self.fraction}


@dataclass(frozen=True, slots=True)
class EllipseCoverage:
    """The 95% ellipses' hold on the truth: the picture's after burnout and in boost,
    and each nation's after burnout; the picture's median normalised miss after
    burnout (see the module docstring)."""

    fused: Held
    fused_boost: Held
    national: Mapping[Nation, Held]
    fused_median_miss: float | None = None
    # Per missile, its fused predictions' normalised misses after burnout (for
    # breakdowns such as :func:`main`'s by missile class; not in the JSON).
    fused_misses: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {
            "fused": self.fused.to_json(),
            "fused_median_miss": self.fused_median_miss,
            "fused_boost": self.fused_boost.to_json(),
            "national": {n.value: h.to_json() for n, h in self.national.items()},
        }


def _split(
    rows: Iterable[tuple[str, int, GroundPoint]], by_truth: Mapping[str, TruthPath]
) -> tuple[dict[str, list[float]], list[float]]:
    """Normalised misses (after burnout per missile, in boost) over (missile, state
    time, prediction) rows."""
    after: dict[str, list[float]] = {}
    boost: list[float] = []
    for m, t_us, point in rows:
        truth = by_truth[m]
        q = normalised_miss(point, truth.impact_lat_deg, truth.impact_lon_deg)
        if t_us < truth.burnout_us:
            boost.append(q)
        else:
            after.setdefault(m, []).append(q)
    return after, boost


def ellipse_coverage(
    alerts: Sequence[FusedAlert],
    matched: Mapping[str, str],
    warnings: Iterable[MissileWarning],
    track_to_missile: Mapping[tuple[Nation, str], str],
    by_truth: Mapping[str, TruthPath],
) -> EllipseCoverage:
    """Coverage of the fused alerts of the system tracks ``matched`` (missile -> track)
    and of the warnings of the national tracks ``track_to_missile`` names."""
    missile_of = {tid: m for m, tid in matched.items()}
    fused, boost = _split(
        (
            (missile_of[a.system_track_id], a.state_time_us, a.impact)
            for a in alerts
            if a.impact is not None and a.system_track_id in missile_of
        ),
        by_truth,
    )
    per_nation: dict[Nation, list[tuple[str, int, GroundPoint]]] = {n: [] for n in NATIONS}
    for w in warnings:
        m = track_to_missile.get((w.nation, w.track_id))
        if m is not None and w.impact is not None and w.nation in per_nation:
            per_nation[w.nation].append((m, w.observed_us, w.impact))
    national = {
        n: Held.of(q for qs in _split(rows, by_truth)[0].values() for q in qs)
        for n, rows in per_nation.items()
    }
    every = [q for qs in fused.values() for q in qs]
    median = round(statistics.median(every), 4) if every else None
    by_missile = {m: tuple(qs) for m, qs in fused.items()}
    return EllipseCoverage(Held.of(every), Held.of(boost), national, median, by_missile)


MAX_SEEDS = 100


def _seeds(text: str) -> int:
    """A seed count for :func:`main`, 1 to ``MAX_SEEDS``."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_SEEDS}, not {n}")
    return n


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m evaluation.coverage SCENARIO... [--seeds N] [--physics P]``: the
    fused 95% ellipses' hold after burnout, by missile class (the catalogue key of
    each launch), pooled over the scenarios and seeds."""
    import argparse

    from evaluation.scoring import score_scenario
    from producers.scenario_file import load_scenario
    from trilink.physics import Physics

    parser = argparse.ArgumentParser(prog="python -m evaluation.coverage")
    parser.add_argument("scenarios", nargs="+")
    parser.add_argument("--seeds", type=_seeds, default=2, metavar="N")
    parser.add_argument("--physics", default=None, choices=[p.value for p in Physics])
    args = parser.parse_args(argv)
    physics = None if args.physics is None else Physics.parse(args.physics)
    by_class: dict[str, list[float]] = {}
    for name in args.scenarios:
        for seed in range(args.seeds):
            cover = score_scenario(name, seed, physics=physics).score.ellipse_coverage
            kinds = {e.launch_id: e.missile for e in load_scenario(name, seed).launches}
            for m, qs in ({} if cover is None else cover.fused_misses).items():
                by_class.setdefault(kinds[m], []).extend(qs)
    print(f"{'class':16s} {'predictions':>11s} {'held':>7s} {'median miss':>11s}")
    for kind, misses in sorted(by_class.items()):
        held = Held.of(misses)
        median = statistics.median(misses)
        print(f"{kind:16s} {held.n:11d} {held.fraction or 0.0:7.1%} {median:11.3f}")
    print(f"(median miss {MEDIAN_CALIBRATED} when calibrated)")


if __name__ == "__main__":
    main()
