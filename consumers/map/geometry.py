"""What the map draws, as lon/lat geometry: ellipses, radar coverage and predicted flight.

Pure functions, no I/O. Rings are lists of ``[lon, lat]`` (GeoJSON order) traced
clockwise seen from above — the winding d3-geo takes for a polygon's outside, so
the browser can hand them to ``d3.geoPath`` as they are.

Distances on the ground use a sphere of the mean Earth radius: at the scale of a
map (a 95% ellipse of a few kilometres, a radar fan of 2,000 km) the difference
to the ellipsoid is far below a pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pymap3d

from trilink.air import drag_coefficient
from trilink.constants import FloatArray
from trilink.geodesy import ELLIPSOID, R_MEAN, ecef_acceleration
from trilink.points import Ellipse

EFFECTIVE_EARTH = 4.0 / 3.0
"""Radar horizons use the 4/3-Earth model, as the simulator's sensors do."""

Ring = list[list[float]]
PathPoint = tuple[float, float, float, int]  # lon deg, lat deg, altitude km, time us


def destination(lat_deg: float, lon_deg: float, bearing_deg: float, km: float) -> list[float]:
    """``[lon, lat]`` reached ``km`` along a great circle from a point on ``bearing_deg``."""
    lat1, lon1 = math.radians(lat_deg), math.radians(lon_deg)
    brg, d = math.radians(bearing_deg), km * 1000.0 / R_MEAN
    sin_lat = math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(brg)
    lat2 = math.asin(max(-1.0, min(1.0, sin_lat)))
    lon2 = lon1 + math.atan2(
        math.sin(brg) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * sin_lat
    )
    return [round(math.degrees(lon2), 5), round(math.degrees(lat2), 5)]


def ellipse_ring(lat_deg: float, lon_deg: float, ellipse: Ellipse, points: int = 48) -> Ring:
    """The 95% ellipse around a ground point as a closed clockwise ring.

    A point at parameter t lies at (a cos t, b sin t) in the ellipse's own axes;
    its bearing from the centre rises with t, so the ring turns clockwise.
    """
    a = max(ellipse.semi_major_km, 0.05)  # a degenerate ellipse still shows as a dot
    b = max(ellipse.semi_minor_km, 0.05)
    ring: Ring = []
    for i in range(points):
        t = 2.0 * math.pi * i / points
        x, y = a * math.cos(t), b * math.sin(t)
        bearing = ellipse.orientation_deg + math.degrees(math.atan2(y, x))
        ring.append(destination(lat_deg, lon_deg, bearing, math.hypot(x, y)))
    ring.append(ring[0])
    return ring


def horizon_range_km(
    sensor_alt_m: float, target_alt_km: float, min_el_deg: float, max_range_km: float
) -> float:
    """Ground range at which a target at ``target_alt_km`` rises above a radar's horizon.

    In the 4/3-Earth model the sensor, the target and the Earth's centre form a
    triangle with the angle (90° + elevation) at the sensor; the law of sines gives
    the central angle. The slant range limit caps it (law of cosines).
    """
    re = EFFECTIVE_EARTH * R_MEAN
    rs = re + sensor_alt_m
    rt = re + target_alt_km * 1000.0
    el = math.radians(min_el_deg)
    at_target = math.asin(min(1.0, rs * math.cos(el) / rt))
    theta = max(0.0, math.pi / 2.0 - el - at_target)
    limit = max_range_km * 1000.0
    cos_max = (rs * rs + rt * rt - limit * limit) / (2.0 * rs * rt)
    if cos_max > 1.0:
        return 0.0  # the target's altitude is beyond the radar's reach
    theta = min(theta, math.acos(max(-1.0, cos_max)))
    return re * theta / 1000.0


@dataclass(frozen=True, slots=True)
class SensorSite:
    """A sensor as the map shows it (the CLI builds these from the simulator's table)."""

    name: str
    nation: str
    kind: str  # RADAR or IR
    platform: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    max_range_km: float
    boresight_deg: float = 0.0
    half_width_deg: float = 180.0
    min_el_deg: float = 0.5


def coverage_ring(sensor: SensorSite, target_alt_km: float, step_deg: float = 5.0) -> Ring | None:
    """Where a radar sees a target at ``target_alt_km``: a disc or a fan, clockwise.

    None for infrared sensors (a geostationary satellite sees the whole region) and
    for a target too high for the radar's slant range.
    """
    if sensor.kind != "RADAR":
        return None
    km = horizon_range_km(sensor.alt_m, target_alt_km, sensor.min_el_deg, sensor.max_range_km)
    if km <= 0.0:
        return None
    lat, lon = sensor.lat_deg, sensor.lon_deg
    if sensor.half_width_deg >= 180.0:
        count = round(360.0 / step_deg)
        ring = [destination(lat, lon, i * step_deg, km) for i in range(count)]
        return [*ring, ring[0]]
    start = sensor.boresight_deg - sensor.half_width_deg
    count = max(2, math.ceil(2.0 * sensor.half_width_deg / step_deg))
    width = 2.0 * sensor.half_width_deg
    arc = [destination(lat, lon, start + width * i / count, km) for i in range(count + 1)]
    apex = [round(lon, 5), round(lat, 5)]
    return [apex, *arc, apex]


def to_geodetic(r: Sequence[float] | FloatArray) -> tuple[float, float, float]:
    """ECEF (m) to (lat deg, lon deg, altitude km)."""
    lat, lon, alt = pymap3d.ecef2geodetic(float(r[0]), float(r[1]), float(r[2]), ell=ELLIPSOID)
    return float(lat), float(lon), float(alt) / 1000.0


def predict_path(
    position_m: Sequence[float],
    velocity_mps: Sequence[float],
    time_us: int,
    *,
    horizon_s: float,
    samples: int = 60,
    max_s: float = 4000.0,
    air: bool = False,
) -> list[PathPoint]:
    """Free flight from a state down to the ground: ``(lon, lat, alt km, time us)`` points.

    Ballistic (J2 gravity, rotating Earth and, with ``air``, the nominal drag of
    :mod:`trilink.air`, as the trackers fly it) from the newest fused state, with a
    fixed RK4 step of about ``horizon_s / samples`` (the alert's own predicted time to
    impact): some sixty steps per update whatever the missile's range, so a fast demo's
    updates stay cheap.
    A missile still boosting falls short of the alert's impact estimate until burnout;
    the page says the path is ballistic.
    """
    step = min(max(horizon_s / samples, 0.5), 30.0)
    r = np.asarray(position_m, dtype=float)
    v = np.asarray(velocity_mps, dtype=float)
    times = [0.0]
    states = [r]
    alt = _height_m(r)
    t = 0.0
    while alt > 0.0 and t < max_s:
        r, v = _rk4(r, v, step, air)
        t += step
        new_alt = _height_m(r)
        if new_alt <= 0.0:
            # Stop on the ground: interpolate the crossing within the last step.
            frac = alt / (alt - new_alt)
            r = states[-1] + (r - states[-1]) * frac
            t = times[-1] + step * frac
        times.append(t)
        states.append(r)
        alt = new_alt
    stack = np.array(states)
    lat, lon, h = pymap3d.ecef2geodetic(stack[:, 0], stack[:, 1], stack[:, 2], ell=ELLIPSOID)
    return [
        (
            round(float(lo), 5),
            round(float(la), 5),
            round(max(float(hh), 0.0) / 1000.0, 3),
            time_us + round(tt * 1e6),
        )
        for lo, la, hh, tt in zip(
            np.atleast_1d(lon), np.atleast_1d(lat), np.atleast_1d(h), times, strict=True
        )
    ]


def _height_m(r: FloatArray) -> float:
    # Altitude over a sphere of the local ellipsoid radius: cheap, and the path is
    # converted exactly (pymap3d) once at the end.
    x, y, z = float(r[0]), float(r[1]), float(r[2])
    rn = math.sqrt(x * x + y * y + z * z)
    sin2 = z * z / (rn * rn)
    b2 = (ELLIPSOID.semiminor_axis / ELLIPSOID.semimajor_axis) ** 2
    local = ELLIPSOID.semimajor_axis * math.sqrt(b2 / (1.0 - (1.0 - b2) * (1.0 - sin2)))
    return rn - local


def _acceleration(r: FloatArray, v: FloatArray, air: bool) -> FloatArray:
    if not air:
        return ecef_acceleration(r, v)
    # Drag as the trackers fly it: without it a short-range missile's path lands km long.
    drag = drag_coefficient(_height_m(r)) * float(np.linalg.norm(v))
    result: FloatArray = ecef_acceleration(r, v) - drag * v
    return result


def _rk4(r: FloatArray, v: FloatArray, h: float, air: bool) -> tuple[FloatArray, FloatArray]:
    a1 = _acceleration(r, v, air)
    r2, v2 = r + 0.5 * h * v, v + 0.5 * h * a1
    a2 = _acceleration(r2, v2, air)
    r3, v3 = r + 0.5 * h * v2, v + 0.5 * h * a2
    a3 = _acceleration(r3, v3, air)
    r4, v4 = r + h * v3, v + h * a3
    a4 = _acceleration(r4, v4, air)
    r_next = r + h / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
    v_next = v + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return r_next, v_next
