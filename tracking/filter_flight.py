"""The filters' prediction step, one row at a time in a compiled kernel.

:func:`tracking.ekf.propagate_many` predicts every (track, model) row of a scan: an
RK4 flight of the state and the midpoint-linearised second-order transition of the
covariance, with white-acceleration noise, the nominal air's drag and its error,
an estimated thrust and, as a 7th state, the body's drag scale. A scan holds a few
rows, so written over numpy stacks the step paid for dozens of small-array calls per
RK4 stage whatever the rows; here each row is plain scalar arithmetic compiled by
:mod:`trilink.jit`. The dynamics are those of :mod:`tracking.propagate` (same
gravity, frame terms, nominal air), and the unit tests check the two agree.
"""

from __future__ import annotations

import math

import numpy as np

from tracking.drag import DRAG_SPREAD, DRAG_TAU_S
from trilink.air import SCALE_H_M, drag_coefficient, height_m
from trilink.constants import FloatArray
from trilink.geodesy import GM, J2, OMEGA, A
from trilink.jit import kernel

_W2 = OMEGA * OMEGA
_2W = 2.0 * OMEGA
_J2K = 1.5 * J2 * A * A

Vec = tuple[float, float, float]


@kernel
def _acceleration(
    r: Vec, v: Vec, air: bool, thrust: float, drag: float
) -> tuple[Vec, float, float]:
    """Rotating-frame J2 acceleration at ``r``, ``v`` with ``drag`` times the nominal
    body's drag (in the air) and ``thrust`` along the velocity; also -GM/|r|³ and |r|²."""
    x, y, z = r
    r2 = x * x + y * y + z * z
    k = -GM / (r2 * math.sqrt(r2))
    kc = k * (_J2K / r2)
    fxy = k + kc * (1.0 - 5.0 * (z * z / r2))
    ax = x * (fxy + _W2) + _2W * v[1]
    ay = y * (fxy + _W2) - _2W * v[0]
    az = (fxy + 2.0 * kc) * z
    speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if air:
        kd = drag_coefficient(height_m(x, y, z)) * drag * speed
        ax, ay, az = ax - v[0] * kd, ay - v[1] * kd, az - v[2] * kd
    if thrust != 0.0:
        push = thrust / max(speed, 1.0)
        ax, ay, az = ax + v[0] * push, ay + v[1] * push, az + v[2] * push
    return (ax, ay, az), k, r2


@kernel
def _transition(
    mid: Vec, v: Vec, h: float, km: float, r2m: float, kd: float, k_body: float, d: int
) -> FloatArray:
    """``F h`` of one step (d x d) at the drift-only midpoint ``mid``: gravity gradient,
    frame terms, drag's partials for drag coefficient ``kd`` at the step's start
    velocity ``v``, and with a drag state (d = 7) its column on the way down
    (``k_body`` the nominal body's coefficient)."""
    fh = np.zeros((d, d))
    c = -3.0 * km / r2m
    for i in range(3):
        fh[i, 3 + i] = h
        for j in range(3):
            fh[3 + i, j] = mid[i] * mid[j] * c * h
        fh[3 + i, i] += km * h
    fh[3, 0] += _W2 * h
    fh[4, 1] += _W2 * h
    fh[3, 4] = _2W * h
    fh[4, 3] = -_2W * h
    speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if kd != 0.0:
        s = max(speed, 1e-9)
        rn = math.sqrt(mid[0] * mid[0] + mid[1] * mid[1] + mid[2] * mid[2])
        for i in range(3):
            for j in range(3):
                dv = -kd * ((s if i == j else 0.0) + v[i] * v[j] / s)
                fh[3 + i, 3 + j] += dv * h
                fh[3 + i, j] += kd * s / SCALE_H_M * v[i] * (mid[j] / rn) * h
    if d == 7 and mid[0] * v[0] + mid[1] * v[1] + mid[2] * v[2] < 0.0:
        for i in range(3):
            fh[3 + i, 6] = -(k_body * speed) * v[i] * h
    return fh


@kernel
def _noise(h: float, q: float, d: int, drift: float) -> FloatArray:
    """White-acceleration noise of density ``q`` over ``h`` (d x d), the drag state's
    random walk of ``drift`` (variance per s) with d = 7."""
    a = abs(h)
    qa = q * a
    out = np.zeros((d, d))
    for i in range(3):
        out[i, i] = qa * a * a / 3.0
        out[i, 3 + i] = out[3 + i, i] = qa * a / 2.0
        out[3 + i, 3 + i] = qa
    if d == 7:
        out[6, 6] = drift * a
    return out


@kernel
def _step(fh: FloatArray) -> FloatArray:
    """The second-order transition ``I + F h + (F h)² / 2``."""
    step = fh + 0.5 * (fh @ fh)
    for i in range(fh.shape[0]):
        step[i, i] += 1.0
    return step


@kernel
def propagate_row(
    x: FloatArray,
    p: FloatArray,
    dt: float,
    steps: int,
    q: float,
    air: bool,
    thrust: float,
    drag: float,
    drag_noise: float,
    drift: float,
) -> tuple[FloatArray, FloatArray]:
    """One row of :func:`tracking.ekf.propagate_many`: ``dt`` in ``steps`` RK4 steps.

    ``drag`` scales the nominal drag (the clipped drag state with d = 7, else 1);
    ``drag_noise`` scales its error's noise. In vacuum the transitions are chained
    and the noise added once over the whole flight.
    """
    d = x.shape[0]
    h = dt / steps
    r: Vec = (x[0], x[1], x[2])
    v: Vec = (x[3], x[4], x[5])
    h2, h6 = 0.5 * h, h / 6.0
    phi = np.eye(d)
    for _ in range(steps):
        a1, _, _ = _acceleration(r, v, air, thrust, drag)
        r2 = (r[0] + h2 * v[0], r[1] + h2 * v[1], r[2] + h2 * v[2])
        v2 = (v[0] + h2 * a1[0], v[1] + h2 * a1[1], v[2] + h2 * a1[2])
        a2, km, r2m = _acceleration(r2, v2, air, thrust, drag)
        if air:
            k = drag_coefficient(height_m(r2[0], r2[1], r2[2]))  # the nominal body's
            fh = _transition(r2, v, h, km, r2m, k * drag, k, d)
            speed2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
            sigma = DRAG_SPREAD * drag_coefficient(height_m(r[0], r[1], r[2])) * speed2
            q_drag = 2.0 * sigma * sigma * DRAG_TAU_S * drag_noise
            step = _step(fh)
            p = step @ p @ step.T + _noise(h, q + q_drag, d, drift)
        else:
            phi = _step(_transition(r2, v, h, km, r2m, 0.0, 0.0, d)) @ phi
        r3 = (r[0] + h2 * v2[0], r[1] + h2 * v2[1], r[2] + h2 * v2[2])
        v3 = (v[0] + h2 * a2[0], v[1] + h2 * a2[1], v[2] + h2 * a2[2])
        a3, _, _ = _acceleration(r3, v3, air, thrust, drag)
        r4 = (r[0] + h * v3[0], r[1] + h * v3[1], r[2] + h * v3[2])
        v4 = (v[0] + h * a3[0], v[1] + h * a3[1], v[2] + h * a3[2])
        a4, _, _ = _acceleration(r4, v4, air, thrust, drag)
        r = (
            r[0] + h6 * (v[0] + 2.0 * (v2[0] + v3[0]) + v4[0]),
            r[1] + h6 * (v[1] + 2.0 * (v2[1] + v3[1]) + v4[1]),
            r[2] + h6 * (v[2] + 2.0 * (v2[2] + v3[2]) + v4[2]),
        )
        v = (
            v[0] + h6 * (a1[0] + 2.0 * (a2[0] + a3[0]) + a4[0]),
            v[1] + h6 * (a1[1] + 2.0 * (a2[1] + a3[1]) + a4[1]),
            v[2] + h6 * (a1[2] + 2.0 * (a2[2] + a3[2]) + a4[2]),
        )
    if not air:
        p = phi @ p @ phi.T + _noise(dt, q, d, 0.0)
    out = x.copy()
    out[0], out[1], out[2] = r
    out[3], out[4], out[5] = v
    return out, 0.5 * (p + p.T)


@kernel
def propagate_rows(
    x: FloatArray,
    p: FloatArray,
    dt: FloatArray,
    steps: int,
    q: FloatArray,
    air: bool,
    thrust: FloatArray,
    drag: FloatArray,
    drag_noise: FloatArray,
    drift: float,
) -> tuple[FloatArray, FloatArray]:
    """:func:`propagate_row` over stacked rows (n, d), (n, d, d)."""
    xs = np.empty_like(x)
    ps = np.empty_like(p)
    for i in range(x.shape[0]):
        xs[i], ps[i] = propagate_row(
            x[i], p[i], dt[i], steps, q[i], air, thrust[i], drag[i], drag_noise[i], drift
        )
    return xs, ps
