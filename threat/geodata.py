"""The shipped geographic data, loaded once: land, admin-1 units, maritime zones, places.

The files in ``threat/data/`` are built by ``make geodata`` (:mod:`threat.extract`)
from Natural Earth data shipped in npm packages, and committed, so a fresh clone
works without npm. Longitudes are on [0, 360) throughout (see :mod:`threat.sphere`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from trilink.constants import FloatArray
from trilink.errors import ConfigError

DATA_DIR = Path(__file__).with_name("data")
ZONE_ORDER = ("TERRITORIAL_SEA", "EEZ")  # inner zones first: the first that holds wins


@dataclass(frozen=True, slots=True)
class Area:
    """A named area: a nation's land, an admin-1 unit, or a maritime zone.

    ``code`` is the ISO 3166-1 alpha-3 code for land, ISO 3166-2 for units, and
    ``NATION/ZONE`` for zones. ``geometry`` is prepared for repeated queries.
    """

    code: str
    name: str
    nation: str
    geometry: BaseGeometry = field(repr=False, compare=False)
    anchor_lat: float = field(default=0.0, repr=False, compare=False)
    anchor_lon: float = field(default=0.0, repr=False, compare=False)
    bounds: tuple[float, float, float, float] = field(
        default=(0, 0, 0, 0), repr=False, compare=False
    )


@dataclass(frozen=True, slots=True)
class Place:
    """A reference point for descriptions (a cape, an island, a city)."""

    name: str
    nation: str
    kind: str
    lat_deg: float
    lon_deg: float
    major: bool


@dataclass(frozen=True)
class GeoData:
    """Everything the assessment looks up, indexed for speed."""

    land: tuple[Area, ...]
    units: tuple[Area, ...]
    zones: tuple[Area, ...]
    places: tuple[Place, ...]
    unit_tree: shapely.STRtree = field(repr=False, compare=False)
    unit_geoms: np.ndarray = field(repr=False, compare=False)
    place_lat: FloatArray = field(repr=False, compare=False)
    place_lon: FloatArray = field(repr=False, compare=False)
    # The same geometries and attributes as arrays, for one vectorised call per question
    # (shapely's array functions use the prepared geometries as the methods do).
    unit_boxes: np.ndarray = field(repr=False, compare=False)  # each unit's bounding box
    land_geoms: np.ndarray = field(repr=False, compare=False)
    zone_geoms: np.ndarray = field(repr=False, compare=False)
    place_nation: np.ndarray = field(repr=False, compare=False)
    place_major: np.ndarray = field(repr=False, compare=False)

    def land_of(self, nation: str) -> Area | None:
        """The land of ``nation`` (alpha-3), if shipped."""
        return next((a for a in self.land if a.code == nation), None)


def _features(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read geographic data {path}: {exc} (run `make geodata`)"
        ) from exc
    features: list[dict[str, Any]] = doc["features"]
    return features


def _area(code: str, name: str, nation: str, geojson: dict[str, Any]) -> Area:
    geom = shape(geojson)
    shapely.prepare(geom)
    anchor = geom.representative_point()  # a point inside, for "when is it nearest"
    return Area(code, name, nation, geom, anchor.y, anchor.x, tuple(geom.bounds))


@functools.cache
def load(data_dir: Path = DATA_DIR) -> GeoData:
    """Read and index the data files (cached: the first call costs ~0.3 s)."""
    land = tuple(
        _area(
            f["properties"]["nation"],
            f["properties"]["nation"],
            f["properties"]["nation"],
            f["geometry"],
        )
        for f in _features(data_dir / "land.geojson")
    )
    units = tuple(
        _area(p["code"], p["name"], p["nation"], f["geometry"])
        for f in _features(data_dir / "units.geojson")
        for p in [f["properties"]]
    )
    zones = tuple(
        _area(f"{p['nation']}/{p['zone']}", p["zone"], p["nation"], f["geometry"])
        for f in _features(data_dir / "zones.geojson")
        for p in [f["properties"]]
    )
    zones = tuple(sorted(zones, key=lambda z: ZONE_ORDER.index(z.name)))
    doc = json.loads((data_dir / "gazetteer.json").read_text(encoding="utf-8"))
    places = tuple(
        Place(
            p["name"],
            p["nation"],
            p["kind"],
            float(p["lat"]),
            float(p["lon"]) % 360.0,
            bool(p.get("major", False)),
        )
        for p in doc["places"]
    )
    return GeoData(
        land=land,
        units=units,
        zones=zones,
        places=places,
        unit_tree=shapely.STRtree([u.geometry for u in units]),
        unit_geoms=np.array([u.geometry for u in units], dtype=object),
        place_lat=np.array([p.lat_deg for p in places]),
        place_lon=np.array([p.lon_deg for p in places]),
        unit_boxes=shapely.box(*np.array([u.bounds for u in units]).T),
        land_geoms=np.array([a.geometry for a in land], dtype=object),
        zone_geoms=np.array([z.geometry for z in zones], dtype=object),
        place_nation=np.array([p.nation for p in places]),
        place_major=np.array([p.major for p in places], dtype=bool),
    )
