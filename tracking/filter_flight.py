"""The filters' prediction step, one row at a time in a compiled kernel.

:func:`tracking.ekf.propagate_many` predicts every (track, model) row of a scan: an
RK4 flight of the state and the midpoint-linearised second-order transition of the
covariance, with white-acceleration noise, the nominal air's drag and its error,
an estimated thrust and, as a 7th state, the body's drag scale. A scan holds a few
rows, so written over numpy stacks the step paid for dozens of small-array calls per
RK4 stage whatever the rows; here each row is plain scalar arithmetic compiled by
:mod:`trilink.jit`. The dynamics and their linearisation are
:mod:`tracking.propagate`'s own kernels (``acceleration``, ``scaled_jacobian``), with
the thrust and the drag state's column added here.
"""

from __future__ import annotations

import math

import numpy as np

from tracking.drag import drag_q
from tracking.propagate import acceleration, scaled_jacobian
from trilink.air import drag_coefficient, height_m
from trilink.constants import FloatArray
from trilink.jit import kernel

Vec = tuple[float, float, float]


@kernel
def _acceleration(r: Vec, v: Vec, drag: float, thrust: float) -> Vec:
    """The free flight's acceleration (:func:`tracking.propagate.acceleration`, with
    ``drag`` times the nominal body's drag, 0 in vacuum) plus ``thrust`` along the
    velocity."""
    ax, ay, az = acceleration(r[0], r[1], r[2], v[0], v[1], v[2], drag)
    if thrust != 0.0:
        push = thrust / max(math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]), 1.0)
        ax, ay, az = ax + v[0] * push, ay + v[1] * push, az + v[2] * push
    return (ax, ay, az)


@kernel
def _transition(r: Vec, v: Vec, h: float, drag: float, d: int) -> FloatArray:
    """``F h`` of one step (d x d) from ``r``, ``v`` (:func:`tracking.propagate.
    scaled_jacobian`, ``drag`` times the nominal body's drag, 0 in vacuum); with a
    drag state (d = 7) in the air, its column on the way down."""
    fh6, _ = scaled_jacobian((r[0], r[1], r[2], v[0], v[1], v[2]), h, drag)
    if d == 6:
        return fh6
    fh = np.zeros((d, d))
    fh[:6, :6] = fh6
    h2 = 0.5 * h
    mid = (r[0] + h2 * v[0], r[1] + h2 * v[1], r[2] + h2 * v[2])
    if drag > 0.0 and mid[0] * v[0] + mid[1] * v[1] + mid[2] * v[2] < 0.0:
        k_body = drag_coefficient(height_m(mid[0], mid[1], mid[2]))
        speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
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
    scale = drag if air else 0.0
    for _ in range(steps):
        a1 = _acceleration(r, v, scale, thrust)
        r2 = (r[0] + h2 * v[0], r[1] + h2 * v[1], r[2] + h2 * v[2])
        v2 = (v[0] + h2 * a1[0], v[1] + h2 * a1[1], v[2] + h2 * a1[2])
        a2 = _acceleration(r2, v2, scale, thrust)
        fh = _transition(r, v, h, scale, d)
        if air:
            # The drag error's density at the step's start (the impact predictor's is
            # at its midpoint; at the midpoint here, the national trackers' impact
            # points came out 5% worse on the battery: docs/score.md, "Stop 44").
            speed = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
            q_drag = drag_q(height_m(r[0], r[1], r[2]), speed) * drag_noise
            step = _step(fh)
            p = step @ p @ step.T + _noise(h, q + q_drag, d, drift)
        else:
            phi = _step(fh) @ phi
        r3 = (r[0] + h2 * v2[0], r[1] + h2 * v2[1], r[2] + h2 * v2[2])
        v3 = (v[0] + h2 * a2[0], v[1] + h2 * a2[1], v[2] + h2 * a2[2])
        a3 = _acceleration(r3, v3, scale, thrust)
        r4 = (r[0] + h * v3[0], r[1] + h * v3[1], r[2] + h * v3[2])
        v4 = (v[0] + h * a3[0], v[1] + h * a3[1], v[2] + h * a3[2])
        a4 = _acceleration(r4, v4, scale, thrust)
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
