"""WGS-84 geodesy and the Earth-fixed equations of motion shared by simulation and tracking.

Positions and velocities are in WGS-84 ECEF (metres, m/s). Geodetic conversions
go through pymap3d; the dynamics (two-body + J2 gravity, plus the centrifugal and
Coriolis terms of the rotating frame) are written out because they sit in the
inner loop of every propagator and must stay vectorised numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pymap3d.vincenty  # a submodule: `import pymap3d` alone does not load it

from trilink.constants import FloatArray

# WGS-84 defining constants (NIMA TR8350.2) and EGM96 J2.
GM = 3.986004418e14  # m^3/s^2
A = 6378137.0  # semi-major axis, m
F = 1.0 / 298.257223563
B = A * (1.0 - F)
E2 = F * (2.0 - F)  # first eccentricity squared
OMEGA = 7.292115e-5  # rad/s, Earth rotation rate
J2 = 1.08262668e-3
R_MEAN = 6371008.8  # mean radius, m

ELLIPSOID = pymap3d.Ellipsoid.from_name("wgs84")


def geodetic_to_ecef(lat_deg: float, lon_deg: float, alt_m: float = 0.0) -> FloatArray:
    """Geodetic (deg, deg, m above the ellipsoid) to an ECEF vector (m)."""
    x, y, z = pymap3d.geodetic2ecef(lat_deg, lon_deg, alt_m, ell=ELLIPSOID)
    return np.array([x, y, z], dtype=float)


def ecef_to_geodetic(r: FloatArray) -> tuple[float, float, float]:
    """ECEF vector (m) to geodetic (lat deg, lon deg, alt m)."""
    lat, lon, alt = pymap3d.ecef2geodetic(float(r[0]), float(r[1]), float(r[2]), ell=ELLIPSOID)
    return float(lat), float(lon), float(alt)


def enu_rotation(lat_deg: float, lon_deg: float) -> FloatArray:
    """Rows are the local East, North, Up unit vectors expressed in ECEF."""
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ]
    )


def gravity_j2(r: FloatArray) -> FloatArray:
    """Gravitational acceleration (two-body + J2) at ECEF position(s) ``r`` (..., 3)."""
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    k = -GM / (r2 * rn)
    zr2 = z * z / r2
    c = 1.5 * J2 * A * A / r2
    fxy = k * (1.0 + c * (1.0 - 5.0 * zr2))
    fz = k * (1.0 + c * (3.0 - 5.0 * zr2))
    return np.stack([fxy * x, fxy * y, fz * z], axis=-1)


def ecef_acceleration(r: FloatArray, v: FloatArray) -> FloatArray:
    """Acceleration of a free-flying body in the rotating ECEF frame (m/s²).

    Gravity (J2) plus centrifugal ``-w x (w x r)`` and Coriolis ``-2 w x v`` terms,
    with w = (0, 0, OMEGA). Works on single vectors or stacks (..., 3).
    """
    g = gravity_j2(r)
    w2 = OMEGA * OMEGA
    ax = g[..., 0] + w2 * r[..., 0] + 2.0 * OMEGA * v[..., 1]
    ay = g[..., 1] + w2 * r[..., 1] - 2.0 * OMEGA * v[..., 0]
    return np.stack([ax, ay, g[..., 2]], axis=-1)


def ballistic_derivative(_t: float, state: FloatArray) -> FloatArray:
    """d/dt of a 6-state (r, v) in free flight; the signature scipy's ``solve_ivp`` wants."""
    r, v = state[:3], state[3:6]
    return np.concatenate([v, ecef_acceleration(r, v)])


def geodetic_altitude(r: FloatArray) -> float:
    """Height above the WGS-84 ellipsoid (m) of an ECEF position."""
    return ecef_to_geodetic(r)[2]


def great_circle(
    lat_deg: float, lon_deg: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """Point reached along a geodesic on the WGS-84 ellipsoid (Vincenty, via pymap3d)."""
    lat2, lon2 = pymap3d.vincenty.vreckon(lat_deg, lon_deg, distance_m, bearing_deg, ell=ELLIPSOID)
    return float(lat2), float(lon2)


def distance_bearing(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> tuple[float, float]:
    """Geodesic distance (m) and initial bearing (deg) between two points on WGS-84."""
    dist, az = pymap3d.vincenty.vdist(lat1_deg, lon1_deg, lat2_deg, lon2_deg, ell=ELLIPSOID)
    return float(dist), float(az)
