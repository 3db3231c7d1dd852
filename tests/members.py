"""Hand-built national tracks for bridge tests: a missile in free flight over the
Sea of Japan, placed east of a datum, with a diagonal covariance."""

from __future__ import annotations

import numpy as np

from bridge.tracks import NationalTrack
from bridge.validate import Checked
from tests.factories import make_warning
from tracking.propagate import upper_triangle
from trilink.geodesy import enu_rotation, geodetic_to_ecef
from trilink.model import Nation

LAT, LON = 39.5, 128.0


def national_track(
    nation: Nation,
    track_id: str,
    east_m: float,
    observed_us: int,
    *,
    sigma_m: float = 100.0,
    sigma_mps: float = 10.0,
) -> NationalTrack:
    """A national track at 100 km, ``east_m`` east of the datum, flying north at 2 km/s,
    first observed at ``observed_us``."""
    rot = enu_rotation(LAT, LON)  # rows: east, north, up in ECEF
    pos = geodetic_to_ecef(LAT, LON, 100_000.0) + east_m * rot[0]
    vel = 2_000.0 * rot[1]
    cov = np.diag([sigma_m**2] * 3 + [sigma_mps**2] * 3)
    w = make_warning(
        nation=nation,
        track_id=track_id,
        observed_us=observed_us,
        reported_us=observed_us,
        position_m=tuple(float(v) for v in pos),
        velocity_mps=tuple(float(v) for v in vel),
        covariance=upper_triangle(cov),
    )
    return NationalTrack.from_report(Checked(w, np.concatenate([pos, vel]), cov))
