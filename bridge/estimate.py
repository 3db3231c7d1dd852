"""A state estimate at a time, and moving it to another time with the ballistic model.

Shared by association (states compared at a common time) and fusion (contributors
combined at a common time). Process noise keeps the propagated covariance honest:
small in free flight, large while the missile may still be thrusting, because the
ballistic model knows nothing about thrust.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.validate import altitude_m
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
    # Below this height a climbing estimate may still be thrusting whatever its nation
    # judged (0: trust the judgement): see ``may_thrust``.
    thrust_ceiling_m: float = 0.0

    def may_thrust(self, est: Estimate) -> bool:
        """Its nation says it thrusts, or it climbs below ``thrust_ceiling_m`` (see
        ``GateConfig``: a nation's first seconds on a boost cannot tell thrust from
        coast, and a ballistic prediction across a boost falls kilometres short)."""
        if est.boosting:
            return True
        if self.thrust_ceiling_m <= 0.0:
            return False
        r = est.x[:3]
        climbing = float(r @ est.x[3:6]) > 0.0
        return (
            climbing and altitude_m(float(r[0]), float(r[1]), float(r[2])) < self.thrust_ceiling_m
        )

    def to(self, est: Estimate, time_us: int) -> Estimate:
        """The estimate propagated (forwards or backwards) to ``time_us``."""
        if time_us == est.time_us:
            return est
        dt = (time_us - est.time_us) / 1e6
        q = self.q_boost if self.may_thrust(est) else self.q_ballistic
        x, p = propagate(est.x, est.p, dt, q, air=self.air)
        return Estimate(time_us, x, p, est.boosting)


def position_distance_m(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between the positions of two states."""
    return float(np.linalg.norm(a[:3] - b[:3]))
