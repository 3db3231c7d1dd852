"""The error root of the simulation package."""

from __future__ import annotations

from trilink.errors import TrilinkError


class SimError(TrilinkError):
    """Root of every error the simulator raises on purpose."""


class CatalogError(SimError):
    """An unknown catalogue name (site, missile, date); the message lists valid choices."""


class TrajectoryError(SimError):
    """A trajectory that cannot be flown or solved (bad geometry, beyond the missile)."""
