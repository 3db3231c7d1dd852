"""Track-to-track association: Mahalanobis gating and global-nearest-neighbour assignment.

A national track is compared with a system track after both are at the same time
(the system track is propagated to the national report's time). The statistic is
the squared Mahalanobis distance of the state difference under the sum of the two
covariances, gated with a chi-square quantile on 6 (full state) or 3 (position)
degrees of freedom. Using velocity as well as position is what keeps a salvo's
missiles apart: seconds after each other from one site, they sit at different
points of the same trajectory with different speeds.

Several new national tracks competing for the same system tracks are resolved
jointly with ``scipy.optimize.linear_sum_assignment``; pairs outside the gate or
otherwise forbidden (same nation already on the track, different data mode) get a
prohibitive cost and are discarded after the assignment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

# chdtri(k, 1 - p) is chi2.ppf(p, k) without importing scipy.stats (0.7 s per process).
from scipy.special import chdtri

from bridge.config import GateConfig
from bridge.estimate import Estimate, Propagator
from trilink.constants import FloatArray
from trilink.jit import contiguous as _c
from trilink.jit import kernel
from trilink.physics import DEFAULT_PHYSICS, Physics

FORBIDDEN = math.inf
_BIG = 1e12  # linear_sum_assignment wants finite costs


def mahalanobis2(a: Estimate, b: Estimate, dof: int = 6) -> float:
    """Squared Mahalanobis distance between two estimates valid at the same time.

    ``dof`` = 3 compares positions only. A singular innovation covariance gives inf.
    """
    try:
        return float(_d2(_c(a.x), _c(a.p), _c(b.x), _c(b.p), dof))
    except np.linalg.LinAlgError:
        return math.inf


@kernel
def _d2(xa: FloatArray, pa: FloatArray, xb: FloatArray, pb: FloatArray, dof: int) -> float:
    d = xa[:dof] - xb[:dof]
    s = pa[:dof, :dof] + pb[:dof, :dof]
    return float(d @ np.linalg.solve(s, d))


@kernel
def _cost(xa: FloatArray, pa: FloatArray, xb: FloatArray, pb: FloatArray) -> float:
    """d² + ln|S| of two 6-states (inf when S is not positive definite)."""
    d = xa - xb
    s = pa + pb
    sign, logdet = np.linalg.slogdet(s)
    if sign <= 0:
        return math.inf
    return float(d @ np.linalg.solve(s, d)) + logdet


@dataclass(frozen=True, slots=True)
class Gate:
    """Chi-square gate and (larger) break threshold over a ballistic propagator."""

    config: GateConfig = field(default_factory=GateConfig)
    physics: Physics = DEFAULT_PHYSICS  # the flight model the propagator assumes
    threshold: float = field(init=False)
    break_threshold: float = field(init=False)
    # Position-only (3 dof) versions, for national tracks whose velocity is unsettled.
    threshold3: float = field(init=False)
    late_threshold3: float = field(init=False)
    break_threshold3: float = field(init=False)
    ambiguity: float = field(init=False)  # d² margin the best of several slots must have
    propagator: Propagator = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        object.__setattr__(self, "threshold", float(chdtri(c.dof, 1.0 - c.gate_probability)))
        object.__setattr__(self, "break_threshold", float(chdtri(c.dof, 1.0 - c.break_probability)))
        brk3 = float(chdtri(3, 1.0 - c.break_probability))
        object.__setattr__(self, "threshold3", float(chdtri(3, 1.0 - c.gate_probability)))
        object.__setattr__(
            self, "late_threshold3", min(float(chdtri(3, 1.0 - c.late_gate_probability)), brk3)
        )
        object.__setattr__(self, "break_threshold3", brk3)
        object.__setattr__(self, "ambiguity", 2.0 * math.log(c.ambiguity_ratio))
        propagator = Propagator(
            c.q_ballistic,
            c.q_boost,
            air=self.physics.air,
            thrust_ceiling_m=c.thrust_ceiling_m,
            missed_thrust_mps2=c.missed_thrust_mps2,
        )
        object.__setattr__(self, "propagator", propagator)

    def distance(self, report: Estimate, track: Estimate, dof: int | None = None) -> float:
        """Squared Mahalanobis distance of a report to a track moved to the report's time
        (``dof`` = 3: positions only), each with what its nation may have missed of a
        thrust (``Propagator.lagging``)."""
        moved = self.propagator.to(track, report.time_us)
        report = self.propagator.to(report, report.time_us)
        return mahalanobis2(report, moved, dof or self.config.dof)

    def cost(self, report: Estimate, track: Estimate) -> float:
        """``-2 ln`` of the Gaussian likelihood of ``report`` about ``track`` moved to its
        time, constants dropped: d² + ln|S| over the full state. Unlike d² alone it
        does not favour an estimate for being vague."""
        moved = self.propagator.to(track, report.time_us)
        report = self.propagator.to(report, report.time_us)  # what its nation may have missed
        try:
            return float(_cost(_c(report.x), _c(report.p), _c(moved.x), _c(moved.p)))
        except np.linalg.LinAlgError:
            return math.inf

    def likelihood_cost(self, report: Estimate, track: Estimate, dof: int) -> float:
        """``-2 ln`` of the Gaussian likelihood of ``report`` about ``track`` moved to its
        time over the first ``dof`` components (3: positions), constants dropped: as
        :meth:`cost`, which it equals for 6."""
        moved = self.propagator.to(track, report.time_us)
        report = self.propagator.to(report, report.time_us)
        d = report.x[:dof] - moved.x[:dof]
        s = report.p[:dof, :dof] + moved.p[:dof, :dof]
        sign, logdet = np.linalg.slogdet(s)
        if sign <= 0:
            return math.inf
        return float(d @ np.linalg.solve(s, d)) + float(logdet)

    def admits(self, d2: float) -> bool:
        return d2 <= self.threshold

    def breaks(self, d2: float) -> bool:
        return d2 > self.break_threshold


def assign(cost: FloatArray, threshold: float) -> list[tuple[int, int]]:
    """Global-nearest-neighbour pairs (row, column) with cost within ``threshold``.

    ``cost`` may hold ``inf`` for forbidden pairs. Each row may also stay
    unassigned at the price of the gate itself (one dummy column per row), so an
    out-of-gate pair can never displace an in-gate one; rows left without a gated
    partner are simply absent from the result.
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return []
    gated = np.where(np.isfinite(cost) & (cost <= threshold), cost, _BIG)
    dummy = np.full((n, n), _BIG)
    np.fill_diagonal(dummy, threshold)
    rows, cols = linear_sum_assignment(np.hstack([gated, dummy]))
    return [
        (int(r), int(c)) for r, c in zip(rows, cols, strict=True) if c < m and gated[r, c] < _BIG
    ]
