"""Keplerian ballistic arcs on a spherical Earth.

Closed forms (and one 1-D root find) that seed the trajectory solver and check a
requested geometry: the speed, flight-path angle and flight time of the arc through
a given apogee and range, the same arc aimed from the rotating Earth, and the
minimum-energy arc for a range.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from sim.errors import TrajectoryError
from trilink.geodesy import GM, OMEGA, R_MEAN, FloatArray


def arc_from_apogee(r0_m: float, apogee_m: float, psi_rad: float) -> tuple[float, float, float]:
    """Speed (m/s), flight-path angle (rad) and flight time (s) of a Kepler arc.

    The arc rises from radius ``r0_m`` to radius ``apogee_m`` and comes down to the mean
    Earth radius after a total central angle ``psi_rad``.
    """
    ra, re = apogee_m, R_MEAN
    if not (re < ra and r0_m < ra):
        raise TrajectoryError("the apogee must lie above the launch and impact points")

    def descent(e: float, r: float) -> float:
        # central angle between the apogee and radius r on the ellipse of eccentricity e
        p = ra * (1.0 - e)
        return math.acos(min(1.0, max(-1.0, (1.0 - p / r) / e)))

    def total(e: float) -> float:
        return descent(e, r0_m) + descent(e, re) - psi_rad

    lowest = min(r0_m, re)
    lo, hi = (ra - lowest) / (ra + lowest) + 1e-12, 1.0 - 1e-12
    if total(lo) < 0.0:
        raise TrajectoryError("no ballistic arc reaches that far under that apogee")
    e = brentq(total, lo, hi, xtol=1e-13) if total(hi) < 0.0 else hi
    a = ra / (1.0 + e)
    speed = math.sqrt(GM * (2.0 / r0_m - 1.0 / a))
    nu = math.pi - descent(e, r0_m)  # true anomaly at r0 (perigee at 0, apogee at pi)
    gamma = math.atan2(e * math.sin(nu), 1.0 + e * math.cos(nu))

    def to_apogee(r: float) -> float:  # Kepler's equation, eccentric anomaly E at radius r
        big_e = math.acos(min(1.0, max(-1.0, (1.0 - r / a) / e)))
        return (math.pi - big_e + e * math.sin(big_e)) * math.sqrt(a**3 / GM)

    return speed, gamma, to_apogee(r0_m) + to_apogee(re)


def ground_arc(range_km: float, apogee_km: float) -> tuple[float, float, float]:
    """Launch speed (m/s), elevation (rad) and flight time (s) of the surface-to-surface arc."""
    return arc_from_apogee(R_MEAN, R_MEAN + apogee_km * 1e3, range_km * 1e3 / R_MEAN)


def minimum_energy_apogee_km(range_km: float) -> float:
    """Apogee (km) of the minimum-energy surface-to-surface arc over ``range_km``.

    The optimal launch elevation is (pi - psi) / 4 for a central angle psi; a lofted
    trajectory peaks higher, a depressed one lower.
    """
    psi = range_km * 1e3 / R_MEAN
    s = math.sin(psi / 2.0)
    v2 = GM / R_MEAN * 2.0 * s / (1.0 + s)
    gamma = (math.pi - psi) / 4.0
    a = 1.0 / (2.0 / R_MEAN - v2 / GM)
    h = R_MEAN * math.sqrt(v2) * math.cos(gamma)
    e = math.sqrt(max(0.0, 1.0 - h * h / (GM * a)))
    return (a * (1.0 + e) - R_MEAN) / 1e3


def rotating_arc(
    lat_deg: float,
    lon_deg: float,
    target_lat_deg: float,
    target_lon_deg: float,
    apogee_km: float,
    delay_s: float = 0.0,
) -> tuple[float, float, float, float]:
    """The Kepler arc between two ground points of the rotating Earth, seen from the ground.

    The target moves east with the Earth during the flight (plus ``delay_s``, e.g. part of
    the boost) and the launcher already moves east at ω r cos(lat): the arc is solved in
    the inertial frame, then its launch velocity is taken back to the Earth-fixed frame.
    Returns Earth-fixed launch speed (m/s), elevation (deg), azimuth (deg) and the flight
    time (s). Geocentric spherical coordinates: for initial guesses only.
    """
    r0 = _unit(lat_deg, lon_deg)
    r1 = _unit(target_lat_deg, target_lon_deg)
    flight = 0.0
    for _ in range(4):  # the target's motion depends on the flight time, and back
        spin = OMEGA * (flight + delay_s)
        c, s = math.cos(spin), math.sin(spin)
        r1i = np.array([c * r1[0] - s * r1[1], s * r1[0] + c * r1[1], r1[2]])
        psi = math.acos(float(np.clip(r0 @ r1i, -1.0, 1.0)))
        speed, gamma, flight = arc_from_apogee(R_MEAN, R_MEAN + apogee_km * 1e3, psi)
    along = r1i - (r1i @ r0) * r0
    along /= np.linalg.norm(along)
    v_inertial = speed * (math.cos(gamma) * along + math.sin(gamma) * r0)
    v = v_inertial - np.cross([0.0, 0.0, OMEGA], r0 * R_MEAN)
    east = np.array([-math.sin(math.radians(lon_deg)), math.cos(math.radians(lon_deg)), 0.0])
    north = np.cross(r0, east)
    speed_e = float(np.linalg.norm(v))
    elevation = math.degrees(math.asin(float(v @ r0) / speed_e))
    azimuth = math.degrees(math.atan2(float(v @ east), float(v @ north))) % 360.0
    return speed_e, elevation, azimuth, flight


def _unit(lat_deg: float, lon_deg: float) -> FloatArray:
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
