"""The compiled flight kernels compute what their Python bodies compute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracking import ekf
from tracking.impact import crossing
from trilink.jit import available, kernel, python

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: with NUMBA_DISABLE_JIT every kernel is its Python body.
_FIGURES = """
import json, numpy as np
from tracking import ekf
from tracking.impact import crossing
x = np.array({x})
p = np.diag([100.0] * 3 + [10.0] * 3)
hit = crossing(x, p, air=1.3)
x7, p7 = np.append(x, 1.3)[None], np.diag([100.0] * 3 + [10.0] * 3 + [0.1])[None]
one = np.ones(1)
xs, ps = ekf.propagate_many(x7, p7, 7.0 * one, 50.0 * one, air=True, thrust=20.0 * one,
                            drag_noise=0.5 * one, body_drift=1e-3)
print(json.dumps({{"impact": [hit.lat_deg, hit.lon_deg, hit.dt_s, hit.semi_major_km],
                  "x": xs[0].tolist(), "p": ps[0].tolist()}}))
"""

_X = [-3.16e6, 3.93e6, 3.98e6, 1200.0, 800.0, 1500.0]


def _figures(disable_jit: bool) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if disable_jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _FIGURES.format(x=_X)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    figures: dict[str, list[float]] = json.loads(out.stdout)
    return figures


def test_kernels_are_compiled_where_numba_is_installed() -> None:
    pytest.importorskip("numba")
    assert available()

    @kernel
    def twice(v: float) -> float:
        return 2.0 * v

    assert twice(1.5) == 3.0
    assert python(twice) is not twice
    assert python(twice)(1.5) == 3.0


def test_compiled_kernels_agree_with_their_python_bodies() -> None:
    pytest.importorskip("numba")
    compiled = _figures(disable_jit=False)
    plain = _figures(disable_jit=True)
    # An impact point minutes of flight away, to well under a metre and a millisecond.
    lat, lon, t, major = compiled["impact"]
    lat0, lon0, t0, major0 = plain["impact"]
    assert abs(lat - lat0) < 1e-6 and abs(lon - lon0) < 1e-6
    assert abs(t - t0) < 1e-6
    assert major == pytest.approx(major0, rel=1e-9)
    np.testing.assert_allclose(compiled["x"], plain["x"], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(compiled["p"], plain["p"], rtol=1e-9, atol=1e-9)


def test_a_fresh_process_computes_the_same_bytes() -> None:
    # Compiled code is deterministic across processes (the battery and CI rely on it).
    x = np.array(_X)
    hit = crossing(x, np.diag([100.0] * 3 + [10.0] * 3), air=1.3)
    assert hit is not None
    one = np.ones(1)
    xs, _ = ekf.propagate_many(
        np.append(x, 1.3)[None],
        np.diag([100.0] * 3 + [10.0] * 3 + [0.1])[None],
        7.0 * one,
        50.0 * one,
        air=True,
        thrust=20.0 * one,
        drag_noise=0.5 * one,
        body_drift=1e-3,
    )
    fresh = _figures(disable_jit=False)
    assert [hit.lat_deg, hit.lon_deg, hit.dt_s, hit.semi_major_km] == fresh["impact"]
    assert xs[0].tolist() == fresh["x"]
