"""Powered flight: thrust law, pitch program and the boost-phase integration.

A missile lifts off vertically, rises for ``vertical_s``, then pitches over linearly
in time (in the launch great-circle plane) until, halfway through the remaining burn
(``PITCH_OVER_FRACTION``), its thrust points ``pitch_deg`` above the local horizontal;
it holds that pitch to burnout. Each stage burns at constant mass flow, so
its thrust acceleration grows as it empties: ``a(τ) = a0 / (1 - f τ / tb)`` with
``f`` the stage's propellant fraction, which integrates to the stage's ideal
delta-v (Tsiolkovsky). Between stages the missile coasts unpowered for the upper
stage's ``coast_s`` (separation): the thrust acceleration drops to zero at burnout
and jumps at the next ignition, the steps a tracker sees at staging.
``burn_scale`` multiplies every stage's thrust: it stands for payload and propellant
load, the one energy knob the solver turns; burn times stay those of the catalogue so
that the boost duration (and hence the flight time) is the missile's own.

The state is integrated in the rotating WGS-84 ECEF frame, with the gravity (J2),
centrifugal and Coriolis terms of :func:`trilink.geodesy.ecef_acceleration`, written
out in scalar arithmetic for speed (the tests hold both equal), plus atmospheric drag
(:mod:`sim.atmosphere`) with the stack's ballistic coefficient, which falls with its
mass as it burns (:attr:`sim.catalog.Missile.stage_masses`). Where the pitch program
has a kink or a stage changes, the integration restarts so every segment is smooth.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import OdeSolution, solve_ivp

from sim.atmosphere import TOP_M, density, density_array, drag_acceleration
from sim.catalog import NO_DRAG, Missile
from sim.errors import TrajectoryError
from trilink.geodesy import (
    GM,
    J2,
    OMEGA,
    A,
    B,
    FloatArray,
    ecef_acceleration,
    enu_rotation,
    geodetic_to_ecef,
)

RTOL = 1e-9
ATOL = 1e-4
_G0 = 9.80665
PITCH_OVER_FRACTION = 0.5
_C_J2 = 1.5 * J2 * A * A
_IA2, _IB2 = 1.0 / (A * A), 1.0 / (B * B)
Derivative = Callable[[float, FloatArray], FloatArray]


def free_derivative(_t: float, state: FloatArray) -> FloatArray:
    """:func:`trilink.geodesy.ballistic_derivative` in scalar arithmetic.

    Same equations (two-body + J2, centrifugal, Coriolis); numpy's per-call overhead
    on a 6-vector is 15x the arithmetic, and this sits in the solver's inner loop.
    The unit tests hold the two equal.
    """
    x, y, z, vx, vy, vz = state.tolist()
    r2 = x * x + y * y + z * z
    k = -GM / (r2 * math.sqrt(r2))
    zr2 = z * z / r2
    c = _C_J2 / r2
    fxy = k * (1.0 + c * (1.0 - 5.0 * zr2))
    fz = k * (1.0 + c * (3.0 - 5.0 * zr2))
    w2 = OMEGA * OMEGA
    return np.array(
        (
            vx,
            vy,
            vz,
            fxy * x + w2 * x + 2.0 * OMEGA * vy,
            fxy * y + w2 * y - 2.0 * OMEGA * vx,
            fz * z,
        )
    )


def add_drag(d: FloatArray, state: FloatArray, inv_beta: float) -> None:
    """Add the drag deceleration of a body of 1/β ``inv_beta`` to the derivative ``d``.

    Scalar arithmetic for the ODE's inner loop; the height is :func:`height_proxy`
    (radial, within metres of the geodetic height at these altitudes).
    """
    if inv_beta == 0.0:  # vacuum (β infinite): skip the density lookup
        return
    x, y, z, vx, vy, vz = state.tolist()
    q = (x * x + y * y) * _IA2 + z * z * _IB2
    h = math.sqrt(x * x + y * y + z * z) * (1.0 - 1.0 / math.sqrt(q))
    if h >= TOP_M:
        return
    k = 0.5 * density(h) * inv_beta * math.sqrt(vx * vx + vy * vy + vz * vz)
    d[3] -= k * vx
    d[4] -= k * vy
    d[5] -= k * vz


def drag_derivative(inv_beta: float) -> Derivative:
    """d/dt of (r, v) in unpowered flight through the air, for a body of 1/β ``inv_beta``
    (zero: in vacuum, :func:`free_derivative` itself)."""
    if inv_beta == 0.0:
        return free_derivative

    def derivative(t: float, state: FloatArray) -> FloatArray:
        d = free_derivative(t, state)
        add_drag(d, state, inv_beta)
        return d

    return derivative


def drag_vector(r: FloatArray, v: FloatArray, inv_beta: FloatArray | float) -> FloatArray:
    """Drag acceleration at stacked states (vectorised :func:`add_drag`)."""
    return drag_acceleration(density_array(height_proxy(r)), v, np.asarray(inv_beta))


def ellipsoid_up(r: FloatArray) -> FloatArray:
    """Unit normal of the ellipsoid-similar surface through ``r`` (..., 3): local "up"."""
    n = r * np.array([1.0 / A**2, 1.0 / A**2, 1.0 / B**2])
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def height_proxy(r: FloatArray) -> FloatArray:
    """Radial height (m) above the ellipsoid along the geocentric direction of ``r``.

    Zero exactly on the ellipsoid, so it locates impact at geodetic altitude 0 while
    costing a few flops (the geodetic height needs an iteration).
    """
    q = (r[..., 0] ** 2 + r[..., 1] ** 2) / A**2 + r[..., 2] ** 2 / B**2
    result: FloatArray = np.linalg.norm(r, axis=-1) * (1.0 - 1.0 / np.sqrt(q))
    return result


@dataclass(frozen=True, slots=True)
class BoostProgram:
    """Thrust law of one launch: missile stages, energy scale, pitch program and plane."""

    missile: Missile
    burn_scale: float
    pitch_deg: float
    launch_r: FloatArray
    plane_normal: FloatArray

    @classmethod
    def create(
        cls,
        missile: Missile,
        lat_deg: float,
        lon_deg: float,
        azimuth_deg: float,
        burn_scale: float,
        pitch_deg: float,
    ) -> BoostProgram:
        """Program for a launch from (lat, lon) firing along ``azimuth_deg``."""
        if not missile.stages:
            raise TrajectoryError(f"missile {missile.key!r} has no boost profile")
        r0 = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
        east, north, _ = enu_rotation(lat_deg, lon_deg)
        az = math.radians(azimuth_deg)
        d0 = math.sin(az) * east + math.cos(az) * north
        n = np.cross(r0, d0)
        return cls(missile, burn_scale, pitch_deg, r0, n / np.linalg.norm(n))

    @property
    def breakpoints(self) -> list[float]:
        """Times where the thrust law has a kink or a jump: integrate between them."""
        times = [0.0]
        for stage, start in zip(self.missile.stages, self.missile.stage_starts, strict=True):
            if start > times[-1]:
                times.append(start)  # ignition after a separation coast
            times.append(start + stage.burn_s)
        end = times[-1]
        for extra in (self.missile.vertical_s, self.pitch_end_s):
            if 0.0 < extra < end and all(abs(extra - t) > 1e-6 for t in times):
                times.append(extra)
        return sorted(times)

    @property
    def pitch_end_s(self) -> float:
        """When the pitch-over ends and the burnout pitch is held."""
        tv, tb = self.missile.vertical_s, self.missile.boost_s
        return tv + PITCH_OVER_FRACTION * (tb - tv)

    def pitch_rad(self, t: FloatArray) -> FloatArray:
        """Commanded pitch above the local horizontal at time(s) ``t``."""
        tv, tp = self.missile.vertical_s, self.pitch_end_s
        frac = np.clip((np.asarray(t, dtype=float) - tv) / max(tp - tv, 1e-9), 0.0, 1.0)
        result: FloatArray = np.radians(90.0 - (90.0 - self.pitch_deg) * frac)
        return result

    def thrust_magnitude(self, t: FloatArray) -> FloatArray:
        """Thrust acceleration (m/s²) at time(s) ``t`` since launch; zero after burnout."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for stage, start in zip(self.missile.stages, self.missile.stage_starts, strict=True):
            tau = t - start
            inside = (tau >= 0.0) & (tau < stage.burn_s)
            f = stage.propellant_fraction
            a0 = self.burn_scale * stage.initial_accel_mps2
            burnt = np.clip(tau, 0.0, stage.burn_s) / stage.burn_s
            out = np.where(inside, a0 / (1.0 - f * burnt), out)
        return out

    def inv_beta(self, t: FloatArray) -> FloatArray:
        """1/β of the stack at time(s) ``t``: its mass falls as it burns and at staging."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        m = self.missile
        beta0 = m.drag.boost
        for stage, mass, start in zip(m.stages, m.stage_masses, m.stage_starts, strict=True):
            tau = np.clip(t - start, 0.0, stage.burn_s)
            # from the separation before this stage (its coast) to its burnout
            inside = (t >= start - stage.coast_s) & (t < start + stage.burn_s)
            burnt = stage.propellant_fraction * tau / stage.burn_s
            out = np.where(inside, 1.0 / (beta0 * mass * (1.0 - burnt)), out)
        return out

    def thrust(self, t: FloatArray, r: FloatArray) -> FloatArray:
        """Thrust acceleration vector(s) in ECEF at time(s) ``t`` and position(s) ``r``."""
        up = ellipsoid_up(r)
        along = np.cross(self.plane_normal, up)
        along /= np.linalg.norm(along, axis=-1, keepdims=True)
        theta = self.pitch_rad(t)[..., None]
        result: FloatArray = self.thrust_magnitude(t)[..., None] * (
            np.cos(theta) * along + np.sin(theta) * up
        )
        return result

    def segment_derivative(self, t0: float, t1: float) -> Derivative:
        """d/dt of (r, v) with thrust, valid between two consecutive breakpoints.

        Scalar arithmetic like :func:`free_derivative`; within a segment the stage is
        fixed and the pitch is linear in time, so both are bound here once.
        """
        mid = 0.5 * (t0 + t1)
        m = self.missile
        k = next((i for i, s in enumerate(m.stages) if mid < m.stage_starts[i] + s.burn_s), -1)
        stage, start = m.stages[k], m.stage_starts[k]
        inv_beta0 = 1.0 / (m.drag.boost * m.stage_masses[k])
        if mid < start:  # the separation coast before stage k: no thrust
            return drag_derivative(inv_beta0)
        a0 = self.burn_scale * stage.initial_accel_mps2
        slope = stage.propellant_fraction / stage.burn_s
        p0 = float(self.pitch_rad(np.array(t0)))
        p_rate = (float(self.pitch_rad(np.array(t1))) - p0) / (t1 - t0)
        nx, ny, nz = self.plane_normal.tolist()

        def derivative(t: float, state: FloatArray) -> FloatArray:
            d = free_derivative(t, state)
            x, y, z = state[0] * _IA2, state[1] * _IA2, state[2] * _IB2
            un = math.sqrt(x * x + y * y + z * z)
            ux, uy, uz = x / un, y / un, z / un
            ax, ay, az = ny * uz - nz * uy, nz * ux - nx * uz, nx * uy - ny * ux
            an = math.sqrt(ax * ax + ay * ay + az * az)
            theta = p0 + p_rate * (t - t0)
            thrust = a0 / (1.0 - slope * (t - start))
            kc, ks = thrust * math.cos(theta) / an, thrust * math.sin(theta)
            d[3] += kc * ax + ks * ux
            d[4] += kc * ay + ks * uy
            d[5] += kc * az + ks * uz
            add_drag(d, state, inv_beta0 / (1.0 - slope * (t - start)))
            return d

        return derivative

    def acceleration(self, t: FloatArray, r: FloatArray, v: FloatArray) -> FloatArray:
        """Total acceleration at stacked states (for interpolation)."""
        result: FloatArray = ecef_acceleration(r, v) + self.thrust(t, r)
        if self.missile.drag != NO_DRAG:
            result = result + drag_vector(r, v, self.inv_beta(t))
        return result


def _crashed(_t: float, state: FloatArray) -> float:
    return float(height_proxy(state[:3])) + 1.0


_crashed.terminal = True  # type: ignore[attr-defined]
_crashed.direction = -1  # type: ignore[attr-defined]


def integrate_boost(program: BoostProgram, *, dense: bool) -> tuple[FloatArray, list[OdeSolution]]:
    """Integrate the powered phase; returns the burnout state (r, v) and dense segments.

    Raises TrajectoryError when the missile falls back (thrust below weight).
    """
    first = program.missile.stages[0]
    if program.burn_scale * first.initial_accel_mps2 <= _G0:
        raise TrajectoryError(
            f"{program.missile.key} would not lift off at {program.burn_scale:.2f}x thrust"
        )
    state = np.concatenate([program.launch_r, np.zeros(3)])
    segments: list[OdeSolution] = []
    times = program.breakpoints
    for t0, t1 in itertools.pairwise(times):
        sol = solve_ivp(
            program.segment_derivative(t0, t1),
            (t0, t1),
            state,
            method="DOP853",
            rtol=RTOL,
            atol=ATOL,
            dense_output=dense,
            events=_crashed if t0 > 0.0 else None,
        )
        if sol.status != 0:
            raise TrajectoryError(f"{program.missile.key} fell back during boost")
        state = sol.y[:, -1]
        if dense:
            segments.append(sol.sol)
    return state, segments
