"""Solve a trajectory from a reported launch: site, bearing, ground range and apogee.

Three boost unknowns (thrust scale, burnout pitch, firing azimuth) are found by a
Newton iteration (forward-difference Jacobian, Broyden updates, backtracking) on the
full model, :func:`sim.flight.shoot` (boost, then J2 free flight in the rotating
frame, with drag and any pull-up), so that the missile lands on the geodesic ``range_km`` away along
``bearing_deg`` with the reported apogee. The firing azimuth differs from the
bearing by the Coriolis drift of the flight (up to ~4° for a lofted ICBM).

The initial guess is the Keplerian arc between launch point and target aimed across
the rotating Earth (:func:`sim.kepler.rotating_arc`), so the iteration starts close:
7–10 forward runs of 3–9 ms each. Solves are cached on the rounded inputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math

import numpy as np

from sim.boost import BoostProgram
from sim.catalog import (
    NO_DRAG,
    HistoricalLaunch,
    Missile,
    Site,
    class_template,
    get_missile,
    sites,
)
from sim.errors import TrajectoryError
from sim.flight import Trajectory, build_trajectory, shoot
from sim.kepler import ground_arc, rotating_arc
from trilink.geodesy import FloatArray, enu_rotation, geodetic_to_ecef, great_circle
from trilink.model import MissileClass
from trilink.physics import DEFAULT_PHYSICS, Physics

_G0 = 9.80665
MAX_RANGE_KM = 20000.0
MAX_APOGEE_KM = 40000.0
MIN_ELEVATION_DEG = 5.0  # flatter arcs would fly in the atmosphere: not ballistic
MAX_ELEVATION_DEG = 89.0  # steeper ones land where the Coriolis drift puts them
# Beyond this it is another missile: depressed pull-up SRBMs need up to ~1.55 with drag
# (the 800 km, 50 km apogee KN-23 of 2023-03-19), the ballistic types at most ~1.3;
# in vacuum (no drag to pay for) ~1.4 at most.
MAX_BURN_SCALE = {Physics.VACUUM: 1.5, Physics.ATMOSPHERE: 1.6}
TOLERANCE = 1e-5  # impact miss in units of the range, and relative apogee miss

_STEP = np.array([1e-4, 1e-3, 1e-3])  # finite-difference steps: scale, pitch deg, azimuth deg
_MAX_MOVE = np.array([0.15, 15.0, 10.0])  # largest Newton step per unknown
_MAX_ITER = 25
_NEAR_SITE_M = 10e3  # a launcher this close to a catalogue site starts from its solution
_AUTO_CLASSES = (MissileClass.SRBM, MissileClass.MRBM, MissileClass.IRBM, MissileClass.ICBM)


class _Residual:
    """Misses of one forward run: impact east and north in units of the range, apogee.

    The impact miss is measured in the tangent plane at the target point (Cartesian,
    so the iteration stays well-conditioned for lofted shots whose Coriolis drift is
    comparable to their range); the apogee miss is relative.
    """

    def __init__(
        self,
        spec: Missile,
        lat: float,
        lon: float,
        bearing: float,
        range_km: float,
        apogee_km: float,
    ) -> None:
        self.spec, self.lat, self.lon = spec, lat, lon
        self.range_m, self.apogee_m = range_km * 1e3, apogee_km * 1e3
        t_lat, t_lon = great_circle(lat, lon, bearing, self.range_m)
        self.target = geodetic_to_ecef(t_lat, t_lon, 0.0)
        self.east_north = enu_rotation(t_lat, t_lon)[:2] / self.range_m

    def __call__(self, x: FloatArray) -> FloatArray | None:
        program = BoostProgram.create(self.spec, self.lat, self.lon, x[2], x[0], x[1])
        try:
            shot = shoot(program, geodesic=False)
        except TrajectoryError:
            return None
        miss = self.east_north @ (shot.impact[:3] - self.target)
        return np.array([miss[0], miss[1], shot.apogee_m / self.apogee_m - 1.0])


def _initial_guess(
    spec: Missile, lat: float, lon: float, bearing: float, range_km: float, apogee_km: float
) -> FloatArray:
    """(scale, pitch, azimuth) from the Kepler arc aimed across the rotating Earth.

    Its Earth-fixed launch elevation and azimuth seed the burnout pitch and firing
    azimuth; its speed plus a gravity loss of 0.6 g over the burn, the delta-v.
    """
    target = great_circle(lat, lon, bearing, range_km * 1e3)
    speed, elevation, azimuth, _ = rotating_arc(lat, lon, *target, apogee_km, spec.boost_s / 2)
    scale = (speed + 0.6 * _G0 * spec.burn_s) / spec.dv_mps
    if scale * spec.stages[0].initial_accel_mps2 < 1.2 * _G0:
        raise TrajectoryError(
            f"{spec.key} cannot fly {range_km:g} km with a {apogee_km:g} km apogee: too little "
            "energy for it to lift off (loft it higher or pick a smaller missile)"
        )
    azimuth = bearing + (azimuth - bearing + 180.0) % 360.0 - 180.0  # keep it near the bearing
    return np.array([scale, elevation, azimuth])


def _jacobian(f: _Residual, x: FloatArray, fx: FloatArray) -> FloatArray:
    jac = np.empty((3, 3))
    for j in range(3):
        xj = x.copy()
        xj[j] += _STEP[j]
        fj = f(xj)
        if fj is None:
            raise TrajectoryError(f"{f.spec.key} cannot fly near this trajectory")
        jac[:, j] = (fj - fx) / _STEP[j]
    return jac


def _newton(
    f: _Residual, x0: FloatArray, jac0: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Newton iteration on a forward-difference Jacobian kept current by Broyden updates.

    A step that does not reduce the miss triggers a fresh Jacobian; with a fresh one,
    the step is halved (a simple backtracking line search). ``jac0`` (a neighbouring
    solution's) saves the first Jacobian. Returns (x, miss, Jacobian).
    """
    x = x0.copy()
    fx = f(x)
    if fx is None:
        raise TrajectoryError(f"{f.spec.key} cannot fly the initial guess")
    if jac0 is None:
        jac, fresh = _jacobian(f, x, fx), True
    else:
        jac, fresh = jac0.copy(), False
    for _ in range(_MAX_ITER):
        if np.max(np.abs(fx)) < TOLERANCE:
            break
        try:
            dx = np.linalg.solve(jac, -fx)
        except np.linalg.LinAlgError as exc:
            raise TrajectoryError("singular trajectory Jacobian") from exc
        dx *= min(1.0, float(np.min(_MAX_MOVE / np.maximum(np.abs(dx), 1e-300))))
        for _halving in range(6 if fresh else 1):
            fn = f(x + dx)
            if fn is not None and float(fn @ fn) < float(fx @ fx):
                break
            dx *= 0.5
        else:
            if fresh:
                break
            jac, fresh = _jacobian(f, x, fx), True
            continue
        jac += np.outer(fn - fx - jac @ dx, dx) / float(dx @ dx)
        x, fx, fresh = x + dx, fn, False
    return x, fx, jac


def _fit(
    spec: Missile,
    lat: float,
    lon: float,
    bearing: float,
    range_km: float,
    apogee_km: float,
    warm: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Boost parameters (scale, pitch, azimuth), their miss and the Jacobian there.

    ``warm`` (a neighbouring solution and its Jacobian) starts the iteration there.
    """
    if warm is not None:
        return _newton(_Residual(spec, lat, lon, bearing, range_km, apogee_km), *warm)
    return _cold_fit(spec, lat, lon, bearing, range_km, apogee_km)


@functools.lru_cache(maxsize=256)
def _cold_fit(
    spec: Missile, lat: float, lon: float, bearing: float, range_km: float, apogee_km: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`_fit` from the Kepler guess (cached: a battery's site solution is reused)."""
    f = _Residual(spec, lat, lon, bearing, range_km, apogee_km)
    guess = _initial_guess(spec, lat, lon, bearing, range_km, apogee_km)
    # The Kepler guess knows no air, and from it the Newton iteration can wander off
    # on depressed shots, where drag costs a third of the energy: solve in vacuum
    # first (cheap, and the lift of a pull-up scales with drag, so it goes too), then
    # with the atmosphere from there.
    if spec.drag != NO_DRAG:
        vacuum = dataclasses.replace(spec, drag=NO_DRAG)
        with contextlib.suppress(TrajectoryError):  # else the full problem from Kepler's
            guess, _, _ = _newton(_Residual(vacuum, lat, lon, bearing, range_km, apogee_km), guess)
    return _newton(f, guess)


def _solve_with(
    spec: Missile,
    lat: float,
    lon: float,
    bearing: float,
    range_km: float,
    apogee_km: float,
    name: str,
    warm: tuple[FloatArray, FloatArray] | None = None,
) -> Trajectory:
    x, fx, _ = _fit(spec, lat, lon, bearing, range_km, apogee_km, warm)
    what = f"{spec.key} cannot fly {range_km:g} km with a {apogee_km:g} km apogee"
    miss = float(np.max(np.abs(fx)))
    if miss > TOLERANCE:
        raise TrajectoryError(f"{what} (closest miss {miss:.2%})")
    scale, pitch, azimuth = (float(v) for v in x)
    if scale > MAX_BURN_SCALE[Physics.ATMOSPHERE if spec.drag != NO_DRAG else Physics.VACUUM]:
        raise TrajectoryError(f"{what} (it would need {scale:.2f}x its thrust)")
    return build_trajectory(
        spec, lat, lon, azimuth, scale, pitch, name=name, missile_class=spec.missile_class
    )


def _solve(
    lat: float,
    lon: float,
    bearing: float,
    range_km: float,
    apogee_km: float,
    missile: str,
    physics: Physics,
) -> Trajectory:
    spec = get_missile(missile)
    if not physics.air:
        spec = spec.in_vacuum()
    if spec.stages:
        # The warm start only pays in the air (a vacuum solve is cheap), and vacuum
        # flights stay exactly those solved from the Kepler guess.
        warm = (
            _site_start(lat, lon, bearing, range_km, apogee_km, spec.key) if physics.air else None
        )
        if warm is not None:
            with contextlib.suppress(TrajectoryError):  # else solve from scratch
                return _solve_with(spec, lat, lon, bearing, range_km, apogee_km, spec.key, warm)
        return _solve_with(spec, lat, lon, bearing, range_km, apogee_km, spec.key)
    # An unidentified missile: the smallest class whose template can deliver the arc.
    need = ground_arc(range_km, apogee_km)[0]
    templates = [class_template(c) for c in _AUTO_CLASSES]
    if not physics.air:
        templates = [t.in_vacuum() for t in templates]
    candidates = [t for t in templates if t.burnout_speed_mps >= need] or templates[-1:]
    failure: TrajectoryError | None = None
    for template in candidates:
        template = dataclasses.replace(template, pullup=None)  # an unknown type flies plain
        try:
            return _solve_with(template, lat, lon, bearing, range_km, apogee_km, spec.key)
        except TrajectoryError as exc:
            failure = exc
    assert failure is not None
    raise failure


def _site_start(
    lat: float, lon: float, bearing: float, range_km: float, apogee_km: float, missile: str
) -> tuple[FloatArray, FloatArray] | None:
    """The solution from the catalogue site within ``_NEAR_SITE_M``, to start from.

    The launchers of a battery stand a few hundred metres apart around a site: each
    would cost a full solve (vacuum, then the air: ~25 forward runs), while from the
    site's own solution and Jacobian two runs do. The start depends on the inputs
    only (the site is the catalogue's), so the result stays a function of them.
    """
    site = _nearest_site(lat, lon)
    if site is None or (site.lat_deg, site.lon_deg) == (lat, lon):
        return None
    try:
        return _site_fit(site.lat_deg, site.lon_deg, bearing, range_km, apogee_km, missile)
    except TrajectoryError:
        return None


def _nearest_site(lat: float, lon: float) -> Site | None:
    best, best_m = None, _NEAR_SITE_M
    k = math.cos(math.radians(lat))
    for site in sites().values():
        # equirectangular: metres-exact enough at a few kilometres
        dlat, dlon = site.lat_deg - lat, ((site.lon_deg - lon + 180.0) % 360.0 - 180.0) * k
        d_m = math.radians(math.hypot(dlat, dlon)) * 6371e3
        if d_m < best_m:
            best, best_m = site, d_m
    return best


def _site_fit(
    lat: float, lon: float, bearing: float, range_km: float, apogee_km: float, missile: str
) -> tuple[FloatArray, FloatArray]:
    x, fx, jac = _cold_fit(get_missile(missile), lat, lon, bearing, range_km, apogee_km)
    if float(np.max(np.abs(fx))) > TOLERANCE:
        raise TrajectoryError("no solution at the site")
    return x, jac


@functools.lru_cache(maxsize=1024)
def _solve_cached(
    lat: float,
    lon: float,
    bearing: float,
    range_km: float,
    apogee_km: float,
    missile: str,
    physics: Physics,
) -> Trajectory:
    return _solve(lat, lon, bearing, range_km, apogee_km, missile, physics)


def check_geometry(range_km: float, apogee_km: float) -> None:
    """Raise TrajectoryError unless (range, apogee) is a ballistic geometry."""
    if not (math.isfinite(range_km) and 0.0 < range_km <= MAX_RANGE_KM):
        raise TrajectoryError(f"range must be in (0, {MAX_RANGE_KM:g}] km, got {range_km:g}")
    if not (math.isfinite(apogee_km) and 0.0 < apogee_km <= MAX_APOGEE_KM):
        raise TrajectoryError(f"apogee must be in (0, {MAX_APOGEE_KM:g}] km, got {apogee_km:g}")
    elevation = math.degrees(ground_arc(range_km, apogee_km)[1])
    if elevation < MIN_ELEVATION_DEG:
        raise TrajectoryError(
            f"apogee {apogee_km:g} km is too low for a {range_km:g} km ballistic flight "
            f"(launch elevation {elevation:.1f}° < {MIN_ELEVATION_DEG:g}°)"
        )
    if elevation > MAX_ELEVATION_DEG:
        raise TrajectoryError(
            f"apogee {apogee_km:g} km is too high for a {range_km:g} km ballistic flight "
            f"(launch elevation {elevation:.2f}° > {MAX_ELEVATION_DEG:g}°)"
        )


def solve_trajectory(
    lat_deg: float,
    lon_deg: float,
    bearing_deg: float,
    range_km: float,
    apogee_km: float,
    missile: str = "unknown",
    physics: Physics = DEFAULT_PHYSICS,
) -> Trajectory:
    """The flight of ``missile`` from (lat, lon) that lands ``range_km`` away on geodesic
    bearing ``bearing_deg`` after peaking ``apogee_km`` above the WGS-84 ellipsoid,
    in vacuum or through the air as ``physics`` says.

    ``missile`` is a catalogue key, alias or class name; ``unknown`` flies the smallest
    class template that can deliver the arc and keeps the name ``unknown``. Raises
    CatalogError for an unknown missile name and TrajectoryError for an impossible
    geometry or one beyond the missile. Results are cached (inputs rounded to ~0.1 m).
    """
    if not (-90.0 <= lat_deg <= 90.0 and math.isfinite(lon_deg)):
        raise TrajectoryError(f"launch point ({lat_deg}, {lon_deg}) is not a valid lat/lon")
    if not math.isfinite(bearing_deg):
        raise TrajectoryError(f"bearing must be finite, got {bearing_deg}")
    check_geometry(range_km, apogee_km)
    return _solve_cached(
        round(lat_deg, 6),
        round((lon_deg + 180.0) % 360.0 - 180.0, 6),
        round(bearing_deg % 360.0, 4),
        round(range_km, 3),
        round(apogee_km, 3),
        get_missile(missile).key,
        physics,
    )


def solve_historical(launch: HistoricalLaunch, physics: Physics = DEFAULT_PHYSICS) -> Trajectory:
    """Reproduce a catalogued launch from its site, bearing, range, apogee and missile."""
    site = launch.site
    return solve_trajectory(
        site.lat_deg,
        site.lon_deg,
        launch.bearing_deg,
        launch.range_km,
        launch.apogee_km,
        launch.missile,
        physics,
    )
