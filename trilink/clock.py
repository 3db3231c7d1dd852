"""One clock for every service: real time, or one shared accelerated time base.

A demo or an exercise may run faster than real time. Every service then has to
agree on *one* mapping from wall time to scenario time, or their records drift
apart: a producer that re-anchored its clock at each injection would publish
reports that the bridge, running on another anchor, judges stale or from the
future. The mapping is fixed by two numbers, set once for a whole session:

    scenario time = epoch + (wall time - epoch) * rate

``rate == 1`` is real time (UTC), whatever the epoch. The definition lives on the
cluster (a one-partition clock topic, see :mod:`trilink.kafka.clock`) so that any
number of processes started at any moment, and any number of injects, share it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from trilink.errors import ConfigError
from trilink.timeutil import US_PER_S, iso, wall_clock_us

MAX_RATE = 1000.0
"""Fastest accepted speed-up: beyond it a 2-core machine cannot simulate in time."""


@dataclass(frozen=True, slots=True)
class ClockDefinition:
    """The shared time base (schema ``trilink.v1.ClockDefinition``).

    ``generation`` orders redefinitions: the highest wins, so a reset on a
    long-lived cluster supersedes the old epoch without deleting history.
    """

    SCHEMA: ClassVar[str] = "trilink.v1.ClockDefinition"

    epoch_us: int
    rate: float
    generation: int = 0
    set_by: str = ""
    set_at_us: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and 0.0 < self.rate <= MAX_RATE):
            raise ConfigError(f"clock rate must be in (0, {MAX_RATE:g}], got {self.rate}")
        if self.epoch_us < 0:
            raise ConfigError(f"clock epoch must not be before 1970, got {self.epoch_us} µs")
        if self.generation < 0:
            raise ConfigError(f"clock generation must be >= 0, got {self.generation}")

    @property
    def real_time(self) -> bool:
        """True when scenario time is wall time."""
        return self.rate == 1.0

    def describe(self) -> str:
        """One line for people: ``real time`` or ``25x since 2026-12-02T06:00:00Z``."""
        if self.real_time:
            return "real time (UTC)"
        return f"{self.rate:g}x real time since {iso(self.epoch_us)} (accelerated clock)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch_us": self.epoch_us,
            "rate": self.rate,
            "generation": self.generation,
            "set_by": self.set_by,
            "set_at_us": self.set_at_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClockDefinition:
        def us(value: Any) -> int:
            # fastavro hands timestamp-micros back as datetimes unless told otherwise.
            return int(value) if isinstance(value, int) else round(value.timestamp() * US_PER_S)

        return cls(
            epoch_us=us(d["epoch_us"]),
            rate=float(d["rate"]),
            generation=int(d.get("generation", 0)),
            set_by=str(d.get("set_by", "")),
            set_at_us=us(d.get("set_at_us", 0)),
        )


REAL_TIME = ClockDefinition(epoch_us=0, rate=1.0)


@dataclass(frozen=True, slots=True)
class SimClock:
    """Scenario time from wall time under one :class:`ClockDefinition`.

    ``wall`` is injected (tests pass a fake); ``now()`` is what services stamp and
    judge records by.
    """

    definition: ClockDefinition = REAL_TIME
    wall: Callable[[], int] = field(default=wall_clock_us, compare=False)

    @property
    def rate(self) -> float:
        return self.definition.rate

    def at(self, wall_us: int) -> int:
        """Scenario time at wall time ``wall_us``."""
        d = self.definition
        if d.real_time:
            return wall_us
        return d.epoch_us + round((wall_us - d.epoch_us) * d.rate)

    def wall_at(self, scenario_us: int) -> int:
        """Wall time at which the scenario clock reads ``scenario_us``."""
        d = self.definition
        if d.real_time:
            return scenario_us
        return d.epoch_us + round((scenario_us - d.epoch_us) / d.rate)

    def now(self) -> int:
        """Scenario time now."""
        return self.at(self.wall())

    def scenario_span_us(self, wall_seconds: float) -> int:
        """How much scenario time ``wall_seconds`` of wall time covers."""
        return round(wall_seconds * self.definition.rate * US_PER_S)


def fixed(epoch_us: int, rate: float, *, set_by: str = "") -> SimClock:
    """A clock from an explicit definition (tests, the demo's single process)."""
    return SimClock(ClockDefinition(epoch_us=epoch_us, rate=rate, set_by=set_by))
