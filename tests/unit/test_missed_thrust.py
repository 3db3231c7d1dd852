"""What a national filter that judged a thrusting missile coasting leaves out of its
covariance (``Propagator.lagging``, ``GateConfig.missed_thrust_mps2``). No I/O."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bridge.association import Gate
from bridge.config import GateConfig
from bridge.estimate import Estimate, Propagator
from trilink.constants import US
from trilink.errors import ConfigError
from trilink.geodesy import enu_rotation, geodetic_to_ecef

LAT, LON = 39.0, 126.0
PROP = Propagator(
    q_ballistic=1.0, q_boost=2.0e4, thrust_ceiling_m=20_000.0, missed_thrust_mps2=25.0
)


def _estimate(alt_m: float, climb_mps: float, coast_s: float, boosting: bool = False) -> Estimate:
    rot = enu_rotation(LAT, LON)  # rows: east, north, up
    pos = geodetic_to_ecef(LAT, LON, alt_m)
    vel = 300.0 * rot[0] + climb_mps * rot[2]
    p = np.diag([80.0**2] * 3 + [10.0**2] * 3)
    return Estimate(0, np.concatenate([pos, vel]), p, boosting, coast_s)


def test_the_lag_of_a_fit_of_free_flight_to_a_thrust_lies_along_the_path() -> None:
    est = _estimate(14_000.0, 400.0, coast_s=16.0)
    lag = PROP.lagging(est)
    assert lag is not None
    u = est.x[3:6] / np.linalg.norm(est.x[3:6])
    # a t / 2 slow and a t² / 12 behind, along the velocity: 200 m/s and 533 m at 16 s.
    assert float(u @ lag[3:6, 3:6] @ u) == pytest.approx((25.0 * 16.0 / 2.0) ** 2)
    assert float(u @ lag[:3, :3] @ u) == pytest.approx((25.0 * 16.0**2 / 12.0) ** 2)
    across = np.cross(u, est.x[:3] / np.linalg.norm(est.x[:3]))
    assert float(across @ lag[:3, :3] @ across) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("alt_m", "climb_mps", "coast_s", "boosting"),
    [
        (14_000.0, 400.0, 0.0, False),  # its nation saw thrust on this track once
        (14_000.0, 400.0, 16.0, True),  # its nation says it thrusts: the boost noise covers it
        (14_000.0, -400.0, 16.0, False),  # falling: free flight
        (30_000.0, 400.0, 16.0, False),  # above the thrust ceiling: its nation's word
    ],
)
def test_no_lag_where_the_nation_is_believed(
    alt_m: float, climb_mps: float, coast_s: float, boosting: bool
) -> None:
    assert PROP.lagging(_estimate(alt_m, climb_mps, coast_s, boosting)) is None


def test_the_gate_takes_a_report_the_lag_explains() -> None:
    # A filter 16 s on a thrust it judged coasting: 200 m/s slow and 530 m behind.
    gate = Gate(GateConfig())
    assert gate.config.missed_thrust_mps2 == 25.0
    lagging = _estimate(14_000.0, 400.0, coast_s=16.0)
    u = lagging.x[3:6] / np.linalg.norm(lagging.x[3:6])
    truth = lagging.x + np.concatenate([530.0 * u, 200.0 * u])
    report = Estimate(0, truth, np.diag([60.0**2] * 3 + [30.0**2] * 3), True)
    assert gate.admits(gate.distance(report, lagging))
    believed = dataclasses.replace(lagging, coast_s=0.0)
    assert not gate.admits(gate.distance(report, believed))
    # The lag is in the moved covariance too, and moving twice does not add it twice.
    moved = PROP.to(lagging, 2 * US)
    assert moved.coast_s == 0.0
    assert float(u @ moved.p[:3, :3] @ u) > float(u @ PROP.to(believed, 2 * US).p[:3, :3] @ u)
    twice = PROP.to(PROP.to(lagging, 1 * US), 2 * US)
    np.testing.assert_allclose(np.diag(twice.p), np.diag(moved.p), rtol=1e-3)


def test_a_missed_thrust_out_of_bounds_is_refused() -> None:
    with pytest.raises(ConfigError, match="missed thrust"):
        GateConfig(missed_thrust_mps2=-1.0)
