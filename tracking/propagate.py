"""Ballistic propagation of a 6-state (ECEF position, velocity) and its covariance.

Used by every national tracker and by the bridge, so it has to be both honest and
cheap: the state is integrated with fixed-step RK4 on the full rotating-frame
dynamics (two-body + J2 gravity, centrifugal, Coriolis — ``trilink.geodesy`` —
and a nominal body's drag in the air, :mod:`tracking.drag`),
written over plain floats because numpy's per-call overhead dominates on 3-vectors,
and compiled (:mod:`trilink.jit`);
the covariance goes through the state-transition matrix of the linearised dynamics
plus white-acceleration process noise.

Impact and launch points come from propagating forwards/backwards until the
trajectory meets the WGS-84 ellipsoid; their uncertainty is the covariance mapped
onto the ground plane at that point (first-order covariance analysis, the usual
method for impact-point prediction), reported as a 95% ellipse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracking.drag import drag_q
from trilink.air import CEILING_M as DRAG_CEILING_M
from trilink.air import SCALE_H_M, drag_coefficient, height_m
from trilink.constants import FloatArray
from trilink.geodesy import (
    E2,
    GM,
    J2,
    OMEGA,
    A,
    B,
    F,
    ecef_to_geodetic,
    enu_rotation,
    geodetic_to_ecef,
)
from trilink.jit import contiguous, kernel

State = tuple[float, float, float, float, float, float]

CHI2_2D_95 = 5.991464547107979  # chi-square, 2 dof, 95%
_IU = np.triu_indices(6)
_W2 = OMEGA * OMEGA
_EYE6 = np.eye(6)
_J2K = 1.5 * J2 * A * A
_B = B
_EP2 = E2 / (1.0 - E2)  # second eccentricity squared
_MAX_DRAG_STEP = 0.2  # an RK4 step spans at most this fraction of drag's decay time
AIR_STEP_S = 2.0  # covariance steps in the air
_AIR_PIECE_M = 0.5 * SCALE_H_M  # the height a step in the air may climb or fall
_G0 = 9.80665  # how fast a step may fall into the air


def upper_triangle(p: FloatArray) -> tuple[float, ...]:
    """The 21 upper-triangle values of a 6x6 covariance, row by row (the wire form)."""
    return tuple(float(v) for v in p[_IU])


def from_upper_triangle(values: tuple[float, ...] | list[float] | FloatArray) -> FloatArray:
    """Rebuild the symmetric 6x6 covariance from its 21 upper-triangle values."""
    p = np.zeros((6, 6))
    p[_IU] = values
    return p + np.triu(p, 1).T


@kernel
def acceleration(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, air: float = 0.0
) -> tuple[float, float, float]:
    """The free flight's acceleration in the rotating frame (two-body + J2 gravity,
    centrifugal, Coriolis); ``air`` scales the nominal body's drag: 0 (False) is
    vacuum, 1 (True) the nominal body, another value a body with that much of its
    drag (a tracker's estimate)."""
    r2 = x * x + y * y + z * z
    k = -GM / (r2 * math.sqrt(r2))
    zr2 = z * z / r2
    c = _J2K / r2
    fxy = k * (1.0 + c * (1.0 - 5.0 * zr2))
    fz = k * (1.0 + c * (3.0 - 5.0 * zr2))
    ax = fxy * x + _W2 * x + 2.0 * OMEGA * vy
    ay = fxy * y + _W2 * y - 2.0 * OMEGA * vx
    az = fz * z
    if air:
        h = math.sqrt(r2) - A * (1.0 - F * zr2)
        if h < DRAG_CEILING_M:
            kd = air * drag_coefficient(h) * math.sqrt(vx * vx + vy * vy + vz * vz)
            ax -= kd * vx
            ay -= kd * vy
            az -= kd * vz
    return ax, ay, az


@kernel
def _rk4(s: State, h: float, air: float = 0.0) -> State:
    x, y, z, vx, vy, vz = s
    if not air:
        return _rk4_step(s, h, 0.0)
    # In the air drag changes as fast as the state crosses scale heights and, near the
    # ground, is stiff (a decay time of seconds): a step that may reach the air is split
    # into pieces of at most air_step_s and a fraction of that decay time at the lowest
    # point it may reach.
    r = math.sqrt(x * x + y * y + z * z)
    radial = (x * vx + y * vy + z * vz) / r
    fall = max(0.0, -math.copysign(1.0, h) * radial)
    lowest = height_m(x, y, z) - fall * abs(h) - 0.5 * _G0 * h * h
    if lowest >= DRAG_CEILING_M:
        return _rk4_step(s, h, air)
    stiff = air * drag_coefficient(max(lowest, 0.0)) * math.sqrt(vx * vx + vy * vy + vz * vz)
    piece = air_step_s(radial)
    n = max(math.ceil(abs(h) / piece), math.ceil(stiff * abs(h) / _MAX_DRAG_STEP), 1)
    for _ in range(n):
        s = _rk4_step(s, h / n, air)
    return s


@kernel
def air_step_s(radial_mps: float) -> float:
    """Longest step in the air for a state climbing or falling at ``radial_mps``.

    The time to cross one scale height of the nominal air (gravity included, so ~38 s
    at an apogee): drag, its Jacobian and its noise change by a factor e over it. Never
    below ``AIR_STEP_S``; the stiffness bound near the ground is the caller's.
    """
    vr = abs(radial_mps)
    return max(AIR_STEP_S, (math.sqrt(vr * vr + 2.0 * _G0 * _AIR_PIECE_M) - vr) / _G0)


@kernel
def _rk4_step(s: State, h: float, air: float) -> State:
    x, y, z, vx, vy, vz = s
    a1 = acceleration(x, y, z, vx, vy, vz, air)
    h2 = 0.5 * h
    x2, y2, z2 = x + h2 * vx, y + h2 * vy, z + h2 * vz
    vx2, vy2, vz2 = vx + h2 * a1[0], vy + h2 * a1[1], vz + h2 * a1[2]
    a2 = acceleration(x2, y2, z2, vx2, vy2, vz2, air)
    x3, y3, z3 = x + h2 * vx2, y + h2 * vy2, z + h2 * vz2
    vx3, vy3, vz3 = vx + h2 * a2[0], vy + h2 * a2[1], vz + h2 * a2[2]
    a3 = acceleration(x3, y3, z3, vx3, vy3, vz3, air)
    x4, y4, z4 = x + h * vx3, y + h * vy3, z + h * vz3
    vx4, vy4, vz4 = vx + h * a3[0], vy + h * a3[1], vz + h * a3[2]
    a4 = acceleration(x4, y4, z4, vx4, vy4, vz4, air)
    h6 = h / 6.0
    return (
        x + h6 * (vx + 2.0 * vx2 + 2.0 * vx3 + vx4),
        y + h6 * (vy + 2.0 * vy2 + 2.0 * vy3 + vy4),
        z + h6 * (vz + 2.0 * vz2 + 2.0 * vz3 + vz4),
        vx + h6 * (a1[0] + 2.0 * a2[0] + 2.0 * a3[0] + a4[0]),
        vy + h6 * (a1[1] + 2.0 * a2[1] + 2.0 * a3[1] + a4[1]),
        vz + h6 * (a1[2] + 2.0 * a2[2] + 2.0 * a3[2] + a4[2]),
    )


def _steps(dt: float, max_step: float) -> tuple[int, float]:
    n = max(1, math.ceil(abs(dt) / max_step))
    return n, dt / n


def propagate_state(
    x: FloatArray | State, dt: float, max_step: float = 5.0, *, air: bool = False
) -> FloatArray:
    """Free-flight state after ``dt`` seconds (negative goes backwards); ``air`` flies
    it through the nominal air (:mod:`trilink.air`), else in vacuum."""
    s: State = tuple(float(v) for v in x)  # type: ignore[assignment]
    if dt == 0.0:
        return np.array(s)
    n, h = _steps(dt, max_step)
    for _ in range(n):
        s = _rk4(s, h, float(air))
    return np.array(s)


@kernel
def scaled_jacobian(s: State, h: float, air: float) -> tuple[FloatArray, float]:
    """The dynamics' Jacobian times ``h`` (6 x 6) at the drift-only midpoint of a step
    of ``h`` from ``s``, and there the nominal drag's error density (m²/s³; zero out
    of the air). Two-body gravity gradient (J2's is three orders below it and left out
    of the linearisation, not of the flight) and frame terms; with ``air`` > 0 (the
    nominal body's drag times ``air``) drag's partials at the step's start velocity.
    The one linearisation of the flight: the covariance of :func:`propagate`, of the
    impact predictor and of the filters' prediction."""
    h2 = 0.5 * h
    cor = 2.0 * OMEGA * h
    mx, my, mz = s[0] + h2 * s[3], s[1] + h2 * s[4], s[2] + h2 * s[5]
    vx, vy, vz = s[3], s[4], s[5]
    r2 = mx * mx + my * my + mz * mz
    k = GM / (r2 * math.sqrt(r2)) * h
    c = 3.0 / r2
    m = (mx, my, mz)
    fh = np.zeros((6, 6))
    for i in range(3):
        fh[i, 3 + i] = h
        ki = k * c * m[i]
        for j in range(3):
            fh[3 + i, j] = ki * m[j]
        fh[3 + i, i] -= k
    fh[3, 0] += _W2 * h
    fh[4, 1] += _W2 * h
    fh[3, 4] = cor
    fh[4, 3] = -cor
    q_air = 0.0
    height = height_m(mx, my, mz)
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    kd = air * drag_coefficient(height) if air else 0.0
    if kd > 0.0 and speed > 0.0:
        # drag's partials: velocity block -k (|v| I + v v^T / |v|), position block
        # through the density's height gradient k |v| v r^T / (H |r|) (the radial
        # direction standing in for the ellipsoid's normal)
        v = (vx, vy, vz)
        dr = kd * speed / (SCALE_H_M * math.sqrt(r2)) * h
        for i in range(3):
            for j in range(3):
                fh[3 + i, j] += dr * v[i] * m[j]
                fh[3 + i, 3 + j] -= kd * h * (v[i] * v[j] / speed + (speed if i == j else 0.0))
        q_air = drag_q(height, speed)
    return fh, q_air


@kernel
def vacuum_transition(rx: float, ry: float, rz: float, h: float) -> FloatArray:
    """``I + F h + F² h²/2`` of the vacuum dynamics at position ``r``, term by term.

    The bridge and the impact predictor chain these on every propagation; written
    out over floats (F = [[0, I], [G, C]]: F² = [[G, C], [CG, G + C²]], C the Coriolis
    block) it costs a quarter of the small-matrix numpy calls it replaces.
    """
    rn2 = rx * rx + ry * ry + rz * rz
    k = GM / (rn2 * math.sqrt(rn2))
    k3 = 3.0 * k / rn2
    gxx = k3 * rx * rx - k + _W2
    gyy = k3 * ry * ry - k + _W2
    gzz = k3 * rz * rz - k
    gxy, gxz, gyz = k3 * rx * ry, k3 * rx * rz, k3 * ry * rz
    w = 2.0 * OMEGA
    s = 0.5 * h * h
    return np.array(
        (
            (1.0 + s * gxx, s * gxy, s * gxz, h, s * w, 0.0),
            (s * gxy, 1.0 + s * gyy, s * gyz, -s * w, h, 0.0),
            (s * gxz, s * gyz, 1.0 + s * gzz, 0.0, 0.0, h),
            (
                h * gxx + s * w * gxy,
                h * gxy + s * w * gyy,
                h * gxz + s * w * gyz,
                1.0 + s * (gxx - w * w),
                h * w + s * gxy,
                s * gxz,
            ),
            (
                h * gxy - s * w * gxx,
                h * gyy - s * w * gxy,
                h * gyz - s * w * gxz,
                -h * w + s * gxy,
                1.0 + s * (gyy - w * w),
                s * gyz,
            ),
            (h * gxz, h * gyz, h * gzz, s * gxz, s * gyz, 1.0 + s * gzz),
        )
    )


@kernel
def process_noise(dt: float, q: float) -> FloatArray:
    """White-acceleration process noise for spectral density ``q`` (m²/s³) over ``dt``."""
    a = abs(dt)
    p3, p2, p1 = q * a**3 / 3.0, q * a**2 / 2.0, q * a
    return np.array(
        (
            (p3, 0.0, 0.0, p2, 0.0, 0.0),
            (0.0, p3, 0.0, 0.0, p2, 0.0),
            (0.0, 0.0, p3, 0.0, 0.0, p2),
            (p2, 0.0, 0.0, p1, 0.0, 0.0),
            (0.0, p2, 0.0, 0.0, p1, 0.0),
            (0.0, 0.0, p2, 0.0, 0.0, p1),
        )
    )


def propagate(
    x: FloatArray,
    p: FloatArray,
    dt: float,
    q: float = 0.0,
    max_step: float = 5.0,
    *,
    air: bool = False,
    drag_noise: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Propagate state and covariance ``dt`` seconds; ``q`` adds process noise (m²/s³).

    ``air`` flies the nominal body's drag and adds its error (scaled by
    ``drag_noise``), step by step; in vacuum the steps are equal, their transitions
    chained and the noise added once. One compiled call (:func:`moved`): the bridge
    moves estimates several times per report, and numpy's per-call overhead on 6x6
    products was most of the cost.
    """
    if dt == 0.0:
        return np.asarray(x, dtype=float).copy(), np.asarray(p, dtype=float).copy()
    return moved(
        contiguous(x),
        contiguous(p),
        float(dt),
        float(q),
        float(max_step),
        float(air),
        float(drag_noise),
    )


@kernel
def moved(
    x: FloatArray,
    p: FloatArray,
    dt: float,
    q: float,
    max_step: float,
    air: float,
    drag_noise: float,
) -> tuple[FloatArray, FloatArray]:
    """:func:`propagate`'s body (``dt`` != 0; ``air`` 0 or 1)."""
    s = (x[0], x[1], x[2], x[3], x[4], x[5])
    if air == 0.0:
        n = max(1, math.ceil(abs(dt) / max_step))
        h = dt / n
        s, phi = vacuum_flight(s, h, n)
        p_new = phi @ p @ phi.T
        if q > 0.0:
            p_new = p_new + process_noise(dt, q)
    else:
        p_new = p.copy()
        sign = 1.0 if dt >= 0.0 else -1.0
        done, total = 0.0, abs(dt)
        g = s  # where the state is, step to step, by one RK4 step each: enough to choose lengths
        while done < total - 1e-9:
            # At most ``max_step`` in vacuum, at most ``AIR_STEP_S`` once the air may be
            # reached (drag's Jacobian and noise change within seconds there).
            length = min(max_step, total - done)
            r = math.sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2])
            fall = max(0.0, -sign * (g[0] * g[3] + g[1] * g[4] + g[2] * g[5]) / r)
            reach = height_m(g[0], g[1], g[2]) - fall * length - 0.5 * _G0 * length * length
            if reach < DRAG_CEILING_M:
                length = min(length, AIR_STEP_S)
            h = sign * length
            g = _rk4_step(g, h, 1.0)
            # Linearised at the midpoint of the step (second order in h for the STM
            # too); a drift-only midpoint is accurate enough for the Jacobian. The
            # covariance goes step by step: the nominal drag's error enters only on
            # the steps in the air.
            fh, q_air = scaled_jacobian(s, h, 1.0)
            step = np.eye(6) + fh + 0.5 * (fh @ fh)
            p_new = step @ p_new @ step.T
            q_step = q + drag_noise * q_air
            if q_step > 0.0:
                p_new = p_new + process_noise(h, q_step)
            s = _rk4(s, h, air)
            done += length
    out = np.empty(6)
    for i in range(6):
        out[i] = s[i]
    return out, 0.5 * (p_new + p_new.T)


@kernel
def vacuum_flight(s: State, h: float, n: int) -> tuple[State, FloatArray]:
    """``n`` vacuum steps of ``h`` from ``s``: the state at the end and the transition
    matrix of the whole flight, each step's linearised at its drift-only midpoint
    (second order in h for the transition too; accurate enough for the Jacobian)."""
    h2 = 0.5 * h
    phi = vacuum_transition(s[0] + h2 * s[3], s[1] + h2 * s[4], s[2] + h2 * s[5], h)
    s = _rk4(s, h, 0.0)
    for _ in range(n - 1):
        step = vacuum_transition(s[0] + h2 * s[3], s[1] + h2 * s[4], s[2] + h2 * s[5], h)
        phi = step @ phi
        s = _rk4(s, h, 0.0)
    return s, phi


@dataclass(frozen=True, slots=True)
class GroundCrossing:
    """Where a propagated trajectory meets the ellipsoid, with its 95% uncertainty."""

    lat_deg: float
    lon_deg: float
    dt_s: float  # seconds from the state's epoch (negative for a launch point)
    sigma_t_s: float
    semi_major_km: float
    semi_minor_km: float
    orientation_deg: float  # bearing of the semi-major axis, clockwise from north
    state: FloatArray  # ECEF state at the crossing


def _altitude(s: State | FloatArray) -> float:
    """Height above the ellipsoid by Bowring's closed form (sub-millimetre below 10,000 km).

    pymap3d's iterative solution costs ~40 us a call; crossing searches call this
    hundreds of times per prediction.
    """
    x, y, z = float(s[0]), float(s[1]), float(s[2])
    p = math.hypot(x, y)
    th = math.atan2(z * A, p * _B)
    st, ct = math.sin(th), math.cos(th)
    lat = math.atan2(z + _EP2 * _B * st**3, p - E2 * A * ct**3)
    sl, cl = math.sin(lat), math.cos(lat)
    n = A / math.sqrt(1.0 - E2 * sl * sl)
    if abs(cl) > 1e-9:
        return p / cl - n
    return abs(z) / abs(sl) - n * (1.0 - E2)


def ground_crossing(
    x: FloatArray,
    p: FloatArray | None = None,
    *,
    backwards: bool = False,
    max_time_s: float = 7200.0,
    step_s: float = 5.0,
    altitude_m: float = 0.0,
    air: bool = False,
    drag_noise: float = 1.0,
) -> GroundCrossing | None:
    """Propagate until the trajectory descends (or, backwards, ascends) through ``altitude_m``.

    Returns ``None`` if it does not happen within ``max_time_s`` (e.g. orbital
    speed). The crossing is refined by bisection to ~1 ms. With a covariance the
    ground ellipse is the first-order map of ``p`` through the transition matrix
    onto the local horizontal plane at the crossing. ``air`` flies forwards through
    the nominal air (its drag's error in the covariance scaled by ``drag_noise``).
    """
    sign = -1.0 if backwards else 1.0
    # Backwards, drag would feed energy in without bound through the air; a launch
    # point back-propagated ballistically ignores the powered flight, and the air with it.
    air = air and not backwards
    s: State = tuple(float(v) for v in x)  # type: ignore[assignment]
    if _altitude(s) <= altitude_m:
        return None
    t = 0.0
    h = sign * step_s
    while abs(t) < max_time_s:
        nxt = _rk4(s, h, float(air))
        if _altitude(nxt) <= altitude_m:
            lo, hi, s_lo = 0.0, h, s
            while abs(hi - lo) > 1e-3:
                mid = 0.5 * (lo + hi)
                s_mid = _rk4(s_lo, mid - lo, float(air))
                if _altitude(s_mid) > altitude_m:
                    lo, s_lo = mid, s_mid
                else:
                    hi = mid
            t += lo
            s = s_lo
            break
        s, t = nxt, t + h
    else:
        return None
    final = np.array(s)
    lat, lon, _ = ecef_to_geodetic(final[:3])
    if p is None:
        return GroundCrossing(lat, lon, t, 0.0, 0.0, 0.0, 0.0, final)
    _, p_end = propagate(
        np.asarray(x, dtype=float), p, t, max_step=step_s * 4, air=air, drag_noise=drag_noise
    )
    return _crossing_with_ellipse(final, p_end, lat, lon, t)


def _crossing_with_ellipse(
    final: FloatArray, p_end: FloatArray, lat: float, lon: float, t: float
) -> GroundCrossing:
    enu = enu_rotation(lat, lon)
    up = enu[2]
    v = final[3:6]
    vu = float(up @ v)
    if abs(vu) < 1e-6:
        vu = -1e-6
    # A position error moves the crossing along the velocity until it is back on
    # the surface: d(ground) = (I - v up^T / (up.v)) d(r); d(t) = -up.d(r) / (up.v).
    m = np.eye(3) - np.outer(v, up) / vu
    g = m @ p_end[0:3, 0:3] @ m.T
    g_en = enu[0:2] @ g @ enu[0:2].T
    sigma_t = math.sqrt(max(float(up @ p_end[0:3, 0:3] @ up), 0.0)) / abs(vu)
    vals, vecs = np.linalg.eigh(0.5 * (g_en + g_en.T))
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    orientation = math.degrees(math.atan2(major[0], major[1])) % 180.0
    k = math.sqrt(CHI2_2D_95)
    return GroundCrossing(
        lat,
        lon,
        t,
        sigma_t,
        k * math.sqrt(vals[1]) / 1000.0,
        k * math.sqrt(vals[0]) / 1000.0,
        orientation,
        final,
    )


def state_from_geodetic(
    lat_deg: float, lon_deg: float, alt_m: float, v_enu: tuple[float, float, float]
) -> FloatArray:
    """ECEF state from a geodetic position and a local East-North-Up velocity."""
    r = geodetic_to_ecef(lat_deg, lon_deg, alt_m)
    v = enu_rotation(lat_deg, lon_deg).T @ np.asarray(v_enu, dtype=float)
    return np.concatenate([r, v])
