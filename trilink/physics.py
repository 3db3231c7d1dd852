"""The flight model a run uses: one choice for the simulator and every predictor.

``vacuum`` (the default) flies missiles ballistically above a bare WGS-84 Earth, as
trilink always has: no drag, no staging coasts, no manoeuvres, and the trackers, the
bridge, impact prediction and the map assume the same. ``atmosphere`` adds the air:
drag on each body (ICAO standard atmosphere, per-class ballistic coefficients), the
separation coasts between stages and the KN-23 family's pull-up in the simulator, and
a nominal body's drag (:mod:`trilink.air`) wherever a track state is flown forward.

Chosen with the scenario (its ``physics`` key) or on the command line, and passed
down as this value; library code never reads it from anywhere else.
"""

from __future__ import annotations

from enum import StrEnum

from trilink.errors import ConfigError


class Physics(StrEnum):
    """Which flight model: ``vacuum`` or ``atmosphere``."""

    VACUUM = "vacuum"
    ATMOSPHERE = "atmosphere"

    @property
    def air(self) -> bool:
        """Whether bodies fly through the air (drag) rather than in vacuum."""
        return self is Physics.ATMOSPHERE

    @classmethod
    def parse(cls, text: str) -> Physics:
        """The model named ``text`` (case-insensitive); ConfigError for anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise ConfigError(f"physics must be one of {names}, got {text!r}") from None


DEFAULT_PHYSICS = Physics.VACUUM
