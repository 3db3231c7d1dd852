"""Spent stages fall on their own trajectories from their separation states."""

from __future__ import annotations

import numpy as np
import pytest

from sim.catalog import get_site
from sim.solve import solve_trajectory
from sim.stages import launch_stages, spent_stages
from trilink.geodesy import distance_bearing
from trilink.physics import Physics


def test_a_two_stage_icbm_drops_two_stages_that_follow_the_stack_until_separation() -> None:
    s = get_site("pyongsong")
    args = (s.lat_deg, s.lon_deg, 76.0, 950.0, 4475.0, "hwasong-15")
    parent = solve_trajectory(*args, Physics.ATMOSPHERE)
    first, second = launch_stages(*args)
    assert launch_stages(*args) == (first, second)
    assert first.missile == "hwasong-15-stage-1"
    assert first.burnout_s == parent.staging_s[0] and second.burnout_s == parent.burnout_s
    for stage in (first, second):
        before = np.linspace(0.0, stage.burnout_s - 1e-3, 40)
        np.testing.assert_allclose(stage.state_at(before)[0], parent.state_at(before)[0])
        r_sep, _ = stage.state_at(stage.burnout_s)
        np.testing.assert_allclose(r_sep, parent.state_at(stage.burnout_s)[0], atol=1e-6)
        assert stage.altitude_m(stage.flight_time_s) == pytest.approx(0.0, abs=1.0)
        # a tumbling empty stage comes down slowly
        assert np.linalg.norm(stage.state_at(stage.flight_time_s)[1]) < 600.0
    # the first stage falls short, long before the warhead; the last one near it, later
    assert first.flight_time_s < 0.5 * parent.flight_time_s
    short_m, _ = distance_bearing(
        parent.launch_lat_deg, parent.launch_lon_deg, first.impact_lat_deg, first.impact_lon_deg
    )
    assert 50e3 < short_m < 0.8 * parent.range_km * 1e3
    assert second.flight_time_s > parent.flight_time_s
    assert parent.apogee_km * 0.9 < second.apogee_km < parent.apogee_km * 1.01


def test_single_stage_missiles_drop_nothing() -> None:
    assert spent_stages(solve_trajectory(39.0, 125.7, 80.0, 350.0, 50.0, "kn-25")) == []
