"""The KN-23 family's terminal pull-up and glide: aerodynamic lift in the descent.

Reported as "irregular trajectories": after a depressed (~50 km apogee) boost, the
body descends, then flies at an angle of attack and flattens its path before the
final dive. Modelled deterministically (:class:`sim.catalog.PullUp`): from the moment
it descends through the trigger height, for ``duration_s``, a lift acceleration acts
perpendicular to the air velocity, upwards in the vertical plane of the flight. Lift
is ``lift_to_drag`` times the drag, so it grows with the dynamic pressure as the body
sinks into denser air (the pull-up comes by itself at ~25-30 km), smoothly saturated
at ``max_accel_mps2`` (``a tanh(x / a)``: no kink for the integrator or the solver).
"""

from __future__ import annotations

import math

import numpy as np

from sim.atmosphere import TOP_M, density, density_array
from sim.boost import Derivative, ellipsoid_up, free_derivative, height_proxy
from sim.catalog import PullUp
from trilink.geodesy import A, B, FloatArray

_IA2, _IB2 = 1.0 / (A * A), 1.0 / (B * B)


def glide_derivative(inv_beta: float, pullup: PullUp) -> Derivative:
    """d/dt of (r, v) with gravity, drag (1/β ``inv_beta``) and the pull-up's lift."""
    ld, cap = pullup.lift_to_drag, pullup.max_accel_mps2

    def derivative(t: float, state: FloatArray) -> FloatArray:
        d = free_derivative(t, state)
        x, y, z, vx, vy, vz = state.tolist()
        nx, ny, nz = x * _IA2, y * _IA2, z * _IB2
        q = (x * x + y * y) * _IA2 + z * z * _IB2
        h = math.sqrt(x * x + y * y + z * z) * (1.0 - 1.0 / math.sqrt(q))
        if h >= TOP_M:
            return d
        speed = math.sqrt(vx * vx + vy * vy + vz * vz)
        drag = 0.5 * density(h) * inv_beta * speed * speed  # deceleration, m/s²
        # lift direction: the unit "up" less its component along the velocity
        un = math.sqrt(nx * nx + ny * ny + nz * nz)
        ux, uy, uz = nx / un, ny / un, nz / un
        along = (ux * vx + uy * vy + uz * vz) / speed
        lx, ly, lz = ux - along * vx / speed, uy - along * vy / speed, uz - along * vz / speed
        ln = math.sqrt(lx * lx + ly * ly + lz * lz)
        lift = cap * math.tanh(ld * drag / cap) / ln if ln > 1e-9 else 0.0
        k = drag / speed
        d[3] += lift * lx - k * vx
        d[4] += lift * ly - k * vy
        d[5] += lift * lz - k * vz
        return d

    return derivative


def lift_vector(r: FloatArray, v: FloatArray, inv_beta: float, pullup: PullUp) -> FloatArray:
    """The pull-up's lift acceleration at stacked states (vectorised, drag excluded)."""
    speed = np.linalg.norm(v, axis=-1, keepdims=True)
    drag = 0.5 * density_array(height_proxy(r))[..., None] * inv_beta * speed**2
    vhat = v / speed
    up = ellipsoid_up(r)
    lift_dir = up - np.sum(up * vhat, axis=-1, keepdims=True) * vhat
    norm = np.linalg.norm(lift_dir, axis=-1, keepdims=True)
    cap = pullup.max_accel_mps2
    mag = cap * np.tanh(pullup.lift_to_drag * drag / cap)
    result: FloatArray = np.where(norm > 1e-9, mag * lift_dir / np.maximum(norm, 1e-12), 0.0)
    return result
