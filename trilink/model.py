"""Domain objects: the four records trilink exchanges, as frozen dataclasses.

Each maps one-to-one onto an Avro schema in ``schemas/`` (namespace ``trilink.v1``).
``to_dict`` produces exactly the Avro datum (enums as symbols, times as int
microseconds, optional records as ``None``); ``from_dict`` accepts what fastavro
reads back (timestamps arrive as aware datetimes). Nothing else converts.

The enums live in :mod:`trilink.enums` and the embedded value types (vectors,
ground points, ellipses) in :mod:`trilink.points`; both are re-exported here, so
``from trilink.model import Nation, GroundPoint`` keeps working.

Units are in the field names: ``_m`` metres, ``_mps`` metres per second, ``_us``
microseconds since the Unix epoch (UTC), ``_deg`` degrees, ``_km`` kilometres.
ECEF is WGS-84 Earth-centred, Earth-fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from trilink.enums import AlertStatus, DataMode, MissileClass, Nation, TrackStatus, member
from trilink.points import Ellipse, GroundPoint, Vec3, as_us, as_vec3, optional_point
from trilink.threat import ThreatAssessment, opt_threat

__all__ = [
    "RECORD_TYPES",
    "AlertStatus",
    "Contributor",
    "DataMode",
    "DeadLetter",
    "Ellipse",
    "FusedAlert",
    "GroundPoint",
    "LaunchEvent",
    "MissileClass",
    "MissileWarning",
    "Nation",
    "Record",
    "TrackStatus",
    "Vec3",
]


@dataclass(frozen=True, slots=True)
class MissileWarning:
    """One nation's report on one of its local tracks (schema ``trilink.v1.MissileWarning``).

    ``covariance`` is the upper triangle, row by row, of the 6x6 covariance of
    (x, y, z, vx, vy, vz) in ECEF: 21 values in m², m²/s and m²/s².
    """

    SCHEMA: ClassVar[str] = "trilink.v1.MissileWarning"

    message_id: str
    nation: Nation
    sensors: tuple[str, ...]
    track_id: str
    sequence: int
    observed_us: int
    reported_us: int
    data_mode: DataMode
    status: TrackStatus
    missile_class: MissileClass
    boosting: bool
    position_m: Vec3
    velocity_mps: Vec3
    covariance: tuple[float, ...]
    launch: GroundPoint | None
    impact: GroundPoint | None
    quality: int
    releasable_to: tuple[Nation, ...] = (Nation.USA, Nation.KOR, Nation.JPN)
    classification: str = "UNCLASSIFIED//EXERCISE"
    scenario_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "nation": self.nation.value,
            "sensors": list(self.sensors),
            "track_id": self.track_id,
            "sequence": self.sequence,
            "observed_us": self.observed_us,
            "reported_us": self.reported_us,
            "data_mode": self.data_mode.value,
            "status": self.status.value,
            "missile_class": self.missile_class.value,
            "boosting": self.boosting,
            "position_m": list(self.position_m),
            "velocity_mps": list(self.velocity_mps),
            "covariance": list(self.covariance),
            "launch": None if self.launch is None else self.launch.to_dict(),
            "impact": None if self.impact is None else self.impact.to_dict(),
            "quality": self.quality,
            "releasable_to": [n.value for n in self.releasable_to],
            "classification": self.classification,
            "scenario_id": self.scenario_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MissileWarning:
        return cls(
            message_id=d["message_id"],
            nation=member(Nation, d["nation"]),
            sensors=tuple(d["sensors"]),
            track_id=d["track_id"],
            sequence=int(d["sequence"]),
            observed_us=as_us(d["observed_us"]),
            reported_us=as_us(d["reported_us"]),
            data_mode=member(DataMode, d["data_mode"]),
            status=member(TrackStatus, d["status"]),
            missile_class=member(MissileClass, d["missile_class"]),
            boosting=bool(d["boosting"]),
            position_m=as_vec3(d["position_m"]),
            velocity_mps=as_vec3(d["velocity_mps"]),
            covariance=tuple(map(float, d["covariance"])),
            launch=optional_point(d.get("launch")),
            impact=optional_point(d.get("impact")),
            quality=int(d["quality"]),
            releasable_to=tuple(member(Nation, n) for n in d.get("releasable_to", ())),
            classification=d.get("classification", ""),
            scenario_id=d.get("scenario_id", ""),
        )


@dataclass(frozen=True, slots=True)
class Contributor:
    """A national track feeding a system track."""

    nation: Nation
    track_id: str
    last_report_us: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "nation": self.nation.value,
            "track_id": self.track_id,
            "last_report_us": self.last_report_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Contributor:
        return cls(Nation(d["nation"]), d["track_id"], as_us(d["last_report_us"]))


@dataclass(frozen=True, slots=True)
class FusedAlert:
    """The common picture of one missile (schema ``trilink.v1.FusedAlert``).

    Keyed by ``system_track_id``; ``version`` rises by one with every alert of that
    track, so (system_track_id, version) identifies an alert and consumers can drop
    duplicates.
    """

    SCHEMA: ClassVar[str] = "trilink.v1.FusedAlert"

    system_track_id: str
    version: int
    status: AlertStatus
    contributors: tuple[Contributor, ...]
    first_detection_us: int
    first_detection_nation: Nation
    state_time_us: int
    position_m: Vec3
    velocity_mps: Vec3
    covariance: tuple[float, ...]
    launch: GroundPoint | None
    impact: GroundPoint | None
    missile_class: MissileClass
    alert_us: int
    newest_report_us: int
    threatened: tuple[Nation, ...] = ()
    data_mode: DataMode = DataMode.SIMULATED
    note: str = ""
    scenario_id: str = ""
    threat: ThreatAssessment | None = None  # who is threatened, in detail (trilink/threat.py)

    def to_dict(self) -> dict[str, Any]:
        return {
            "system_track_id": self.system_track_id,
            "version": self.version,
            "status": self.status.value,
            "contributors": [c.to_dict() for c in self.contributors],
            "first_detection_us": self.first_detection_us,
            "first_detection_nation": self.first_detection_nation.value,
            "state_time_us": self.state_time_us,
            "position_m": list(self.position_m),
            "velocity_mps": list(self.velocity_mps),
            "covariance": list(self.covariance),
            "launch": None if self.launch is None else self.launch.to_dict(),
            "impact": None if self.impact is None else self.impact.to_dict(),
            "missile_class": self.missile_class.value,
            "alert_us": self.alert_us,
            "newest_report_us": self.newest_report_us,
            "threatened": [n.value for n in self.threatened],
            "data_mode": self.data_mode.value,
            "note": self.note,
            "scenario_id": self.scenario_id,
            "threat": None if self.threat is None else self.threat.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FusedAlert:
        return cls(
            system_track_id=d["system_track_id"],
            version=int(d["version"]),
            status=AlertStatus(d["status"]),
            contributors=tuple(Contributor.from_dict(c) for c in d["contributors"]),
            first_detection_us=as_us(d["first_detection_us"]),
            first_detection_nation=Nation(d["first_detection_nation"]),
            state_time_us=as_us(d["state_time_us"]),
            position_m=as_vec3(d["position_m"]),
            velocity_mps=as_vec3(d["velocity_mps"]),
            covariance=tuple(float(c) for c in d["covariance"]),
            launch=optional_point(d.get("launch")),
            impact=optional_point(d.get("impact")),
            missile_class=MissileClass(d["missile_class"]),
            alert_us=as_us(d["alert_us"]),
            newest_report_us=as_us(d["newest_report_us"]),
            threatened=tuple(Nation(n) for n in d.get("threatened", ())),
            data_mode=DataMode(d.get("data_mode", "SIMULATED")),
            note=d.get("note", ""),
            scenario_id=d.get("scenario_id", ""),
            threat=opt_threat(d.get("threat")),
        )


@dataclass(frozen=True, slots=True)
class LaunchEvent:
    """Simulator ground truth for one launch (schema ``trilink.v1.LaunchEvent``).

    ``missile`` is a catalogue key (e.g. ``hwasong-15``); ``site`` a catalogue key or
    free name, with its coordinates always given so unknown sites still work.
    ``scenario_start_us`` is the scenario's start on the session clock: it names the
    scenario's theatre (with ``scenario_id``) and anchors its sensors' scan grids; time
    itself comes from the one session clock (:mod:`trilink.clock`), not from here
    (0 means launch_time_us).
    ``seed`` seeds every random draw (sensor noise, detections) for this launch.
    """

    SCHEMA: ClassVar[str] = "trilink.v1.LaunchEvent"

    scenario_id: str
    launch_id: str
    site: str
    site_lat_deg: float
    site_lon_deg: float
    launch_time_us: int
    missile: str
    missile_class: MissileClass
    bearing_deg: float
    range_km: float
    apogee_km: float
    data_mode: DataMode = DataMode.SIMULATED
    seed: int = 0
    scenario_start_us: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario_id": self.scenario_id,
            "launch_id": self.launch_id,
            "site": self.site,
            "site_lat_deg": self.site_lat_deg,
            "site_lon_deg": self.site_lon_deg,
            "launch_time_us": self.launch_time_us,
            "missile": self.missile,
            "missile_class": self.missile_class.value,
            "bearing_deg": self.bearing_deg,
            "range_km": self.range_km,
            "apogee_km": self.apogee_km,
            "data_mode": self.data_mode.value,
            "seed": self.seed,
            "scenario_start_us": self.scenario_start_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LaunchEvent:
        return cls(
            scenario_id=d["scenario_id"],
            launch_id=d["launch_id"],
            site=d["site"],
            site_lat_deg=float(d["site_lat_deg"]),
            site_lon_deg=float(d["site_lon_deg"]),
            launch_time_us=as_us(d["launch_time_us"]),
            missile=d["missile"],
            missile_class=MissileClass(d["missile_class"]),
            bearing_deg=float(d["bearing_deg"]),
            range_km=float(d["range_km"]),
            apogee_km=float(d["apogee_km"]),
            data_mode=DataMode(d.get("data_mode", "SIMULATED")),
            seed=int(d.get("seed", 0)),
            scenario_start_us=as_us(d.get("scenario_start_us", 0)),
        )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record a service could not trust, with where it came from and why."""

    SCHEMA: ClassVar[str] = "trilink.v1.DeadLetter"

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error_type: str
    reason: str
    time_us: int
    service: str = ""
    headers: dict[str, bytes] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "value": self.value,
            "error_type": self.error_type,
            "reason": self.reason,
            "time_us": self.time_us,
            "service": self.service,
            "headers": dict(self.headers),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeadLetter:
        return cls(
            topic=d["topic"],
            partition=int(d["partition"]),
            offset=int(d["offset"]),
            key=d.get("key"),
            value=d.get("value"),
            error_type=d["error_type"],
            reason=d["reason"],
            time_us=as_us(d["time_us"]),
            service=d.get("service", ""),
            headers=dict(d.get("headers") or {}),
        )


Record = MissileWarning | FusedAlert | LaunchEvent | DeadLetter
RECORD_TYPES: dict[str, type[Record]] = {
    t.SCHEMA: t for t in (MissileWarning, FusedAlert, LaunchEvent, DeadLetter)
}
