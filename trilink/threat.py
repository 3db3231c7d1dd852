"""Who a missile threatens: the record ``trilink.v1.ThreatAssessment`` inside a FusedAlert.

Filled by the ``threat`` package from an alert's predicted track, impact point and
95% ellipse, and carried in ``FusedAlert.threat``. Nations are ISO 3166-1 alpha-3
codes as text (any nation, not only the three that share data: the ellipse can
touch China or Russia); admin-1 units are ISO 3166-2 codes (``JP-02`` Aomori).
Times are microseconds since the Unix epoch (UTC), distances kilometres, bearings
degrees clockwise from true north.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trilink.points import as_us as _us


class ImpactZone(StrEnum):
    """Where the predicted impact point lies."""

    LAND = "LAND"
    TERRITORIAL_SEA = "TERRITORIAL_SEA"
    EEZ = "EEZ"
    HIGH_SEAS = "HIGH_SEAS"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Overflight:
    """The ground track over one nation's land: when it enters and leaves, and the units."""

    nation: str
    enter_us: int
    exit_us: int
    units: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "nation": self.nation,
            "enter_us": self.enter_us,
            "exit_us": self.exit_us,
            "units": list(self.units),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Overflight:
        return cls(d["nation"], _us(d["enter_us"]), _us(d["exit_us"]), tuple(d["units"]))


@dataclass(frozen=True, slots=True)
class WarnedArea:
    """One admin-1 unit on the warning list, why, and when the missile is nearest to it."""

    code: str
    name: str
    nation: str
    overflown: bool
    in_ellipse: bool
    time_us: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "nation": self.nation,
            "overflown": self.overflown,
            "in_ellipse": self.in_ellipse,
            "time_us": self.time_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarnedArea:
        return cls(
            d["code"],
            d["name"],
            d["nation"],
            bool(d["overflown"]),
            bool(d["in_ellipse"]),
            _us(d["time_us"]),
        )


@dataclass(frozen=True, slots=True)
class ThreatAssessment:
    """Where a missile flies over and falls, in the terms of a public announcement.

    ``zone``/``zone_nation``: the impact point's zone and whose it is (empty on the
    high seas). ``ellipse_land``: nations whose land the 95% ellipse touches;
    ``ellipse_waters``: nations whose territorial sea or EEZ it touches.
    ``reference*``: the gazetteer point the description measures from.
    """

    zone: ImpactZone
    zone_nation: str
    ellipse_land: tuple[str, ...]
    ellipse_waters: tuple[str, ...]
    overflights: tuple[Overflight, ...]
    warning: tuple[WarnedArea, ...]
    reference: str
    reference_nation: str
    reference_km: float
    reference_bearing_deg: float
    description: str
    impact_us: int

    @property
    def nations(self) -> tuple[str, ...]:
        """Every nation the assessment names (land, waters, overflight, warning), sorted."""
        found = {*self.ellipse_land, *self.ellipse_waters}
        found |= {o.nation for o in self.overflights} | {w.nation for w in self.warning}
        if self.zone_nation:
            found.add(self.zone_nation)
        return tuple(sorted(found))

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone.value,
            "zone_nation": self.zone_nation,
            "ellipse_land": list(self.ellipse_land),
            "ellipse_waters": list(self.ellipse_waters),
            "overflights": [o.to_dict() for o in self.overflights],
            "warning": [w.to_dict() for w in self.warning],
            "reference": self.reference,
            "reference_nation": self.reference_nation,
            "reference_km": self.reference_km,
            "reference_bearing_deg": self.reference_bearing_deg,
            "description": self.description,
            "impact_us": self.impact_us,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThreatAssessment:
        return cls(
            zone=ImpactZone(d["zone"]),
            zone_nation=d["zone_nation"],
            ellipse_land=tuple(d["ellipse_land"]),
            ellipse_waters=tuple(d["ellipse_waters"]),
            overflights=tuple(Overflight.from_dict(o) for o in d["overflights"]),
            warning=tuple(WarnedArea.from_dict(w) for w in d["warning"]),
            reference=d["reference"],
            reference_nation=d["reference_nation"],
            reference_km=float(d["reference_km"]),
            reference_bearing_deg=float(d["reference_bearing_deg"]),
            description=d["description"],
            impact_us=_us(d["impact_us"]),
        )


def opt_threat(d: dict[str, Any] | None) -> ThreatAssessment | None:
    """``ThreatAssessment.from_dict`` for an optional field."""
    return None if d is None else ThreatAssessment.from_dict(d)
