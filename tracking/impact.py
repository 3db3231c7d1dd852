"""Fast ground crossings (impact and launch points) for the national trackers' reports.

The same first-order method as :func:`tracking.propagate.ground_crossing` — free-flight
propagation to the ellipsoid, the covariance mapped onto the local horizontal plane
there as a 95% ellipse — tuned for a nation that reports every few seconds per track:

* the search steps 30 s at a time (RK4 on the J2 + rotating-frame dynamics is good to
  metres at that step over a ballistic arc);
* the crossing inside the last step is found on a cubic Hermite model of the height
  (heights and height rates at both ends), then polished with one Newton step on a
  propagated state, instead of a bisection;
* heights come from Bowring's closed form rather than an iterative conversion.
* the search, the steps and the covariance's flight are compiled kernels
  (:mod:`trilink.jit`).

It agrees with ``ground_crossing`` to metres and milliseconds (unit-tested) at a
fraction of the cost.
"""

from __future__ import annotations

import math

import numpy as np

from tracking.propagate import (
    _EYE6,
    AIR_STEP_S,
    CHI2_2D_95,
    GroundCrossing,
    State,
    _rk4,
    air_step_s,
    scaled_jacobian,
    vacuum_flight,
)
from trilink.air import CEILING_M as DRAG_CEILING_M
from trilink.air import drag_coefficient, height_m
from trilink.geodesy import E2, A, B, FloatArray
from trilink.jit import kernel

STEP_S = 30.0
COVARIANCE_STEP_S = 120.0  # second-order transition matrices: ~1e-3 relative over a step
MAX_TIME_S = 7200.0
_EP2 = E2 / (1.0 - E2)
_A2 = A * A
_G0 = 9.80665  # how fast a step may fall into the air
_DENSE_MPS2 = 2.0  # nominal drag deceleration below which coarser steps in the air do
_NOISE_POS = np.kron([[1.0, 0.0], [0.0, 0.0]], np.eye(3))
_NOISE_CROSS = np.kron([[0.0, 1.0], [1.0, 0.0]], np.eye(3))
_NOISE_VEL = np.kron([[0.0, 0.0], [0.0, 1.0]], np.eye(3))


def geodetic(r: FloatArray | State) -> tuple[float, float, float]:
    """Geodetic latitude, longitude (degrees) and height (m) by Bowring's closed form."""
    x, y, z = float(r[0]), float(r[1]), float(r[2])
    p = math.hypot(x, y)
    th = math.atan2(z * A, p * B)
    st, ct = math.sin(th), math.cos(th)
    lat = math.atan2(z + _EP2 * B * st**3, p - E2 * A * ct**3)
    sl, cl = math.sin(lat), math.cos(lat)
    n = A / math.sqrt(1.0 - E2 * sl * sl)
    h = p / cl - n if abs(cl) > 1e-9 else abs(z) / abs(sl) - n * (1.0 - E2)
    return math.degrees(lat), math.degrees(math.atan2(y, x)), h


@kernel
def _height_and_rate(s: State) -> tuple[float, float]:
    x, y, z = s[0], s[1], s[2]
    p = math.hypot(x, y)
    th = math.atan2(z * A, p * B)
    st, ct = math.sin(th), math.cos(th)
    lat = math.atan2(z + _EP2 * B * st**3, p - E2 * A * ct**3)
    sl, cl = math.sin(lat), math.cos(lat)
    n = A / math.sqrt(1.0 - E2 * sl * sl)
    h = p / cl - n if abs(cl) > 1e-9 else abs(z) / abs(sl) - n * (1.0 - E2)
    # Up = (cos lat cos lon, cos lat sin lon, sin lat), with cos/sin lon = x/p, y/p.
    horizontal = (x * s[3] + y * s[4]) / p if p > 0.0 else 0.0
    return h, cl * horizontal + sl * s[5]


@kernel
def _surely_above(s: State) -> bool:
    # The ellipsoid lies inside the sphere of radius A: outside it the height is positive.
    return s[0] * s[0] + s[1] * s[1] + s[2] * s[2] > _A2


@kernel
def _propagated(s: State, dt: float, air: float = 0.0) -> State:
    # Fixed RK4 steps of at most STEP_S, on plain floats (numpy's per-call cost dominates).
    n = max(1, math.ceil(abs(dt) / STEP_S))
    h = dt / n
    for _ in range(n):
        s = _rk4(s, h, air)
    return s


@kernel
def _hermite_root(h0: float, r0: float, h1: float, r1: float, step: float) -> float:
    """Where the cubic Hermite height model on [0, step] crosses zero (h0 > 0 >= h1)."""
    lo, hi = 0.0, step
    tau = step * h0 / (h0 - h1) if h0 != h1 else 0.5 * step
    for _ in range(8):
        u = tau / step
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, (u**3 - 2 * u**2 + u) * step
        h01, h11 = -2 * u**3 + 3 * u**2, (u**3 - u**2) * step
        value = h00 * h0 + h10 * r0 + h01 * h1 + h11 * r1
        if value > 0.0:
            lo = tau
        else:
            hi = tau
        d00, d10 = (6 * u**2 - 6 * u) / step, 3 * u**2 - 4 * u + 1
        d01, d11 = (-6 * u**2 + 6 * u) / step, 3 * u**2 - 2 * u
        slope = d00 * h0 + d10 * r0 + d01 * h1 + d11 * r1
        nxt = tau - value / slope if slope != 0.0 else 0.5 * (lo + hi)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - tau) < 1e-6:
            return nxt
        tau = nxt
    return tau


@kernel
def _search(
    s: State, sign: float, air: float
) -> tuple[bool, State, float, float, float, float, float]:
    """Steps of ``STEP_S`` from ``s`` (above ground) until the height turns negative:
    whether it did within ``MAX_TIME_S``, the state before, its time, and the heights
    and height rates at both ends of the last step."""
    h0, r0 = _height_and_rate(s)
    if h0 <= 0.0:
        return False, s, 0.0, h0, r0, h0, r0
    t = 0.0
    step = sign * STEP_S
    h1, r1 = h0, r0
    known = True  # whether h0, r0 belong to s (skipped while surely above ground)
    while abs(t) < MAX_TIME_S:
        nxt = _rk4(s, step, air)
        if _surely_above(nxt):
            s, t, known = nxt, t + step, False
            continue
        h1, r1 = _height_and_rate(nxt)
        if h1 <= 0.0:
            if not known:
                h0, r0 = _height_and_rate(s)
            return True, s, t, h0, r0, h1, r1
        s, t, h0, r0, known = nxt, t + step, h1, r1, True
    return False, s, t, h0, r0, h1, r1


def crossing(
    x: FloatArray,
    p: FloatArray | None = None,
    *,
    backwards: bool = False,
    air: float = 0.0,
    drag_noise: float = 1.0,
) -> GroundCrossing | None:
    """Where free flight from ``x`` meets the ellipsoid (backwards: where it came from).

    Same result type and conventions as :func:`tracking.propagate.ground_crossing`;
    ``None`` if it does not happen within two hours or ``x`` is not above ground.
    ``air`` flies forwards through the nominal air (True), or with that much of the
    nominal body's drag (a tracker's estimate of the body, ``Track.drag``), whose error
    ``drag_noise`` scales (as ``tracking.ekf.propagate_many``'s).
    """
    sign = -1.0 if backwards else 1.0
    air = 0.0 if backwards else float(air)  # as tracking.propagate.ground_crossing
    s: State = tuple(float(v) for v in x[0:6])  # type: ignore[assignment]
    found, s, t, h0, r0, h1, r1 = _search(s, sign, air)
    if not found:
        return None
    # Along the search direction the height falls: flip the rates when going backwards.
    tau = _hermite_root(h0, sign * r0, h1, sign * r1, STEP_S)
    end = _propagated(s, sign * tau, air)
    # Newton on the height: in the air drag bends the last step away from the cubic
    # model, so one correction may leave tens of metres (in vacuum one is enough).
    for _ in range(4 if air else 1):
        h, rate = _height_and_rate(end)
        if rate == 0.0 or (air and abs(h) < 0.05):
            break
        end = _propagated(end, -h / rate, air)
        t += -h / rate
    t += sign * tau
    lat, lon, _ = geodetic(end)
    final = np.array(end)
    if p is None:
        return GroundCrossing(lat, lon, t, 0.0, 0.0, 0.0, 0.0, final)
    start: State = tuple(float(v) for v in x[0:6])  # type: ignore[assignment]
    cov = _propagated_covariance(start, np.ascontiguousarray(p, dtype=float), t, air, drag_noise)
    return _with_ellipse(end, cov, lat, lon, t)


@kernel
def _covariance_step(s: State, sign: float, longest: float) -> float:
    """Length (> 0) of the next covariance step from ``s``, at most ``longest``.

    Above the air ``longest``; in it, the time to climb or fall half a scale height
    (:func:`tracking.propagate.air_step_s`), and ``AIR_STEP_S`` (the steps of
    :func:`tracking.propagate.propagate`) where the nominal drag exceeds
    ``_DENSE_MPS2``. A depressed SRBM flies wholly in the air: it gets 2 s steps only
    below ~30 km, long ones around its apogee.
    """
    x, y, z, vx, vy, vz = s
    r = math.sqrt(x * x + y * y + z * z)
    radial = (x * vx + y * vy + z * vz) / r
    lowest = height_m(x, y, z) - max(0.0, -sign * radial) * longest - 0.5 * _G0 * longest**2
    if lowest >= DRAG_CEILING_M:
        return longest
    step = min(longest, air_step_s(radial))
    lowest = height_m(x, y, z) - max(0.0, -sign * radial) * step - 0.5 * _G0 * step * step
    if drag_coefficient(max(lowest, 0.0)) * (vx * vx + vy * vy + vz * vz) > _DENSE_MPS2:
        # Where drag rivals gravity, its error dominates the covariance's growth and the
        # coarser steps overstate it (by ~10% at 4 s on a KN-25's descent).
        step = min(step, AIR_STEP_S)
    return step


@kernel
def _propagated_covariance(
    s: State, p: FloatArray, dt: float, air: float = 0.0, drag_noise: float = 1.0
) -> FloatArray:
    """``tracking.propagate.propagate``'s covariance with float Jacobians: no process
    noise but the nominal drag's error in the air.

    The same second-order transition, linearised at the drift-only midpoint of each
    step (two-body gravity gradient, frame terms, drag), on steps of
    :func:`_covariance_step` (in vacuum, equal ones of ``COVARIANCE_STEP_S`` at most).
    """
    if not air:
        return _vacuum_covariance(s, p, dt)
    p_new = p
    sign = 1.0 if dt >= 0.0 else -1.0
    total = abs(dt)
    done = 0.0
    while done < total - 1e-9:
        left = total - done
        h = sign * _covariance_step(s, sign, min(COVARIANCE_STEP_S, left))
        if abs(h) > left - 1e-9:
            h = sign * left
        done += abs(h)
        fh, q_air = scaled_jacobian(s, h, air)
        q_air *= drag_noise
        step = _EYE6 + fh + 0.5 * (fh @ fh)
        p_new = step @ p_new @ step.T
        if q_air > 0.0:
            a = abs(h)
            qa = q_air * a
            p_new = p_new + (qa * a * a / 3.0) * _NOISE_POS + (qa * a / 2.0) * _NOISE_CROSS
            p_new += qa * _NOISE_VEL
        s = _rk4(s, h, air)
    return 0.5 * (p_new + p_new.T)


@kernel
def _vacuum_covariance(s: State, p: FloatArray, dt: float) -> FloatArray:
    # Equal steps of COVARIANCE_STEP_S at most, their transitions chained: no noise to
    # add on the way, so the covariance is mapped once.
    n = max(1, math.ceil(abs(dt) / COVARIANCE_STEP_S))
    s, phi = vacuum_flight(s, dt / n, n)
    p_new = phi @ p @ phi.T
    return 0.5 * (p_new + p_new.T)


def _with_ellipse(
    final: State, p_end: FloatArray, lat: float, lon: float, t: float
) -> GroundCrossing:
    lat_r, lon_r = math.radians(lat), math.radians(lon)
    sl, cl, so, co = math.sin(lat_r), math.cos(lat_r), math.sin(lon_r), math.cos(lon_r)
    up = (cl * co, cl * so, sl)
    east = (-so, co, 0.0)
    north = (-sl * co, -sl * so, cl)
    v = final[3:6]
    vu = up[0] * v[0] + up[1] * v[1] + up[2] * v[2]
    if abs(vu) < 1e-6:
        vu = -1e-6
    # A position error slides the crossing along the velocity back to the surface:
    # the ground error is E (I - v up^T / vu) dr, E the east and north rows.
    ve = (east[0] * v[0] + east[1] * v[1]) / vu
    vn = (north[0] * v[0] + north[1] * v[1] + north[2] * v[2]) / vu
    k_rows = np.array(
        [
            [east[i] - ve * up[i] for i in range(3)],
            [north[i] - vn * up[i] for i in range(3)],
            up,
        ]
    )
    g = k_rows @ p_end[0:3, 0:3] @ k_rows.T
    a, b, c = float(g[0, 0]), 0.5 * float(g[0, 1] + g[1, 0]), float(g[1, 1])
    sigma_t = math.sqrt(max(float(g[2, 2]), 0.0)) / abs(vu)
    # Eigen-decomposition of the symmetric 2x2 ground covariance in closed form.
    mean, half = 0.5 * (a + c), math.hypot(0.5 * (a - c), b)
    major_val, minor_val = max(mean + half, 0.0), max(mean - half, 0.0)
    theta = 0.5 * math.atan2(2.0 * b, a - c)  # major axis from east, counter-clockwise
    k = math.sqrt(CHI2_2D_95)
    return GroundCrossing(
        lat,
        lon,
        t,
        sigma_t,
        k * math.sqrt(major_val) / 1000.0,
        k * math.sqrt(minor_val) / 1000.0,
        (90.0 - math.degrees(theta)) % 180.0,
        np.array(final),
    )
