"""Knowing when a service falls behind, and saying so without flooding the log.

Each long-running service keeps a :class:`HealthMonitor`. It is told what the
service read (how far behind the end of its inputs it is, and the event time of
what it processed) and produces, every ``period_s``, a :class:`Heartbeat`: the
one-line health log, the record on the heartbeat topic that ``trilink status``
reads, and a warning when the service is behind.

:class:`RateLimitedLog` is how a service logs one kind of event that may come in
floods (100,000 malformed records): the first few as they come, then one summary
line per interval with the count and the last reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from trilink.timeutil import US_PER_S


class ServiceState(StrEnum):
    """How a service is doing (schema enum ``trilink.v1.ServiceState``)."""

    STARTING = "STARTING"
    OK = "OK"
    BEHIND = "BEHIND"
    STOPPING = "STOPPING"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One service's health at one moment (schema ``trilink.v1.Heartbeat``)."""

    SCHEMA: ClassVar[str] = "trilink.v1.Heartbeat"

    service: str
    instance: str
    state: ServiceState
    time_us: int
    started_us: int
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    lag_records: int = 0
    event_lag_s: float = 0.0
    processed: int = 0
    dead_letters: int = 0
    note: str = ""

    def line(self) -> str:
        """The periodic one-line health log."""
        lag = f"lag {self.lag_records} records, {self.event_lag_s:.1f} s behind the clock"
        return (
            f"{self.service} {self.state.value}: {lag}; processed {self.processed}, "
            f"dead letters {self.dead_letters}" + (f"; {self.note}" if self.note else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "instance": self.instance,
            "state": self.state.value,
            "time_us": self.time_us,
            "started_us": self.started_us,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "lag_records": self.lag_records,
            "event_lag_s": self.event_lag_s,
            "processed": self.processed,
            "dead_letters": self.dead_letters,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Heartbeat:
        return cls(
            service=str(d["service"]),
            instance=str(d["instance"]),
            state=ServiceState(d.get("state", "UNKNOWN")),
            time_us=_us(d["time_us"]),
            started_us=_us(d["started_us"]),
            inputs=tuple(d.get("inputs", ())),
            outputs=tuple(d.get("outputs", ())),
            lag_records=int(d.get("lag_records", 0)),
            event_lag_s=float(d.get("event_lag_s", 0.0)),
            processed=int(d.get("processed", 0)),
            dead_letters=int(d.get("dead_letters", 0)),
            note=str(d.get("note", "")),
        )


def _us(value: Any) -> int:
    return int(value) if isinstance(value, int) else round(value.timestamp() * US_PER_S)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When a service counts as behind, and how often it says how it is."""

    period_s: float = 10.0
    behind_records: int = 1000
    behind_s: float = 30.0


@dataclass
class HealthMonitor:
    """Accumulates what a service did; :meth:`due` yields a heartbeat once per period.

    ``clock`` is the session clock (scenario time, µs) that event lag is judged
    against; ``wall`` (monotonic seconds) paces the heartbeats. ``keeps_clock``: the
    event time is one the service keeps itself (a producer's simulation, stepped to
    the clock), not the newest input's, so lag on it means behind even with no input
    pending.
    """

    service: str
    instance: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    clock: Callable[[], int]
    policy: HealthPolicy = field(default_factory=HealthPolicy)
    wall: Callable[[], float] = time.monotonic
    keeps_clock: bool = False
    started_us: int = 0
    processed: int = 0
    dead_letters: int = 0
    lag_records: int = 0
    event_us: int = 0
    stopping: bool = False
    _next: float = 0.0
    _was_behind: bool = False

    def __post_init__(self) -> None:
        self.started_us = self.started_us or self.clock()

    def observe(self, *, processed: int = 0, dead_letters: int = 0, event_us: int = 0) -> None:
        """Count work done; ``event_us`` is the newest event time processed."""
        self.processed += processed
        self.dead_letters += dead_letters
        self.event_us = max(self.event_us, event_us)

    def heartbeat(self) -> Heartbeat:
        """The service's health now."""
        now = self.clock()
        event_lag = max(0.0, (now - self.event_us) / US_PER_S) if self.event_us else 0.0
        behind = (
            self.lag_records >= self.policy.behind_records
            # Event lag on input only means something while input is pending: an idle
            # service has simply seen nothing new. On a clock the service keeps, it
            # always does.
            or ((self.lag_records > 0 or self.keeps_clock) and event_lag >= self.policy.behind_s)
        )
        state = (
            ServiceState.STOPPING
            if self.stopping
            else ServiceState.BEHIND
            if behind
            else ServiceState.OK
        )
        return Heartbeat(
            service=self.service,
            instance=self.instance,
            state=state,
            time_us=now,
            started_us=self.started_us,
            inputs=self.inputs,
            outputs=self.outputs,
            lag_records=self.lag_records,
            event_lag_s=round(event_lag, 3),
            processed=self.processed,
            dead_letters=self.dead_letters,
        )

    def due(self) -> bool:
        """True once per period: time for a heartbeat."""
        t = self.wall()
        if t < self._next:
            return False
        self._next = t + self.policy.period_s
        return True

    def log(self, logger: logging.Logger, beat: Heartbeat) -> None:
        """The health line: INFO when fine, WARNING on falling behind (and once on recovery)."""
        behind = beat.state is ServiceState.BEHIND
        if behind:
            logger.warning("%s — falling behind", beat.line())
        elif self._was_behind:
            logger.warning("%s — caught up", beat.line())
        else:
            logger.info("%s", beat.line())
        self._was_behind = behind


@dataclass
class RateLimitedLog:
    """Log the first ``burst`` events as they come, then one summary per ``interval_s``."""

    logger: logging.Logger
    what: str
    burst: int = 5
    interval_s: float = 10.0
    level: int = logging.WARNING
    wall: Callable[[], float] = time.monotonic
    total: int = 0
    _window_start: float = field(default=-1.0)
    _in_window: int = 0
    _suppressed: int = 0
    _last: str = ""

    def __call__(self, message: str) -> None:
        """Record one event; logs it, or counts it for the next summary."""
        self.total += 1
        now = self.wall()
        if self._window_start < 0.0 or now - self._window_start >= self.interval_s:
            self.flush()
            self._window_start, self._in_window = now, 0
        if self._in_window < self.burst:
            self._in_window += 1
            self.logger.log(self.level, "%s: %s", self.what, message)
        else:
            self._suppressed += 1
            self._last = message

    def flush(self) -> None:
        """Emit the summary of what was held back, if anything."""
        if self._suppressed:
            self.logger.log(
                self.level,
                "%s: %d more in the last %.0f s (%d in all); last: %s",
                self.what,
                self._suppressed,
                self.interval_s,
                self.total,
                self._last,
            )
            self._suppressed = 0
