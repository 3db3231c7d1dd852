"""Where a fused alert puts the missile, in the terms of a CoT ``<point>``: pure numbers.

CoT gives a point as latitude, longitude, height above the WGS-84 ellipsoid
(``hae``) and two 1-sigma errors in metres: ``ce`` (circular, horizontal) and
``le`` (linear, vertical). The alert carries an ECEF position and the upper
triangle of its 6x6 state covariance; the position block is rotated into the
local East-North-Up frame at the missile's sub-point, the horizontal 2x2 gives
``ce`` and the Up variance ``le``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trilink.constants import FloatArray
from trilink.geodesy import ecef_to_geodetic, enu_rotation
from trilink.model import FusedAlert, GroundPoint

UNKNOWN_ERROR_M = 9_999_999.0
"""CoT's value for an unknown ``ce`` or ``le``."""

CHI2_95_2D_SCALE = math.sqrt(-2.0 * math.log(0.05))
"""A 2-D Gaussian's 95% ellipse is this many sigmas along each axis (2.4477)."""


def position_covariance(covariance: Sequence[float]) -> FloatArray:
    """The 3x3 ECEF position block of a 21-value upper-triangle (row-major) 6x6 covariance."""
    if len(covariance) != 21:
        raise ValueError(f"covariance needs 21 values, got {len(covariance)}")
    block = np.zeros((3, 3))
    k = 0
    for i in range(6):
        for j in range(i, 6):
            if j < 3:
                block[i, j] = block[j, i] = covariance[k]
            k += 1
    return block


def sigma_m(variance: float) -> float:
    """The standard deviation of a variance, or CoT's "unknown" if it is not a number."""
    if not math.isfinite(variance):
        return UNKNOWN_ERROR_M
    return min(math.sqrt(max(variance, 0.0)), UNKNOWN_ERROR_M)


def circular_error_m(east_north: FloatArray) -> float:
    """1-sigma circular error of a 2x2 horizontal covariance (m²): the sigma along its
    major axis, so the circle TAK draws contains the 1-sigma ellipse. A missile
    warning should not look more certain than it is, and a track's ellipse is long
    (along-track) and thin."""
    if not np.all(np.isfinite(east_north)):
        return UNKNOWN_ERROR_M
    return sigma_m(float(np.linalg.eigvalsh(east_north)[-1]))


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """The fused state as a CoT point and ``<track>`` detail (course from true north,
    horizontal speed)."""

    lat_deg: float
    lon_deg: float
    hae_m: float
    ce_m: float
    le_m: float
    course_deg: float
    speed_mps: float


def track_point(alert: FusedAlert) -> TrackPoint:
    """Geodetic position, 1-sigma errors in the local East-North-Up frame, and the
    horizontal course and speed of the fused state."""
    lat, lon, hae = ecef_to_geodetic(np.asarray(alert.position_m, dtype=float))
    rot = enu_rotation(lat, lon)
    east, north, _up = rot @ np.asarray(alert.velocity_mps, dtype=float)
    ce = le = UNKNOWN_ERROR_M
    # A malformed covariance makes the errors unknown, not the position unusable.
    if len(alert.covariance) == 21:
        enu_cov = rot @ position_covariance(alert.covariance) @ rot.T
        ce, le = circular_error_m(enu_cov[:2, :2]), sigma_m(float(enu_cov[2, 2]))
    return TrackPoint(
        lat_deg=lat,
        lon_deg=lon,
        hae_m=hae,
        ce_m=ce,
        le_m=le,
        course_deg=math.degrees(math.atan2(east, north)) % 360.0,
        speed_mps=math.hypot(east, north),
    )


def ground_ce_m(point: GroundPoint) -> float:
    """1-sigma circular error of a launch or impact point from its 95% ellipse, by the
    track's rule: the sigma along the major axis."""
    semi_major_m = point.ellipse.semi_major_km * 1000.0
    if not math.isfinite(semi_major_m):
        return UNKNOWN_ERROR_M
    return min(max(semi_major_m, 0.0) / CHI2_95_2D_SCALE, UNKNOWN_ERROR_M)
