"""Which track is which truth object: the one matcher of the score and the demo summary.

:func:`assign` pairs tracks with truth objects under a pluggable cost. A pair whose
cost is not below the gate (by default: not finite) is never made. Two rules:

* one-to-one (the default): the largest set of pairs within the gate and, among
  those, the cheapest in total (``scipy.optimize.linear_sum_assignment``). The demo
  summary pairs system tracks with launches so (``demo.summary.match_launches``).
* nearest (``one_to_one=False``): each track goes to its cheapest truth object
  within the gate, and several tracks may share one. The score maps national tracks
  to missiles so (:func:`map_tracks`): every nation tracks the same missile, and one
  nation may track it twice (a track re-initiated after a loss).

The cost the score uses is :func:`trajectory_distance_m`, the mean distance of a
national track's reports from a missile's true path.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from evaluation.truth import TruthPath
from trilink.constants import FloatArray
from trilink.model import MissileWarning, Nation

T = TypeVar("T")
U = TypeVar("U")

Cost = Callable[[T, U], float]

INFEASIBLE = math.inf
"""The cost of a pair that cannot be: beyond every gate."""

# linear_sum_assignment needs finite costs. Pairs beyond the gate enter the problem at
# a cost so high that any assignment with fewer of them is cheaper; they are dropped
# from the answer afterwards.
_BEYOND_GATE_FLOOR = 1e9


def cost_matrix(tracks: Sequence[T], truths: Sequence[U], cost: Cost[T, U]) -> FloatArray:
    """``cost(track, truth)`` for every pair: rows are tracks, columns truth objects."""
    return np.array(
        [[cost(track, truth) for truth in truths] for track in tracks], dtype=float
    ).reshape(len(tracks), len(truths))


def assign(
    tracks: Sequence[T],
    truths: Sequence[U],
    cost: Cost[T, U],
    *,
    gate: float = INFEASIBLE,
    one_to_one: bool = True,
) -> dict[int, int]:
    """Track index -> index of the truth object it is, for the tracks that have one.

    Only pairs with ``cost < gate`` are made (NaN never is). ``one_to_one`` assigns
    each truth object to at most one track; otherwise each track takes its cheapest
    truth object (the first of equal ones). Keys come in track order.
    """
    if not tracks or not truths:
        return {}
    matrix = cost_matrix(tracks, truths, cost)
    within = matrix < gate
    if not one_to_one:
        best = np.where(within, matrix, math.inf).argmin(axis=1)
        return {r: int(c) for r, c in enumerate(best) if within[r, c]}
    costs = matrix[within]
    size = min(matrix.shape)
    beyond = max(_BEYOND_GATE_FLOOR, 1.0 + 2.0 * size * float(np.abs(costs).max(initial=0.0)))
    rows, cols = linear_sum_assignment(np.where(within, matrix, beyond))
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if within[r, c]}


# -- the score's cost: national tracks against true trajectories ------------------------------


@dataclass(frozen=True, slots=True)
class ReportedPath:
    """One national track's reports as arrays: observation times (µs, N) and ECEF
    positions (m, (N, 3)), in report order."""

    nation: Nation
    track_id: str
    times_us: FloatArray
    positions_m: FloatArray

    @property
    def key(self) -> tuple[Nation, str]:
        return (self.nation, self.track_id)


def reported_paths(warnings: Iterable[MissileWarning]) -> list[ReportedPath]:
    """The national tracks in ``warnings``, in order of their first report."""
    by_track: dict[tuple[Nation, str], list[MissileWarning]] = defaultdict(list)
    for w in warnings:
        by_track[(w.nation, w.track_id)].append(w)
    return [
        ReportedPath(
            nation,
            track_id,
            np.array([w.observed_us for w in reports], dtype=float),
            np.array([w.position_m for w in reports]),
        )
        for (nation, track_id), reports in by_track.items()
    ]


def trajectory_distance_m(track: ReportedPath, truth: TruthPath) -> float:
    """Mean distance (m) of the track's reports from the missile's true positions.

    Reports outside the missile's flight cannot be that missile: they count as far,
    by scaling the mean over the others. :data:`INFEASIBLE` if none falls inside.
    """
    times = track.times_us
    inside = (times >= truth.start_us) & (times <= truth.end_us)
    if not inside.any():
        return INFEASIBLE
    d = float(
        np.linalg.norm(truth.positions(times[inside]) - track.positions_m[inside], axis=1).mean()
    )
    d *= times.size / max(int(inside.sum()), 1)
    return d


def map_tracks(
    warnings: Iterable[MissileWarning], truths: Sequence[TruthPath]
) -> dict[tuple[Nation, str], str]:
    """(nation, track id) -> name of the nearest missile (mean distance over its reports)."""
    paths = reported_paths(warnings)
    nearest = assign(paths, truths, trajectory_distance_m, one_to_one=False)
    return {paths[r].key: truths[c].name for r, c in nearest.items()}
