"""A boost track's launch-time estimate: bounded at confirmation, refined as it climbs."""

from __future__ import annotations

import numpy as np

from producers.report import MIN_CLIMB_ACCEL, Climb, Snapshot, early_launch
from sim.solve import solve_trajectory

LAUNCH_US = 1_700_000_000_000_000
KN25 = solve_trajectory(39.2, 125.7, 80.0, 350.0, 50.0, "kn-25")


def _snap(t_s: float, rng: np.random.Generator, *, pos_m: float, vel_mps: float) -> Snapshot:
    pos, vel = KN25.state_at(t_s)
    x = np.concatenate([pos + rng.normal(0.0, pos_m, 3), vel + rng.normal(0.0, vel_mps, 3)])
    p = np.diag([pos_m**2] * 3 + [vel_mps**2] * 3)
    return Snapshot(LAUNCH_US + round(t_s * 1e6), x, p, 0.99)


def test_a_climb_seen_for_seconds_gives_the_launch_time_within_a_few_seconds() -> None:
    for seed in range(20):
        rng = np.random.default_rng(seed)
        # Confirmed 8 s after lift-off with a badly settled velocity (100 m/s noise).
        first = _snap(8.0, rng, pos_m=50.0, vel_mps=100.0)
        climb = Climb.start(first)
        assert climb is not None
        for t in np.arange(8.25, 20.0, 0.25):
            climb.add(_snap(float(t), rng, pos_m=50.0, vel_mps=20.0))
        found = climb.launch()
        assert found is not None
        assert abs(found.time_us - LAUNCH_US) / 1e6 < 4.0, (seed, found.time_us - LAUNCH_US)


def test_one_snapshot_with_a_stalled_climb_rate_stays_within_what_a_missile_can_do() -> None:
    pos, vel = KN25.state_at(12.0)
    x = np.concatenate([pos, vel * 0.05])  # the tracker thinks it barely rises
    snap = Snapshot(LAUNCH_US + 12_000_000, x, np.eye(6) * 100.0, 0.99)
    found = early_launch(snap)
    assert found is not None
    alt = KN25.altitude_m(12.0)
    bound_s = float(np.sqrt(2.0 * alt / MIN_CLIMB_ACCEL))
    assert (snap.observed_us - found.time_us) / 1e6 <= bound_s + 1e-6
    # Without the bound, 2 h / v_up would put the launch minutes earlier.
    assert bound_s < 60.0


def test_a_track_seen_only_once_keeps_its_single_snapshot_estimate() -> None:
    rng = np.random.default_rng(3)
    first = _snap(10.0, rng, pos_m=50.0, vel_mps=5.0)
    climb = Climb.start(first)
    assert climb is not None
    assert climb.launch() == early_launch(first)
