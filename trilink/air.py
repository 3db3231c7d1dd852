"""The nominal air every consumer of a track state flies it through.

A trilink track is a 6-state: whoever predicts where it goes (the national trackers'
filters and impact points, the bridge, the map's predicted path) flies it with the
same nominal re-entry body in a single-exponential atmosphere (sea level 1.225 kg/m³,
7.2 km scale height: within ~20% of the standard atmosphere below 80 km), so their
predictions agree. The true ballistic coefficient of a missile is never known here;
:mod:`tracking.drag` carries what this nominal model gets wrong as process noise.

Drag acts on the velocity relative to the air, which co-rotates with the Earth: in
the Earth-fixed frame that is the ECEF velocity itself.
"""

from __future__ import annotations

import math

import numpy as np

from trilink.geodesy import A, F, FloatArray
from trilink.jit import kernel

RHO0 = 1.225  # kg/m³ at sea level
SCALE_H_M = 7_200.0
CEILING_M = 120_000.0  # above this the air is taken as vacuum (rho < 1e-7 kg/m³)
NOMINAL_BETA = 6_000.0  # kg/m²: between the threat set's SRBM and ICBM bodies
K = 1.0 / (2.0 * NOMINAL_BETA)


@kernel
def height_m(x: float, y: float, z: float) -> float:
    """Height above the ellipsoid, first order in the flattening (tens of metres)."""
    r = math.sqrt(x * x + y * y + z * z)
    return r - A * (1.0 - F * z * z / (r * r))


def height_rows(r: FloatArray) -> FloatArray:
    """:func:`height_m` of ECEF positions stacked on the first axis: (3,) or (3, n)."""
    r2 = np.einsum("i...,i...->...", r, r)
    h: FloatArray = np.sqrt(r2) - A * (1.0 - F * r[2] * r[2] / r2)
    return h


@kernel
def drag_coefficient(h_m: float) -> float:
    """``rho(h) / (2 β)`` of the nominal body: its drag deceleration is this times ``|v| v``."""
    if h_m >= CEILING_M:
        return 0.0
    return RHO0 * math.exp(-max(h_m, 0.0) / SCALE_H_M) * K
