"""Ground truth as the scorer sees it: each real missile's flight window, impact and path.

Built from a simulator launch (:func:`truth_from_launch`) or a synthetic free-flight
missile (:func:`truth_from_synthetic`); the bridge never sees any of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trilink.constants import US, FloatArray
from trilink.model import Ellipse, GroundPoint

if TYPE_CHECKING:
    from evaluation.synthetic import SyntheticMissile
    from trilink.model import LaunchEvent


@dataclass(frozen=True, slots=True)
class TruthPath:
    """One real missile: when it flies, where it comes down, where it is (ECEF, m)."""

    name: str
    start_us: int
    end_us: int
    impact_lat_deg: float
    impact_lon_deg: float
    positions: Callable[[FloatArray], FloatArray]  # times (µs, N) -> (N, 3)
    burnout_us: int = 0  # when its last stage burnt out (0: never thrust, free flight)

    @property
    def impact(self) -> GroundPoint:
        return GroundPoint(self.impact_lat_deg, self.impact_lon_deg, self.end_us, Ellipse(0, 0, 0))


def truth_from_synthetic(m: SyntheticMissile) -> TruthPath:
    """A ``evaluation.synthetic.SyntheticMissile`` as a truth path."""
    return TruthPath(
        m.name, m.start_us, m.impact_us, m.impact_lat_deg, m.impact_lon_deg, m.positions
    )


def truth_from_launch(event: LaunchEvent, trajectory: Any) -> TruthPath:
    """A simulator launch (``LaunchEvent`` + ``sim.flight.Trajectory``) as a truth path.

    ``trajectory`` is typed loosely: ``producers.national.solve_launch`` promises only
    the sensors' view of a flight, not the impact point and clamping used here.
    """

    def positions(times_us: FloatArray) -> FloatArray:
        t = (np.asarray(times_us, dtype=float) - event.launch_time_us) / US
        r, _ = trajectory.state_at(t, clamp=True)
        return np.asarray(r, dtype=float).reshape(-1, 3)

    return TruthPath(
        event.launch_id,
        event.launch_time_us,
        event.launch_time_us + round(trajectory.flight_time_s * US),
        trajectory.impact_lat_deg,
        trajectory.impact_lon_deg,
        positions,
        event.launch_time_us + round(trajectory.burnout_s * US),
    )
