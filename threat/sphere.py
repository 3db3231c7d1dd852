"""Spherical geometry on the mean Earth for threat areas: distances, bearings, projections.

Everything here works on the mean sphere (R = 6371.0088 km). For areas that are
tens to hundreds of kilometres across the error against the WGS-84 ellipsoid is
below 0.5%, far inside the 95% ellipses and the coarseness of the coastlines.

Longitudes are kept *east-positive on [0, 360)* ("Pacific-centred") by the data and
the assessment, so that a track over the Pacific never wraps at the antimeridian.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from trilink.constants import FloatArray

R_KM = 6371.0088
NM_KM = 1.852


def east_lon(lon_deg: FloatArray | float) -> FloatArray:
    """Longitude(s) on [0, 360)."""
    return np.mod(np.asarray(lon_deg, dtype=float), 360.0)


def _clip(x: FloatArray, lo: float, hi: float) -> FloatArray:
    """``np.clip(x, lo, hi)`` at half the cost on short arrays (no Python wrapper).

    The same values: both propagate NaN, and where ``x`` equals a bound both give that
    value; they could differ only in the sign of a zero equal to a zero bound, and the
    haversine term clipped to [0, 1] is never -0 (a sum of squares times cosines of
    latitudes, which are positive).
    """
    result: FloatArray = np.minimum(np.maximum(x, lo), hi)
    return result


def haversine_km(dlat: FloatArray, dlon: FloatArray, cos_cos: FloatArray | float) -> FloatArray:
    """Haversine distance from the differences of latitude and longitude (radians) and
    the product of the two latitudes' cosines: the one formula of the functions below."""
    h = np.sin(dlat / 2) ** 2 + cos_cos * np.sin(dlon / 2) ** 2
    result: FloatArray = 2.0 * R_KM * np.arcsin(np.sqrt(_clip(h, 0.0, 1.0)))
    return result


def distance_km(lat1: float, lon1: float, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Great-circle distance (km) from one point to many (haversine)."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dlon = np.radians(np.asarray(lon2, dtype=float) - lon1)
    return haversine_km(p2 - p1, dlon, math.cos(p1) * np.cos(p2))


def distance_km_pairs(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distances (km) between paired points (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlon = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    return haversine_km(p2 - p1, dlon, np.cos(p1) * np.cos(p2))


def leg_samples(points: Sequence[tuple[float, float, int]], step_km: float) -> list[int]:
    """``max(2, ceil(length / step_km) + 1)`` for each leg of a path of ``(lat, lon, _)``
    points, its length as :func:`distance_km` gives it.

    Worked out with ``math`` (a few µs instead of a few dozen for the numpy calls); that
    can differ from numpy's ``arcsin`` in the last bits only, which changes the count
    only where ``length / step_km`` is that close to a whole number. There, for a leg
    near half the globe (where ``arcsin`` magnifies such differences) and for a
    non-finite length, the length is taken from :func:`distance_km` itself.
    """
    counts = []
    for (la0, lo0, _), (la1, lo1, _) in itertools.pairwise(points):
        p1, p2 = math.radians(la0), math.radians(la1)
        dlon = math.radians(lo1 - lo0)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
        x = 2.0 * R_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0))) / step_km
        if not math.isfinite(x) or h > 0.99 or abs(x - round(x)) < 1e-6 * max(1.0, x):
            x = float(distance_km(la0, lo0, np.array(la1), np.array(lo1))) / step_km
        counts.append(max(2, math.ceil(x) + 1))
    return counts


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing (degrees clockwise from north) from point 1 to point 2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    y = math.sin(dlon) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360.0


def destination(
    lat: FloatArray | float,
    lon: FloatArray | float,
    bearing: FloatArray | float,
    dist_km: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    """Point(s) ``dist_km`` away along initial ``bearing`` (degrees), longitudes on [0, 360)."""
    p1, d = np.radians(lat), np.asarray(dist_km, dtype=float) / R_KM
    return destination_from(
        np.sin(p1), np.cos(p1), np.radians(lon), np.radians(bearing), np.sin(d), np.cos(d)
    )


def destination_from(
    sin_p1: FloatArray,
    cos_p1: FloatArray,
    lon1_rad: FloatArray,
    bearing_rad: FloatArray,
    sin_d: FloatArray,
    cos_d: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """:func:`destination` from the sines and cosines of the start latitudes and of the
    angular distances, for callers that already have them (a track's corridor)."""
    p2 = np.arcsin(sin_p1 * cos_d + cos_p1 * sin_d * np.cos(bearing_rad))
    l2 = lon1_rad + np.arctan2(np.sin(bearing_rad) * sin_d * cos_p1, cos_d - sin_p1 * np.sin(p2))
    return np.degrees(p2), east_lon(np.degrees(l2))


def _unit(lat: FloatArray, lon: FloatArray) -> FloatArray:
    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=-1)


def interpolate(
    lat1: float, lon1: float, lat2: float, lon2: float, fractions: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points on the great circle from 1 to 2 at ``fractions`` (0..1) of the way (slerp)."""
    a, b = _unit(np.array(lat1), np.array(lon1)), _unit(np.array(lat2), np.array(lon2))
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    f = np.asarray(fractions, dtype=float)[:, None]
    if omega < 1e-12:
        v = np.repeat(a[None, :], len(f), axis=0)
    else:
        v = (np.sin((1 - f) * omega) * a + np.sin(f * omega) * b) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(v[:, 2], -1.0, 1.0)))
    lon = east_lon(np.degrees(np.arctan2(v[:, 1], v[:, 0])))
    return lat, lon


def interpolate_legs(
    lat: FloatArray, lon: FloatArray, fractions: Sequence[FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Points on the great circles joining consecutive points, leg ``i`` (point ``i`` to
    ``i + 1``) at ``fractions[i]``, all legs concatenated.

    Each sample is bit for bit what :func:`interpolate` gives for its leg (the same
    operations, element by element) at a fraction of the cost: one pass of numpy calls
    for the whole path instead of one per leg.
    """
    p, lam = np.radians(lat), np.radians(lon)
    cos_p = np.cos(p)
    u = np.empty((len(p), 3))
    u[:, 0], u[:, 1], u[:, 2] = cos_p * np.cos(lam), cos_p * np.sin(lam), np.sin(p)
    omega = [math.acos(max(-1.0, min(1.0, float(u[i] @ u[i + 1])))) for i in range(len(u) - 1)]
    counts = [len(f) for f in fractions]
    f = np.concatenate(fractions)[:, None]
    om = np.repeat(omega, counts)[:, None]
    # Degenerate legs divide by 1 here and are replaced by their start point below.
    sin_om = np.repeat([math.sin(w) if w >= 1e-12 else 1.0 for w in omega], counts)[:, None]
    a, b = np.repeat(u[:-1], counts, axis=0), np.repeat(u[1:], counts, axis=0)
    v = (np.sin((1 - f) * om) * a + np.sin(f * om) * b) / sin_om
    if min(omega) < 1e-12:
        same = np.repeat(np.array(omega) < 1e-12, counts)
        v[same] = a[same]
    out_lat = np.degrees(np.arcsin(_clip(v[:, 2], -1.0, 1.0)))
    out_lon = east_lon(np.degrees(np.arctan2(v[:, 1], v[:, 0])))
    return out_lat, out_lon


def unwrap_lon(lon_deg: FloatArray) -> FloatArray:
    """Longitudes made continuous along a path (no jump at 0/360), first point on [0, 360)."""
    p = np.radians(np.asarray(lon_deg, dtype=float))
    if len(p) > 1 and (np.abs(p[1:] - p[:-1]) < math.pi).all():
        # Nothing to unwrap: what np.unwrap gives then (every step's correction is 0,
        # added as p + 0.0) without its dozen calls.
        lon = p + 0.0
        lon[0] = p[0]
    else:
        lon = np.unwrap(p)
    out: FloatArray = np.degrees(lon - 2 * math.pi * math.floor(lon[0] / (2 * math.pi)))
    return out


class Aeqd:
    """Azimuthal equidistant projection on the sphere, centred at (lat0, lon0), in km.

    Distances and bearings from the centre are exact; elsewhere the scale error is
    about (ρ/R)²/6: 0.1% at 500 km from the centre, 0.9% at 1,500 km. Used to buffer
    coastlines (centred on each island) and to draw median lines.
    """

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        self._sp0, self._cp0 = math.sin(math.radians(lat0)), math.cos(math.radians(lat0))

    def forward(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(lon, lat) degrees -> (x east, y north) km."""
        p, dl = np.radians(lat), np.radians(np.asarray(lon) - self.lon0)
        cosc = np.clip(self._sp0 * np.sin(p) + self._cp0 * np.cos(p) * np.cos(dl), -1.0, 1.0)
        c = np.arccos(cosc)
        k = np.where(c > 1e-12, c / np.maximum(np.sin(c), 1e-300), 1.0) * R_KM
        x = k * np.cos(p) * np.sin(dl)
        y = k * (self._cp0 * np.sin(p) - self._sp0 * np.cos(p) * np.cos(dl))
        return x, y

    def inverse(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(x east, y north) km -> (lon, lat) degrees, lon continuous around lon0."""
        rho = np.hypot(x, y)
        c = rho / R_KM
        sc, cc = np.sin(c), np.cos(c)
        safe = np.where(rho > 1e-9, rho, 1.0)
        lat = np.arcsin(np.clip(cc * self._sp0 + y * sc * self._cp0 / safe, -1.0, 1.0))
        lon = np.arctan2(x * sc, rho * self._cp0 * cc - y * self._sp0 * sc)
        lat = np.where(rho > 1e-9, lat, math.radians(self.lat0))
        return self.lon0 + np.degrees(lon), np.degrees(lat)


_A, _F = 6378137.0, 1.0 / 298.257223563  # WGS-84
_E2 = _F * (2.0 - _F)
_B = _A * (1.0 - _F)
_EP2 = _E2 / (1.0 - _E2)


def subpoint(r_m: tuple[float, float, float]) -> tuple[float, float]:
    """Geodetic latitude and longitude (degrees) under an ECEF position (m).

    Bowring's closed form: well under a metre of latitude error at missile heights,
    ten times cheaper than an iterative conversion, which matters on the alert path.
    """
    x, y, z = r_m
    p = math.hypot(x, y)
    theta = math.atan2(z * _A, p * _B)
    lat = math.atan2(z + _EP2 * _B * math.sin(theta) ** 3, p - _E2 * _A * math.cos(theta) ** 3)
    return math.degrees(lat), math.degrees(math.atan2(y, x)) % 360.0
