"""Ballistic propagation: accuracy against scipy, covariance mapping against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest
from scipy.integrate import solve_ivp

from tracking.impact import crossing
from tracking.propagate import (
    acceleration,
    from_upper_triangle,
    ground_crossing,
    propagate,
    propagate_state,
    scaled_jacobian,
    state_from_geodetic,
    upper_triangle,
    vacuum_transition,
)
from trilink.geodesy import ballistic_derivative, ecef_to_geodetic


@pytest.fixture
def coasting() -> np.ndarray:
    # 100 km up over North Korea, climbing east-north-east at ~2.6 km/s.
    return state_from_geodetic(39.0, 125.7, 100e3, (2000.0, 800.0, 1500.0))


def test_rk4_matches_adaptive_integrator(coasting: np.ndarray) -> None:
    ours = propagate_state(coasting, 300.0)
    ref = solve_ivp(ballistic_derivative, (0.0, 300.0), coasting, rtol=1e-11, atol=1e-6).y[:, -1]
    assert np.linalg.norm(ours[:3] - ref[:3]) < 1.0
    assert np.linalg.norm(ours[3:] - ref[3:]) < 0.01


def test_backwards_undoes_forwards(coasting: np.ndarray) -> None:
    there = propagate_state(coasting, 120.0)
    back = propagate_state(there, -120.0)
    np.testing.assert_allclose(back, coasting, atol=1e-3)


def test_backwards_undoes_forwards_above_the_air() -> None:
    # With air (drag dissipates, and backwards the state flies without it): above it.
    high = state_from_geodetic(39.0, 125.7, 300e3, (2000.0, 800.0, 1500.0))
    there = propagate_state(high, 120.0, air=True)
    back = propagate_state(there, -120.0, air=True)
    np.testing.assert_allclose(back, high, atol=1e-3)


def test_drag_slows_a_body_in_the_air_and_is_undone_backwards() -> None:
    low = state_from_geodetic(39.0, 128.0, 20e3, (1500.0, 0.0, -1500.0))
    ahead = propagate_state(low, 5.0, air=True)
    assert np.linalg.norm(ahead[3:]) < np.linalg.norm(low[3:]) - 50.0  # ~20 m/s² net
    np.testing.assert_allclose(propagate_state(ahead, -5.0, air=True), low, atol=1e-2)
    vacuum = propagate_state(low, 5.0)
    assert np.linalg.norm(vacuum[3:]) > np.linalg.norm(low[3:])  # falling, no air: faster


@pytest.mark.parametrize("h", [-7.5, 0.3, 5.0])
def test_written_out_transition_is_the_matrix_series(coasting: np.ndarray, h: float) -> None:
    # The vacuum transition is written term by term for speed: it must stay
    # I + Fh + (Fh)²/2 of the one linearisation, at the step's drift-only midpoint.
    fh, q_air = scaled_jacobian(tuple(float(v) for v in coasting), h, 0.0)
    mid = coasting[:3] + 0.5 * h * coasting[3:]
    series = np.eye(6) + fh + 0.5 * (fh @ fh)
    written = vacuum_transition(*(float(v) for v in mid), h)
    assert q_air == 0.0
    assert np.allclose(written, series, rtol=0.0, atol=1e-15)
    assert not np.allclose(written, np.eye(6) + fh, rtol=0.0, atol=1e-15)


@pytest.mark.parametrize(("height_m", "air"), [(100e3, 0.0), (20e3, 1.0), (20e3, 0.5)])
def test_the_linearisation_is_the_dynamics_derivative(height_m: float, air: float) -> None:
    # F h against central differences of (v, acceleration) at the midpoint, the start
    # velocity held (as the linearisation holds it); J2's gradient is left out of F.
    x = state_from_geodetic(39.0, 128.0, height_m, (1500.0, 300.0, -1200.0))
    h = 0.5
    fh, q_air = scaled_jacobian(tuple(float(v) for v in x), h, air)
    mid = x.copy()
    mid[:3] += 0.5 * h * x[3:]

    def f(s: np.ndarray) -> np.ndarray:
        return np.concatenate([s[3:], acceleration(*(float(v) for v in s), air)])

    numeric = np.zeros((6, 6))
    for j in range(6):
        e = np.zeros(6)
        e[j] = 1e-3 if j < 3 else 1e-4
        numeric[:, j] = (f(mid + e) - f(mid - e)) / (2.0 * e[j])
    analytic = fh / h
    np.testing.assert_allclose(analytic[:3], numeric[:3], atol=1e-12)
    # Each block against its own size: drag's partials would hide the gravity gradient.
    for block in (np.s_[3:, :3], np.s_[3:, 3:]):
        scale = np.abs(numeric[block]).max()
        np.testing.assert_allclose(analytic[block], numeric[block], rtol=0.0, atol=1e-2 * scale)
    assert (q_air > 0.0) == (air > 0.0)


def test_upper_triangle_round_trip() -> None:
    rng = np.random.default_rng(7)
    m = rng.standard_normal((6, 6))
    p = m @ m.T
    values = upper_triangle(p)
    assert len(values) == 21
    np.testing.assert_allclose(from_upper_triangle(values), p)


def test_covariance_stays_symmetric_positive_definite(coasting: np.ndarray) -> None:
    p0 = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    _, p = propagate(coasting, p0, 60.0, q=1.0)
    np.testing.assert_allclose(p, p.T)
    np.linalg.cholesky(p)
    # Velocity uncertainty spreads into position: it must grow, not shrink.
    assert np.trace(p[:3, :3]) > np.trace(p0[:3, :3])


def test_covariance_mapping_matches_monte_carlo(coasting: np.ndarray) -> None:
    p0 = np.diag([300.0**2] * 3 + [5.0**2] * 3)
    x1, p1 = propagate(coasting, p0, 90.0)
    rng = np.random.default_rng(11)
    chol = np.linalg.cholesky(p0)
    samples = np.array(
        [propagate_state(coasting + chol @ rng.standard_normal(6), 90.0) for _ in range(400)]
    )
    np.testing.assert_allclose(samples.mean(axis=0)[:3], x1[:3], atol=60.0)
    mc = np.cov(samples.T)
    np.testing.assert_allclose(np.sqrt(np.diag(mc)), np.sqrt(np.diag(p1)), rtol=0.15)


@pytest.mark.parametrize("air", [False, True])
def test_impact_point_and_ellipse_match_monte_carlo(coasting: np.ndarray, air: bool) -> None:
    # The samples differ only in their initial state: so must the predicted ellipse
    # (in the air, without the nominal drag's own error, tested below).
    p0 = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    hit = ground_crossing(coasting, p0, air=air, drag_noise=0.0)
    assert hit is not None
    assert abs(ecef_to_geodetic(hit.state[:3])[2]) < 5.0
    assert hit.dt_s > 0
    rng = np.random.default_rng(3)
    chol = np.linalg.cholesky(p0)
    pts = []
    for _ in range(300):
        g = ground_crossing(coasting + chol @ rng.standard_normal(6), air=air)
        assert g is not None
        pts.append((g.lat_deg, g.lon_deg, g.dt_s))
    arr = np.array(pts)
    e, n, _ = pymap3d.geodetic2enu(arr[:, 0], arr[:, 1], 0.0, hit.lat_deg, hit.lon_deg, 0.0)
    vals = np.linalg.eigvalsh(np.cov(np.vstack([e, n])))
    major_km = np.sqrt(5.991 * vals[1]) / 1000.0
    minor_km = np.sqrt(5.991 * vals[0]) / 1000.0
    assert major_km == pytest.approx(hit.semi_major_km, rel=0.2)
    assert minor_km == pytest.approx(hit.semi_minor_km, rel=0.2)
    assert arr[:, 2].std() == pytest.approx(hit.sigma_t_s, rel=0.2)
    # The Monte Carlo centre lies well inside the predicted ellipse.
    assert np.hypot(e.mean(), n.mean()) / 1000.0 < 0.2 * hit.semi_major_km


def test_launch_point_by_back_propagation(coasting: np.ndarray) -> None:
    back = ground_crossing(coasting, backwards=True)
    assert back is not None
    assert back.dt_s < 0
    lat, lon, alt = ecef_to_geodetic(back.state[:3])
    assert abs(alt) < 5.0
    # Climbing east-north-east: the launch point lies to the west-south-west.
    assert lon < 125.7 and lat < 39.0


def test_orbital_speed_never_crosses() -> None:
    # 7.9 km/s horizontal at 400 km: a (near-)circular orbit does not come down in 30 min.
    x = state_from_geodetic(0.0, 0.0, 400e3, (7670.0 - 465.0, 0.0, 0.0))
    assert ground_crossing(x, max_time_s=1800.0) is None


def test_the_impact_ellipse_covers_the_unknown_ballistic_coefficient(
    coasting: np.ndarray,
) -> None:
    """Bodies of half to twice the nominal beta land inside the 95% ellipse the
    nominal model predicts (it carries drag's error as noise)."""
    from trilink import air

    hit = ground_crossing(coasting, np.diag([1.0] * 3 + [0.01] * 3), air=True)
    assert hit is not None
    for beta in (0.5 * air.NOMINAL_BETA, 2.0 * air.NOMINAL_BETA):
        # A body of ballistic coefficient beta has nominal/beta of the nominal drag.
        other = crossing(coasting, air=air.NOMINAL_BETA / beta)
        assert other is not None
        e, n, _ = pymap3d.geodetic2enu(
            other.lat_deg, other.lon_deg, 0.0, hit.lat_deg, hit.lon_deg, 0.0
        )
        miss_km = float(np.hypot(e, n)) / 1000.0
        assert 0.05 < miss_km < hit.semi_major_km, (beta, miss_km, hit.semi_major_km)
