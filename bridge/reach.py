"""Straight-line pre-filters of association: which (candidate, track) pairs are worth a
ballistic propagation. A report and a track hundreds of kilometres apart, more than
their uncertainties and the accelerations a straight line ignores could explain, are
never compared (most pairs of a large salvo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bridge.estimate import Estimate
from trilink.constants import US

_MARGIN_M = 5_000.0
_ACCEL_COAST = 15.0  # m/s²: gravity and drag the straight line ignores
_ACCEL_BOOST = 80.0  # m/s²: plus thrust


_DIAGONAL = np.arange(6)


@dataclass(slots=True)
class Rows:
    """Estimates as arrays for the vectorised straight-line pre-filters (:func:`in_reach`,
    :func:`reached`): the pending candidates and the tracks' gate estimates in
    ``bridge.assigner``, the open tracks' pictures in ``bridge.exchange`` and in the contests
    (``bridge.associator``)."""

    t: np.ndarray
    pos: np.ndarray
    var: np.ndarray
    boosting: np.ndarray
    vel: np.ndarray
    vel_var: np.ndarray
    alive: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.alive = np.ones(len(self.t), dtype=bool)

    @classmethod
    def of(cls, est: Sequence[Estimate]) -> Rows:
        # One stack of states and one of covariances, not a trace per estimate: this runs
        # over every open track once a batch, so at a thousand missiles in flight the
        # per-estimate numpy calls were a fifth of the engine's time (bench.scaling).
        # The diagonals are summed in np.trace's order, so the rows are bit-identical.
        x = np.array([e.x for e in est], dtype=float).reshape(-1, 6)
        p = np.array([e.p for e in est], dtype=float).reshape(-1, 6, 6)
        d = p[:, _DIAGONAL, _DIAGONAL]
        return cls(
            np.array([e.time_us / US for e in est]),
            x[:, :3],
            d[:, 0] + d[:, 1] + d[:, 2],
            np.array([e.boosting for e in est], dtype=bool),
            x[:, 3:6],
            d[:, 3] + d[:, 4] + d[:, 5],
        )


def in_reach(rows: Rows, e: Estimate) -> np.ndarray:
    """Mask of the rows a straight-line extrapolation of ``e`` does not rule out."""
    dt = rows.t - e.time_us / US
    pred = e.x[:3] + np.outer(dt, e.x[3:6])
    miss = np.linalg.norm(rows.pos - pred, axis=1)
    sigma2 = rows.var + float(np.trace(e.p[:3, :3])) + float(np.trace(e.p[3:, 3:])) * dt * dt
    accel = np.where(rows.boosting | e.boosting, _ACCEL_BOOST, _ACCEL_COAST)
    tolerance = 8.0 * np.sqrt(sigma2) + 0.5 * accel * dt * dt + _MARGIN_M
    return rows.alive & (miss <= tolerance)


def reached(rows: Rows, targets: Rows) -> np.ndarray:
    """Mask of the ``targets`` that :func:`in_reach` would not rule out for at least one
    of ``rows``: the same test, one row against every target at once (and a metre
    more tolerance, so that rounding never drops a target the exact test keeps). A
    target no row reaches takes no part in a plan, so its slot need not be built."""
    out = np.zeros(len(targets.t), dtype=bool)
    for k in range(len(rows.t)):
        dt = rows.t[k] - targets.t
        pred = targets.pos + dt[:, None] * targets.vel
        miss = np.linalg.norm(rows.pos[k] - pred, axis=1)
        sigma2 = rows.var[k] + targets.var + targets.vel_var * dt * dt
        accel = np.where(rows.boosting[k] | targets.boosting, _ACCEL_BOOST, _ACCEL_COAST)
        out |= miss <= 8.0 * np.sqrt(sigma2) + 0.5 * accel * dt * dt + _MARGIN_M + 1.0
    return out
