"""Track-to-track fusion with unknown cross-correlation: covariance intersection.

National tracks are not independent: nations share sensor data with each other,
so the same measurement can reach the bridge along two paths. Naive (independent)
fusion would then count it twice and report a covariance smaller than the truth
("data incest"). Covariance intersection (Julier & Uhlmann) is consistent for any
cross-correlation:

    P⁻¹ = ω Pa⁻¹ + (1 − ω) Pb⁻¹,    x = P (ω Pa⁻¹ xa + (1 − ω) Pb⁻¹ xb),

with ω ∈ [0, 1] chosen to minimise det(P) — exactly, from the generalised
eigenvalues of the two information matrices — or its trace, by
``scipy.optimize.minimize_scalar``. More than two tracks are folded in sequentially,
most precise first, which stays consistent. ``fast`` uses the closed-form weights of
Niehsen's fast CI (ω ∝ 1/tr P) instead of the optimisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize_scalar

from bridge.errors import BridgeError
from bridge.estimate import Estimate, Propagator
from trilink.constants import FloatArray
from trilink.jit import contiguous as _c
from trilink.jit import kernel

Criterion = Literal["det", "trace", "fast"]
CRITERIA: tuple[str, ...] = ("det", "trace", "fast")
_MEMO_SIZE = 2048  # fusions the memo of ``CovarianceIntersection.at_newest`` holds
# What ``np.linalg.inv`` returns, as the kernels' typing sees it.
_Inverse = npt.NDArray[np.floating[Any]]


def _info(p: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.inv(p), dtype=np.float64)


@kernel
def _slope(d: FloatArray, w: float) -> float:
    g = 0.0
    for di in d:
        g += di / (1.0 + w * di)
    return g


@kernel
def _det_weight_of(ia: _Inverse, pb: FloatArray) -> float:
    """ω maximising det(ω Ia + (1 − ω) Ib) for ``pb`` = Ib⁻¹, exactly (see ``_det_weight``)."""
    # The generalised eigenvalues of (Ia, Ib) are those of Lᵀ Ia L with L Lᵀ = Ib⁻¹: one
    # Cholesky factor and a symmetric eigensolve, a third of the cost of a generalised solver.
    low = np.linalg.cholesky(pb)
    d = np.linalg.eigvalsh(low.T @ ia @ low) - 1.0
    if _slope(d, 0.0) <= 0.0:
        return 0.0
    if _slope(d, 1.0) >= 0.0:
        return 1.0
    lo, hi, w = 0.0, 1.0, 0.5
    for _ in range(60):
        g = _slope(d, w)
        if g > 0.0:
            lo = w
        else:
            hi = w
        curvature = 0.0
        for di in d:
            curvature += di * di / (1.0 + w * di) ** 2
        step = w + g / curvature if curvature > 0.0 else 0.5 * (lo + hi)
        w = step if lo < step < hi else 0.5 * (lo + hi)
        if hi - lo < 1e-9 or abs(g) < 1e-12:
            break
    return w


def _det_weight(ia: FloatArray, ib: FloatArray, pb: FloatArray | None = None) -> float:
    """ω maximising det(ω Ia + (1 − ω) Ib), exactly.

    With λ the generalised eigenvalues of (Ia, Ib), log det = log det Ib +
    Σ log(1 + ω(λ − 1)): concave in ω, so the optimum is where its derivative
    Σ (λ − 1)/(1 + ω(λ − 1)) crosses zero — a safeguarded Newton search on six
    numbers, ~10x cheaper than a generic scalar minimisation of 6x6 determinants.
    """
    cov = np.linalg.inv(ib) if pb is None else pb
    return float(_det_weight_of(_c(ia), _c(cov)))


def ci_weight(
    ia: FloatArray,
    ib: FloatArray,
    criterion: Criterion = "det",
    covariances: tuple[FloatArray, FloatArray] | None = None,
) -> float:
    """ω for information matrices ``ia`` and ``ib`` (weight of ``a``); ``covariances``
    (their inverses, when the caller has them) spare the weights inverting them back."""
    if criterion == "det":
        return _det_weight(ia, ib, covariances[1] if covariances else None)
    if criterion == "fast":
        pa, pb = covariances or (np.linalg.inv(ia), np.linalg.inv(ib))
        ta, tb = np.trace(pa), np.trace(pb)
        return float(tb / (ta + tb))

    def trace(w: float) -> float:
        return float(np.trace(np.linalg.inv(w * ia + (1.0 - w) * ib)))

    res = minimize_scalar(trace, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-4})
    # The bounded search never evaluates the end points; a dominant track should win outright.
    best = min((0.0, 1.0, float(res.x)), key=trace)
    return best


@kernel
def _fused(
    xa: FloatArray, pa: FloatArray, xb: FloatArray, pb: FloatArray, fast: bool
) -> tuple[FloatArray, FloatArray, float]:
    """CI of (xa, pa) and (xb, pb) with the det-optimal or the fast weight: x, P, ω."""
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    if fast:
        ta, tb = np.trace(pa), np.trace(pb)
        w = tb / (ta + tb)
    else:
        w = _det_weight_of(ia, pb)
    x, p = _intersect(xa, ia, xb, ib, w)
    return x, p, w


@kernel
def _intersect(
    xa: FloatArray, ia: _Inverse, xb: FloatArray, ib: _Inverse, w: float
) -> tuple[FloatArray, FloatArray]:
    """x and P of the intersection with weight ``w`` of ``a`` (information ``ia``)."""
    p = np.linalg.inv(w * ia + (1.0 - w) * ib)
    p = 0.5 * (p + p.T)
    return p @ (w * (ia @ xa) + (1.0 - w) * (ib @ xb)), p


def covariance_intersection(
    a: Estimate, b: Estimate, criterion: Criterion = "det"
) -> tuple[Estimate, float]:
    """CI of two estimates valid at the same time; returns the fused estimate and ω."""
    if a.time_us != b.time_us:
        raise BridgeError("covariance intersection needs estimates at the same time")
    if criterion == "trace":
        ia, ib = _info(a.p), _info(b.p)
        w = ci_weight(ia, ib, criterion)
        x, p = _intersect(_c(a.x), ia, _c(b.x), ib, w)
    else:
        # One compiled call: the bridge fuses several times per report, and numpy's
        # per-call overhead on 6x6 matrices was most of the cost of each.
        x, p, w = _fused(_c(a.x), _c(a.p), _c(b.x), _c(b.p), criterion == "fast")
    return Estimate(a.time_us, x, p, a.boosting or b.boosting), float(w)


@dataclass(frozen=True, slots=True)
class CovarianceIntersection:
    """Fuses any number of estimates at one time, most precise first."""

    criterion: Criterion = "det"
    # Fusions already made, by the ids of their estimates: see ``at_newest``.
    _fused: dict[tuple[int, ...], tuple[tuple[object, ...], Estimate]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __call__(self, estimates: Sequence[Estimate]) -> Estimate:
        if not estimates:
            raise BridgeError("nothing to fuse")
        # Two estimates fuse to the same result in either order (ω and 1 − ω): the
        # order, and the log-determinants it costs, matter from three on.
        if len(estimates) < 3:
            ordered = list(estimates)
        else:
            ordered = sorted(estimates, key=lambda e: float(np.linalg.slogdet(e.p)[1]))
        fused = ordered[0]
        for other in ordered[1:]:
            fused, _ = covariance_intersection(fused, other, self.criterion)
        return fused

    def forget(self) -> None:
        """Empty the memo of ``at_newest``."""
        self._fused.clear()

    def at_newest(self, estimates: Sequence[Estimate], propagator: Propagator) -> Estimate:
        """``estimates`` moved by ``propagator`` to the newest of their times and fused
        (one estimate: itself, unmoved)."""
        if len(estimates) == 1:
            return estimates[0]
        # As ``Propagator.to``: the same members are fused again within a batch (the
        # break test's and the exchange's leave-one-out references); the memo holds
        # what it keys on, so no id is reused while it is there, and is emptied after
        # each batch (``forget``).
        key = (id(propagator), *(id(e) for e in estimates))
        hit = self._fused.get(key)
        if hit is not None:
            return hit[1]
        t = max(e.time_us for e in estimates)
        fused = self([propagator.to(e, t) for e in estimates])
        if len(self._fused) >= _MEMO_SIZE:
            self._fused.clear()
        self._fused[key] = ((propagator, *estimates), fused)
        return fused
