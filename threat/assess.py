"""The threat assessment of one predicted flight: overflight, impact zone, warning list.

:class:`Assessor` answers, from a ground track, an impact point and its 95% ellipse,
the questions every launch announcement answers: which nations' land the ellipse
touches; whether the impact is on land, in a territorial sea (12 nm), an EEZ or the
high seas, and whose; which nations and admin-1 units the track overflies and when;
the warning list; and a one-line description (see :mod:`threat.describe`).

Warning list (J-Alert style), per warned nation (Japan and Korea by default): the
units the ground track crosses, the units the 95% impact ellipse touches, and the
units inside the *warning corridor*. The corridor is the band around the predicted
track whose half-width grows linearly along it, ``base_km + spread × s`` for ``s`` km
of ground range from the track's start (capped at ``max_km``): a prediction is
uncertain across the track in proportion to how far ahead it looks, as an azimuth
error would make it. ``spread`` is the larger of the rule's floor and, for an alert,
the cross-track half-width of its 95% impact ellipse over the track's length, so an
early alert (large ellipse) warns broadly and a settled one narrowly.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np
import shapely

from threat import describe
from threat.geodata import Area, GeoData, load
from threat.sphere import destination, east_lon
from threat.track import GroundTrack, xy_coords
from trilink.constants import FloatArray
from trilink.model import Ellipse, GroundPoint
from trilink.threat import ImpactZone, Overflight, ThreatAssessment, WarnedArea


@dataclass(frozen=True, slots=True)
class WarningRule:
    """The warning corridor (see the module docstring). Distances in km.

    Defaults: 25 km either side of the track at its start, widening by 0.1 km per km
    of range (an azimuth margin of about ±6°), at most 600 km.
    """

    base_km: float = 25.0
    spread: float = 0.1
    max_km: float = 600.0
    nations: frozenset[str] = frozenset({"JPN", "KOR"})


@functools.lru_cache(maxsize=8)
def _circle(n: int) -> tuple[FloatArray, FloatArray]:
    """Cosines and sines of ``n`` angles evenly around the circle (the same for every
    ellipse, so computed once)."""
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    cos, sin = np.cos(t), np.sin(t)
    cos.flags.writeable = sin.flags.writeable = False
    return cos, sin


def ellipse_polygon(lat: float, lon: float, ellipse: Ellipse, n: int = 36) -> shapely.Polygon:
    """The 95% ellipse as a lon/lat polygon (longitudes on [0, 360) around ``lon``)."""
    a = max(ellipse.semi_major_km, 0.05)
    b = max(ellipse.semi_minor_km, 0.05)
    cos, sin = _circle(n)
    x, y = a * cos, b * sin  # along the major axis, and across it
    bearing = ellipse.orientation_deg + np.degrees(np.arctan2(y, x))
    plat, plon = destination(lat, lon, bearing, np.hypot(x, y))
    centre = east_lon(lon)
    plon = centre + ((plon - centre + 180.0) % 360.0 - 180.0)
    # shapely.polygons: the geometry Polygon() builds, without its per-call checks
    poly: shapely.Polygon = shapely.polygons(xy_coords(plon, plat))
    return poly


def cross_track_km(ellipse: Ellipse, heading_deg: float) -> float:
    """Half-width of the ellipse across a track heading ``heading_deg``."""
    u = math.radians(heading_deg + 90.0 - ellipse.orientation_deg)
    return math.hypot(ellipse.semi_major_km * math.cos(u), ellipse.semi_minor_km * math.sin(u))


BOX_TEST_FROM = 4  # candidates from which the bounding-box pass pays for preparing


def touching(data: GeoData, geom: shapely.Geometry) -> list[int]:
    """Indices of the units ``geom`` touches.

    The tree gives the units whose bounding box overlaps ``geom``'s; the exact test
    uses each unit's *prepared* geometry (several times faster than the tree's own
    predicate, which prepares the query geometry instead). A long corridor's box
    takes in most of Japan and Korea, so many candidates first pass an exact test
    against their unit's bounding box, with ``geom`` prepared: a unit lies inside its
    box, so one that misses its box misses ``geom`` (the answer is unchanged), and a
    box costs a fraction of a prefecture's coastline (~90 µs instead of ~1 ms for a
    4,500 km corridor).
    """
    candidates = data.unit_tree.query(geom)
    if len(candidates) >= BOX_TEST_FROM:
        shapely.prepare(geom)
        candidates = candidates[shapely.intersects(geom, data.unit_boxes[candidates])]
    hit = shapely.intersects(data.unit_geoms[candidates], geom)
    result: list[int] = candidates[hit].tolist()
    return result


def _nations(areas: tuple[Area, ...], hit: np.ndarray) -> list[str]:
    """The nations of the areas ``hit`` marks, sorted, once each."""
    return sorted({areas[i].nation for i in np.flatnonzero(hit)})


def _holds(area: Area, lon: float, lat: float) -> bool:
    """Whether ``area`` holds the point, as :func:`_inside` tests each sample."""
    x = float(np.mod(lon, 360.0))
    x0, y0, x1, y1 = area.bounds
    return x0 <= x <= x1 and y0 <= lat <= y1 and bool(shapely.contains_xy(area.geometry, x, lat))


def _inside(area: Area, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which samples lie in ``area``; only those in its bounding box are tested exactly."""
    x = np.mod(lon, 360.0)
    x0, y0, x1, y1 = area.bounds
    mask = (x >= x0) & (x <= x1) & (lat >= y0) & (lat <= y1)
    idx = np.flatnonzero(mask)
    mask[idx] = shapely.contains_xy(area.geometry, x[idx], lat[idx])
    return mask


# GEOS prepared geometries are not safe to query from two threads at once, and shapely
# releases the GIL in its vectorised predicates: the shared geographic data is queried
# under one lock (the two-system bridge runs two engines in one process). Reentrant:
# ``assess`` calls ``zone_of``.
_GEOS = threading.RLock()


@dataclass(frozen=True)
class Assessor:
    """Assesses predicted flights against the shipped geographic data (thread-safe)."""

    data: GeoData = field(default_factory=load)
    rule: WarningRule = field(default_factory=WarningRule)

    def zone_of(self, lat: float, lon: float) -> tuple[ImpactZone, str]:
        """Impact zone of a point and whose it is ("" on the high seas)."""
        with _GEOS:
            return self._zone_of(lat, lon)

    def _zone_of(self, lat: float, lon: float) -> tuple[ImpactZone, str]:
        x = float(east_lon(lon))
        data = self.data
        land = np.flatnonzero(shapely.contains_xy(data.land_geoms, x, lat))
        if len(land):
            return ImpactZone.LAND, data.land[land[0]].nation
        zone = np.flatnonzero(shapely.contains_xy(data.zone_geoms, x, lat))
        if len(zone):  # territorial seas come first
            area = data.zones[zone[0]]
            return ImpactZone(area.name), area.nation
        return ImpactZone.HIGH_SEAS, ""

    def assess(
        self, track: GroundTrack, impact: GroundPoint, *, spread: float | None = None
    ) -> ThreatAssessment:
        """The assessment of ``track`` ending at ``impact`` (with its 95% ellipse).

        ``spread`` overrides the warning corridor's growth (km per km); by default it
        comes from the rule and the impact ellipse.
        """
        with _GEOS:
            return self._assess(track, impact, spread)

    def _assess(
        self, track: GroundTrack, impact: GroundPoint, spread: float | None
    ) -> ThreatAssessment:
        data = self.data
        lat, lon = impact.lat_deg, float(east_lon(impact.lon_deg))
        zone, zone_nation = self._zone_of(lat, lon)
        ell = ellipse_polygon(lat, lon, impact.ellipse)
        ellipse_land = _nations(data.land, shapely.intersects(data.land_geoms, ell))
        ellipse_waters = _nations(data.zones, shapely.intersects(data.zone_geoms, ell))

        overflights, over_units, exit_point = self._overflights(track)
        along = track.along_km()
        if spread is None:
            heading = float(track.headings()[-1])
            cross = cross_track_km(impact.ellipse, heading)
            spread = max(self.rule.spread, cross / max(float(along[-1]), 1.0))
        width = np.minimum(self.rule.base_km + spread * along, self.rule.max_km)
        corridor = track.corridor(width)
        near = set(touching(data, corridor))
        in_ell = set(touching(data, ell))
        warned = [
            i
            for i in sorted(near | in_ell | set(over_units))
            if data.units[i].nation in self.rule.nations
        ]
        # Units not overflown are warned for when the track is nearest them (all at once).
        nearest = [i for i in warned if i not in over_units]
        when = dict(over_units) | dict(
            zip(
                nearest,
                track.nearest_times_us(
                    [data.units[i].anchor_lat for i in nearest],
                    [data.units[i].anchor_lon for i in nearest],
                ),
                strict=True,
            )
        )
        warning = []
        for i in warned:
            unit = data.units[i]
            warning.append(
                WarnedArea(unit.code, unit.name, unit.nation, i in over_units, i in in_ell, when[i])
            )
        warning.sort(key=lambda w: (w.time_us, w.code))

        place = describe.reference(data, lat, lon, exit_point)
        km, bearing = describe.measure(place, lat, lon)
        names = [data.units[i].name for i in sorted(over_units, key=over_units.__getitem__)]
        text = describe.sentence(place, km, bearing, zone, zone_nation, names)
        return ThreatAssessment(
            zone=zone,
            zone_nation=zone_nation,
            ellipse_land=tuple(ellipse_land),
            ellipse_waters=tuple(ellipse_waters),
            overflights=tuple(overflights),
            warning=tuple(warning),
            reference=place.name,
            reference_nation=place.nation,
            reference_km=round(km, 1),
            reference_bearing_deg=round(bearing, 1),
            description=text,
            impact_us=impact.time_us,
        )

    def _overflights(
        self, track: GroundTrack
    ) -> tuple[list[Overflight], dict[int, int], tuple[float, float] | None]:
        """Overflights in flight order, {unit index: first time over it}, and where the
        track last left the land of a warned nation (for the description)."""
        data = self.data
        found: list[Overflight] = []
        first_over: dict[int, int] = {}
        exit_point = None
        crossed: list[int] | None = None  # the units the track crosses, once it is needed
        for k in np.flatnonzero(shapely.intersects(data.land_geoms, track.line)):
            area = data.land[k]
            # The launch country itself is no overflight: known from the first sample,
            # before testing the others.
            if _holds(area, float(track.lon_deg[0]), float(track.lat_deg[0])):
                continue
            inside = _inside(area, track.lon_deg, track.lat_deg)
            idx = np.flatnonzero(inside)
            if not len(idx):
                continue
            units = []
            if crossed is None:
                crossed = touching(data, track.line)
            for i in crossed:
                unit = data.units[i]
                if unit.nation != area.nation:
                    continue
                hits = np.flatnonzero(_inside(unit, track.lon_deg, track.lat_deg))
                if len(hits):
                    first_over[i] = int(track.time_us[hits[0]])
                    units.append((first_over[i], unit.code))
            found.append(
                Overflight(
                    area.nation,
                    int(track.time_us[idx[0]]),
                    int(track.time_us[idx[-1]]),
                    tuple(code for _, code in sorted(units)),
                )
            )
            if area.nation in self.rule.nations:
                exit_point = describe.last_exit(track, inside)
        found.sort(key=lambda o: o.enter_us)
        return found, first_over, exit_point
