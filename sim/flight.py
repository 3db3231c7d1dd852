"""The ballistic flight model: boost, then free flight to impact, on the rotating WGS-84 Earth.

:func:`fly` is the forward model: launch point, firing azimuth, missile, energy scale
and burnout pitch in, :class:`Trajectory` out. :func:`sim.solve.solve_trajectory`
inverts it for a reported range and apogee.

Free flight is integrated with scipy's ``solve_ivp`` (DOP853) on
:func:`trilink.geodesy.ballistic_derivative` (two-body + J2 gravity, centrifugal and
Coriolis terms) plus the drag of the re-entering body (:func:`sim.boost.drag_derivative`,
its ballistic coefficient from the catalogue) and, for the KN-23 family, the lift of
its terminal pull-up (:mod:`sim.manoeuvre`), with two events: apogee (vertical speed
crosses zero) and impact (height above the ellipsoid crosses zero). A finished
trajectory keeps states and accelerations on a fine time grid and answers
:meth:`Trajectory.state_at` by piecewise cubic Hermite interpolation, vectorised over
time, so that sampling many trajectories is cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymap3d
from scipy.integrate import OdeSolution, solve_ivp

from sim.boost import (
    ATOL,
    RTOL,
    BoostProgram,
    Derivative,
    drag_derivative,
    drag_vector,
    ellipsoid_up,
    height_proxy,
    integrate_boost,
)
from sim.catalog import Missile, get_missile
from sim.errors import TrajectoryError
from sim.manoeuvre import glide_derivative, lift_vector
from sim.spline import Spline
from trilink.geodesy import (
    ELLIPSOID,
    FloatArray,
    distance_bearing,
    ecef_acceleration,
    ecef_to_geodetic,
)
from trilink.model import MissileClass
from trilink.physics import DEFAULT_PHYSICS, Physics

MAX_FLIGHT_S = 6 * 3600.0
_BOOST_STEP_S = 1.0
_FREE_STEP_S = 10.0
# In the air drag changes the acceleration within seconds (peak deceleration of an SRBM
# body lasts ~10 s), so free flight below this height is sampled at the finer step.
_AIR_M = 100e3
_AIR_STEP_S = 0.5
_TIME_TOL_S = 1e-6


def _impact(_t: float, y: FloatArray) -> float:
    return float(height_proxy(y[:3]))


_impact.terminal = True  # type: ignore[attr-defined]
_impact.direction = -1  # type: ignore[attr-defined]


def _apogee(_t: float, y: FloatArray) -> float:
    return float(np.dot(y[3:], ellipsoid_up(y[:3])))


_apogee.direction = -1  # type: ignore[attr-defined]


def _apogee_stop(t: float, y: FloatArray) -> float:
    return _apogee(t, y)


_apogee_stop.terminal = True  # type: ignore[attr-defined]
_apogee_stop.direction = -1  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Shot:
    """The outcome of one forward run, before it is dressed as a Trajectory."""

    burnout_s: float
    burnout: FloatArray
    impact_s: float
    impact: FloatArray
    apogee_s: float
    apogee_m: float
    range_m: float
    bearing_deg: float
    impact_lat_deg: float
    impact_lon_deg: float
    segments: tuple[OdeSolution, ...] = ()
    glide: tuple[float, float] | None = None  # start and end of a pull-up's lift


@dataclass(slots=True)
class _Free:
    """Free flight after burnout, possibly in several legs (a pull-up splits it)."""

    impact_s: float = math.nan
    impact: FloatArray = field(default_factory=lambda: np.full(6, np.nan))
    apogee_s: float = math.nan
    apogee_m: float = math.nan
    segments: list[OdeSolution] = field(default_factory=list)
    glide: tuple[float, float] | None = None


def _leg(fun: Derivative, t0: float, t1: float, y0: FloatArray, events: tuple[Any, ...],
         dense: bool, free: _Free) -> Any:  # fmt: skip
    """One free-flight leg; records impact when its first event (impact) fires."""
    sol = solve_ivp(
        fun, (t0, t1), y0, method="DOP853", rtol=RTOL, atol=ATOL, events=events, dense_output=dense
    )
    if dense:
        free.segments.append(sol.sol)
    if len(sol.t_events[0]):
        free.impact_s, free.impact = float(sol.t_events[0][0]), sol.y_events[0][0]
    return sol


def _fly_free(missile: Missile, t_bo: float, burnout: FloatArray, dense: bool) -> _Free:
    """Integrate from burnout to impact: ballistic with drag, plus any pull-up.

    With a pull-up the flight stops at apogee (which sets the trigger height), at the
    trigger, and at the end of the lift, so each leg has a smooth right-hand side.
    """
    free = _Free()
    inv_beta = 1.0 / missile.drag.reentry
    ballistic = drag_derivative(inv_beta)
    end = t_bo + MAX_FLIGHT_S
    pullup = missile.pullup
    apogee = _apogee_stop if pullup else _apogee
    sol = _leg(ballistic, t_bo, end, burnout, (_impact, apogee), dense, free)
    if len(sol.t_events[1]):
        free.apogee_s = float(sol.t_events[1][0])
        free.apogee_m = ecef_to_geodetic(sol.y_events[1][0][:3])[2]
    else:  # already descending at burnout (a steeply depressed shot)
        free.apogee_s, free.apogee_m = t_bo, ecef_to_geodetic(burnout[:3])[2]
    if pullup is None or not math.isnan(free.impact_s):
        return free
    trigger = _trigger_at(min(pullup.trigger_m, pullup.trigger_fraction * free.apogee_m))
    sol = _leg(ballistic, sol.t[-1], end, sol.y[:, -1], (_impact, trigger), dense, free)
    if not math.isnan(free.impact_s):
        return free
    t0 = float(sol.t[-1])
    free.glide = (t0, t0 + pullup.duration_s)
    glide = glide_derivative(inv_beta, pullup)
    sol = _leg(glide, t0, t0 + pullup.duration_s, sol.y[:, -1], (_impact,), dense, free)
    if math.isnan(free.impact_s):
        _leg(ballistic, sol.t[-1], end, sol.y[:, -1], (_impact,), dense, free)
    return free


def _trigger_at(height_m: float) -> Any:
    def trigger(_t: float, y: FloatArray) -> float:
        return float(height_proxy(y[:3])) - height_m

    trigger.terminal = True  # type: ignore[attr-defined]
    trigger.direction = -1  # type: ignore[attr-defined]
    return trigger


def shoot(program: BoostProgram, *, dense: bool = False, geodesic: bool = True) -> Shot:
    """Fly ``program`` from lift-off to impact; ``dense`` keeps the interpolants.

    ``geodesic=False`` skips the (slow) geodesic range, bearing and impact lat/lon,
    leaving them NaN, for callers that only need the ECEF impact state.
    """
    burnout, segments = integrate_boost(program, dense=dense)
    t_bo = program.missile.boost_s
    free = _fly_free(program.missile, t_bo, burnout, dense)
    if math.isnan(free.impact_s):
        raise TrajectoryError(f"{program.missile.key} did not come down within {MAX_FLIGHT_S} s")
    impact = free.impact
    lat1 = lon1 = range_m = bearing = math.nan
    if geodesic:
        lat0, lon0, _ = ecef_to_geodetic(program.launch_r)
        lat1, lon1, _ = ecef_to_geodetic(impact[:3])
        range_m, bearing = distance_bearing(lat0, lon0, lat1, lon1)
    return Shot(
        burnout_s=t_bo,
        burnout=burnout,
        impact_s=free.impact_s,
        impact=impact,
        apogee_s=free.apogee_s,
        apogee_m=free.apogee_m,
        range_m=range_m,
        bearing_deg=bearing % 360.0,
        impact_lat_deg=lat1,
        impact_lon_deg=lon1,
        segments=(*segments, *free.segments),
        glide=free.glide,
    )


def _free_grid(seg: OdeSolution, t0: float, t1: float, air: bool = True) -> FloatArray:
    """Knots for free flight: every ``_FREE_STEP_S``, refined where the air is thick
    (unless the body flies in vacuum, ``air`` false)."""
    coarse = np.linspace(t0, t1, max(2, math.ceil((t1 - t0) / _FREE_STEP_S) + 1))
    if not air:
        return coarse
    low = height_proxy(seg(coarse)[:3].T) < _AIR_M
    airy = low[:-1] | low[1:]
    if not airy.any():
        return coarse
    n = math.ceil(_FREE_STEP_S / _AIR_STEP_S)
    parts = [coarse[:1]]
    for a, b, fine in zip(coarse[:-1], coarse[1:], airy, strict=True):
        parts.append(np.linspace(a, b, n + 1)[1:] if fine else np.array([b]))
    return np.concatenate(parts)


def _sample(program: BoostProgram, shot: Shot) -> Spline:
    ts, ys, dys = [], [], []
    inv_beta = 1.0 / program.missile.drag.reentry
    for seg in shot.segments:
        t0, t1 = float(seg.t_min), min(float(seg.t_max), shot.impact_s)
        boost = t0 < shot.burnout_s
        if boost:
            grid = np.linspace(t0, t1, max(2, math.ceil((t1 - t0) / _BOOST_STEP_S) + 1))
        else:
            grid = _free_grid(seg, t0, t1, inv_beta > 0.0)
        y = seg(grid).T
        r, v = y[:, :3], y[:, 3:]
        if boost:
            # Evaluate the thrust just inside the segment so each side of a jump keeps its own.
            acc = program.acceleration(np.clip(grid, t0, t1 - 1e-9), r, v)
        else:
            acc = ecef_acceleration(r, v)
            if inv_beta > 0.0:
                acc = acc + drag_vector(r, v, inv_beta)
            if shot.glide and shot.glide[0] <= 0.5 * (t0 + t1) < shot.glide[1]:
                assert program.missile.pullup is not None
                acc += lift_vector(r, v, inv_beta, program.missile.pullup)
        ts.append(grid)
        ys.append(y)
        dys.append(np.hstack([v, acc]))
    return Spline.fit(np.concatenate(ts), np.vstack(ys), np.vstack(dys))


@dataclass(frozen=True)
class Trajectory:
    """A ground-truth missile flight from lift-off (t = 0) to impact (t = ``flight_time_s``).

    ``bearing_deg`` and ``range_km`` are the geodesic initial bearing and distance from
    the launch point to the impact point; ``azimuth_deg`` is the firing azimuth of the
    boost plane (they differ by the Coriolis drift). ``apogee_km`` is the greatest
    height above the WGS-84 ellipsoid. ``burn_scale`` and ``pitch_deg`` are the boost
    parameters that produced the flight (see :mod:`sim.boost`).
    """

    launch_lat_deg: float
    launch_lon_deg: float
    bearing_deg: float
    missile: str
    missile_class: MissileClass
    burnout_s: float
    flight_time_s: float
    apogee_km: float
    range_km: float
    impact_lat_deg: float
    impact_lon_deg: float
    azimuth_deg: float = 0.0
    apogee_s: float = 0.0
    burn_scale: float = 1.0
    pitch_deg: float = 45.0
    burnout_speed_mps: float = 0.0
    staging_s: tuple[float, ...] = ()  # stage separations (burnouts before the last)
    _spline: Spline | None = field(default=None, repr=False, compare=False)

    def _check(self, lo: float, hi: float) -> None:
        if lo < -_TIME_TOL_S or hi > self.flight_time_s + _TIME_TOL_S:
            raise TrajectoryError(
                f"time outside the flight [0, {self.flight_time_s:.1f}] s: {lo:.3f}..{hi:.3f}"
            )

    def state_at(
        self, t_s: float | FloatArray, *, clamp: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """ECEF position (m) and velocity (m/s) at ``t_s`` seconds since launch.

        Scalar time → two (3,) arrays; array of N times → two (N, 3) arrays. Times outside
        [0, flight_time_s] raise TrajectoryError unless ``clamp`` pins them to the ends.
        """
        spline = self._spline
        if spline is None:
            raise TrajectoryError("trajectory carries no states; build it with fly()")
        if np.ndim(t_s) == 0:
            t = float(t_s)
            if not clamp:
                self._check(t, t)
            y = spline.scalar(min(max(t, 0.0), self.flight_time_s))
            return y[:3], y[3:]
        ts = np.asarray(t_s, dtype=float).ravel()
        if not clamp and ts.size:
            self._check(float(ts.min()), float(ts.max()))
        y = spline.vector(np.clip(ts, 0.0, self.flight_time_s))
        return y[:, :3], y[:, 3:]

    def boosting(self, t_s: float | FloatArray) -> bool | np.ndarray:
        """Whether the motor burns at ``t_s`` (0 <= t < burnout)."""
        t = np.asarray(t_s, dtype=float)
        result = (t >= 0.0) & (t < self.burnout_s)
        return bool(result) if result.ndim == 0 else result

    def altitude_m(self, t_s: float | FloatArray, *, clamp: bool = False) -> float | FloatArray:
        """Height above the WGS-84 ellipsoid (m) at ``t_s``."""
        r, _ = self.state_at(t_s, clamp=clamp)
        _, _, alt = pymap3d.ecef2geodetic(r[..., 0], r[..., 1], r[..., 2], ell=ELLIPSOID)
        return float(alt) if np.ndim(alt) == 0 else np.asarray(alt, dtype=float)

    def to_summary(self) -> dict[str, Any]:
        """Plain-JSON summary (what ``trilink sim trajectory --json`` prints)."""
        return {
            "missile": self.missile,
            "missile_class": self.missile_class.value,
            "launch_lat": round(self.launch_lat_deg, 6),
            "launch_lon": round(self.launch_lon_deg, 6),
            "bearing_deg": round(self.bearing_deg, 3),
            "azimuth_deg": round(self.azimuth_deg, 3),
            "range_km": round(self.range_km, 3),
            "apogee_km": round(self.apogee_km, 3),
            "flight_time_s": round(self.flight_time_s, 2),
            "apogee_s": round(self.apogee_s, 2),
            "burnout_s": round(self.burnout_s, 2),
            "burnout_speed_mps": round(self.burnout_speed_mps, 1),
            "burn_scale": round(self.burn_scale, 5),
            "pitch_deg": round(self.pitch_deg, 4),
            "impact_lat": round(self.impact_lat_deg, 6),
            "impact_lon": round(self.impact_lon_deg, 6),
        }


def build_trajectory(
    missile: Missile,
    lat_deg: float,
    lon_deg: float,
    azimuth_deg: float,
    burn_scale: float,
    pitch_deg: float,
    *,
    name: str | None = None,
    missile_class: MissileClass | None = None,
) -> Trajectory:
    """Fly the given boost parameters with dense output and wrap the result."""
    program = BoostProgram.create(missile, lat_deg, lon_deg, azimuth_deg, burn_scale, pitch_deg)
    shot = shoot(program, dense=True)
    return Trajectory(
        launch_lat_deg=lat_deg,
        launch_lon_deg=lon_deg,
        bearing_deg=shot.bearing_deg,
        missile=name or missile.key,
        missile_class=missile_class or missile.missile_class,
        burnout_s=shot.burnout_s,
        flight_time_s=shot.impact_s,
        apogee_km=shot.apogee_m / 1000.0,
        range_km=shot.range_m / 1000.0,
        impact_lat_deg=shot.impact_lat_deg,
        impact_lon_deg=shot.impact_lon_deg,
        azimuth_deg=azimuth_deg % 360.0,
        apogee_s=shot.apogee_s,
        burn_scale=burn_scale,
        pitch_deg=pitch_deg,
        burnout_speed_mps=float(np.linalg.norm(shot.burnout[3:])),
        staging_s=tuple(
            t + s.burn_s for t, s in zip(missile.stage_starts[:-1], missile.stages, strict=False)
        ),
        _spline=_sample(program, shot),
    )


def fly(
    lat_deg: float,
    lon_deg: float,
    azimuth_deg: float,
    missile: str,
    *,
    burn_scale: float = 1.0,
    pitch_deg: float = 45.0,
    physics: Physics = DEFAULT_PHYSICS,
) -> Trajectory:
    """Forward model: fire ``missile`` from (lat, lon) along ``azimuth_deg``.

    ``burn_scale`` multiplies the catalogue thrust (1 = nominal); ``pitch_deg`` is the
    thrust pitch above the local horizontal at burnout: near 90 lofts the shot, around
    40 flies a minimum-energy trajectory, low values depress it. ``physics`` chooses
    vacuum or the air.
    """
    spec = get_missile(missile)
    if not physics.air:
        spec = spec.in_vacuum()
    return build_trajectory(spec, lat_deg, lon_deg, azimuth_deg, burn_scale, pitch_deg)
