"""A state estimate at a time, and moving it to another time with the ballistic model.

Shared by association (states compared at a common time) and fusion (contributors
combined at a common time). Process noise keeps the propagated covariance honest:
small in free flight, large while the missile may still be thrusting, because the
ballistic model knows nothing about thrust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tracking.propagate import propagate
from trilink.constants import FloatArray
from trilink.geodesy import A, B
from trilink.jit import kernel

# Moves the memo of ``Propagator.to`` holds before it starts again (~1 MB).
_MEMO_SIZE = 2048


@dataclass(frozen=True, slots=True)
class Estimate:
    """ECEF state ``x`` (6) and covariance ``p`` (6x6) valid at ``time_us``."""

    time_us: int
    x: FloatArray
    p: FloatArray
    boosting: bool = False
    # Seconds its nation has tracked it judging it coasting, never thrusting (0: it saw
    # thrust, or the estimate is fused or moved): see ``Propagator.lagging``.
    coast_s: float = 0.0


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
    # The thrust a national filter that judged a climbing missile coasting may have
    # missed, as a 1-sigma acceleration (m/s², 0: none): see ``lagging``.
    missed_thrust_mps2: float = 0.0
    # Estimates already moved, by (id of the estimate, time): see ``to``.
    _moved: dict[tuple[int, int], tuple[Estimate, Estimate]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def may_thrust(self, est: Estimate) -> bool:
        """Its nation says it thrusts, or it climbs below ``thrust_ceiling_m`` (see
        ``GateConfig``: a nation's first seconds on a boost cannot tell thrust from
        coast, and a ballistic prediction across a boost falls kilometres short)."""
        if est.boosting:
            return True
        if self.thrust_ceiling_m <= 0.0:
            return False
        x = est.x
        return _climbing_below(
            float(x[0]),
            float(x[1]),
            float(x[2]),
            float(x[3]),
            float(x[4]),
            float(x[5]),
            self.thrust_ceiling_m,
        )

    def lagging(self, est: Estimate) -> FloatArray | None:
        """What a national filter that judged a thrusting missile coasting leaves out of
        its covariance (6x6; None unless ``est`` may thrust against its nation's word).

        A filter fitting free flight to a missile that accelerates at ``a`` along its
        path for the ``est.coast_s`` seconds ``t`` of its track fits a straight
        trajectory to a curved one: at the end it is ``a t / 2`` slow and ``a t² / 12``
        behind (a least-squares line through ``a t² / 2``), along the velocity, however
        small its covariance. Its interacting-multiple-model filter weighs the thrusting
        model down by that model's wide noise while a radar cannot see the lag in one
        scan: a lofted Hwasong-18's first stage (23 m/s² at ignition) seen side-on by
        Korea's radars was judged coasting for 16 s, 370 m/s slow and 900 m behind
        with a covariance of tens of metres, and the US track of it founded a second
        system track. The acceleration is a 1-sigma thrust (``missed_thrust_mps2``).
        """
        # Cheapest tests first: most estimates are moved or fused ones (no coast_s).
        if est.coast_s <= 0.0 or self.missed_thrust_mps2 <= 0.0 or est.boosting:
            return None
        if not self.may_thrust(est):
            return None
        v = est.x[3:6]
        speed = float(np.linalg.norm(v))
        if speed <= 0.0:
            return None
        t = est.coast_s
        a = self.missed_thrust_mps2
        g = np.concatenate([(a * t * t / 12.0) * v / speed, (a * t / 2.0) * v / speed])
        return np.outer(g, g)

    def to(self, est: Estimate, time_us: int) -> Estimate:
        """The estimate propagated (forwards or backwards) to ``time_us``, with what its
        nation may have missed of a thrust (``lagging``) in its covariance.

        Estimates are immutable and the move depends on nothing else, so a move already
        made is returned again: a batch compares and fuses the same members at the same
        times several times over (the break test's and the exchange's leave-one-out
        references, the picture, the gates). The memo holds each estimate it keys on,
        so an id cannot be reused while it is there; the engine empties it after each
        batch (``forget``), and it empties itself if a batch fills it.
        """
        key = (id(est), time_us)
        hit = self._moved.get(key)
        if hit is not None:
            return hit[1]
        moved = self._move(est, time_us)
        if len(self._moved) >= _MEMO_SIZE:
            self._moved.clear()
        self._moved[key] = (est, moved)
        return moved

    def forget(self) -> None:
        """Empty the memo of ``to`` (what it holds is of no use to the next batch)."""
        self._moved.clear()

    def _move(self, est: Estimate, time_us: int) -> Estimate:
        lag = self.lagging(est)
        p0 = est.p if lag is None else est.p + lag
        if time_us == est.time_us:
            return est if lag is None else Estimate(time_us, est.x, p0, est.boosting)
        dt = (time_us - est.time_us) / 1e6
        # A lag is only added where the estimate may thrust: no second test then.
        q = self.q_boost if lag is not None or self.may_thrust(est) else self.q_ballistic
        x, p = propagate(est.x, p0, dt, q, air=self.air)
        return Estimate(time_us, x, p, est.boosting)


@kernel
def _climbing_below(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, ceiling_m: float
) -> bool:
    """Climbing (radially) below ``ceiling_m`` (``bridge.validate.altitude_m``'s height)."""
    if x * vx + y * vy + z * vz <= 0.0:
        return False
    r = math.sqrt(x * x + y * y + z * z)
    if r == 0.0:
        return True
    s2 = z * z / (r * r)
    surface = A * B / math.sqrt(B * B * (1.0 - s2) + A * A * s2)
    return r - surface < ceiling_m


def falling(est: Estimate, sigmas: float) -> bool:
    """Its radial (vertical) speed is below zero by more than ``sigmas`` of its own
    uncertainty: surely descending (0: never judged so). A missile climbs from its
    launch until its boost is long over, so a national track first seen falling began
    on a missile already in flight (a radar that re-acquired it in re-entry)."""
    if sigmas <= 0.0:
        return False
    r = est.x[0:3]
    norm = float(np.linalg.norm(r))
    if norm == 0.0:
        return False
    up = r / norm
    v_up = float(up @ est.x[3:6])
    sigma = math.sqrt(max(float(up @ est.p[3:6, 3:6] @ up), 0.0))
    return v_up < -sigmas * sigma


def position_distance_m(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between the positions of two states."""
    return float(np.linalg.norm(a[:3] - b[:3]))
