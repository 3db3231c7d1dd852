"""Measurement models: what a sensor measures of a target, shared by the simulator
(which draws detections from them) and the trackers (which filter with them), as
Stone Soup keeps ``models/measurement`` apart from both sensors and updaters.

Measurement models:

* radar — range, azimuth (clockwise from north), elevation in the sensor's local
  East-North-Up frame (straight-line geometry; the refraction the 4/3-Earth horizon
  stands for only limits visibility, real radars correct it in their angles) and,
  for a pulse-Doppler radar (a fourth sigma), the range rate: the target's velocity
  relative to the sensor (ECEF, where a ground or ship-borne sensor is nearly at
  rest) along the line of sight;
* infrared — two focal-plane line-of-sight angles ``atan2(a, c)``, ``atan2(b, c)``
  of the target direction ``(a, b, c)`` in a sensor frame whose third axis is the
  boresight. No range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from measurement.errors import MeasurementError
from trilink.geodesy import FloatArray


class MeasurementKind(StrEnum):
    RADAR = "RADAR"
    IR = "IR"


@dataclass(frozen=True, slots=True)
class MeasurementModel:
    """Where a sensor is and what it measures: enough to predict and linearise a measurement.

    ``rotation`` rows are the sensor's axes in ECEF (East, North, Up for a radar;
    focal-plane a, b and boresight for an infrared sensor). ``sigma`` is the 1-sigma
    noise per measured component (metres for range, radians for angles).
    """

    kind: MeasurementKind
    origin: FloatArray
    rotation: FloatArray
    sigma: tuple[float, ...]
    noise: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        expected = (3, 4) if self.kind is MeasurementKind.RADAR else (2,)
        if len(self.sigma) not in expected:
            wanted = " or ".join(str(n) for n in expected)
            raise MeasurementError(f"{self.kind} measurement needs {wanted} sigmas")
        object.__setattr__(self, "noise", np.diag(np.square(np.asarray(self.sigma, float))))

    @property
    def dim(self) -> int:
        return len(self.sigma)

    @property
    def doppler(self) -> bool:
        """Whether the radar measures range rate (its fourth component)."""
        return self.dim == 4

    @property
    def angle_index(self) -> int | None:
        """Component that wraps at ±pi (radar azimuth), if any."""
        return 1 if self.kind is MeasurementKind.RADAR else None


def blended(model: MeasurementModel, range_m: float, angle_rad: float) -> MeasurementModel:
    """How a detection of unresolved objects is read: ``model`` with each position
    component's noise widened by the resolution cell (``range_m``, ``angle_rad``).

    A blend's centroid lies anywhere between its members, as their fluctuating
    amplitudes weigh them (for two Swerling targets the weight is uniform on [0, 1]),
    and they are at most about a cell apart: a uniform spread over the cell, variance
    width² / 12, on top of the sensor's own noise. The range rate (a Doppler radar's
    fourth component) is not widened: the blend's is its members' weighted mean too,
    but nothing bounds their difference by a cell.
    """
    cell = (
        [range_m, angle_rad, angle_rad] if model.kind is MeasurementKind.RADAR else [angle_rad] * 2
    )
    extra = cell + [0.0] * (model.dim - len(cell))
    sigma = tuple(
        math.hypot(s, e / math.sqrt(12.0)) for s, e in zip(model.sigma, extra, strict=True)
    )
    return MeasurementModel(model.kind, model.origin, model.rotation, sigma)


def measure(model: MeasurementModel, r: FloatArray, v: FloatArray | None = None) -> FloatArray:
    """Noise-free measurements of ECEF positions ``r`` (n, 3) -> (n, dim).

    A Doppler radar's range rate needs the ECEF velocities ``v`` (n, 3).
    """
    z = measure_geometry(model, r)
    if not model.doppler:
        return z
    if v is None:
        raise MeasurementError("a Doppler radar's measurement needs the target's velocity")
    los = np.asarray(r, dtype=float) - model.origin
    rdot = np.einsum("ij,ij->i", los, np.asarray(v, dtype=float)) / z[:, 0]
    return np.concatenate([z, rdot[:, None]], axis=1)


def measure_geometry(model: MeasurementModel, r: FloatArray) -> FloatArray:
    """The position-only components (range and angles, or the two angles) of ``r`` (n, 3)."""
    d = (np.asarray(r, dtype=float) - model.origin) @ model.rotation.T
    if model.kind is MeasurementKind.RADAR:
        e, n, u = d[:, 0], d[:, 1], d[:, 2]
        rng = np.sqrt(e * e + n * n + u * u)
        return np.stack([rng, np.arctan2(e, n), np.arctan2(u, np.hypot(e, n))], axis=-1)
    return np.stack([np.arctan2(d[:, 0], d[:, 2]), np.arctan2(d[:, 1], d[:, 2])], axis=-1)


def predict_measurement(model: MeasurementModel, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Predicted measurements (n, dim) of states ``x`` (n, 6) and their Jacobians (n, dim, 6)."""
    d = (x[:, 0:3] - model.origin) @ model.rotation.T
    n_rows = x.shape[0]
    jac_d = np.zeros((n_rows, model.dim, 3))
    if model.kind is MeasurementKind.RADAR:
        e, n, u = d[:, 0], d[:, 1], d[:, 2]
        h2 = e * e + n * n
        h = np.sqrt(h2)
        r2 = h2 + u * u
        rng = np.sqrt(r2)
        z = np.stack([rng, np.arctan2(e, n), np.arctan2(u, h)], axis=-1)
        jac_d[:, 0, :] = d / rng[:, None]
        jac_d[:, 1, 0] = n / h2
        jac_d[:, 1, 1] = -e / h2
        k = 1.0 / (r2 * h)
        jac_d[:, 2, 0] = -e * u * k
        jac_d[:, 2, 1] = -n * u * k
        jac_d[:, 2, 2] = h2 * k
        if model.doppler:
            # rdot = u . v with u the unit line of sight: d rdot/dr = (v - rdot u)/range.
            los = x[:, 0:3] - model.origin
            unit = los / rng[:, None]
            rdot = np.einsum("ij,ij->i", unit, x[:, 3:6])
            z = np.concatenate([z, rdot[:, None]], axis=1)
    else:
        a, b, c = d[:, 0], d[:, 1], d[:, 2]
        z = np.stack([np.arctan2(a, c), np.arctan2(b, c)], axis=-1)
        ac = a * a + c * c
        bc = b * b + c * c
        jac_d[:, 0, 0] = c / ac
        jac_d[:, 0, 2] = -a / ac
        jac_d[:, 1, 1] = c / bc
        jac_d[:, 1, 2] = -b / bc
    jac = np.zeros((n_rows, model.dim, 6))
    jac[:, :, 0:3] = jac_d @ model.rotation
    if model.doppler:
        jac[:, 3, 0:3] = (x[:, 3:6] - rdot[:, None] * unit) / rng[:, None]
        jac[:, 3, 3:6] = unit
    return z, jac


def innovation(model: MeasurementModel, z: FloatArray, z_hat: FloatArray) -> FloatArray:
    """``z - z_hat`` with the azimuth difference wrapped into (-pi, pi]."""
    nu = z - z_hat
    i = model.angle_index
    if i is not None:
        nu[..., i] = (nu[..., i] + math.pi) % (2.0 * math.pi) - math.pi
    return nu


def radar_position(model: MeasurementModel, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert radar measurements (n, 3) into ECEF positions (n, 3) and covariances (n, 3, 3).

    The covariance is the first-order map of the measurement noise.
    """
    rng, az, el = z[:, 0], z[:, 1], z[:, 2]  # a Doppler radar's range rate is not used here
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    enu = np.stack([rng * ce * sa, rng * ce * ca, rng * se], axis=-1)
    jac = np.zeros((z.shape[0], 3, 3))
    jac[:, 0, :] = np.stack([ce * sa, rng * ce * ca, -rng * se * sa], axis=-1)
    jac[:, 1, :] = np.stack([ce * ca, -rng * ce * sa, -rng * se * ca], axis=-1)
    jac[:, 2, :] = np.stack([se, np.zeros_like(rng), rng * ce], axis=-1)
    jac = model.rotation.T @ jac
    cov = jac @ model.noise[0:3, 0:3] @ jac.transpose(0, 2, 1)
    return model.origin + enu @ model.rotation, cov
