"""Air density for atmospheric drag: the ICAO 1993 standard atmosphere (``ambiance``).

``ambiance`` evaluates the standard atmosphere in ~300 µs a call, far too slow for the
right-hand side of an ODE that is called thousands of times per flight. So it is
evaluated once, on a 250 m grid from sea level to its ceiling (81 km), and the
natural logarithm of the density is fitted with a cubic spline (smooth to second
order, so the integrator sees no kinks). Above the ceiling the log-density continues
on a straight line with the slope at the top (an exponential with the ~6 km scale
height of the upper mesosphere, close to US-1976 up to ~100 km); above
``TOP_M`` the air is taken as vacuum. Below sea level the sea-level value is used.

Drag acts on the velocity relative to the air; the atmosphere co-rotates with the
Earth, so in the Earth-fixed frame that is the ECEF velocity itself (no wind).
"""

from __future__ import annotations

import math

import numpy as np
from ambiance import Atmosphere
from scipy.interpolate import CubicSpline

from trilink.geodesy import FloatArray

STEP_M = 250.0
CEILING_M = 81_000.0  # ambiance's upper limit (81.02 km)
TOP_M = 150_000.0  # above this the density (< 1e-9 kg/m³) is taken as zero

_H = np.arange(0.0, CEILING_M + STEP_M / 2, STEP_M)
_FIT = CubicSpline(_H, np.log(Atmosphere(_H).density))
# Per-interval polynomial coefficients (highest power first) as plain lists: the scalar
# lookup below runs in the ODE's inner loop, where numpy indexing costs more than the sum.
_C3, _C2, _C1, _C0 = (row.tolist() for row in _FIT.c)
_N = len(_C0)
_LOG_TOP = float(_FIT(CEILING_M))
_SLOPE_TOP = float(_FIT(CEILING_M, 1))


def density(h_m: float) -> float:
    """Air density (kg/m³) at height ``h_m`` above sea level (scalar, fast)."""
    if h_m >= CEILING_M:
        if h_m >= TOP_M:
            return 0.0
        return math.exp(_LOG_TOP + _SLOPE_TOP * (h_m - CEILING_M))
    if h_m <= 0.0:
        return math.exp(_C0[0])
    i = min(int(h_m / STEP_M), _N - 1)
    s = h_m - i * STEP_M
    return math.exp(((_C3[i] * s + _C2[i]) * s + _C1[i]) * s + _C0[i])


def density_array(h_m: FloatArray) -> FloatArray:
    """:func:`density` vectorised over heights."""
    h = np.asarray(h_m, dtype=float)
    inside = np.exp(_FIT(np.clip(h, 0.0, CEILING_M)))
    above = np.exp(_LOG_TOP + _SLOPE_TOP * (h - CEILING_M))
    result: FloatArray = np.where(h < CEILING_M, inside, np.where(h < TOP_M, above, 0.0))
    return result


def drag_acceleration(rho: FloatArray, v: FloatArray, inv_beta: FloatArray) -> FloatArray:
    """Drag acceleration (..., 3) for density ``rho`` (...), air velocity ``v`` (..., 3).

    ``inv_beta`` is 1/β with β = m / (C_d A) the ballistic coefficient (kg/m²):
    a = -ρ |v| v / (2 β).
    """
    speed = np.linalg.norm(v, axis=-1, keepdims=True)
    k = 0.5 * np.asarray(rho)[..., None] * np.asarray(inv_beta)[..., None] * speed
    result: FloatArray = -k * v
    return result
