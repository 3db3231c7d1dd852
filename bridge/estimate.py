"""A state estimate at a time, and moving it to another time with the ballistic model.

Shared by association (states compared at a common time) and fusion (contributors
combined at a common time). Process noise keeps the propagated covariance honest:
small in free flight, large while the missile may still be thrusting, because the
ballistic model knows nothing about thrust.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracking.propagate import propagate
from trilink.constants import FloatArray


@dataclass(frozen=True, slots=True)
class Estimate:
    """ECEF state ``x`` (6) and covariance ``p`` (6x6) valid at ``time_us``."""

    time_us: int
    x: FloatArray
    p: FloatArray
    boosting: bool = False


@dataclass(frozen=True, slots=True)
class Propagator:
    """Moves estimates in time; ``q_*`` are white-acceleration densities (m²/s³);
    ``air`` flies the nominal drag (the atmosphere flight model), as the trackers do."""

    q_ballistic: float = 1.0
    q_boost: float = 2.0e4
    air: bool = False

    def to(self, est: Estimate, time_us: int) -> Estimate:
        """The estimate propagated (forwards or backwards) to ``time_us``."""
        if time_us == est.time_us:
            return est
        dt = (time_us - est.time_us) / 1e6
        q = self.q_boost if est.boosting else self.q_ballistic
        x, p = propagate(est.x, est.p, dt, q, air=self.air)
        return Estimate(time_us, x, p, est.boosting)


def position_distance_m(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between the positions of two states."""
    return float(np.linalg.norm(a[:3] - b[:3]))
