"""Missile class from a track state: the range its energy could reach on a minimum-energy shot.

North Korean tests are lofted or depressed, so the flown range says little about the
missile; its specific mechanical energy (inertial frame) does. The speed that energy
gives at the Earth's surface fixes the longest ballistic range over a spherical Earth
(the minimum-energy trajectory: ``sin(psi/2) = Q / (2 - Q)``, ``Q = v² R / GM``), and
the usual range bands name the class: SRBM < 1,000 km <= MRBM < 3,000 km <= IRBM <
5,500 km <= ICBM. Energy at or above a low orbit's is a space launch (SLV).

While a missile boosts its energy still rises, so only a lower bound is known: the
class is reported once that bound already passes SRBM, otherwise UNKNOWN.
"""

from __future__ import annotations

import math

from trilink.geodesy import GM, OMEGA, R_MEAN, FloatArray
from trilink.model import MissileClass

_BANDS_KM = ((1000.0, MissileClass.SRBM), (3000.0, MissileClass.MRBM), (5500.0, MissileClass.IRBM))
_LOW_ORBIT_M = 200_000.0


def _energy(x: FloatArray) -> float:
    """Specific mechanical energy in the inertial frame (J/kg): v_i = v + w x r."""
    rx, ry, rz, vx, vy, vz = (float(c) for c in x[0:6])
    vx_i, vy_i = vx - OMEGA * ry, vy + OMEGA * rx
    return 0.5 * (vx_i * vx_i + vy_i * vy_i + vz * vz) - GM / math.sqrt(rx * rx + ry * ry + rz * rz)


def potential_range_km(x: FloatArray) -> float:
    """Longest ballistic range (km) the energy of ECEF state ``x`` allows; ``inf`` if orbital."""
    energy = _energy(x)
    q = 2.0 * (energy + GM / R_MEAN) * R_MEAN / GM
    if q <= 0.0:
        return 0.0
    if q >= 1.0:
        return math.inf
    return R_MEAN * 2.0 * math.asin(q / (2.0 - q)) / 1000.0


def is_orbital(x: FloatArray) -> bool:
    """Energy at least that of a circular orbit 200 km up."""
    return _energy(x) >= -GM / (2.0 * (R_MEAN + _LOW_ORBIT_M))


def classify(x: FloatArray, boosting: bool) -> MissileClass:
    """Class estimate of a track with ECEF state ``x`` (see the module docstring)."""
    if is_orbital(x):
        return MissileClass.SLV
    reach = potential_range_km(x)
    cls = MissileClass.ICBM
    for limit, band in _BANDS_KM:
        if reach < limit:
            cls = band
            break
    if boosting and cls is MissileClass.SRBM:
        return MissileClass.UNKNOWN
    return cls
