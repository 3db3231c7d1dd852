"""A peer to beat: the same national warnings fused by a pipeline of Stone Soup's own parts.

Track-to-track fusion as Stone Soup offers it (issue 10, "A peer to beat"):

* every live national track is a Stone Soup ``Track`` whose newest state is the
  nation's latest report; :class:`~stonesoup.feeder.track.Tracks2GaussianDetectionFeeder`
  turns each batch of freshly reported tracks into ``GaussianDetection`` objects
  (a ``LinearGaussian`` model whose noise is the report's own covariance);
* a :class:`~stonesoup.hypothesiser.distance.DistanceHypothesiser` with the
  :class:`~stonesoup.measures.Mahalanobis` measure gates them against the system
  tracks, :class:`~stonesoup.dataassociator.neighbour.GNNWith2DAssignment` assigns;
* :class:`~stonesoup.updater.chernoff.ChernoffUpdater` fuses by covariance
  intersection (fixed ``omega``): the national estimates' cross-correlations are
  unknown, which is what CI is for;
* a :class:`~stonesoup.predictor.kalman.KalmanPredictor` over a
  ``CombinedLinearGaussianTransitionModel`` of three ``ConstantVelocity`` models;
* :class:`~stonesoup.initiator.simple.SimpleMeasurementInitiator` opens a system
  track on every detection left unassigned; :class:`~stonesoup.deleter.time.UpdateTimeDeleter`
  drops tracks without an update for ``coast_s``.

What the peer does not know, and trilink does: the motion model is constant velocity
in ECEF, so it ignores gravity (~10 m/s² of unmodelled acceleration), thrust, and the
rotating frame's Coriolis and centrifugal terms — the process noise ``q`` covers them;
it ignores national track identities for association (every report is gated and
assigned afresh); a late report is fused by predicting the track back to the report's
time (no out-of-sequence handling). Stone Soup's state order is (x, vx, y, vy, z, vz);
the wire order (x, y, z, vx, vy, vz) is converted at both ends.

Each system-track update becomes a :class:`~trilink.model.FusedAlert` (NEW first,
UPDATE after, IMPACT or DROPPED when it closes), so :func:`evaluation.scoring.score`
scores the peer exactly like trilink's own picture. Impact points come from the
fused state like a nation's (:func:`producers.report.impact_point`, forward ballistic).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np

from bridge.config import EngineConfig
from evaluation.results import ScenarioScore
from evaluation.scoring import run_offline, score, simulate_scenario
from producers.report import Snapshot, impact_point
from tracking.propagate import upper_triangle
from trilink.constants import US, FloatArray
from trilink.model import (
    AlertStatus,
    Contributor,
    FusedAlert,
    GroundPoint,
    MissileClass,
    MissileWarning,
    Nation,
    TrackStatus,
)
from trilink.physics import DEFAULT_PHYSICS, Physics

log = logging.getLogger(__name__)
_T = TypeVar("_T")

PEER_MODE: Final = "stonesoup"
_EPOCH = dt.datetime(1970, 1, 1)
# Stone Soup's constant-velocity order (x, vx, y, vy, z, vz) from the wire's (x, y, z, vx, vy, vz).
_TO_SS = np.array([0, 3, 1, 4, 2, 5])
_TO_WIRE = np.argsort(_TO_SS)
# A national track that ended is no longer live: the feeder takes live tracks only.
_ENDED = (TrackStatus.IMPACTED, TrackStatus.LOST)


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """The peer's few parameters.

    ``q`` is the constant-velocity model's noise density per axis (m²/s³): large enough
    that the ~10 m/s² of gravity it ignores stays inside the predicted covariance over
    a few seconds between reports. ``gate`` is the Mahalanobis distance beyond which a
    report starts a new track (√χ²₆ at 99.99%). ``omega`` weights the report in the
    covariance intersection. ``coast_s`` is the deleter's time without an update;
    ``impact_grace_s`` how long past its predicted impact time a track stays open.
    """

    q: float = 400.0
    omega: float = 0.5
    gate: float = 5.278  # sqrt(scipy.stats.chi2.ppf(0.9999, 6))
    coast_s: float = 60.0
    impact_grace_s: float = 2.0


def _time(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def _us(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def _cov(values: Sequence[float]) -> FloatArray:
    p = np.zeros((6, 6))
    p[np.triu_indices(6)] = values
    return p + np.triu(p, 1).T


@dataclass(slots=True)
class _System:
    """What the alerts of one Stone Soup system track need beyond its states."""

    track_id: str
    first: MissileWarning
    version: int = 0
    contributors: dict[tuple[Nation, str], int] = field(default_factory=dict)  # -> observed_us
    newest_report_us: int = 0
    missile_class: MissileClass = MissileClass.UNKNOWN
    impact: GroundPoint | None = None

    def fed(self, w: MissileWarning) -> None:
        self.contributors[(w.nation, w.track_id)] = w.observed_us
        self.newest_report_us = max(self.newest_report_us, w.reported_us)
        if w.missile_class is not MissileClass.UNKNOWN:
            self.missile_class = w.missile_class

    def alert(self, state: Any, status: AlertStatus, now_us: int) -> FusedAlert:
        """The alert of this track's ``state`` (a Stone Soup GaussianState)."""
        x = np.asarray(state.state_vector, dtype=float).ravel()[_TO_WIRE]
        p = np.asarray(state.covar, dtype=float)[np.ix_(_TO_WIRE, _TO_WIRE)]
        state_us = _us(state.timestamp)
        if status in (AlertStatus.NEW, AlertStatus.UPDATE):
            self.impact = impact_point(Snapshot(state_us, x, p, 0.0))
        alert = FusedAlert(
            system_track_id=self.track_id,
            version=self.version,
            status=status,
            contributors=tuple(Contributor(n, t, us) for (n, t), us in self.contributors.items()),
            first_detection_us=self.first.observed_us,
            first_detection_nation=self.first.nation,
            state_time_us=state_us,
            position_m=(float(x[0]), float(x[1]), float(x[2])),
            velocity_mps=(float(x[3]), float(x[4]), float(x[5])),
            covariance=upper_triangle(0.5 * (p + p.T)),
            launch=None,  # the peer estimates no launch point
            impact=self.impact,
            missile_class=self.missile_class,
            alert_us=now_us,
            newest_report_us=self.newest_report_us,
            data_mode=self.first.data_mode,
            note="stonesoup peer",
            scenario_id=self.first.scenario_id,
        )
        self.version += 1
        return alert


def _pipeline(config: PeerConfig) -> dict[str, Any]:
    """The Stone Soup components (imported here: Stone Soup takes a while to import)."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import SimpleMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.chernoff import ChernoffUpdater

    motion = CombinedLinearGaussianTransitionModel([ConstantVelocity(config.q)] * 3)
    predictor = KalmanPredictor(motion)
    updater = ChernoffUpdater(measurement_model=None, omega=config.omega)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=config.gate
    )
    return {
        "associator": GNNWith2DAssignment(hypothesiser),
        "updater": updater,
        # Each detection carries its own LinearGaussian model (the feeder's): the prior
        # is overwritten in all six dimensions.
        "initiator": SimpleMeasurementInitiator(
            prior_state=GaussianState(np.zeros(6), np.eye(6)), measurement_model=None
        ),
        "deleter": UpdateTimeDeleter(dt.timedelta(seconds=config.coast_s)),
    }


def _publication_order(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
) -> list[MissileWarning]:
    """Sorted as :func:`evaluation.scoring.run_offline` feeds the bridge."""
    return sorted(
        (w for ws in warnings.values() for w in ws),
        key=lambda w: (w.reported_us, w.nation.value, w.track_id, w.sequence),
    )


def _batches(
    stream: Sequence[MissileWarning], latest: dict[str, MissileWarning]
) -> Iterator[tuple[dt.datetime, set[Any]]]:
    """The feeder's reader: per publication time and nation, the national tracks just reported.

    One nation's reports at one instant are one scan: distinct objects, which is what
    a 2-D assignment assumes. Two nations' reports of one missile in one batch would
    have it give the second a new track. Only the tracks reported in the batch, not
    every live one: the feeder turns each given track's newest state into a detection,
    and a report must be fused once.
    ``latest`` maps a national track's Stone Soup id to its newest warning (the feeder
    pulls one batch at a time, so for a detection it is the one behind it), ended
    tracks' last too.
    """
    from stonesoup.types.state import GaussianState
    from stonesoup.types.track import Track

    national: dict[str, Any] = {}
    i = 0
    while i < len(stream):
        now, nation = stream[i].reported_us, stream[i].nation
        batch: set[Any] = set()
        seen: set[str] = set()
        while i < len(stream) and (stream[i].reported_us, stream[i].nation) == (now, nation):
            w = stream[i]
            key = f"{w.nation.value}/{w.track_id}"
            if key in seen:
                break  # a second report of one track at one instant: the next batch
            seen.add(key)
            i += 1
            latest[key] = w
            if w.status in _ENDED:
                national.pop(key, None)
                continue
            track = national.get(key)
            if track is None:
                track = national[key] = Track(id=key)
            x = np.array(w.position_m + w.velocity_mps)[_TO_SS]
            p = _cov(w.covariance)[np.ix_(_TO_SS, _TO_SS)]
            # Only the newest state matters to the feeder; keeping the history would grow
            # every national track for nothing.
            track.states = [GaussianState(x, p, timestamp=_time(w.observed_us))]
            batch.add(track)
        yield _time(now), batch


def stonesoup_fuse(
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    config: PeerConfig | None = None,
    *,
    physics: Physics = DEFAULT_PHYSICS,
) -> list[FusedAlert]:
    """Every alert the Stone Soup peer issues for these warnings, fed in publication order.

    ``physics`` (the :class:`~evaluation.scoring.Fuser` protocol's) is not used: the
    peer keeps its own motion models, whatever the flight model of the run.

    Every reported national track is a detection; ended ones (IMPACTED, LOST) are not.
    A system track closes with IMPACT when every national track that fed it has ended,
    one with an impact, or when its predicted impact time is ``impact_grace_s`` past;
    when the deleter drops it, with IMPACT if its predicted impact time has passed and
    DROPPED otherwise. After the last report the clock jumps an hour ahead (as in
    :func:`evaluation.scoring.run_offline`) so every open track closes.
    """
    from stonesoup.feeder.track import Tracks2GaussianDetectionFeeder

    del physics
    config = config or PeerConfig()
    parts = _pipeline(config)
    associator, updater = parts["associator"], parts["updater"]
    initiator, deleter = parts["initiator"], parts["deleter"]
    stream = _publication_order(warnings)
    latest: dict[str, MissileWarning] = {}
    feeder = Tracks2GaussianDetectionFeeder(reader=_batches(stream, latest))
    tracks: set[Any] = set()
    systems: dict[Any, _System] = {}
    alerts: list[FusedAlert] = []
    grace_us = round(config.impact_grace_s * US)
    opened = 0

    def close(track: Any, now_us: int, down: bool = False) -> None:
        system = systems.pop(track)
        tracks.discard(track)
        down = down or _impact_passed(system, now_us)
        status = AlertStatus.IMPACT if down else AlertStatus.DROPPED
        alerts.append(system.alert(track.state, status, now_us))

    for when, detections in feeder:
        now_us = _us(when)
        if detections and tracks:
            assigned = set()
            for track, hypothesis in associator.associate(tracks, detections, when).items():
                if not hypothesis:
                    continue  # no prediction appended: the next one starts from the last update
                track.append(updater.update(hypothesis))
                assigned.add(hypothesis.measurement)
                system = systems[track]
                system.fed(latest[hypothesis.measurement.metadata["track_id"]])
                alerts.append(system.alert(track.state, AlertStatus.UPDATE, now_us))
            detections = detections - assigned
        for track in deleter.delete_tracks(tracks, timestamp=when):
            close(track, now_us)
        # Not Stone Soup's: trilink's two closing rules, so that neither picture is scored
        # on tracks left open past the ground. A track closes when every national track
        # that fed it has ended, one of them with an impact, or when its own predicted
        # impact time has passed. Lost national tracks alone do not close it: it coasts
        # (as trilink's does) until the deleter or its impact time.
        for track, system in list(systems.items()):
            final = [latest[f"{n.value}/{t}"].status for n, t in system.contributors]
            ended = all(s in _ENDED for s in final) and TrackStatus.IMPACTED in final
            if ended or _impact_passed(system, now_us - grace_us):
                close(track, now_us, True)
        for track in initiator.initiate(detections, when):
            w = latest[track.state.hypothesis.measurement.metadata["track_id"]]
            opened += 1
            system = systems[track] = _System(f"SS-{opened:04d}", w)
            tracks.add(track)
            system.fed(w)
            alerts.append(system.alert(track.state, AlertStatus.NEW, now_us))
    if stream:
        end_us = stream[-1].reported_us + 3600 * US
        for track in sorted(tracks, key=lambda t: systems[t].track_id):
            close(track, end_us)
    log.debug("stonesoup peer: %d warnings, %d alerts", len(stream), len(alerts))
    return alerts


def _impact_passed(system: _System, horizon_us: int) -> bool:
    return system.impact is not None and system.impact.time_us <= horizon_us


# -- scoring it like trilink ---------------------------------------------------------------


def score_peer(name: str, seed: int = 0) -> ScenarioScore:
    """Simulate scenario ``name``, fuse it with the Stone Soup peer and score the picture
    (mode ``stonesoup``), as :func:`evaluation.scoring.score_scenario` does for trilink."""
    run = simulate_scenario(name, seed)
    alerts = stonesoup_fuse(run.warnings)
    scored = score(run.truths, run.warnings, alerts, run.origins, origin_times=run.origin_times)
    return ScenarioScore(name, seed, PEER_MODE, scored, 0)


@dataclass(frozen=True, slots=True)
class Comparison:
    """trilink (offline engine) and the peer on the same ``warnings`` national warnings,
    with each one's fusing time per warning (µs, wall clock, the fuse alone).

    Both are timed on the same job: fusion and impact prediction, with alerts carrying
    no threat assessment, since the peer makes none. ``trilink_threat_us_per_warning``
    is trilink with its threat assessment (whom each alert warns) as the live bridge
    runs it.
    """

    trilink: ScenarioScore
    peer: ScenarioScore
    trilink_us_per_warning: float
    peer_us_per_warning: float
    warnings: int = 0
    trilink_threat_us_per_warning: float = 0.0


def _unassessed(alert: FusedAlert) -> FusedAlert:
    return alert


def _timed(fuse: Callable[[], _T], repeats: int) -> tuple[_T, float]:
    """The result of ``fuse`` and its fastest wall time (s) over ``repeats`` runs: the
    fastest is the least disturbed on a shared machine, and excludes one-off imports."""
    best, result = math.inf, None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = fuse()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return result, best


def compare(name: str, seed: int = 0, *, repeats: int = 2) -> Comparison:
    """Score trilink and the peer side by side on one simulation of scenario ``name``,
    timing each fuse (best of ``repeats``)."""
    run = simulate_scenario(name, seed)
    truths, warnings, origins = run.truths, run.warnings, run.origins
    n = max(1, sum(len(ws) for ws in warnings.values()))
    config = EngineConfig(physics=run.physics)
    (ours, outcome), t_ours = _timed(
        lambda: run_offline(warnings, config, assess=_unassessed), repeats
    )
    _, t_threat = _timed(lambda: run_offline(warnings, config), repeats)
    theirs, t_theirs = _timed(lambda: stonesoup_fuse(warnings), repeats)
    return Comparison(
        ScenarioScore(
            name,
            seed,
            "offline",
            score(truths, warnings, ours, origins, origin_times=run.origin_times),
            len(outcome.dead_letters),
        ),
        ScenarioScore(
            name,
            seed,
            PEER_MODE,
            score(truths, warnings, theirs, origins, origin_times=run.origin_times),
            0,
        ),
        round(t_ours / n * 1e6, 1),
        round(t_theirs / n * 1e6, 1),
        n,
        round(t_threat / n * 1e6, 1),
    )


__all__ = ["PEER_MODE", "Comparison", "PeerConfig", "compare", "score_peer", "stonesoup_fuse"]
