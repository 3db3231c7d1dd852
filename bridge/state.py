"""Bridge state on Kafka: one ``BridgeTrackState`` snapshot per system track.

Snapshots are keyed by system track id on ``Topics.bridge_state`` and written in
the same transaction as the alerts and consumer offsets of the batch that touched
the track; a null value (tombstone) forgets an evicted track. On restart the last
snapshot per key wins. The record is the bridge's own, so it lives here rather
than in the shared domain model; the codec handles it by schema name
(``encode_dict``/``decode_dict``) like any catalog record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bridge.tracks import AlertMark, NationalTrack, Picture, SystemTrack
from tracking.propagate import from_upper_triangle
from trilink.model import (
    AlertStatus,
    DataMode,
    GroundPoint,
    MissileClass,
    Nation,
    TrackStatus,
)

Floats = tuple[float, ...]


def _point(d: dict[str, Any] | None) -> GroundPoint | None:
    return None if d is None else GroundPoint.from_dict(d)


def _point_dict(p: GroundPoint | None) -> dict[str, Any] | None:
    return None if p is None else p.to_dict()


def _floats(values: Any) -> Floats:
    return tuple(float(v) for v in values)


@dataclass(frozen=True, slots=True)
class MemberState:
    """A national track as persisted (see ``NationalTrack``)."""

    nation: Nation
    track_id: str
    first_observed_us: int
    last_sequence: int
    observed_us: int
    reported_us: int
    state: Floats
    covariance: Floats
    status: TrackStatus
    boosting: bool
    saw_boost: bool
    missile_class: MissileClass
    quality: int
    launch: GroundPoint | None
    impact: GroundPoint | None
    impact_at_refresh: GroundPoint | None
    data_mode: DataMode
    scenario_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "nation": self.nation.value,
            "track_id": self.track_id,
            "first_observed_us": self.first_observed_us,
            "last_sequence": self.last_sequence,
            "observed_us": self.observed_us,
            "reported_us": self.reported_us,
            "state": list(self.state),
            "covariance": list(self.covariance),
            "status": self.status.value,
            "boosting": self.boosting,
            "saw_boost": self.saw_boost,
            "missile_class": self.missile_class.value,
            "quality": self.quality,
            "launch": _point_dict(self.launch),
            "impact": _point_dict(self.impact),
            "impact_at_refresh": _point_dict(self.impact_at_refresh),
            "data_mode": self.data_mode.value,
            "scenario_id": self.scenario_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemberState:
        return cls(
            nation=Nation(d["nation"]),
            track_id=d["track_id"],
            first_observed_us=int(d["first_observed_us"]),
            last_sequence=int(d["last_sequence"]),
            observed_us=int(d["observed_us"]),
            reported_us=int(d["reported_us"]),
            state=_floats(d["state"]),
            covariance=_floats(d["covariance"]),
            status=TrackStatus(d["status"]),
            boosting=bool(d["boosting"]),
            saw_boost=bool(d["saw_boost"]),
            missile_class=MissileClass(d["missile_class"]),
            quality=int(d["quality"]),
            launch=_point(d.get("launch")),
            impact=_point(d.get("impact")),
            impact_at_refresh=_point(d.get("impact_at_refresh")),
            data_mode=DataMode(d["data_mode"]),
            scenario_id=d["scenario_id"],
        )


@dataclass(frozen=True, slots=True)
class PictureState:
    """A fused picture as persisted (see ``Picture``)."""

    time_us: int
    state: Floats
    covariance: Floats
    boosting: bool
    impact: GroundPoint | None
    launch: GroundPoint | None
    launch_source: str
    missile_class: MissileClass
    newest_report_us: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_us": self.time_us,
            "state": list(self.state),
            "covariance": list(self.covariance),
            "boosting": self.boosting,
            "impact": _point_dict(self.impact),
            "launch": _point_dict(self.launch),
            "launch_source": self.launch_source,
            "missile_class": self.missile_class.value,
            "newest_report_us": self.newest_report_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PictureState:
        return cls(
            time_us=int(d["time_us"]),
            state=_floats(d["state"]),
            covariance=_floats(d["covariance"]),
            boosting=bool(d["boosting"]),
            impact=_point(d.get("impact")),
            launch=_point(d.get("launch")),
            launch_source=d["launch_source"],
            missile_class=MissileClass(d["missile_class"]),
            newest_report_us=int(d["newest_report_us"]),
        )


@dataclass(frozen=True, slots=True)
class AlertMarkState:
    """The last alert's gist as persisted (see ``AlertMark``)."""

    version: int
    status: AlertStatus
    event_us: int
    impact: GroundPoint | None
    members: tuple[tuple[Nation, str], ...]
    missile_class: MissileClass
    state_us: int = 0
    state: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status.value,
            "event_us": self.event_us,
            "impact": _point_dict(self.impact),
            "members": [{"nation": n.value, "track_id": t} for n, t in self.members],
            "missile_class": self.missile_class.value,
            "state_us": self.state_us,
            "state": list(self.state),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertMarkState:
        return cls(
            version=int(d["version"]),
            status=AlertStatus(d["status"]),
            event_us=int(d["event_us"]),
            impact=_point(d.get("impact")),
            members=tuple((Nation(m["nation"]), m["track_id"]) for m in d["members"]),
            missile_class=MissileClass(d["missile_class"]),
            state_us=int(d.get("state_us", 0)),
            state=tuple(float(v) for v in d.get("state", ())),
        )


@dataclass(frozen=True, slots=True)
class BridgeTrackState:
    """Snapshot of one system track (schema ``trilink.v1.BridgeTrackState``)."""

    SCHEMA: ClassVar[str] = "trilink.v1.BridgeTrackState"

    system_track_id: str
    version: int
    data_mode: DataMode
    scenario_id: str
    created_us: int
    first_detection_us: int
    first_detection_nation: Nation
    members: tuple[MemberState, ...]
    picture: PictureState | None
    refreshed_us: int
    last_alert: AlertMarkState | None
    closed: AlertStatus | None
    closed_us: int
    event_us: int
    snapshot_us: int
    merged_into: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_track_id": self.system_track_id,
            "version": self.version,
            "data_mode": self.data_mode.value,
            "scenario_id": self.scenario_id,
            "created_us": self.created_us,
            "first_detection_us": self.first_detection_us,
            "first_detection_nation": self.first_detection_nation.value,
            "members": [m.to_dict() for m in self.members],
            "picture": None if self.picture is None else self.picture.to_dict(),
            "refreshed_us": self.refreshed_us,
            "last_alert": None if self.last_alert is None else self.last_alert.to_dict(),
            "closed": None if self.closed is None else self.closed.value,
            "closed_us": self.closed_us,
            "merged_into": self.merged_into,
            "event_us": self.event_us,
            "snapshot_us": self.snapshot_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BridgeTrackState:
        return cls(
            system_track_id=d["system_track_id"],
            version=int(d["version"]),
            data_mode=DataMode(d["data_mode"]),
            scenario_id=d["scenario_id"],
            created_us=int(d["created_us"]),
            first_detection_us=int(d["first_detection_us"]),
            first_detection_nation=Nation(d["first_detection_nation"]),
            members=tuple(MemberState.from_dict(m) for m in d["members"]),
            picture=None if d.get("picture") is None else PictureState.from_dict(d["picture"]),
            refreshed_us=int(d["refreshed_us"]),
            last_alert=(
                None if d.get("last_alert") is None else AlertMarkState.from_dict(d["last_alert"])
            ),
            closed=None if d.get("closed") is None else AlertStatus(d["closed"]),
            closed_us=int(d["closed_us"]),
            merged_into=str(d.get("merged_into", "")),
            event_us=int(d["event_us"]),
            snapshot_us=int(d["snapshot_us"]),
        )


# -- live objects <-> snapshots ---------------------------------------------------------


def _member_state(m: NationalTrack) -> MemberState:
    return MemberState(
        m.nation,
        m.track_id,
        m.first_observed_us,
        m.last_sequence,
        m.observed_us,
        m.reported_us,
        m.state_wire,
        m.cov_wire,
        m.status,
        m.boosting,
        m.saw_boost,
        m.missile_class,
        m.quality,
        m.launch,
        m.impact,
        m.impact_at_refresh,
        m.data_mode,
        m.scenario_id,
    )


def snapshot_track(track: SystemTrack, event_us: int, wall_us: int) -> BridgeTrackState:
    """The persisted form of a live system track."""
    pic = track.picture
    mark = track.last_alert
    return BridgeTrackState(
        system_track_id=track.track_id,
        version=track.version,
        data_mode=track.data_mode,
        scenario_id=track.scenario_id,
        created_us=track.created_us,
        first_detection_us=track.first_detection_us,
        first_detection_nation=track.first_detection_nation,
        members=tuple(_member_state(m) for m in track.members.values()),
        picture=None
        if pic is None
        else PictureState(
            pic.time_us,
            pic.state_wire,
            pic.cov_wire,
            pic.boosting,
            pic.impact,
            pic.launch,
            pic.launch_source,
            pic.missile_class,
            pic.newest_report_us,
        ),
        refreshed_us=track.refreshed_us,
        last_alert=None
        if mark is None
        else AlertMarkState(
            mark.version,
            mark.status,
            mark.event_us,
            mark.impact,
            tuple(sorted(mark.members)),
            mark.missile_class,
            mark.state_us,
            mark.state,
        ),
        closed=track.closed,
        closed_us=track.closed_us,
        merged_into=track.folded_into,
        event_us=event_us,
        snapshot_us=wall_us,
    )


def snapshot_tracks(
    tracks: Mapping[str, SystemTrack], track_ids: Iterable[str], event_us: int, wall_us: int
) -> list[BridgeTrackState]:
    """Step 6 of the engine's walk: snapshots of those of ``track_ids`` still held, in
    that order (an evicted track's tombstone stands instead)."""
    return [snapshot_track(tracks[t], event_us, wall_us) for t in track_ids if t in tracks]


def restore_track(s: BridgeTrackState) -> tuple[SystemTrack, list[NationalTrack]]:
    """A live system track (and its members) from a snapshot."""
    track = SystemTrack(
        track_id=s.system_track_id,
        data_mode=s.data_mode,
        scenario_id=s.scenario_id,
        created_us=s.created_us,
        first_detection_us=s.first_detection_us,
        first_detection_nation=s.first_detection_nation,
        version=s.version,
        refreshed_us=s.refreshed_us,
        closed=s.closed,
        closed_us=s.closed_us,
        folded_into=s.merged_into,
    )
    members = []
    for ms in s.members:
        m = NationalTrack(
            nation=ms.nation,
            track_id=ms.track_id,
            system_track_id=s.system_track_id,
            first_observed_us=ms.first_observed_us,
            last_sequence=ms.last_sequence,
            observed_us=ms.observed_us,
            reported_us=ms.reported_us,
            x=np.array(ms.state),
            p=from_upper_triangle(ms.covariance),
            status=ms.status,
            boosting=ms.boosting,
            saw_boost=ms.saw_boost,
            missile_class=ms.missile_class,
            quality=ms.quality,
            launch=ms.launch,
            impact=ms.impact,
            data_mode=ms.data_mode,
            scenario_id=ms.scenario_id,
            impact_at_refresh=ms.impact_at_refresh,
            state_wire=ms.state,
            cov_wire=ms.covariance,
        )
        track.members[m.key] = m
        members.append(m)
    if s.picture is not None:
        ps = s.picture
        track.picture = Picture(
            ps.time_us,
            np.array(ps.state),
            from_upper_triangle(ps.covariance),
            ps.boosting,
            ps.impact,
            ps.launch,
            ps.missile_class,
            ps.newest_report_us,
            ps.launch_source,
            ps.state,
            ps.covariance,
        )
    if s.last_alert is not None:
        la = s.last_alert
        track.last_alert = AlertMark(
            la.version,
            la.status,
            la.event_us,
            la.impact,
            frozenset(la.members),
            la.missile_class,
            la.state_us,
            la.state,
        )
    return track, members
