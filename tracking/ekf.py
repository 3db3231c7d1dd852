"""Extended Kalman filter steps for ballistic targets, batched over many filters at once.

A national tracker runs one filter per track and per motion model (see
:mod:`tracking.tracker`); a sensor scan touches all of them at the same instant, so
every step here works on stacks — states ``(n, 6)``, covariances ``(n, 6, 6)``, or
``(n, 7)`` with a body's drag scale in the atmosphere model —
and the updates cost a fixed number of numpy calls whatever ``n`` is. The prediction
flies each row in a compiled kernel (:mod:`tracking.filter_flight`): the dynamics of
:func:`tracking.propagate.propagate` (rotating-frame two-body + J2 gravity and a
nominal body's drag in the air, RK4 on the state, the midpoint-linearised
second-order transition matrix on the covariance, white-acceleration process noise);
the unit tests check the two agree.

Measurement models are in :mod:`measurement.models`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from measurement.models import (
    MeasurementKind,
    MeasurementModel,
    innovation,
    predict_measurement,
)
from tracking.drag import drag_coefficient_rows
from tracking.filter_flight import propagate_rows
from tracking.propagate import AIR_STEP_S
from trilink.geodesy import FloatArray

IntArray = NDArray[np.intp]

_LOG_2PI = math.log(2.0 * math.pi)
_MAX_DRAG_STEP = 0.2  # as tracking.propagate: a fraction of drag's decay time per step


def propagate_many(
    x: FloatArray,
    p: FloatArray,
    dt: FloatArray,
    q: FloatArray,
    max_step: float = 5.0,
    *,
    air: bool = False,
    thrust: FloatArray | None = None,
    drag_noise: FloatArray | None = None,
    body_drift: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Propagate stacked states (n, 6) and covariances (n, 6, 6) by per-row ``dt`` (s).

    ``q`` (n,) is each row's white-acceleration spectral density (m²/s³). ``thrust``
    (n,), if given, is a known acceleration along each row's velocity (m/s², an
    estimated input: see ``tracking.tracker``); its velocity Jacobian is left out
    (the white noise of a thrusting model dwarfs it). Rows share
    the number of RK4 sub-steps (set by the longest ``|dt|``), each with its own step
    length, so a row with ``dt = 0`` comes back unchanged. ``air`` flies the nominal
    body's drag (:mod:`tracking.drag`) and adds its error as noise step by step; in
    vacuum the transitions are chained and the noise added once, over ``dt``.
    ``drag_noise`` (n,) scales the drag error's noise.

    States of 7 (covariances (n, 7, 7)) carry the body's drag scale as a state, the
    field's ballistic-coefficient filter: it scales the row's drag (and its error),
    enters the transition through the drag's partial derivative on the way down, and
    drifts by ``body_drift`` (variance per s); ``drag_noise`` is then the error of the
    trackers' air itself, not of the body. Only in the air.
    """
    dt = np.asarray(dt, dtype=float)
    longest = float(np.max(np.abs(dt))) if dt.size else 0.0
    if longest == 0.0:
        return x.copy(), p.copy()
    n = x.shape[0]
    body = x.shape[1] == 7  # the drag scale is a state (see the docstring)
    drag: FloatArray | None = None
    if body:
        if not air:
            raise ValueError("a drag state needs the air")
        drag = np.clip(np.asarray(x[:, 6], dtype=float), 0.05, 10.0)
    steps = max(1, math.ceil(longest / max_step))
    if air:
        steps = _air_steps(x, dt, longest, steps, drag)
    ones = np.ones(n)
    return propagate_rows(
        np.ascontiguousarray(x, dtype=float),
        np.ascontiguousarray(p, dtype=float),
        dt,
        steps,
        np.ascontiguousarray(np.broadcast_to(np.asarray(q, dtype=float), (n,))),
        bool(air),
        ones * 0.0 if thrust is None else np.ascontiguousarray(thrust, dtype=float),
        ones if drag is None else drag,
        ones if drag_noise is None else np.ascontiguousarray(drag_noise, dtype=float),
        float(body_drift),
    )


def _drag_rows(r: FloatArray, drag: FloatArray | None) -> FloatArray:
    """The drag coefficients of position rows ``r`` (3, n), scaled per row by ``drag``."""
    kd = drag_coefficient_rows(r)
    return kd if drag is None else kd * drag


def _air_steps(
    x: FloatArray, dt: FloatArray, longest: float, steps: int, drag: FloatArray | None = None
) -> int:
    """RK4 sub-steps in the air: dense air makes drag stiff, so no step spans more than
    a fraction of its decay time, nor more than ``AIR_STEP_S`` (as tracking.propagate)."""
    xs = np.asarray(x, dtype=float)
    stiff = _drag_rows(xs[:, 0:3].T, drag) * np.linalg.norm(xs[:, 3:6], axis=1)
    steps = max(steps, math.ceil(float(np.max(stiff * np.abs(dt))) / _MAX_DRAG_STEP))
    if np.any(stiff > 0.0):
        steps = max(steps, math.ceil(longest / AIR_STEP_S))
    return steps


@dataclass(frozen=True, slots=True)
class Update:
    """Result of a batched measurement update."""

    x: FloatArray  # (n, 6) posterior states
    p: FloatArray  # (n, 6, 6) posterior covariances
    nis: FloatArray  # (n,) normalised innovation squared
    log_likelihood: FloatArray  # (n,) log N(nu; 0, S)


def innovation_covariance(model: MeasurementModel, p: FloatArray, jac: FloatArray) -> FloatArray:
    """``S = H P H^T + R`` for stacks."""
    s: FloatArray = jac @ p @ jac.transpose(0, 2, 1) + model.noise
    return s


def kalman_update(model: MeasurementModel, x: FloatArray, p: FloatArray, z: FloatArray) -> Update:
    """EKF update of stacked states with one measurement each (Joseph form)."""
    pred = Predicted.of(model, x, p)
    nu = innovation(model, z, pred.z_hat)
    nis = np.einsum("ni,nij,nj->n", nu, pred.s_inv, nu)
    return kalman_update_predicted(model, x, p, pred.jac, pred.s_inv, nu, nis, pred.logdet)


@dataclass(frozen=True, slots=True)
class Predicted:
    """Predicted measurements of stacked states with what gating and updating need."""

    z_hat: FloatArray  # (n, dim)
    jac: FloatArray  # (n, dim, 6)
    s_inv: FloatArray  # (n, dim, dim) inverse innovation covariance
    logdet: FloatArray  # (n,) log |S|

    @classmethod
    def of(cls, model: MeasurementModel, x: FloatArray, p: FloatArray) -> Predicted:
        z_hat, jac = state_measurement(model, x)
        s = innovation_covariance(model, p, jac)
        _, logdet = np.linalg.slogdet(s)
        s_inv = cast(FloatArray, np.linalg.inv(s))
        return cls(z_hat, jac, s_inv, logdet)


def state_measurement(model: MeasurementModel, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:func:`~measurement.models.predict_measurement` of states of any length: a state
    beyond the kinematic six (the drag scale) is not measured (zero Jacobian columns)."""
    z_hat, jac = predict_measurement(model, x)
    if x.shape[1] > 6:
        jac = np.concatenate([jac, np.zeros((*jac.shape[:2], x.shape[1] - 6))], axis=2)
    return z_hat, jac


def kalman_update_predicted(
    model: MeasurementModel,
    x: FloatArray,
    p: FloatArray,
    jac: FloatArray,
    s_inv: FloatArray,
    nu: FloatArray,
    nis: FloatArray,
    logdet: FloatArray,
) -> Update:
    """Joseph-form EKF update from an already computed innovation ``nu`` and ``S^-1``."""
    pht = p @ jac.transpose(0, 2, 1)
    gain = pht @ s_inv
    x_new = x + (gain @ nu[:, :, None])[:, :, 0]
    ikh = np.eye(x.shape[1]) - gain @ jac
    p_new = ikh @ p @ ikh.transpose(0, 2, 1) + gain @ model.noise @ gain.transpose(0, 2, 1)
    p_new = 0.5 * (p_new + p_new.transpose(0, 2, 1))
    loglik = -0.5 * (nis + logdet + model.dim * _LOG_2PI)
    return Update(x_new, p_new, nis, loglik)


def iterate_update(
    model: MeasurementModel,
    x: FloatArray,
    p: FloatArray,
    z: FloatArray,
    first: Update,
    iterations: int = 3,
    curvature: float = 0.1,
) -> Update:
    """Relinearise the update of the rows whose first linearisation was too coarse
    (the iterated EKF, Gauss-Newton on the posterior; Bar-Shalom, Li & Kirubarajan,
    *Estimation with Applications to Tracking and Navigation*, 10.5.2).

    The EKF linearises a radar's angles about the predicted position. When the
    prediction is far from the detection compared with the range (a track begun on an
    infrared line of sight, kilometres deep, updated by a radar for the first time),
    the angles' curvature over that distance puts the posterior hundreds of metres off
    the detection while its covariance, now the radar's, is metres across. A row is
    iterated when the curvature error of its first update (correction² / 2 range)
    exceeds ``curvature`` times the measurement's cross-range noise. The likelihood
    and NIS stay those of the prior linearisation (what gating and model weights use).
    """
    if model.kind is not MeasurementKind.RADAR:
        return first  # a line of sight from geostationary range curves by millimetres
    moved = first.x[:, 0:3] - x[:, 0:3]
    rng = np.maximum(np.linalg.norm(first.x[:, 0:3] - model.origin, axis=1), 1.0)
    sigma = min(model.sigma[1:3])
    coarse = np.einsum("ij,ij->i", moved, moved) / (2.0 * rng) > curvature * rng * sigma
    if not coarse.any():
        return first
    rows = np.flatnonzero(coarse)
    x0, p0, zr = x[rows], p[rows], z[rows]
    unused = np.zeros(rows.size)  # the iterates' likelihoods are not kept (see above)
    step = Update(first.x[rows], first.p[rows], unused, unused)
    for _ in range(iterations):
        z_hat, jac = state_measurement(model, step.x)
        s_inv = cast(FloatArray, np.linalg.inv(innovation_covariance(model, p0, jac)))
        # The prior's update with the innovation taken about the current iterate.
        nu = innovation(model, zr, z_hat) - (jac @ (x0 - step.x)[:, :, None])[:, :, 0]
        step = kalman_update_predicted(model, x0, p0, jac, s_inv, nu, unused, unused)
    x_out, p_out = first.x.copy(), first.p.copy()
    x_out[rows] = step.x
    p_out[rows] = step.p
    return Update(x_out, p_out, first.nis, first.log_likelihood)


def association_spread(
    p: FloatArray,
    jac: FloatArray,
    s_inv: FloatArray,
    nu: FloatArray,
    d2: FloatArray,
    chosen: IntArray,
    gate: float,
) -> FloatArray:
    """What the choice of one detection among several in the gate adds to the posterior
    covariance (n, 6, 6) of ``n`` stacked predictions.

    A nearest-neighbour update takes detection ``chosen`` as if it were surely the
    track's. When other detections sit in the gate as well (closely spaced objects a
    sensor resolves but cannot tell apart), any of them may be the right one, with
    probabilities ``beta_k`` proportional to their likelihoods (the PDA weights with
    every object detected and no clutter), and the estimate's error has a second
    part the Kalman covariance omits: ``K [sum_k beta_k (nu_k - nu_c)(nu_k - nu_c)^T]
    K^T``, the spread of the gated innovations about the chosen one, through the gain
    (Bar-Shalom, Willett & Tian, *Tracking and Data Fusion*, the PDAF's spread of
    innovations term, here about the GNN choice instead of the mean). With the
    chosen detection alone in the gate it is zero.

    ``nu`` (n, m, dim) and ``d2`` (n, m) hold every detection's innovation and
    Mahalanobis distance for each prediction.
    """
    inside = d2 < gate
    many = inside.sum(axis=1) > 1
    out = np.zeros(p.shape)
    if not many.any():
        return out
    rows = np.flatnonzero(many)
    d2r = np.where(inside[rows], d2[rows], np.inf)
    beta = np.exp(-0.5 * (d2r - d2r.min(axis=1, keepdims=True)))
    beta /= beta.sum(axis=1, keepdims=True)
    diff = nu[rows] - nu[rows, chosen[rows]][:, None, :]
    spread = np.einsum("rm,rmi,rmj->rij", beta, diff, diff)
    gain = p[rows] @ jac[rows].transpose(0, 2, 1) @ s_inv[rows]
    out[rows] = gain @ spread @ gain.transpose(0, 2, 1)
    return out


def nees(x: FloatArray, p: FloatArray, truth: FloatArray) -> FloatArray:
    """Normalised estimation error squared of stacked estimates against truth (n,)."""
    err = np.atleast_2d(truth - x)
    p = p.reshape(-1, 6, 6)
    sol = np.linalg.solve(p, err[:, :, None])[:, :, 0]
    result: FloatArray = np.einsum("ni,ni->n", err, sol)
    return result
