"""Ground truth for trilink: catalogues and the ballistic flight model.

- :mod:`sim.catalog` — launch sites, missile types, historical launches (CNS data).
- :mod:`sim.boost` — powered flight: stages, thrust, pitch program.
- :mod:`sim.flight` — the forward model :func:`fly` and :class:`Trajectory`.
- :mod:`sim.solve` — :func:`solve_trajectory`: reproduce a reported range and apogee.
- :mod:`sim.kepler` — Keplerian arcs for initial guesses and geometry checks.
- :mod:`sim.atmosphere`, :mod:`sim.manoeuvre` — air density (drag) and the KN-23 pull-up.
- :mod:`sim.stages` — spent stages falling on their own trajectories.
"""

from sim.catalog import (
    HistoricalLaunch,
    Missile,
    Site,
    Stage,
    get_missile,
    get_site,
    historical,
    missiles,
    sites,
)
from sim.errors import CatalogError, SimError, TrajectoryError
from sim.flight import Trajectory, fly
from sim.kepler import minimum_energy_apogee_km
from sim.solve import solve_historical, solve_trajectory

__all__ = [
    "CatalogError",
    "HistoricalLaunch",
    "Missile",
    "SimError",
    "Site",
    "Stage",
    "Trajectory",
    "TrajectoryError",
    "fly",
    "get_missile",
    "get_site",
    "historical",
    "minimum_energy_apogee_km",
    "missiles",
    "sites",
    "solve_historical",
    "solve_trajectory",
]
