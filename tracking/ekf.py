"""Extended Kalman filter steps for ballistic targets, batched over many filters at once.

A national tracker runs one filter per track and per motion model (see
:mod:`tracking.tracker`); a sensor scan touches all of them at the same instant, so
every step here works on stacks — states ``(n, 6)``, covariances ``(n, 6, 6)``, or
``(n, 7)`` with a body's drag scale in the atmosphere model —
and costs a fixed number of numpy calls whatever ``n`` is. The dynamics are those
of :func:`tracking.propagate.propagate` (rotating-frame two-body + J2 gravity and a
nominal body's drag in the air, RK4
on the state, the midpoint-linearised second-order transition matrix on the
covariance, white-acceleration process noise), written over stacks; the unit tests
check the two agree.

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
from tracking.drag import drag_coefficient_rows, drag_q_rows
from tracking.propagate import AIR_STEP_S
from trilink.air import SCALE_H_M
from trilink.geodesy import GM, J2, OMEGA, A, FloatArray

IntArray = NDArray[np.intp]

_W2 = OMEGA * OMEGA
_LOG_2PI = math.log(2.0 * math.pi)
_EYE3 = np.eye(3)
_CENTRIFUGAL = np.diag([OMEGA * OMEGA, OMEGA * OMEGA, 0.0])
_NOISE_POS = np.kron([[1.0, 0.0], [0.0, 0.0]], _EYE3)
_NOISE_CROSS = np.kron([[0.0, 1.0], [1.0, 0.0]], _EYE3)
_NOISE_VEL = np.kron([[0.0, 0.0], [0.0, 1.0]], _EYE3)
_2W = 2.0 * OMEGA
_J2K = 1.5 * J2 * A * A
_MAX_DRAG_STEP = 0.2  # as tracking.propagate: a fraction of drag's decay time per step


def _acceleration(
    r: FloatArray,
    v: FloatArray,
    air: bool = False,
    thrust: FloatArray | None = None,
    drag: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rotating-frame J2 acceleration of component rows ``r``, ``v`` (3, n); also -GM/|r|³, |r|².

    The same dynamics as ``trilink.geodesy.ecef_acceleration``, on (3, n) rows so that
    an RK4 stage costs a couple of dozen numpy calls whatever the number of filters.
    """
    r2 = np.einsum("ij,ij->j", r, r)
    k = -GM / (r2 * np.sqrt(r2))
    kc = k * (_J2K / r2)
    z = r[2]
    fxy = k + kc * (1.0 - 5.0 * (z * z / r2))
    a = r * (fxy + _W2)
    a[2] = (fxy + 2.0 * kc) * z
    a[0] += _2W * v[1]
    a[1] -= _2W * v[0]
    if air:
        kd = _drag_rows(r, drag)
        if kd.any():
            a -= v * (kd * np.sqrt(np.einsum("ij,ij->j", v, v)))
    if thrust is not None:
        a += v * (thrust / np.maximum(np.sqrt(np.einsum("ij,ij->j", v, v)), 1.0))
    return a, k, r2


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
    body = x.shape[1] == 7  # the drag scale is a state (see the docstring)
    drag: FloatArray | None = None
    if body:
        if not air:
            raise ValueError("a drag state needs the air")
        drag = np.clip(np.asarray(x[:, 6], dtype=float), 0.05, 10.0)
    steps = max(1, math.ceil(longest / max_step))
    if air:
        steps = _air_steps(x, dt, longest, steps, drag)
    h = dt / steps
    h2, h6 = 0.5 * h, h / 6.0
    xt = np.asarray(x, dtype=float).T
    r, v = xt[0:3], xt[3:6]
    # Per-step transition I + F h + (F h)^2 / 2 with F linearised at the drift-only
    # midpoint; F's constant blocks (identity, Coriolis) are filled once.
    fh = np.zeros((x.shape[0], 6, 6))
    eye = np.eye(x.shape[1])
    fh[:, 0, 3] = fh[:, 1, 4] = fh[:, 2, 5] = h
    coriolis = np.zeros((x.shape[0], 3, 3))
    coriolis[:, 0, 1] = _2W * h
    coriolis[:, 1, 0] = -_2W * h
    fh[:, 3:6, 3:6] = coriolis
    hg = h[:, None, None]
    q = np.asarray(q, dtype=float)
    p = np.asarray(p, dtype=float)
    if thrust is not None and not np.any(thrust):
        thrust = None
    phi: FloatArray | None = None
    for _ in range(steps):
        a1, _, _ = _acceleration(r, v, air, thrust, drag)
        r2 = r + h2 * v
        v2 = v + h2 * a1
        a2, km, r2m = _acceleration(r2, v2, air, thrust, drag)
        mid = r2.T
        # Two-body gravity gradient GM/r^3 (3 r r^T / r^2 - I); J2's share is ~1e-3 of it.
        g = mid[:, :, None] * mid[:, None, :] * (-3.0 * km / r2m)[:, None, None]
        g += km[:, None, None] * _EYE3 + _CENTRIFUGAL
        fh[:, 3:6, 0:3] = g * hg
        if air:
            k = drag_coefficient_rows(mid.T)  # the nominal body's, at the midpoint
            _drag_partials(fh, mid, v.T, hg, coriolis, k if drag is None else k * drag)
            # Step by step: the nominal drag's error enters only on the steps in the air.
            q_drag = drag_q_rows(np.concatenate([r, v]).T)
            if drag_noise is not None:
                q_drag = q_drag * drag_noise
            noise = _white(h, q + q_drag)
            if body:
                fh7, noise = _with_body(fh, noise, k, v.T, hg, h, mid, body_drift)
                step = eye + fh7 + 0.5 * (fh7 @ fh7)
            else:
                step = eye + fh + 0.5 * (fh @ fh)
            p = step @ p @ step.transpose(0, 2, 1) + noise
        else:
            step = eye + fh + 0.5 * (fh @ fh)
            phi = step if phi is None else step @ phi
        r3 = r + h2 * v2
        v3 = v + h2 * a2
        a3, _, _ = _acceleration(r3, v3, air, thrust, drag)
        r4 = r + h * v3
        v4 = v + h * a3
        a4, _, _ = _acceleration(r4, v4, air, thrust, drag)
        r = r + h6 * (v + 2.0 * (v2 + v3) + v4)
        v = v + h6 * (a1 + 2.0 * (a2 + a3) + a4)
    if phi is not None:
        p = phi @ p @ phi.transpose(0, 2, 1) + _white(dt, q)
    s = np.concatenate([r, v]).T
    if body:
        s = np.concatenate([s, x[:, 6:7]], axis=1)
    return s, 0.5 * (p + p.transpose(0, 2, 1))


def _with_body(
    fh: FloatArray,
    noise: FloatArray,
    k: FloatArray,
    v: FloatArray,
    hg: FloatArray,
    h: FloatArray,
    r: FloatArray,
    drift: float,
) -> tuple[FloatArray, FloatArray]:
    """A step's transition (times the step) and noise with the drag scale as a 7th state.

    The drag acceleration ``-s k |v| v`` depends on the scale ``s`` through ``-k |v| v``
    (the nominal body's), coupled on the way down only: going up the body is the whole
    missile, not what re-enters, and a thrust the filter missed would read as drag.
    The scale drifts as a random walk of ``drift`` (variance per s). ``k`` (n,) is the
    nominal body's drag coefficient at positions ``r`` (n, 3).
    """
    n = fh.shape[0]
    out = np.zeros((n, 7, 7))
    out[:, 0:6, 0:6] = fh
    falling = np.einsum("ij,ij->i", r, v) < 0.0
    speed = np.linalg.norm(v, axis=1)
    out[:, 3:6, 6] = -(k * speed * falling)[:, None] * v * hg[:, :, 0]
    full = np.zeros((n, 7, 7))
    full[:, 0:6, 0:6] = noise
    full[:, 6, 6] = drift * np.abs(h)
    return out, full


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


def _white(h: FloatArray, q: FloatArray) -> FloatArray:
    """White-acceleration noise (n, 6, 6) of densities ``q`` (n,) over steps ``h`` (n,)."""
    a = np.abs(h)
    qa = q * a
    return (
        (qa * a * a / 3.0)[:, None, None] * _NOISE_POS
        + (qa * a / 2.0)[:, None, None] * _NOISE_CROSS
        + qa[:, None, None] * _NOISE_VEL
    )


def _drag_partials(
    fh: FloatArray,
    r: FloatArray,
    v: FloatArray,
    hg: FloatArray,
    coriolis: FloatArray,
    kd: FloatArray,
) -> None:
    """Add drag's Jacobian blocks (times the step) to ``fh`` for the rows in the air.

    Rows ``r``, ``v`` are (n, 3), ``kd`` (n,) their drag coefficients (the body's: see
    :func:`_drag_rows`); see :func:`tracking.drag.drag_jacobian` for the terms.
    """
    air = np.flatnonzero(kd)
    fh[:, 3:6, 3:6] = coriolis
    if not air.size:
        return
    ra, va, k = r[air], v[air], kd[air]
    speed = np.maximum(np.linalg.norm(va, axis=1), 1e-9)
    dv = -k[:, None, None] * (
        speed[:, None, None] * _EYE3 + va[:, :, None] * va[:, None, :] / speed[:, None, None]
    )
    rhat = ra / np.linalg.norm(ra, axis=1)[:, None]
    dr = (k * speed / SCALE_H_M)[:, None, None] * va[:, :, None] * rhat[:, None, :]
    fh[air, 3:6, 3:6] += dv * hg[air]
    fh[air, 3:6, 0:3] += dr * hg[air]


def process_noise_many(dt: FloatArray, q: FloatArray) -> FloatArray:
    """Stacked :func:`tracking.propagate.process_noise` (n,) -> (n, 6, 6)."""
    a = np.abs(np.asarray(dt, dtype=float))
    q = np.asarray(q, dtype=float)
    out = np.zeros((a.shape[0], 6, 6))
    eye = np.eye(3)
    out[:, 0:3, 0:3] = (q * a**3 / 3.0)[:, None, None] * eye
    cross = (q * a**2 / 2.0)[:, None, None] * eye
    out[:, 0:3, 3:6] = cross
    out[:, 3:6, 0:3] = cross
    out[:, 3:6, 3:6] = (q * a)[:, None, None] * eye
    return out


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
