"""The end-of-run summary: each injected missile against what the shared picture made of it.

Alerts carry no launch id (the bridge only knows sensor data), so system tracks
are matched to ground-truth :class:`LaunchEvent`s by the one-to-one gated
assignment of :func:`evaluation.matching.assign` (global nearest neighbour) on:

* place: the distance from the alert's estimated launch point to the launch site;
* time: the delay from launch to the track's first detection, squared. Estimated
  launch *times* are not used: back-propagating through the boost phase misses
  them by tens of seconds, more than the spacing of a salvo, whereas the delay to
  first detection is much the same for sister missiles, and a convex cost then
  pairs a salvo's tracks with its launches in order;
* class: a track whose class contradicts the launch's costs more, and so does a
  track that did not end in an IMPACT (a broken-off piece).

Pairs outside the gates (400 km, detection 5 s before to 10 min after launch,
another scenario) are not matched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from consumers.view import SHARING_NATIONS, TrackView
from evaluation.matching import INFEASIBLE, assign
from trilink.geodesy import distance_bearing, great_circle
from trilink.model import AlertStatus, GroundPoint, LaunchEvent, MissileClass, Nation
from trilink.timeutil import s_from_us

_LAUNCH_GATE_KM = 400.0
# First detection follows launch by the time the missile needs to rise into view.
_DETECTION_WINDOW_S = (-5.0, 600.0)
_S2_PER_KM = 10.0  # a 10 s delay weighs as much as 10 km of launch-place error
_CLASS_PENALTY = 200.0
_UNFINISHED_PENALTY = 50.0


class ImpactTruth(Protocol):
    """Where a launch really came down (lat, lon in degrees)."""

    def impact(self, launch: LaunchEvent) -> tuple[float, float]: ...


@dataclass(frozen=True, slots=True)
class NominalImpact:
    """Impact at the launch's ground range along its bearing (WGS-84 geodesic).

    The simulator solves each flight (rotating Earth, J2) to land exactly there
    (``sim.solve``; metres apart), so this is the ground truth without flying it.
    """

    def impact(self, launch: LaunchEvent) -> tuple[float, float]:
        return great_circle(
            launch.site_lat_deg, launch.site_lon_deg, launch.bearing_deg, launch.range_km * 1000.0
        )


@dataclass(frozen=True, slots=True)
class MissileSummary:
    """One row of the summary: a launch with its track, a launch with none, or a track with
    no launch (``launch`` None)."""

    launch: LaunchEvent | None
    track: TrackView | None
    detections: Mapping[Nation, int]
    impact_error_km: float | None

    @property
    def name(self) -> str:
        if self.launch is not None:
            return f"{self.launch.launch_id} ({self.launch.missile})"
        assert self.track is not None
        return f"{self.track.system_track_id} (no launch matched)"

    @property
    def impact(self) -> GroundPoint | None:
        return None if self.track is None else self.track.latest.impact

    def lead_s(self, nation: Nation) -> float | None:
        """Seconds the shared picture gave ``nation`` before its own first detection."""
        if self.track is None:
            return None
        lead = self.track.lead_us(nation)
        return None if lead is None else s_from_us(lead)

    def detection_delay_s(self, nation: Nation) -> float | None:
        """Seconds from launch to ``nation``'s own first detection."""
        own = self.detections.get(nation)
        if own is None or self.launch is None:
            return None
        return s_from_us(own - self.launch.launch_time_us)


def _gate_cost(track: TrackView, launch: LaunchEvent) -> float:
    scenarios = {track.latest.scenario_id, launch.scenario_id}
    if "" not in scenarios and len(scenarios) > 1:
        return INFEASIBLE
    delay_s = s_from_us(track.first_detection_us - launch.launch_time_us)
    low, high = _DETECTION_WINDOW_S
    if not low <= delay_s <= high:
        return INFEASIBLE
    cost = delay_s**2 / _S2_PER_KM
    estimate = track.latest.launch
    if estimate is not None:
        dist_m, _ = distance_bearing(
            estimate.lat_deg, estimate.lon_deg, launch.site_lat_deg, launch.site_lon_deg
        )
        if dist_m / 1000.0 > _LAUNCH_GATE_KM:
            return INFEASIBLE
        cost += dist_m / 1000.0
    return cost


def _cost(track: TrackView, launch: LaunchEvent) -> float:
    cost = _gate_cost(track, launch)
    if cost >= INFEASIBLE:
        return cost
    known = MissileClass.UNKNOWN
    if track.latest.missile_class not in (known, launch.missile_class):
        cost += _CLASS_PENALTY
    if track.latest.status is not AlertStatus.IMPACT:
        cost += _UNFINISHED_PENALTY
    return cost


def plausible(track: TrackView, launch: LaunchEvent) -> bool:
    """True if ``track`` could be ``launch`` (within the time and place gates)."""
    return _gate_cost(track, launch) < INFEASIBLE


def match_launches(
    tracks: Sequence[TrackView], launches: Sequence[LaunchEvent]
) -> dict[str, LaunchEvent]:
    """System track id -> the launch it most plausibly is (one-to-one, gated)."""
    return {
        tracks[r].system_track_id: launches[c] for r, c in assign(tracks, launches, _cost).items()
    }


def _impact_error_km(
    track: TrackView | None, launch: LaunchEvent | None, truth: ImpactTruth
) -> float | None:
    if track is None or launch is None or track.latest.impact is None:
        return None
    lat, lon = truth.impact(launch)
    impact = track.latest.impact
    dist_m, _ = distance_bearing(impact.lat_deg, impact.lon_deg, lat, lon)
    return dist_m / 1000.0


def summarise(
    tracks: Sequence[TrackView],
    launches: Sequence[LaunchEvent],
    truth: ImpactTruth | None = None,
) -> list[MissileSummary]:
    """One row per launch (in launch order), then one per track no launch explains."""
    truth = truth or NominalImpact()
    matched = match_launches(tracks, launches)
    by_launch = {launch.launch_id: tid for tid, launch in matched.items()}
    by_id = {t.system_track_id: t for t in tracks}
    rows: list[MissileSummary] = []
    for launch in sorted(launches, key=lambda e: (e.launch_time_us, e.launch_id)):
        track = by_id.get(by_launch.get(launch.launch_id, ""))
        rows.append(
            MissileSummary(
                launch=launch,
                track=track,
                detections=_detections(track),
                impact_error_km=_impact_error_km(track, launch, truth),
            )
        )
    for track in tracks:
        if track.system_track_id not in matched:
            rows.append(MissileSummary(None, track, _detections(track), None))
    return rows


def _detections(track: TrackView | None) -> Mapping[Nation, int]:
    if track is None:
        return MappingProxyType({})
    return MappingProxyType({n: t for n, t in track.detections.items() if n in SHARING_NATIONS})
