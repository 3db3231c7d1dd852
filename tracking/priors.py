"""Initiation priors of a national track: what a single detection says of the state.

A radar detection is a position (range and angles inverted, with the first-order map
of their noise) and, for a Doppler radar, the velocity along the line of sight; an
infrared detection is a line of sight only, placed at a nominal altitude.
"""

from __future__ import annotations

import math

import numpy as np

from measurement.models import MeasurementModel
from trilink.geodesy import E2, A, FloatArray


def radial_velocity_prior(
    model: MeasurementModel, r: FloatArray, z: FloatArray, speed_sigma: float
) -> tuple[FloatArray, FloatArray]:
    """The velocity prior of a radar's first detection: what its range rate says.

    A Doppler radar measures the velocity along the line of sight; across it only the
    speed prior is known. Without range rate the whole velocity is the speed prior.
    """
    if not model.doppler:
        return np.zeros(3), np.eye(3) * speed_sigma**2
    u = (r - model.origin) / np.linalg.norm(r - model.origin)
    along = np.outer(u, u)
    cov = model.sigma[3] ** 2 * along + speed_sigma**2 * (np.eye(3) - along)
    return float(z[3]) * u, cov


def line_of_sight_prior(
    model: MeasurementModel, z: FloatArray, alt_m: float, alt_sigma_m: float
) -> tuple[FloatArray, FloatArray]:
    """A point on an infrared line of sight at nominal altitude, with its covariance."""
    d = np.array([math.tan(z[0]), math.tan(z[1]), 1.0])
    u = model.rotation.T @ (d / np.linalg.norm(d))
    o = model.origin
    radius = A + alt_m
    point = o
    for _ in range(3):
        # Nearest intersection of the ray with the sphere |r| = radius, then correct
        # the radius for the ellipsoid's geocentric radius at that latitude.
        b = float(o @ u)
        disc = b * b - (float(o @ o) - radius * radius)
        s = -b - math.sqrt(max(disc, 0.0))
        point = o + s * u
        sin_lat = point[2] / np.linalg.norm(point)
        radius = A * math.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin_lat * sin_lat))) + alt_m
    up = point / np.linalg.norm(point)
    slant = float(np.linalg.norm(point - o))
    along = alt_sigma_m / max(abs(float(u @ up)), 0.1)
    cross = slant * max(model.sigma)
    cov = along**2 * np.outer(u, u) + cross**2 * (np.eye(3) - np.outer(u, u))
    return point, cov
