"""Covariance intersection: consistent whatever the cross-correlation, never naive."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.errors import BridgeError
from bridge.estimate import Estimate, Propagator, falling
from bridge.fusion import CovarianceIntersection, ci_weight, covariance_intersection
from evaluation.synthetic import ballistic_missile

T0 = 1_777_593_600_000_000


def _est(x: np.ndarray, p: np.ndarray, t: int = 0) -> Estimate:
    return Estimate(t, x, p)


def _random_spd(rng: np.random.Generator, scale: float) -> np.ndarray:
    a = rng.normal(size=(6, 6))
    return scale * (a @ a.T + 6 * np.eye(6))


def test_the_same_track_twice_is_not_counted_twice() -> None:
    """Data incest: fusing an estimate with itself must not shrink its covariance."""
    rng = np.random.default_rng(0)
    p = _random_spd(rng, 100.0)
    x = rng.normal(size=6)
    fused, _ = covariance_intersection(_est(x, p), _est(x, p))
    assert np.allclose(fused.p, p, rtol=1e-6)
    assert np.allclose(fused.x, x)


def test_a_dominant_track_takes_all_the_weight() -> None:
    precise = _est(np.zeros(6), np.eye(6))
    vague = _est(np.ones(6) * 100.0, np.eye(6) * 1e6)
    fused, w = covariance_intersection(precise, vague)
    assert w == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(fused.x, 0.0, atol=0.1)


def test_complementary_tracks_beat_each_alone() -> None:
    """Each knows a different half of the state well: CI's det is below both."""
    pa = np.diag([1.0, 1.0, 1.0, 100.0, 100.0, 100.0])
    pb = np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 1.0])
    fused, w = covariance_intersection(_est(np.zeros(6), pa), _est(np.zeros(6), pb))
    assert 0.0 < w < 1.0
    det = np.linalg.det(fused.p)
    assert det < np.linalg.det(pa) and det < np.linalg.det(pb)
    # ...but never the naive (independent) answer, which would claim more than it knows.
    naive = np.linalg.inv(np.linalg.inv(pa) + np.linalg.inv(pb))
    assert np.all(np.linalg.eigvalsh(fused.p - naive) > -1e-9)


@pytest.mark.parametrize("criterion", ["det", "trace", "fast"])
def test_consistent_under_strong_unknown_correlation(criterion: str) -> None:
    """Monte Carlo: errors 90% correlated between the two tracks; CI's NEES stays <= 6."""
    rng = np.random.default_rng(7)
    pa = _random_spd(rng, 1.0)
    pb = _random_spd(rng, 2.0)
    la, lb = np.linalg.cholesky(pa), np.linalg.cholesky(pb)
    fuse = CovarianceIntersection(criterion)  # type: ignore[arg-type]
    nees = []
    for _ in range(300):
        common = rng.normal(size=6)
        ea = la @ (0.9 * common + np.sqrt(1 - 0.81) * rng.normal(size=6))
        eb = lb @ (0.9 * common + np.sqrt(1 - 0.81) * rng.normal(size=6))
        fused = fuse([_est(ea, pa), _est(eb, pb)])
        nees.append(float(fused.x @ np.linalg.solve(fused.p, fused.x)))
    assert np.mean(nees) <= 6.0


def test_weights_are_in_range() -> None:
    rng = np.random.default_rng(3)
    ia = np.linalg.inv(_random_spd(rng, 1.0))
    ib = np.linalg.inv(_random_spd(rng, 3.0))
    for criterion in ("det", "trace", "fast"):
        assert 0.0 <= ci_weight(ia, ib, criterion) <= 1.0  # type: ignore[arg-type]


def test_many_tracks_and_misuse() -> None:
    rng = np.random.default_rng(5)
    ests = [_est(rng.normal(size=6), _random_spd(rng, s)) for s in (1.0, 2.0, 5.0)]
    fused = CovarianceIntersection()(ests)
    assert np.linalg.det(fused.p) <= min(np.linalg.det(e.p) for e in ests) * (1 + 1e-9)
    with pytest.raises(BridgeError):
        CovarianceIntersection()([])
    with pytest.raises(BridgeError):
        covariance_intersection(ests[0], Estimate(1, ests[1].x, ests[1].p))


def test_propagator_inflates_more_while_boosting() -> None:
    m = ballistic_missile("M", T0)
    p = np.diag([100.0**2] * 3 + [5.0**2] * 3)
    prop = Propagator(q_ballistic=1.0, q_boost=1e4)
    coast = prop.to(Estimate(T0, m.state, p), T0 + 5_000_000)
    boost = prop.to(Estimate(T0, m.state, p, boosting=True), T0 + 5_000_000)
    assert np.trace(boost.p) > np.trace(coast.p) > np.trace(p)
    assert coast.time_us == T0 + 5_000_000
    assert np.allclose(coast.x, m.truth(T0 + 5_000_000), atol=1.0)


@pytest.mark.parametrize("criterion", ["det", "fast"])
def test_weights_from_given_covariances_are_the_same(criterion: str) -> None:
    rng = np.random.default_rng(12)
    # Each precise where the other is not, so that neither dominates (0 < ω < 1).
    pa = np.diag([1.0] * 3 + [100.0] * 3) + 0.1 * _random_spd(rng, 1.0)
    pb = np.diag([100.0] * 3 + [1.0] * 3) + 0.1 * _random_spd(rng, 1.0)
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    given = ci_weight(ia, ib, criterion, (pa, pb))  # type: ignore[arg-type]
    assert given == pytest.approx(ci_weight(ia, ib, criterion), abs=1e-9)  # type: ignore[arg-type]
    assert 0.0 < given < 1.0


def test_two_estimates_fuse_the_same_in_either_order() -> None:
    rng = np.random.default_rng(13)
    a = Estimate(T0, rng.normal(size=6) * 100.0, _random_spd(rng, 1.0))
    b = Estimate(T0, rng.normal(size=6) * 100.0, _random_spd(rng, 2.0))
    ab, ba = CovarianceIntersection()([a, b]), CovarianceIntersection()([b, a])
    assert np.allclose(ab.x, ba.x, rtol=1e-9, atol=1e-9)
    assert np.allclose(ab.p, ba.p, rtol=1e-9, atol=1e-12)


def test_det_weight_is_the_true_minimiser() -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        ia = np.linalg.inv(_random_spd(rng, rng.uniform(0.5, 2.0)))
        ib = np.linalg.inv(_random_spd(rng, rng.uniform(0.5, 2.0)))
        grid = np.linspace(0.0, 1.0, 2001)
        logdets = [np.linalg.slogdet(w * ia + (1 - w) * ib)[1] for w in grid]
        assert ci_weight(ia, ib, "det") == pytest.approx(grid[int(np.argmax(logdets))], abs=1e-3)


def _vertical(v_up: float, sigma_up: float) -> Estimate:
    """A state 6 km above the equator at 0°E (ECEF x is up there)."""
    x = np.array([6_384_137.0, 0.0, 0.0, v_up, 900.0, 0.0])
    p = np.diag([250.0**2] * 3 + [sigma_up**2, 130.0**2, 130.0**2])
    return _est(x, p)


def test_falling_is_a_descent_beyond_its_own_uncertainty() -> None:
    # A re-acquired warhead's first report (raid-30-5-sites, seed 5: -398 +- 135 m/s).
    assert falling(_vertical(-398.0, 135.0), 2.0)
    assert not falling(_vertical(-398.0, 135.0), 3.0)
    assert not falling(_vertical(-200.0, 135.0), 2.0)  # within its noise of level flight
    assert not falling(_vertical(+398.0, 135.0), 2.0)  # climbing
    assert not falling(_vertical(-398.0, 135.0), 0.0)  # off
