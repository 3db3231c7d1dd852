"""Which national reports the bridge trusts.

Pure functions over a decoded ``MissileWarning``: one small check per rule, each
raising ``trilink.errors.ValidationError`` with a one-line reason and an
``error_type`` the dead-letter record carries. ``Validator`` runs them all and
returns the state and covariance as arrays, so the hot path converts them once.
Times are judged against an injected wall clock, never read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.lapack import dpotrf

from bridge.config import ValidationConfig
from trilink.constants import FloatArray
from trilink.errors import ValidationError
from trilink.geodesy import A, B
from trilink.model import GroundPoint, MissileClass, MissileWarning, Nation

UNAUTHORISED = "unauthorised"
NOT_RELEASABLE = "not-releasable"
OUT_OF_RANGE = "out-of-range"
MALFORMED = "malformed"
BAD_COVARIANCE = "bad-covariance"
BAD_TIME = "bad-time"

_IU = np.triu_indices(6)
# Index of each of the 36 matrix entries in the 21-value upper triangle (row-major).
_FULL = np.empty((6, 6), dtype=np.intp)
_FULL[_IU] = np.arange(21)
_FULL[(_IU[1], _IU[0])] = np.arange(21)


@dataclass(frozen=True, slots=True)
class Checked:
    """A trusted report with its state vector and 6x6 covariance as arrays."""

    warning: MissileWarning
    x: FloatArray
    p: FloatArray
    # Classification of the verified label ("" when records are not authenticated).
    classification: str = ""

    def labelled(self, classification: str) -> Checked:
        return Checked(self.warning, self.x, self.p, classification)


def check_nation(w: MissileWarning, topic_nation: Nation) -> None:
    """A nation may only publish on its own topic."""
    if w.nation is not topic_nation:
        raise ValidationError(
            f"nation {w.nation.value} published on the {topic_nation.value} topic",
            error_type=UNAUTHORISED,
        )


def check_releasable(w: MissileWarning, required: tuple[Nation, ...]) -> None:
    """The common picture goes to every partner, so every partner must be cleared."""
    missing = [n.value for n in required if n not in w.releasable_to]
    if missing:
        raise ValidationError(f"not releasable to {', '.join(missing)}", error_type=NOT_RELEASABLE)


def check_shape(w: MissileWarning) -> None:
    """Identity fields present and vectors of the documented lengths."""
    if not w.track_id.strip():
        raise ValidationError("empty track_id", error_type=MALFORMED)
    if w.sequence < 1:
        raise ValidationError(f"sequence {w.sequence} < 1", error_type=MALFORMED)
    if len(w.position_m) != 3 or len(w.velocity_mps) != 3:
        raise ValidationError("position and velocity need 3 values each", error_type=MALFORMED)
    if len(w.covariance) != 21:
        raise ValidationError(
            f"covariance has {len(w.covariance)} values, expected 21", error_type=MALFORMED
        )


def check_finite(w: MissileWarning) -> None:
    """No NaN or infinity anywhere in the numbers the bridge computes with."""
    # One C-level pass: a NaN or infinity poisons the sum (so would an overflow of
    # values ~1e308, which are out of range anyway).
    if not math.isfinite(math.fsum((*w.position_m, *w.velocity_mps, *w.covariance))):
        raise ValidationError("non-finite value in state or covariance", error_type=OUT_OF_RANGE)


def check_ground_point(point: GroundPoint | None, name: str) -> None:
    """A national launch or impact estimate must be a real place with a real ellipse."""
    if point is None:
        return
    e = point.ellipse
    numbers = (point.lat_deg, point.lon_deg, e.semi_major_km, e.semi_minor_km, e.orientation_deg)
    if not all(math.isfinite(v) for v in numbers):
        raise ValidationError(f"non-finite value in {name}", error_type=OUT_OF_RANGE)
    if abs(point.lat_deg) > 90.0:
        raise ValidationError(
            f"{name} latitude {point.lat_deg} out of range", error_type=OUT_OF_RANGE
        )
    if abs(point.lon_deg) > 360.0:
        raise ValidationError(
            f"{name} longitude {point.lon_deg} out of range", error_type=OUT_OF_RANGE
        )
    if e.semi_major_km < 0.0 or e.semi_minor_km < 0.0:
        raise ValidationError(f"{name} ellipse has a negative axis", error_type=OUT_OF_RANGE)


def altitude_m(x: float, y: float, z: float) -> float:
    """Height above the WGS-84 ellipsoid along the geocentric radius (metres; ~20 m accurate,
    plenty for a plausibility window and ~30x cheaper than an exact conversion)."""
    r = math.sqrt(x * x + y * y + z * z)
    if r == 0.0:
        return -A
    s2 = z * z / (r * r)
    c2 = 1.0 - s2
    surface = A * B / math.sqrt(B * B * c2 + A * A * s2)
    return r - surface


def check_kinematics(w: MissileWarning, cfg: ValidationConfig) -> None:
    """Position near the Earth and speed a missile (or, for an SLV, a satellite) can have."""
    alt = altitude_m(*w.position_m)
    if not cfg.min_altitude_m <= alt <= cfg.max_altitude_m:
        raise ValidationError(
            f"altitude {alt / 1000.0:.0f} km is not near Earth", error_type=OUT_OF_RANGE
        )
    vx, vy, vz = w.velocity_mps
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    limit = cfg.max_speed_slv_mps if w.missile_class is MissileClass.SLV else cfg.max_speed_mps
    if speed > limit:
        raise ValidationError(
            f"speed {speed:.0f} m/s exceeds {limit:.0f} m/s for {w.missile_class.value}",
            error_type=OUT_OF_RANGE,
        )


def covariance_matrix(values: tuple[float, ...], cfg: ValidationConfig) -> FloatArray:
    """The symmetric 6x6 matrix of a 21-value upper triangle, checked positive definite and
    of a plausible scale (so that inverting it later cannot overflow)."""
    pos_var = max(values[0], values[6], values[11])
    vel_var = max(values[15], values[18], values[20])
    p = np.asarray(values, dtype=float)[_FULL]
    # LAPACK's potrf itself: numpy's cholesky wrapper costs more than the 6x6 factor.
    chol, info = dpotrf(p, lower=True, clean=False)
    if info != 0:
        raise ValidationError("covariance is not positive definite", error_type=BAD_COVARIANCE)
    if pos_var > cfg.max_position_sigma_m**2:
        raise ValidationError("position sigma beyond the plausible", error_type=BAD_COVARIANCE)
    if vel_var > cfg.max_velocity_sigma_mps**2:
        raise ValidationError("velocity sigma beyond the plausible", error_type=BAD_COVARIANCE)
    if float(chol.diagonal().min()) < cfg.min_sigma:
        raise ValidationError("covariance is (nearly) singular", error_type=BAD_COVARIANCE)
    return p


def check_times(w: MissileWarning, now_us: int, cfg: ValidationConfig) -> None:
    """Observation and report times within the configured window around the wall clock."""
    lo = now_us - round(cfg.past_s * 1e6)
    hi = now_us + round(cfg.future_s * 1e6)
    for name, value in (("observed_us", w.observed_us), ("reported_us", w.reported_us)):
        if value > hi:
            ahead = (value - now_us) / 1e6
            raise ValidationError(f"{name} is {ahead:.0f} s in the future", error_type=BAD_TIME)
        if value < lo:
            behind = (now_us - value) / 1e6
            raise ValidationError(f"{name} is {behind:.0f} s in the past", error_type=BAD_TIME)


@dataclass(frozen=True, slots=True)
class Validator:
    """Runs every rule; cheap ones first so junk fails fast."""

    config: ValidationConfig = field(default_factory=ValidationConfig)

    def __call__(self, w: MissileWarning, topic_nation: Nation, now_us: int) -> Checked:
        check_nation(w, topic_nation)
        check_releasable(w, self.config.releasable_to)
        check_shape(w)
        check_times(w, now_us, self.config)
        check_finite(w)
        check_kinematics(w, self.config)
        check_ground_point(w.launch, "launch")
        check_ground_point(w.impact, "impact")
        p = covariance_matrix(w.covariance, self.config)
        return Checked(w, np.array((*w.position_m, *w.velocity_mps)), p)
