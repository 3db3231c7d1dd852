"""Extended Kalman filter steps for ballistic targets, batched over many filters at once.

A national tracker runs one filter per track and per motion model (see
:mod:`tracking.tracker`); a sensor scan touches all of them at the same instant, so
every step here works on stacks — states ``(n, 6)``, covariances ``(n, 6, 6)`` —
and costs a fixed number of numpy calls whatever ``n`` is. The dynamics are those
of :func:`tracking.propagate.propagate` (rotating-frame two-body + J2 gravity, RK4
on the state, the midpoint-linearised second-order transition matrix on the
covariance, white-acceleration process noise), written over stacks; the unit tests
check the two agree.

Measurement models:

* radar — range, azimuth (clockwise from north), elevation in the sensor's local
  East-North-Up frame (straight-line geometry; the refraction the 4/3-Earth horizon
  stands for only limits visibility, real radars correct it in their angles);
* infrared — two focal-plane line-of-sight angles ``atan2(a, c)``, ``atan2(b, c)``
  of the target direction ``(a, b, c)`` in a sensor frame whose third axis is the
  boresight. No range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from trilink.geodesy import GM, OMEGA, FloatArray, ecef_acceleration

_W2 = OMEGA * OMEGA
_LOG_2PI = math.log(2.0 * math.pi)


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
        expected = 3 if self.kind is MeasurementKind.RADAR else 2
        if len(self.sigma) != expected:
            raise ValueError(f"{self.kind} measurement needs {expected} sigmas")
        object.__setattr__(self, "noise", np.diag(np.square(np.asarray(self.sigma, float))))

    @property
    def dim(self) -> int:
        return len(self.sigma)

    @property
    def angle_index(self) -> int | None:
        """Component that wraps at ±pi (radar azimuth), if any."""
        return 1 if self.kind is MeasurementKind.RADAR else None


def measure(model: MeasurementModel, r: FloatArray) -> FloatArray:
    """Noise-free measurements of ECEF positions ``r`` (n, 3) -> (n, dim)."""
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
    rng, az, el = z[:, 0], z[:, 1], z[:, 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    enu = np.stack([rng * ce * sa, rng * ce * ca, rng * se], axis=-1)
    jac = np.zeros((z.shape[0], 3, 3))
    jac[:, 0, :] = np.stack([ce * sa, rng * ce * ca, -rng * se * sa], axis=-1)
    jac[:, 1, :] = np.stack([ce * ca, -rng * ce * sa, -rng * se * ca], axis=-1)
    jac[:, 2, :] = np.stack([se, np.zeros_like(rng), rng * ce], axis=-1)
    jac = model.rotation.T @ jac
    cov = jac @ model.noise @ jac.transpose(0, 2, 1)
    return model.origin + enu @ model.rotation, cov


def _dynamics_jacobian(x: FloatArray) -> FloatArray:
    """Stacked version of :func:`tracking.propagate.jacobian` (n, 6) -> (n, 6, 6)."""
    r = x[:, 0:3]
    rn2 = np.einsum("ij,ij->i", r, r)
    rn = np.sqrt(rn2)
    k = (GM / (rn2 * rn))[:, None, None]
    g = k * (3.0 * r[:, :, None] * r[:, None, :] / rn2[:, None, None] - np.eye(3))
    f = np.zeros((x.shape[0], 6, 6))
    f[:, 0:3, 3:6] = np.eye(3)
    f[:, 3:6, 0:3] = g
    f[:, 3, 0] += _W2
    f[:, 4, 1] += _W2
    f[:, 3, 4] = 2.0 * OMEGA
    f[:, 4, 3] = -2.0 * OMEGA
    return f


def _derivative(s: FloatArray) -> FloatArray:
    return np.concatenate([s[:, 3:6], ecef_acceleration(s[:, 0:3], s[:, 3:6])], axis=1)


def propagate_many(
    x: FloatArray, p: FloatArray, dt: FloatArray, q: FloatArray, max_step: float = 5.0
) -> tuple[FloatArray, FloatArray]:
    """Propagate stacked states (n, 6) and covariances (n, 6, 6) by per-row ``dt`` (s).

    ``q`` (n,) is each row's white-acceleration spectral density (m²/s³). Rows share
    the number of RK4 sub-steps (set by the longest ``|dt|``), each with its own step
    length, so a row with ``dt = 0`` comes back unchanged.
    """
    dt = np.asarray(dt, dtype=float)
    longest = float(np.max(np.abs(dt))) if dt.size else 0.0
    if longest == 0.0:
        return x.copy(), p.copy()
    steps = max(1, math.ceil(longest / max_step))
    h = (dt / steps)[:, None]
    h3 = h[:, :, None]
    s = np.asarray(x, dtype=float)
    phi = np.broadcast_to(np.eye(6), p.shape).copy()
    for _ in range(steps):
        mid = s.copy()
        mid[:, 0:3] += 0.5 * h * s[:, 3:6]
        f = _dynamics_jacobian(mid) * h3
        phi = (np.eye(6) + f + 0.5 * (f @ f)) @ phi
        k1 = _derivative(s)
        k2 = _derivative(s + 0.5 * h * k1)
        k3 = _derivative(s + 0.5 * h * k2)
        k4 = _derivative(s + h * k3)
        s = s + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    p_new = phi @ p @ phi.transpose(0, 2, 1)
    p_new += process_noise_many(dt, q)
    return s, 0.5 * (p_new + p_new.transpose(0, 2, 1))


def process_noise_many(dt: FloatArray, q: FloatArray) -> FloatArray:
    """Stacked :func:`tracking.propagate.process_noise` (n,) -> (n, 6, 6)."""
    a = np.abs(np.asarray(dt, dtype=float))
    q = np.asarray(q, dtype=float)
    out = np.zeros((a.shape[0], 6, 6))
    eye = np.eye(3)
    out[:, 0:3, 0:3] = (q * a**3 / 3.0)[:, None, None] * eye
    cross = (q * a**2 / 2.0)[:, None, None] * eye
    out[:, 0:3, 3:6] = cross
    out[:, 3:6, 0:3] = cross
    out[:, 3:6, 3:6] = (q * a)[:, None, None] * eye
    return out


@dataclass(frozen=True, slots=True)
class Update:
    """Result of a batched measurement update."""

    x: FloatArray  # (n, 6) posterior states
    p: FloatArray  # (n, 6, 6) posterior covariances
    nis: FloatArray  # (n,) normalised innovation squared
    log_likelihood: FloatArray  # (n,) log N(nu; 0, S)


def innovation_covariance(model: MeasurementModel, p: FloatArray, jac: FloatArray) -> FloatArray:
    """``S = H P H^T + R`` for stacks."""
    s: FloatArray = jac @ p @ jac.transpose(0, 2, 1) + model.noise
    return s


def kalman_update(model: MeasurementModel, x: FloatArray, p: FloatArray, z: FloatArray) -> Update:
    """EKF update of stacked states with one measurement each (Joseph form)."""
    z_hat, jac = predict_measurement(model, x)
    nu = innovation(model, z, z_hat)
    s = innovation_covariance(model, p, jac)
    s_inv = np.linalg.inv(s)
    gain = p @ jac.transpose(0, 2, 1) @ s_inv
    x_new = x + np.einsum("nij,nj->ni", gain, nu)
    ikh = np.eye(6) - gain @ jac
    p_new = ikh @ p @ ikh.transpose(0, 2, 1) + gain @ model.noise @ gain.transpose(0, 2, 1)
    p_new = 0.5 * (p_new + p_new.transpose(0, 2, 1))
    nis = np.einsum("ni,nij,nj->n", nu, s_inv, nu)
    _, logdet = np.linalg.slogdet(s)
    loglik = -0.5 * (nis + logdet + model.dim * _LOG_2PI)
    return Update(x_new, p_new, nis, loglik)


def nees(x: FloatArray, p: FloatArray, truth: FloatArray) -> FloatArray:
    """Normalised estimation error squared of stacked estimates against truth (n,)."""
    err = np.atleast_2d(truth - x)
    p = p.reshape(-1, 6, 6)
    sol = np.linalg.solve(p, err[:, :, None])[:, :, 0]
    result: FloatArray = np.einsum("ni,ni->n", err, sol)
    return result
