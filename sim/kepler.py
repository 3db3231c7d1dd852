"""Keplerian ballistic arcs on a spherical, non-rotating Earth.

Closed forms (and one 1-D root find) that seed the trajectory solver and check a
requested geometry: the burnout speed and flight-path angle of the arc through a
given apogee and range, and the minimum-energy arc for a range.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from sim.errors import TrajectoryError
from trilink.geodesy import GM, R_MEAN


def arc_from_apogee(r0_m: float, apogee_m: float, psi_rad: float) -> tuple[float, float]:
    """Speed (m/s) and flight-path angle (rad) at radius ``r0_m`` on a Kepler arc.

    The arc rises from ``r0_m`` to radius ``apogee_m`` and comes down to the mean Earth
    radius after a total central angle ``psi_rad``.
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
    return speed, gamma


def ground_arc(range_km: float, apogee_km: float) -> tuple[float, float]:
    """Launch speed (m/s) and elevation (rad) of the surface-to-surface arc."""
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
