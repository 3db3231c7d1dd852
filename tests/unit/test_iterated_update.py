"""The iterated EKF update (``ekf.iterate_update``): a radar's first look at a track begun
on an infrared line of sight."""

from __future__ import annotations

import numpy as np
import pytest

from measurement import models as measurement_models
from sim.sensors import get_sensor
from tracking import ekf
from trilink.geodesy import geodetic_to_ecef

N = 300


def _position_nees(x: np.ndarray, p: np.ndarray, truth: np.ndarray) -> float:
    e = x[:, :3] - truth[:3]
    solved = np.linalg.solve(p[:, :3, :3], e[:, :, None])[:, :, 0]
    return float(np.mean(np.einsum("ni,ni->n", e, solved)))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_deep_line_of_sight_prior_is_updated_where_the_radar_saw_it(seed: int) -> None:
    """A track begun on a SBIRS line of sight knows its position to ~1.4 km across the
    line and ~20 km along it. TPY-2 Seongju, ~250 km away, measures it to metres in
    range and ~100 m across. Linearised once at the prior, the update lands hundreds of
    metres off the detection with the radar's covariance (position NEES in the
    thousands); relinearised, it is consistent (3 for three dimensions)."""
    radar = get_sensor("USA-TPY2-SEONGJU").model
    satellite = get_sensor("USA-SBIRS-GEO-WEST").model
    r = np.asarray(geodetic_to_ecef(38.9, 127.4, 12_000.0), dtype=float)
    truth = np.concatenate([r, [300.0, 900.0, 1200.0]])
    u = (r - satellite.origin) / np.linalg.norm(r - satellite.origin)
    p0 = np.zeros((6, 6))
    p0[:3, :3] = 20_000.0**2 * np.outer(u, u) + 1_400.0**2 * (np.eye(3) - np.outer(u, u))
    p0[3:, 3:] = 1_500.0**2 * np.eye(3)
    rng = np.random.default_rng(seed)
    x0 = truth + rng.multivariate_normal(np.zeros(6), p0, size=N)
    p = np.broadcast_to(p0, (N, 6, 6)).copy()
    z = measurement_models.measure(radar, np.tile(truth[:3], (N, 1)), np.tile(truth[3:], (N, 1)))
    z += rng.standard_normal(z.shape) * np.asarray(radar.sigma)
    first = ekf.kalman_update(radar, x0, p, z)
    iterated = ekf.iterate_update(radar, x0, p, z, first)
    assert _position_nees(first.x, first.p, truth) > 1_000.0
    assert _position_nees(iterated.x, iterated.p, truth) == pytest.approx(3.0, rel=0.25)
    # The likelihood the model weights use stays the prior linearisation's.
    np.testing.assert_array_equal(iterated.log_likelihood, first.log_likelihood)


def test_a_prior_near_the_detection_is_left_as_the_plain_update() -> None:
    radar = get_sensor("USA-TPY2-SEONGJU").model
    r = np.asarray(geodetic_to_ecef(38.9, 127.4, 12_000.0), dtype=float)
    truth = np.concatenate([r, [300.0, 900.0, 1200.0]])
    p0 = np.diag([200.0**2] * 3 + [50.0**2] * 3)
    rng = np.random.default_rng(2)
    x0 = truth + rng.multivariate_normal(np.zeros(6), p0, size=N)
    p = np.broadcast_to(p0, (N, 6, 6)).copy()
    z = measurement_models.measure(radar, np.tile(truth[:3], (N, 1)), np.tile(truth[3:], (N, 1)))
    first = ekf.kalman_update(radar, x0, p, z)
    assert ekf.iterate_update(radar, x0, p, z, first) is first
