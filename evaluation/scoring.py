"""How good is the common picture? Scores a run of the bridge against ground truth.

The scorer may use truth; the bridge may not. National tracks are mapped to the
missile whose true trajectory they stay nearest to (mean distance over their
reports); a system track holds the missiles of the national tracks its final
alert lists. From there:

* ``merged``: system tracks holding more than one missile;
* ``duplicates``: missiles spread over more than one system track;
* ``impact_error_km``: great-circle error of the impact prediction at each
  track's final update — per nation (its last warning with a prediction) and
  fused (the last alert with one) — median and max over missiles;
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
  the true positions of the missiles in flight, averaged over the grid.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge.alerts import ground_distance_km
from bridge.config import EngineConfig
from bridge.engine import Engine, Outcome
from tracking.propagate import propagate_state
from trilink.codec import Codec
from trilink.config import Topics
from trilink.constants import NATIONS, US, FloatArray
from trilink.model import AlertStatus, FusedAlert, GroundPoint, MissileWarning, Nation

GOSPA_C_KM = 50.0
GOSPA_P = 1.0
GOSPA_STEP_S = 5.0


@dataclass(frozen=True, slots=True)
class TruthPath:
    """One real missile: when it flies, where it comes down, where it is (ECEF, m)."""

    name: str
    start_us: int
    end_us: int
    impact_lat_deg: float
    impact_lon_deg: float
    positions: Callable[[FloatArray], FloatArray]  # times (µs, N) -> (N, 3)

    @property
    def impact(self) -> GroundPoint:
        from trilink.model import Ellipse

        return GroundPoint(self.impact_lat_deg, self.impact_lon_deg, self.end_us, Ellipse(0, 0, 0))


def truth_from_synthetic(m: Any) -> TruthPath:
    """A ``evaluation.synthetic.SyntheticMissile`` as a truth path."""
    return TruthPath(
        m.name, m.start_us, m.impact_us, m.impact_lat_deg, m.impact_lon_deg, m.positions
    )


# -- running the engine offline -------------------------------------------------------------


def run_offline(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    config: EngineConfig | None = None,
) -> tuple[list[FusedAlert], Outcome]:
    """Every alert the bridge issues for these warnings, fed one by one in publication
    order with the wall clock standing at each report's publication time."""
    config = config or EngineConfig()
    topics: Topics = config.topics
    stream = sorted(
        ((w.reported_us, topics.warnings(n), w) for n, ws in warnings.items() for w in ws),
        key=lambda item: (item[0], item[1], item[2].track_id, item[2].sequence),
    )
    now = [0]
    engine = Engine(config, Codec(), lambda: now[0])
    alerts: list[FusedAlert] = []
    total = Outcome()
    for reported_us, topic, w in stream:
        now[0] = reported_us
        out = engine.process_warnings([(topic, w)])
        alerts.extend(out.alerts)
        total.dead_letters.extend(out.dead_letters)
        total.accepted += out.accepted
    if stream:  # let the last missiles' impact times pass
        now[0] = stream[-1][0] + 3600 * US
        alerts.extend(engine.tick(now[0]).alerts)
    return alerts, total


# -- truth association ------------------------------------------------------------------------


def map_tracks(
    warnings: Iterable[MissileWarning], truths: Sequence[TruthPath]
) -> dict[tuple[Nation, str], str]:
    """(nation, track id) -> name of the nearest missile (mean distance over its reports)."""
    by_track: dict[tuple[Nation, str], list[MissileWarning]] = defaultdict(list)
    for w in warnings:
        by_track[(w.nation, w.track_id)].append(w)
    mapping = {}
    for key, reports in by_track.items():
        times = np.array([w.observed_us for w in reports], dtype=float)
        pos = np.array([w.position_m for w in reports])
        best, best_d = "", math.inf
        for truth in truths:
            inside = (times >= truth.start_us) & (times <= truth.end_us)
            if not inside.any():
                continue
            d = float(np.linalg.norm(truth.positions(times[inside]) - pos[inside], axis=1).mean())
            # Reports outside the flight cannot be this missile's: count them as far.
            d *= times.size / max(int(inside.sum()), 1)
            if d < best_d:
                best, best_d = truth.name, d
        if best:
            mapping[key] = best
    return mapping


# -- the score ----------------------------------------------------------------------------------


def _summary(errors: Iterable[float]) -> dict[str, float | int | None]:
    values = list(errors)
    if not values:
        return {"median": None, "max": None, "n": 0}
    return {
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def score(
    truths: Sequence[TruthPath],
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    alerts: Sequence[FusedAlert],
) -> dict[str, Any]:
    """The score of a run (see the module docstring for each figure)."""
    all_warnings = [w for ws in warnings.values() for w in ws]
    track_to_missile = map_tracks(all_warnings, truths)
    by_truth = {t.name: t for t in truths}

    final: dict[str, FusedAlert] = {}
    first_alert: dict[str, FusedAlert] = {}
    last_with_impact: dict[str, FusedAlert] = {}
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        final[a.system_track_id] = a
        first_alert.setdefault(a.system_track_id, a)
        if a.impact is not None:
            last_with_impact[a.system_track_id] = a
    holds: dict[str, set[str]] = {
        tid: {
            track_to_missile[(c.nation, c.track_id)]
            for c in a.contributors
            if (c.nation, c.track_id) in track_to_missile
        }
        for tid, a in final.items()
    }
    tracks_of: dict[str, list[str]] = defaultdict(list)
    for tid, missiles in holds.items():
        for m in missiles:
            tracks_of[m].append(tid)

    # First fused alert on a missile: any alert naming one of its national tracks.
    first_fused_us: dict[str, int] = {}
    for a in alerts:
        for c in a.contributors:
            named = track_to_missile.get((c.nation, c.track_id))
            if named is not None:
                t = a.newest_report_us
                first_fused_us[named] = min(first_fused_us.get(named, t), t)

    national_error: dict[Nation, dict[str, float]] = {n: {} for n in NATIONS}
    national_major: dict[Nation, dict[str, float]] = {n: {} for n in NATIONS}
    first_seen: dict[Nation, dict[str, int]] = {n: {} for n in NATIONS}
    last_impact: dict[tuple[Nation, str], MissileWarning] = {}
    for w in sorted(all_warnings, key=lambda w: (w.observed_us, w.reported_us)):
        seen = track_to_missile.get((w.nation, w.track_id))
        if seen is None or w.nation not in first_seen:
            continue
        held = first_seen[w.nation].get(seen, w.reported_us)
        first_seen[w.nation][seen] = min(held, w.reported_us)
        if w.impact is not None:
            last_impact[(w.nation, seen)] = w
    for (nation, m), w in last_impact.items():
        assert w.impact is not None
        national_error[nation][m] = ground_distance_km(w.impact, by_truth[m].impact)
        national_major[nation][m] = w.impact.ellipse.semi_major_km

    fused_error: dict[str, float] = {}
    for m, tids in tracks_of.items():
        candidates = [last_with_impact[t] for t in tids if t in last_with_impact]
        if candidates:
            best = max(candidates, key=lambda a: (a.newest_report_us, len(a.contributors)))
            assert best.impact is not None
            fused_error[m] = ground_distance_km(best.impact, by_truth[m].impact)

    compared = [m for m in fused_error if any(m in national_error[n] for n in NATIONS)]
    not_worse = [
        m
        for m in compared
        if fused_error[m] <= min(national_error[n].get(m, math.inf) for n in NATIONS) + 1e-9
    ]
    close_enough = []
    for m in compared:
        top = min(
            (n for n in NATIONS if m in national_error[n]), key=lambda n: national_error[n][m]
        )
        if fused_error[m] <= national_error[top][m] + national_major[top][m]:
            close_enough.append(m)
    lead = {
        t.name: {
            n.value: (
                None
                if t.name not in first_seen[n] or t.name not in first_fused_us
                else round((first_seen[n][t.name] - first_fused_us[t.name]) / US, 3)
            )
            for n in NATIONS
        }
        for t in truths
    }
    return {
        "missiles": len(truths),
        "system_tracks": len(final),
        "merged": sum(1 for ms in holds.values() if len(ms) > 1),
        "duplicates": sum(1 for tids in tracks_of.values() if len(tids) > 1),
        "missed": sum(1 for t in truths if t.name not in tracks_of),
        "alerts": len(alerts),
        "alerts_by_status": {
            s.value: sum(1 for a in alerts if a.status is s)
            for s in AlertStatus
            if s is not AlertStatus.UNKNOWN
        },
        "warnings": {n.value: len(warnings.get(n, ())) for n in NATIONS},
        "impact_error_km": {
            "fused": _summary(fused_error.values()),
            **{n.value: _summary(national_error[n].values()) for n in NATIONS},
        },
        "fused_not_worse_fraction": (
            round(len(not_worse) / len(compared), 4) if compared else None
        ),
        "fused_not_significantly_worse_fraction": (
            round(len(close_enough) / len(compared), 4) if compared else None
        ),
        "lead_time_s": lead,
        "first_alert_after_launch_s": {
            t.name: (
                None
                if t.name not in first_fused_us
                else round((first_fused_us[t.name] - t.start_us) / US, 3)
            )
            for t in truths
        },
        "gospa": gospa(truths, alerts),
    }


# -- GOSPA over time (Stone Soup) -------------------------------------------------------------


def _timestamp(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)


def gospa(
    truths: Sequence[TruthPath],
    alerts: Sequence[FusedAlert],
    *,
    c_km: float = GOSPA_C_KM,
    p: float = GOSPA_P,
    step_s: float = GOSPA_STEP_S,
) -> dict[str, Any]:
    """Mean GOSPA (and its parts) between fused tracks and truth on a regular grid."""
    from stonesoup.metricgenerator.ospametric import GOSPAMetric
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import State

    if not truths:
        return {"c_km": c_km, "p": p, "mean": None}
    start = min(t.start_us for t in truths)
    end = max(t.end_us for t in truths)
    grid = np.arange(start, end + 1, round(step_s * US), dtype=np.int64)
    by_track: dict[str, list[FusedAlert]] = defaultdict(list)
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        by_track[a.system_track_id].append(a)

    measured, measured_ids, truth_states, truth_ids = [], [], [], []
    for tid, history in by_track.items():
        closed = next(
            (a.alert_us for a in history if a.status in (AlertStatus.IMPACT, AlertStatus.DROPPED)),
            None,
        )
        k = 0
        for t in grid:
            while k + 1 < len(history) and history[k + 1].alert_us <= t:
                k += 1
            a = history[k]
            if a.alert_us > t or (closed is not None and t >= closed):
                continue
            x = np.array((*a.position_m, *a.velocity_mps))
            pos = propagate_state(x, (int(t) - a.state_time_us) / US, max_step=20.0)[:3] / 1000.0
            measured.append(State(StateVector(pos), timestamp=_timestamp(int(t))))
            measured_ids.append(tid)
    for truth in truths:
        times = grid[(grid >= truth.start_us) & (grid <= truth.end_us)]
        if times.size == 0:
            continue
        for t, pos in zip(times, truth.positions(times.astype(float)) / 1000.0, strict=True):
            truth_states.append(State(StateVector(pos), timestamp=_timestamp(int(t))))
            truth_ids.append(truth.name)
    metric = GOSPAMetric(c=c_km, p=p)
    series = metric.compute_over_time(measured, measured_ids, truth_states, truth_ids).value
    parts = ("distance", "localisation", "missed", "false")
    means = {k: float(np.mean([m.value[k] for m in series])) for k in parts}
    return {
        "c_km": c_km,
        "p": p,
        "step_s": step_s,
        "samples": len(series),
        "mean": round(means["distance"], 3),
        "mean_localisation": round(means["localisation"], 3),
        "mean_missed": round(means["missed"], 3),
        "mean_false": round(means["false"], 3),
    }


# -- a scenario end to end ---------------------------------------------------------------------

REPLAY_WINDOW_S = 100 * 365 * 86400.0  # recorded scenarios carry their own (old) times


def truth_from_launch(event: Any, trajectory: Any) -> TruthPath:
    """A simulator launch (``LaunchEvent`` + ``sim.flight.Trajectory``) as a truth path."""

    def positions(times_us: FloatArray) -> FloatArray:
        t = (np.asarray(times_us, dtype=float) - event.launch_time_us) / US
        r, _ = trajectory.state_at(t, clamp=True)
        return np.asarray(r, dtype=float).reshape(-1, 3)

    return TruthPath(
        event.launch_id,
        event.launch_time_us,
        event.launch_time_us + round(trajectory.flight_time_s * US),
        trajectory.impact_lat_deg,
        trajectory.impact_lon_deg,
        positions,
    )


def score_scenario(name: str, seed: int = 0, *, kafka: Any = None) -> dict[str, Any]:
    """Simulate scenario ``name`` (national warnings), fuse it — offline, or with ``kafka``
    through a bridge on that cluster — and score the picture."""
    from producers.national import simulate_all, solve_launch
    from producers.scenario import load_scenario

    launches = list(load_scenario(name, seed).launches)
    warnings = simulate_all(launches)
    truths = [truth_from_launch(e, solve_launch(e)) for e in launches]
    if kafka is None:
        alerts, outcome = run_offline(warnings)
        dead = len(outcome.dead_letters)
        mode = "offline"
    else:
        from bridge.config import BridgeConfig, ValidationConfig
        from evaluation.replay import fresh_topics, run_through_broker

        topics = fresh_topics()
        group = f"trilink-score-{topics.alerts.rpartition('-')[2]}"
        config = BridgeConfig(
            engine=EngineConfig(
                topics=topics,
                validation=ValidationConfig(future_s=REPLAY_WINDOW_S, past_s=REPLAY_WINDOW_S),
            ),
            group=group,
            transactional_id=f"{group}-txn",
        )
        alerts = run_through_broker(kafka, warnings, config)
        dead = -1
        mode = "broker"
    result = {"scenario": name, "seed": seed, "mode": mode}
    result.update(score(truths, warnings, alerts))
    result["dead_letters"] = dead
    return result
