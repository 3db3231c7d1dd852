"""Spent stages: the bodies a multi-stage missile drops, each falling on its own.

At every separation (:attr:`Trajectory.staging_s`) the spent stage leaves the stack
with the stack's state and falls ballistically, through the air, with its own (low)
ballistic coefficient (``drag.stage`` in the catalogue: a tumbling empty tank); the
last stage of a multi-stage missile is dropped at burnout, when the warhead section
separates, and follows the warhead closely at first. Each stage is a
:class:`Trajectory` on the launch's clock: until its separation it is the stack's
path, from then its own, to its impact. Single-stage missiles drop nothing here
(their warhead section either stays on the body or is the body).

Ground truth for the sensors to see later; the producers do not fly them yet.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.integrate import solve_ivp

from sim.boost import ATOL, RTOL, drag_derivative, drag_vector, height_proxy
from sim.catalog import get_missile
from sim.flight import MAX_FLIGHT_S, Trajectory, _free_grid, _impact
from sim.solve import solve_trajectory
from sim.spline import Spline
from trilink.geodesy import ecef_acceleration, ecef_to_geodetic
from trilink.physics import Physics


def _fall(parent: Trajectory, t_sep: float, beta: float, index: int) -> Trajectory:
    """The stage dropped at ``t_sep``: the stack's path until then, its own after."""
    spline = parent._spline
    assert spline is not None
    r0, v0 = parent.state_at(t_sep)
    inv_beta = 1.0 / beta
    sol = solve_ivp(
        drag_derivative(inv_beta),
        (t_sep, t_sep + MAX_FLIGHT_S),
        np.concatenate([r0, v0]),
        method="DOP853",
        rtol=RTOL,
        atol=ATOL,
        events=(_impact,),
        dense_output=True,
    )
    impact_s = float(sol.t_events[0][0])
    grid = _free_grid(sol.sol, t_sep, impact_s)
    y = sol.sol(grid).T
    dy = np.hstack([y[:, 3:], ecef_acceleration(y[:, :3], y[:, 3:])])
    dy[:, 3:] += drag_vector(y[:, :3], y[:, 3:], inv_beta)
    # The stack's knots before separation, read back from the parent's spline
    # (value c0, derivative c1 / h at each interval start).
    head = spline.knots[:-1] < t_sep
    t = np.concatenate([spline.knots[:-1][head], grid])
    ys = np.vstack([spline.coef[head, 0], y])
    dys = np.vstack([spline.coef[head, 1] * spline.inv_h[head, None], dy])
    lat, lon, _ = ecef_to_geodetic(y[-1, :3])
    heights = height_proxy(y[:, :3])
    top = int(np.argmax(heights))
    rising = parent.apogee_s > t_sep  # else it separated on the way down: peak already past
    return dataclasses.replace(
        parent,
        missile=f"{parent.missile}-stage-{index + 1}",
        burnout_s=t_sep,
        staging_s=(),
        apogee_s=float(grid[top]) if rising else parent.apogee_s,
        apogee_km=float(heights[top]) / 1e3 if rising else parent.apogee_km,
        flight_time_s=impact_s,
        impact_lat_deg=lat,
        impact_lon_deg=lon,
        range_km=math.nan,
        _spline=Spline.fit(t, ys, dys),
    )


def spent_stages(parent: Trajectory) -> list[Trajectory]:
    """The spent stages of a solved flight, in the order they separate."""
    separations = parent.staging_s
    if not separations:
        return []
    beta = get_missile(parent.missile).drag.stage
    drops = (*separations, parent.burnout_s)
    return [_fall(parent, t, beta, i) for i, t in enumerate(drops)]


@functools.lru_cache(maxsize=256)
def launch_stages(
    lat_deg: float,
    lon_deg: float,
    bearing_deg: float,
    range_km: float,
    apogee_km: float,
    missile: str,
) -> tuple[Trajectory, ...]:
    """Spent stages of the launch :func:`sim.solve.solve_trajectory` flies (cached)."""
    parent = solve_trajectory(
        lat_deg, lon_deg, bearing_deg, range_km, apogee_km, missile, Physics.ATMOSPHERE
    )
    return tuple(spent_stages(parent))
