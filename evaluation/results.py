"""The score's figures as typed, frozen results (see :mod:`evaluation.scoring` for each).

``to_json()`` on each gives the JSON object ``trilink score --json`` prints: the
keys, their order and the rounding are part of that output and do not change.
Nations key by their code and alert statuses by their symbol there; here they key
by the enums.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from evaluation.coverage import EllipseCoverage
from evaluation.waits import JoinWaits
from trilink.constants import NATIONS
from trilink.model import AlertStatus, Nation

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """Median, max and RMS (km, rounded to metres) of a set of impact errors, and their count.

    ``median``, ``max`` and ``rms`` are None when there are none.
    """

    median: float | None
    max: float | None
    n: int
    rms: float | None = None

    @classmethod
    def of(cls, errors: Iterable[float]) -> ErrorSummary:
        values = list(errors)
        if not values:
            return cls(None, None, 0)
        rms = math.sqrt(sum(v * v for v in values) / len(values))
        return cls(
            round(statistics.median(values), 3), round(max(values), 3), len(values), round(rms, 3)
        )

    def to_json(self) -> JsonObject:
        return {"median": self.median, "max": self.max, "n": self.n, "rms": self.rms}


@dataclass(frozen=True, slots=True)
class ImpactErrors:
    """Impact error per missile at each track's final update: fused, and each nation's own."""

    fused: ErrorSummary
    national: Mapping[Nation, ErrorSummary]

    def rows(self) -> list[tuple[str, ErrorSummary]]:
        """(label, summary): ``fused`` first, then each nation by its code."""
        return [("fused", self.fused), *((n.value, self.national[n]) for n in NATIONS)]

    def to_json(self) -> JsonObject:
        return {label: summary.to_json() for label, summary in self.rows()}


@dataclass(frozen=True, slots=True)
class LeadTimes:
    """One missile: per nation, its own first warning's time minus the first fused alert's
    (s); None if the nation never detects it (or no fused alert names it)."""

    by_nation: Mapping[Nation, float | None]

    def __getitem__(self, nation: Nation) -> float | None:
        return self.by_nation[nation]

    def to_json(self) -> JsonObject:
        return {n.value: self.by_nation[n] for n in NATIONS}


@dataclass(frozen=True, slots=True)
class Gospa:
    """Mean GOSPA (km) and its parts over the time grid; the means are None without truth."""

    c_km: float
    p: float
    step_s: float
    samples: int
    mean: float | None
    mean_localisation: float | None = None
    mean_missed: float | None = None
    mean_false: float | None = None

    def to_json(self) -> JsonObject:
        if self.mean is None:  # nothing to compare: no grid, no parts
            return {"c_km": self.c_km, "p": self.p, "mean": None}
        return {
            "c_km": self.c_km,
            "p": self.p,
            "step_s": self.step_s,
            "samples": self.samples,
            "mean": self.mean,
            "mean_localisation": self.mean_localisation,
            "mean_missed": self.mean_missed,
            "mean_false": self.mean_false,
        }


@dataclass(frozen=True, slots=True)
class RaidCount:
    """Open system tracks against missiles in flight over time (``evaluation.timeline``):
    the largest miscount, how many samples were off and when the worst was (s after the
    first warning; None when never off). ``max_abs_error`` is None without samples."""

    step_s: float
    after_s: float
    grace_s: float
    samples: int
    max_abs_error: int | None
    samples_off: int
    worst_at_s: float | None

    def to_json(self) -> JsonObject:
        return {
            "step_s": self.step_s,
            "after_s": self.after_s,
            "grace_s": self.grace_s,
            "samples": self.samples,
            "max_abs_error": self.max_abs_error,
            "samples_off": self.samples_off,
            "worst_at_s": self.worst_at_s,
        }


@dataclass(frozen=True, slots=True)
class Score:
    """How good one run's common picture is against truth.

    Counts first (missiles, system tracks, merged, duplicates, missed, alerts, per
    status, warnings per nation), then the impact errors, the share of missiles whose
    fused impact is not worse (not significantly worse) than the best nation's (None
    when no missile has both), the lead times and the delay from launch to the first
    fused alert (s) per missile, and GOSPA. Then what came with scoring by detection
    origin (``evaluation.origin``): how tracks were matched (``origin`` or
    ``trajectory``), the system tracks beyond one per missile, the delay of the first
    fused alert on each missile after the first national warning of it (s), and the
    raid count over time. Last, how often the 95% impact ellipses hold the impact
    (``evaluation.coverage``).
    """

    missiles: int
    system_tracks: int
    merged: int
    duplicates: int
    missed: int
    alerts: int
    alerts_by_status: Mapping[AlertStatus, int]
    warnings: Mapping[Nation, int]
    impact_error_km: ImpactErrors
    fused_not_worse_fraction: float | None
    fused_not_significantly_worse_fraction: float | None
    lead_time_s: Mapping[str, LeadTimes]
    first_alert_after_launch_s: Mapping[str, float | None]
    gospa: Gospa
    matching: Literal["origin", "trajectory"] = "trajectory"
    extra_tracks: int = 0
    first_alert_delay_s: Mapping[str, float | None] = field(default_factory=dict)
    raid_count: RaidCount | None = None
    ellipse_coverage: EllipseCoverage | None = None
    join_waits: JoinWaits | None = None

    @property
    def max_first_alert_delay_s(self) -> float | None:
        """The longest first-alert delay over the missiles (None if none has one)."""
        return max((d for d in self.first_alert_delay_s.values() if d is not None), default=None)

    def to_json(self) -> JsonObject:
        return {
            "missiles": self.missiles,
            "system_tracks": self.system_tracks,
            "merged": self.merged,
            "duplicates": self.duplicates,
            "missed": self.missed,
            "alerts": self.alerts,
            "alerts_by_status": {s.value: n for s, n in self.alerts_by_status.items()},
            "warnings": {n.value: count for n, count in self.warnings.items()},
            "impact_error_km": self.impact_error_km.to_json(),
            "fused_not_worse_fraction": self.fused_not_worse_fraction,
            "fused_not_significantly_worse_fraction": self.fused_not_significantly_worse_fraction,
            "lead_time_s": {m: lead.to_json() for m, lead in self.lead_time_s.items()},
            "first_alert_after_launch_s": dict(self.first_alert_after_launch_s),
            "gospa": self.gospa.to_json(),
            "matching": self.matching,
            "extra_tracks": self.extra_tracks,
            "first_alert_delay_s": dict(self.first_alert_delay_s),
            "max_first_alert_delay_s": self.max_first_alert_delay_s,
            "raid_count": None if self.raid_count is None else self.raid_count.to_json(),
            "ellipse_coverage": (
                None if self.ellipse_coverage is None else self.ellipse_coverage.to_json()
            ),
            "join_wait_s": (
                None
                if self.join_waits is None
                else {
                    "max": self.join_waits.max_s,
                    "p95": self.join_waits.p95_s,
                    "never_joined": list(self.join_waits.never),
                }
            ),
        }


@dataclass(frozen=True, slots=True)
class ScenarioScore:
    """A scenario's score with how it was run: ``offline`` (the engine in process),
    ``broker`` (a bridge through Kafka) or ``stonesoup`` (the peer, :mod:`evaluation.peer`).
    ``dead_letters`` is -1 through a broker (the bridge's dead letters are not read back
    there)."""

    scenario: str
    seed: int
    mode: Literal["offline", "broker", "stonesoup"]
    score: Score
    dead_letters: int

    def to_json(self) -> JsonObject:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "mode": self.mode,
            **self.score.to_json(),
            "dead_letters": self.dead_letters,
        }
