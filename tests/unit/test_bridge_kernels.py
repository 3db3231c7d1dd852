"""The bridge's compiled small-matrix kernels compute what their Python bodies compute.

Moving, fusing and comparing estimates run as compiled kernels (:mod:`trilink.jit`)
because numpy's per-call overhead on 6x6 matrices was most of their cost; the Python
body stays the reference.
"""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from bridge.association import _cost, _d2
from bridge.fusion import _fused
from bridge.warmup import warm_up
from tracking.propagate import moved
from trilink.jit import available, python

pytestmark = pytest.mark.skipif(not available(), reason="numba is not installed")


def _state(rng: np.random.Generator, height_m: float) -> np.ndarray:
    r = np.array(pymap3d.geodetic2ecef(rng.uniform(35, 42), rng.uniform(124, 135), height_m))
    up = r / np.linalg.norm(r)
    v = rng.normal(size=3) * 1500.0 - up * rng.uniform(0.0, 2500.0)
    return np.concatenate([r, v])


def _spd(rng: np.random.Generator, scale: float) -> np.ndarray:
    a = rng.normal(size=(6, 6))
    return scale * (a @ a.T + 6.0 * np.eye(6))


@pytest.mark.parametrize("air", [0.0, 1.0])
def test_propagation(air: float) -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        # Low and falling: in the atmosphere flight model the steps enter the air.
        x, p = _state(rng, rng.uniform(5e3, 80e3)), _spd(rng, 100.0)
        dt = float(rng.uniform(-20.0, 40.0))
        x1, p1 = moved(x, p, dt, 5.0, 5.0, air, 1.0)
        x0, p0 = python(moved)(x, p, dt, 5.0, 5.0, air, 1.0)
        np.testing.assert_allclose(x1, x0, rtol=1e-12, atol=1e-6)
        np.testing.assert_allclose(p1, p0, rtol=1e-9, atol=1e-9)
        assert np.array_equal(p1, p1.T)


@pytest.mark.parametrize("fast", [False, True])
def test_covariance_intersection(fast: bool) -> None:
    rng = np.random.default_rng(4)
    for _ in range(10):
        xa, xb = rng.normal(size=6) * 100.0, rng.normal(size=6) * 100.0
        pa, pb = _spd(rng, rng.uniform(0.5, 2.0)), _spd(rng, rng.uniform(0.5, 2.0))
        x1, p1, w1 = _fused(xa, pa, xb, pb, fast)
        x0, p0, w0 = python(_fused)(xa, pa, xb, pb, fast)
        assert w1 == pytest.approx(w0, abs=1e-12)
        np.testing.assert_allclose(x1, x0, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(p1, p0, rtol=1e-9, atol=1e-12)


def test_distances() -> None:
    rng = np.random.default_rng(5)
    for dof in (3, 6):
        xa, xb = rng.normal(size=6), rng.normal(size=6)
        pa, pb = _spd(rng, 1.0), _spd(rng, 2.0)
        assert _d2(xa, pa, xb, pb, dof) == pytest.approx(python(_d2)(xa, pa, xb, pb, dof))
        d, s = (xa - xb)[:dof], (pa + pb)[:dof, :dof]
        assert _d2(xa, pa, xb, pb, dof) == pytest.approx(float(d @ np.linalg.inv(s) @ d))
    expected = python(_cost)(xa, pa, xb, pb)
    assert _cost(xa, pa, xb, pb) == pytest.approx(expected)
    assert expected == pytest.approx(_d2(xa, pa, xb, pb, 6) + np.linalg.slogdet(pa + pb)[1])


def test_the_warm_up_runs_every_kernel() -> None:
    # A kernel the bridge calls with argument types its warm-up does not would compile
    # at a service's first report; the warm-up itself must at least run.
    assert warm_up() >= 0.0


def test_the_thrust_ceilings_height_is_the_validators() -> None:
    from bridge.estimate import _climbing_below
    from bridge.validate import altitude_m

    rng = np.random.default_rng(6)
    for _ in range(50):
        x = _state(rng, rng.uniform(0.0, 40e3))
        x[3:6] += rng.normal(size=3) * 2000.0  # climbing or not
        climbing = float(x[:3] @ x[3:6]) > 0.0
        below = altitude_m(*x[:3]) < 20_000.0
        assert _climbing_below(*x.tolist(), 20_000.0) is (climbing and below)
