"""How good is the common picture? Scores a run of the bridge against ground truth.

The scorer may use truth; the bridge may not. A simulated run comes with the origin
of every national track's detections (``producers.origins``): a national track is
the missile behind most of its detections, a system track the majority origin of
its contributors' detections (:mod:`evaluation.origin`; ``matching: origin``).
Without origins (synthetic reports), national tracks are mapped to the missile
whose true trajectory they stay nearest to (:func:`evaluation.matching.map_tracks`;
``matching: trajectory``). From there:

* ``system_tracks``: every system track; ``extra_tracks``: those not matched
  one-to-one to a missile; ``missed``: missiles without one;
* ``merged``: system tracks carrying more than one missile;
* ``duplicates``: missiles carried by more than one system track;
* ``impact_error_km``: great-circle error of the impact prediction at each
  track's final update — per nation (its last warning with a prediction) and
  fused (the newest alert with one among the system tracks that are the missile,
  else among those carrying it) — median, max and RMS over missiles;
* ``fused_not_worse_fraction``: share of missiles whose fused error is at most
  the best single nation's; ``fused_not_significantly_worse_fraction`` allows the
  fused error to exceed it by at most that nation's own 95% ellipse semi-major
  axis (a difference its own uncertainty cannot tell from zero). With two nations
  of equal accuracy and independent errors even optimal fusion beats the better
  one on only about half of the missiles, so the strict figure measures luck as
  much as fusion;
* ``lead_time_s``: per missile and nation, the time the nation's own first
  warning of it exists (its ``reported_us``) minus the time of the first fused
  alert on the missile, in event time: the publication time of the newest report
  behind it (``newest_report_us``; offline this is also its ``alert_us``, through a
  broker ``alert_us`` is wall-clock time and the scenario's clock is not); null if
  the nation never detects it;
* ``gospa``: Stone Soup's GOSPA metric between the fused tracks (each alert's
  state propagated ballistically along a 5 s grid while the track is open) and
  the true positions of the missiles in flight, averaged over the grid
  (:mod:`evaluation.gospa`);
* ``first_alert_delay_s``: per missile, the first fused alert on it minus the
  first national warning of it (event time), and its max;
* ``raid_count``: open system tracks against missiles in flight over time
  (:mod:`evaluation.timeline`);
* ``join_waits``: per national track of a missile, how long from its first report
  until an alert lists it (:mod:`evaluation.waits`): a track held back is a nation's
  word missing from the picture;
* ``ellipse_coverage``: how often the 95% impact ellipses of the fused alerts (after
  burnout, and in boost apart) and of each nation's warnings hold the missile's
  impact point (:mod:`evaluation.coverage`).

:func:`score` returns a typed :class:`~evaluation.results.Score`; its ``to_json()``
is what ``trilink score --json`` prints. Truth paths live in
:mod:`evaluation.truth`, the track-to-missile matcher in :mod:`evaluation.matching`.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bridge.alerts import Assess, ground_distance_km
from bridge.config import EngineConfig
from bridge.engine import Engine, Outcome, Stages
from evaluation.coverage import ellipse_coverage
from evaluation.gospa import GOSPA_C_KM, GOSPA_P, GOSPA_STEP_S, gospa
from evaluation.matching import map_tracks
from evaluation.origin import (
    SystemOrigin,
    assign_tracks,
    counts_from_mapping,
    delivered_counts,
    national_missiles,
    system_origins,
)
from evaluation.results import (
    ErrorSummary,
    ImpactErrors,
    LeadTimes,
    ScenarioScore,
    Score,
)
from evaluation.timeline import first_alert_delays, raid_count
from evaluation.truth import TruthPath, truth_from_launch, truth_from_synthetic
from evaluation.waits import join_waits
from producers.origins import Origin, OriginCounts, OriginTimes
from threat.alert import with_threat
from trilink.codec import Codec
from trilink.config import Topics
from trilink.constants import NATIONS, US
from trilink.model import AlertStatus, FusedAlert, MissileWarning, Nation
from trilink.physics import DEFAULT_PHYSICS, Physics

# Moved to their own modules; still importable from here.
__all__ = [
    "GOSPA_C_KM",
    "GOSPA_P",
    "GOSPA_STEP_S",
    "REPLAY_WINDOW_S",
    "Fuser",
    "Simulated",
    "TruthPath",
    "arrivals",
    "gospa",
    "map_tracks",
    "offline_fuser",
    "run_offline",
    "score",
    "score_scenario",
    "simulate_scenario",
    "truth_from_launch",
    "truth_from_synthetic",
]

# -- running the engine offline -------------------------------------------------------------


Arrival = tuple[int, str, MissileWarning]  # (arrival time µs, topic, warning)

DRAIN_US = 3600 * US
"""How far the clock runs on after the last arrival, so the last impact times pass."""


def arrivals(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    topics: Topics,
    delays_s: Mapping[Nation, float] | None = None,
) -> list[Arrival]:
    """Every warning with its topic, in the order a bridge receives them: at its
    publication time plus its nation's delay (none by default), ties by topic, track
    and sequence."""
    delays_s = delays_s or {}
    return sorted(
        (
            (w.reported_us + round(delays_s.get(n, 0.0) * US), topics.warnings(n), w)
            for n, ws in warnings.items()
            for w in ws
        ),
        key=lambda item: (item[0], item[1], item[2].track_id, item[2].sequence),
    )


def run_offline(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    config: EngineConfig | None = None,
    *,
    assess: Assess = with_threat,
) -> tuple[list[FusedAlert], Outcome]:
    """Every alert the bridge issues for these warnings, fed one by one in publication
    order with the wall clock standing at each report's publication time; ``assess``
    fills each alert's threat (the identity leaves it empty)."""
    config = config or EngineConfig()
    stream = arrivals(warnings, config.topics)
    now = [0]
    codec = Codec()
    # No state snapshots: nothing offline restores a bridge from them.
    stages = Stages.assemble(config, codec, assess=assess)
    engine = Engine(config, codec, lambda: now[0], stages=stages, snapshots=False)
    alerts: list[FusedAlert] = []
    total = Outcome()
    for reported_us, topic, w in stream:
        now[0] = reported_us
        out = engine.process_warnings([(topic, w)])
        alerts.extend(out.alerts)
        total.dead_letters.extend(out.dead_letters)
        total.accepted += out.accepted
    if stream:  # let the last missiles' impact times pass
        now[0] = stream[-1][0] + DRAIN_US
        alerts.extend(engine.tick(now[0]).alerts)
    return alerts, total


class Fuser(Protocol):
    """A fusion pipeline under test: national warnings in, every fused alert out."""

    def __call__(
        self,
        warnings: Mapping[Nation, Sequence[MissileWarning]],
        /,
        *,
        physics: Physics = DEFAULT_PHYSICS,
    ) -> list[FusedAlert]: ...


def offline_fuser(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    /,
    *,
    physics: Physics = DEFAULT_PHYSICS,
) -> list[FusedAlert]:
    """trilink's own bridge engine, offline (:func:`run_offline`): the default fuser,
    flying track states in the run's flight model ``physics``."""
    return run_offline(warnings, EngineConfig(physics=physics))[0]


# -- the score ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fused:
    """What the system tracks made of the missiles."""

    final: dict[str, FusedAlert] = field(default_factory=dict)  # track id -> last alert
    last_with_impact: dict[str, FusedAlert] = field(default_factory=dict)
    tracks_of: dict[str, list[str]] = field(default_factory=dict)  # missile -> tracks it is
    merged_into: dict[str, list[str]] = field(default_factory=dict)  # missile -> carried by
    first_us: dict[str, int] = field(default_factory=dict)  # missile -> first alert naming it
    error_km: dict[str, float] = field(default_factory=dict)  # missile -> impact error


@dataclass(slots=True)
class _National:
    """Per nation and missile: impact error, its ellipse's semi-major axis (both km, of
    the last warning with a prediction) and when the nation first reported it."""

    error_km: dict[Nation, dict[str, float]]
    major_km: dict[Nation, dict[str, float]]
    first_seen_us: dict[Nation, dict[str, int]]


def _fused(
    alerts: Sequence[FusedAlert],
    track_to_missile: Mapping[tuple[Nation, str], str],
    by_truth: Mapping[str, TruthPath],
    systems: Mapping[str, SystemOrigin],
) -> _Fused:
    f = _Fused()
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        f.final[a.system_track_id] = a
        if a.impact is not None:
            f.last_with_impact[a.system_track_id] = a
    for tid, s in systems.items():
        if s.majority is not None:
            f.tracks_of.setdefault(s.majority, []).append(tid)
        for m in s.carries - {s.majority}:
            f.merged_into.setdefault(m, []).append(tid)
    # First fused alert on a missile: any alert naming one of its national tracks.
    for a in alerts:
        for c in a.contributors:
            named = track_to_missile.get((c.nation, c.track_id))
            if named is not None:
                t = a.newest_report_us
                f.first_us[named] = min(f.first_us.get(named, t), t)
    for m in by_truth:
        # The newest prediction of the tracks that are the missile (a track that died
        # early is extra, not its final word); of the tracks it was merged into if none.
        tids = f.tracks_of.get(m) or f.merged_into.get(m, [])
        candidates = [f.last_with_impact[t] for t in tids if t in f.last_with_impact]
        if candidates:
            best = max(candidates, key=lambda a: (a.newest_report_us, len(a.contributors)))
            assert best.impact is not None
            f.error_km[m] = ground_distance_km(best.impact, by_truth[m].impact)
    return f


# A warning is of the object behind most of the last detections its track took by then.
_RECENT_DETECTIONS = 5


def _following(times: Sequence[tuple[int, Origin]], observed_us: int) -> Origin:
    """What a track followed at ``observed_us``: the majority origin of its last
    ``_RECENT_DETECTIONS`` detections up to then (None before its first)."""
    end = bisect.bisect_right(times, observed_us, key=lambda e: e[0])
    recent = Counter(origin for _, origin in times[max(0, end - _RECENT_DETECTIONS) : end])
    return recent.most_common(1)[0][0] if recent else None


def _national(
    warnings: Sequence[MissileWarning],
    track_to_missile: Mapping[tuple[Nation, str], str],
    by_truth: Mapping[str, TruthPath],
    origin_times: OriginTimes | None = None,
) -> _National:
    """Per nation: first warning and last impact prediction of each missile.

    With ``origin_times``, a track's warnings are first warnings of its missile only
    from when the track follows it: a national track that began on another object (an
    infrared track handed from plume to plume) and settled on this one later did not
    warn of this one before. A track that never follows its missile at a warning
    (too few detections to tell) counts from its first warning, as without them.
    """
    n = _National({n: {} for n in NATIONS}, {n: {} for n in NATIONS}, {n: {} for n in NATIONS})
    last_impact: dict[tuple[Nation, str], MissileWarning] = {}
    earliest: dict[tuple[Nation, str], int] = {}  # per mapped track: its first warning
    on_it: set[tuple[Nation, str]] = set()  # mapped tracks with a warning while following it
    for w in sorted(warnings, key=lambda w: (w.observed_us, w.reported_us)):
        key = (w.nation, w.track_id)
        seen = track_to_missile.get(key)
        if seen is None or w.nation not in n.first_seen_us:
            continue
        earliest[key] = min(earliest.get(key, w.reported_us), w.reported_us)
        times = origin_times.get(key) if origin_times else None
        if times is None or _following(times, w.observed_us) == seen:
            on_it.add(key)
            held = n.first_seen_us[w.nation].get(seen, w.reported_us)
            n.first_seen_us[w.nation][seen] = min(held, w.reported_us)
        if w.impact is not None:
            last_impact[(w.nation, seen)] = w
    for key, first in earliest.items():
        if key not in on_it:
            seen = track_to_missile[key]
            held = n.first_seen_us[key[0]].get(seen, first)
            n.first_seen_us[key[0]][seen] = min(held, first)
    for (nation, m), w in last_impact.items():
        assert w.impact is not None
        n.error_km[nation][m] = ground_distance_km(w.impact, by_truth[m].impact)
        n.major_km[nation][m] = w.impact.ellipse.semi_major_km
    return n


def _fused_against_national(
    fused_error: Mapping[str, float], national: _National
) -> tuple[float | None, float | None]:
    """Shares of missiles whose fused error is not worse / not significantly worse than
    the best nation's (None when no missile has both)."""
    errors = national.error_km
    compared = [m for m in fused_error if any(m in errors[n] for n in NATIONS)]
    if not compared:
        return None, None
    not_worse = [
        m
        for m in compared
        if fused_error[m] <= min(errors[n].get(m, math.inf) for n in NATIONS) + 1e-9
    ]
    close_enough = []
    for m in compared:
        top = min((n for n in NATIONS if m in errors[n]), key=lambda n: errors[n][m])
        if fused_error[m] <= errors[top][m] + national.major_km[top][m]:
            close_enough.append(m)
    return round(len(not_worse) / len(compared), 4), round(len(close_enough) / len(compared), 4)


def _lead_times(truth: TruthPath, fused: _Fused, national: _National) -> LeadTimes:
    first_fused = fused.first_us.get(truth.name)
    return LeadTimes(
        {
            n: (
                None
                if truth.name not in national.first_seen_us[n] or first_fused is None
                else round((national.first_seen_us[n][truth.name] - first_fused) / US, 3)
            )
            for n in NATIONS
        }
    )


def score(
    truths: Sequence[TruthPath],
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    alerts: Sequence[FusedAlert],
    origins: OriginCounts | None = None,
    physics: Physics = DEFAULT_PHYSICS,
    origin_times: OriginTimes | None = None,
) -> Score:
    """The score of a run (see the module docstring for each figure).

    ``origins`` are the detection origins of the national tracks (from the
    simulation); without them tracks are matched by nearest trajectory. ``physics``
    is the flight model the alerts' states are flown forward in (GOSPA).
    ``origin_times`` (when each national track took a detection of what) date a
    missile's first national warning from when a track follows it.
    """
    all_warnings = [w for ws in warnings.values() for w in ws]
    names = [t.name for t in truths]
    if origins is None:
        track_to_missile = map_tracks(all_warnings, truths)
        origins = counts_from_mapping(all_warnings, track_to_missile)
        matching: Literal["origin", "trajectory"] = "trajectory"
    else:
        track_to_missile = national_missiles(origins, names)
        matching = "origin"
    delivered = (
        delivered_counts(alerts, all_warnings, origin_times)
        if origin_times is not None and matching == "origin"
        else None
    )
    systems = system_origins(alerts, origins, names, delivered)
    picked = assign_tracks(systems, names)
    by_truth = {t.name: t for t in truths}
    fused = _fused(alerts, track_to_missile, by_truth, systems)
    national = _national(all_warnings, track_to_missile, by_truth, origin_times)
    not_worse, not_significantly_worse = _fused_against_national(fused.error_km, national)
    first_fused = fused.first_us
    first_warning = {
        m: min(seen[m] for seen in national.first_seen_us.values() if m in seen)
        for m in names
        if any(m in seen for seen in national.first_seen_us.values())
    }
    labelled = {t for t, s in systems.items() if s.labelled_non_missile}
    return Score(
        missiles=len(truths),
        system_tracks=len(systems),
        merged=len(picked.merged),
        duplicates=len(picked.duplicates),
        missed=len(picked.missed),
        alerts=len(alerts),
        alerts_by_status={
            s: sum(1 for a in alerts if a.status is s)
            for s in AlertStatus
            if s is not AlertStatus.UNKNOWN
        },
        warnings={n: len(warnings.get(n, ())) for n in NATIONS},
        impact_error_km=ImpactErrors(
            fused=ErrorSummary.of(fused.error_km.values()),
            national={n: ErrorSummary.of(national.error_km[n].values()) for n in NATIONS},
        ),
        fused_not_worse_fraction=not_worse,
        fused_not_significantly_worse_fraction=not_significantly_worse,
        lead_time_s={t.name: _lead_times(t, fused, national) for t in truths},
        first_alert_after_launch_s={
            t.name: (
                None
                if t.name not in first_fused
                else round((first_fused[t.name] - t.start_us) / US, 3)
            )
            for t in truths
        },
        gospa=gospa(truths, alerts, air=physics.air),
        matching=matching,
        extra_tracks=len(picked.extra),
        first_alert_delay_s=first_alert_delays(truths, first_warning, first_fused),
        raid_count=raid_count(truths, first_warning, alerts, labelled),
        ellipse_coverage=ellipse_coverage(
            alerts, picked.matched, all_warnings, track_to_missile, by_truth
        ),
        join_waits=join_waits(all_warnings, alerts, track_to_missile),
    )


# -- a scenario end to end ---------------------------------------------------------------------

REPLAY_WINDOW_S = 100 * 365 * 86400.0  # recorded scenarios carry their own (old) times


@dataclass(frozen=True, slots=True)
class Simulated:
    """A scenario flown and seen by the three nations: truth, warnings, detection origins."""

    scenario: str
    seed: int
    truths: list[TruthPath]
    warnings: dict[Nation, list[MissileWarning]]
    origins: OriginCounts
    physics: Physics = DEFAULT_PHYSICS
    origin_times: OriginTimes = field(default_factory=dict)


def simulate_scenario(name: str, seed: int = 0, physics: Physics | None = None) -> Simulated:
    """Simulate scenario ``name`` (built-in, YAML file or catalogue date) with ``seed``,
    in the flight model ``physics`` (``None``: the scenario's own, vacuum by default)."""
    from producers.national import NationalConfig, simulate_all, solve_launch
    from producers.scenario_file import load_scenario

    scenario = load_scenario(name, seed).with_physics(physics)
    launches = list(scenario.launches)
    origins: OriginCounts = {}
    origin_times: OriginTimes = {}
    config = NationalConfig(physics=scenario.physics)
    warnings = simulate_all(launches, config=config, origins=origins, origin_times=origin_times)
    truths = [truth_from_launch(e, solve_launch(e, scenario.physics)) for e in launches]
    return Simulated(name, seed, truths, warnings, origins, scenario.physics, origin_times)


def score_scenario(
    name: str, seed: int = 0, *, kafka: Any = None, physics: Physics | None = None
) -> ScenarioScore:
    """Simulate scenario ``name`` (national warnings), fuse it — offline, or with ``kafka``
    through a bridge on that cluster — and score the picture; ``physics`` overrides the
    scenario's flight model."""
    run = simulate_scenario(name, seed, physics)
    truths, warnings, origins = run.truths, run.warnings, run.origins
    if kafka is None:
        alerts, outcome = run_offline(warnings, EngineConfig(physics=run.physics))
        return ScenarioScore(
            name,
            seed,
            "offline",
            score(truths, warnings, alerts, origins, run.physics, run.origin_times),
            len(outcome.dead_letters),
        )
    from bridge.config import BridgeConfig, ValidationConfig
    from evaluation.replay import fresh_topics, run_through_broker

    topics = fresh_topics()
    group = f"trilink-score-{topics.alerts.rpartition('-')[2]}"
    config = BridgeConfig(
        engine=EngineConfig(
            topics=topics,
            validation=ValidationConfig(future_s=REPLAY_WINDOW_S, past_s=REPLAY_WINDOW_S),
            physics=run.physics,
        ),
        group=group,
        transactional_id=f"{group}-txn",
    )
    alerts = run_through_broker(kafka, warnings, config)
    alerts_scored = score(truths, warnings, alerts, origins, run.physics, run.origin_times)
    return ScenarioScore(name, seed, "broker", alerts_scored, -1)
