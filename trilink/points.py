"""The small value types the records embed: ECEF vectors, ground points and their ellipses.

Also the two coercions every ``from_dict`` applies to what fastavro reads back:
timestamps arrive as aware datetimes and are stored as int microseconds, arrays
arrive as lists and are stored as float tuples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from trilink.timeutil import us_from_datetime

Vec3 = tuple[float, float, float]


def as_us(value: int | dt.datetime) -> int:
    """Microseconds since the Unix epoch from an Avro ``timestamp-micros`` as read back."""
    return value if isinstance(value, int) else us_from_datetime(value)


def as_vec3(value: Any) -> Vec3:
    """A three-float tuple from any three numbers (an Avro array as read back)."""
    x, y, z = value
    return (float(x), float(y), float(z))


@dataclass(frozen=True, slots=True)
class Ellipse:
    """A 95% ground uncertainty ellipse.

    ``orientation_deg`` is the bearing of the semi-major axis, clockwise from true north.
    """

    semi_major_km: float
    semi_minor_km: float
    orientation_deg: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "semi_major_km": self.semi_major_km,
            "semi_minor_km": self.semi_minor_km,
            "orientation_deg": self.orientation_deg,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ellipse:
        return cls(
            float(d["semi_major_km"]), float(d["semi_minor_km"]), float(d["orientation_deg"])
        )


@dataclass(frozen=True, slots=True)
class GroundPoint:
    """A point on the ellipsoid with a time and a 95% ellipse: launch or impact estimate."""

    lat_deg: float
    lon_deg: float
    time_us: int
    ellipse: Ellipse

    def to_dict(self) -> dict[str, Any]:
        return {
            "lat_deg": self.lat_deg,
            "lon_deg": self.lon_deg,
            "time_us": self.time_us,
            "ellipse": self.ellipse.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroundPoint:
        return cls(
            float(d["lat_deg"]),
            float(d["lon_deg"]),
            as_us(d["time_us"]),
            Ellipse.from_dict(d["ellipse"]),
        )


def optional_point(d: dict[str, Any] | None) -> GroundPoint | None:
    """A nullable Avro ``GroundPoint`` field as read back."""
    return None if d is None else GroundPoint.from_dict(d)
