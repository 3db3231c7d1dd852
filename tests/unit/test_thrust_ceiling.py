"""Below the thrust ceiling a climbing estimate is moved as a thrusting one, whatever its
nation judged (``GateConfig.thrust_ceiling_m``, ``Propagator.may_thrust``). No I/O."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.association import Gate
from bridge.config import GateConfig
from bridge.estimate import Estimate, Propagator
from trilink.constants import US
from trilink.errors import ConfigError
from trilink.geodesy import enu_rotation, geodetic_to_ecef

LAT, LON = 39.0, 126.0


def _estimate(alt_m: float, climb_mps: float, boosting: bool = False) -> Estimate:
    rot = enu_rotation(LAT, LON)  # rows: east, north, up
    pos = geodetic_to_ecef(LAT, LON, alt_m)
    vel = 1_000.0 * rot[0] + climb_mps * rot[2]
    p = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    return Estimate(0, np.concatenate([pos, vel]), p, boosting)


@pytest.mark.parametrize(
    ("alt_m", "climb_mps", "boosting", "thrusts"),
    [
        (12_000.0, 800.0, False, True),  # climbing below the ceiling: may thrust
        (12_000.0, -800.0, False, False),  # falling: it does not
        (30_000.0, 800.0, False, False),  # above the ceiling: its nation's word
        (30_000.0, 800.0, True, True),
    ],
)
def test_a_climb_below_the_ceiling_may_thrust(
    alt_m: float, climb_mps: float, boosting: bool, thrusts: bool
) -> None:
    prop = Gate(GateConfig()).propagator
    assert prop.thrust_ceiling_m == GateConfig().thrust_ceiling_m == 20_000.0
    est = _estimate(alt_m, climb_mps, boosting)
    assert prop.may_thrust(est) is thrusts
    assert Propagator(thrust_ceiling_m=0.0).may_thrust(est) is boosting


def test_a_climb_that_may_thrust_is_moved_with_the_boost_noise() -> None:
    est = _estimate(12_000.0, 800.0)
    wide = Propagator(q_ballistic=1.0, q_boost=2.0e4, thrust_ceiling_m=20_000.0).to(est, 5 * US)
    narrow = Propagator(q_ballistic=1.0, q_boost=2.0e4, thrust_ceiling_m=0.0).to(est, 5 * US)
    np.testing.assert_allclose(wide.x, narrow.x)
    # q t³/3 per axis over 5 s: ~0.9 km of position deviation added against ~100 m.
    assert np.sqrt(np.trace(wide.p[:3, :3]) / 3) > 800.0
    assert np.sqrt(np.trace(narrow.p[:3, :3]) / 3) < 200.0


def test_a_negative_ceiling_is_refused() -> None:
    with pytest.raises(ConfigError, match="thrust ceiling"):
        GateConfig(thrust_ceiling_m=-1.0)
