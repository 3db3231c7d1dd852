"""One missile as the page draws it: a plain JSON-ready dict built from a track's view.

Names are what a person reads — "KN-25 #2 from Sunan", "T+45 s" — beside the
system track id. When the ground truth of an exercise is on the cluster (the demo
publishes its launches), a track is matched to its launch and named after it;
otherwise it is named after its class and the known launch site nearest to the
estimated launch point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from consumers.map.geometry import (
    PathPoint,
    SensorSite,
    coverage_ring,
    ellipse_ring,
    predict_path,
    to_geodetic,
)
from consumers.view import SHARING_NATIONS, TrackView
from trilink.model import GroundPoint, LaunchEvent
from trilink.physics import DEFAULT_PHYSICS, Physics
from trilink.timeutil import US_PER_S

MATCH_KM = 150.0
"""Farthest a launch-point estimate may lie from the true site and still be its launch."""
MATCH_S = 120.0
"""Largest gap between the estimated and the true launch time of the same missile."""
NEAR_SITE_KM = 60.0
"""A launch point estimate this close to a known site is named after it."""


@dataclass(frozen=True, slots=True)
class LaunchSite:
    """A known launch site (key as the catalogues spell it, and a name for people)."""

    key: str
    name: str
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True, slots=True)
class MapContext:
    """What the map knows besides the records: sensors, sites and missile names.

    The consumers floor cannot read the simulator's tables; the CLI hands them in
    as plain values.
    """

    sensors: tuple[SensorSite, ...] = ()
    sites: tuple[LaunchSite, ...] = ()
    missile_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    coverage_altitudes_km: tuple[float, ...] = (10.0, 50.0, 100.0, 300.0)
    physics: Physics = DEFAULT_PHYSICS  # the predicted path flies the trackers' model

    def sensors_json(self) -> list[dict[str, Any]]:
        """Every sensor with its coverage ring at each altitude (None where it has none)."""
        return [
            {
                "name": s.name,
                "nation": s.nation,
                "kind": s.kind,
                "platform": s.platform,
                "lat": s.lat_deg,
                "lon": s.lon_deg,
                "max_range_km": s.max_range_km,
                "coverage": {
                    f"{alt:g}": coverage_ring(s, alt) for alt in self.coverage_altitudes_km
                },
            }
            for s in self.sensors
        ]

    def site_name(self, key: str) -> str:
        for site in self.sites:
            if site.key == key:
                return site.name
        return key.replace("-", " ").title()

    def nearest_site(self, lat_deg: float, lon_deg: float) -> LaunchSite | None:
        best = min(
            self.sites, key=lambda s: _km(lat_deg, lon_deg, s.lat_deg, s.lon_deg), default=None
        )
        if best is None or _km(lat_deg, lon_deg, best.lat_deg, best.lon_deg) > NEAR_SITE_KM:
            return None
        return best


@dataclass(frozen=True, slots=True)
class Truth:
    """The launch a track was matched to, with its ordinal among its sisters (1-based)."""

    launch: LaunchEvent
    ordinal: int
    sisters: int


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2.0 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def _match_cost(view: TrackView, launch: LaunchEvent) -> float | None:
    # Squared, not linear: in a salvo from one site, linear costs tie between the right
    # pairing and the swapped one (18 + 19 s against 3 + 34 s); squares prefer the
    # pairing whose every gap is small.
    estimate = view.latest.launch or view.first.launch
    if estimate is not None:
        km = _km(estimate.lat_deg, estimate.lon_deg, launch.site_lat_deg, launch.site_lon_deg)
        dt_s = abs(estimate.time_us - launch.launch_time_us) / US_PER_S
        if km > MATCH_KM or dt_s > MATCH_S:
            return None
        return (km / 10.0) ** 2 + dt_s**2
    # No launch estimate yet: the first detection must follow the launch closely.
    after_s = (view.first_detection_us - launch.launch_time_us) / US_PER_S
    return None if not 0.0 <= after_s <= MATCH_S else 1e6 + after_s**2


def match_truth(views: Sequence[TrackView], launches: Sequence[LaunchEvent]) -> dict[str, Truth]:
    """System track id -> the launch it is, one-to-one (minimum total cost, gated)."""
    if not views or not launches:
        return {}
    big = 1e9
    cost = np.full((len(views), len(launches)), big)
    for i, view in enumerate(views):
        for j, launch in enumerate(launches):
            c = _match_cost(view, launch)
            if c is not None:
                cost[i, j] = c
    rows, cols = linear_sum_assignment(cost)
    order = _ordinals(launches)
    return {
        views[i].system_track_id: Truth(launches[j], *order[launches[j].launch_id])
        for i, j in zip(rows, cols, strict=True)
        if cost[i, j] < big
    }


def _ordinals(launches: Sequence[LaunchEvent]) -> dict[str, tuple[int, int]]:
    """Each launch's place among launches of the same missile from the same site."""
    groups: dict[tuple[str, str, str], list[LaunchEvent]] = {}
    for launch in launches:
        groups.setdefault((launch.scenario_id, launch.missile, launch.site), []).append(launch)
    found: dict[str, tuple[int, int]] = {}
    for group in groups.values():
        group.sort(key=lambda e: (e.launch_time_us, e.launch_id))
        for i, launch in enumerate(group):
            found[launch.launch_id] = (i + 1, len(group))
    return found


def _point(p: GroundPoint | None) -> dict[str, Any] | None:
    if p is None:
        return None
    e = p.ellipse
    return {
        "lat": round(p.lat_deg, 5),
        "lon": round(p.lon_deg, 5),
        "time_us": p.time_us,
        "ellipse": {
            "semi_major_km": round(e.semi_major_km, 3),
            "semi_minor_km": round(e.semi_minor_km, 3),
            "orientation_deg": round(e.orientation_deg, 2),
        },
        "ring": ellipse_ring(p.lat_deg, p.lon_deg, e),
    }


def _names(view: TrackView, truth: Truth | None, context: MapContext) -> dict[str, Any]:
    latest = view.latest
    estimate = latest.launch or view.first.launch
    if truth is not None:
        launch = truth.launch
        missile = context.missile_names.get(launch.missile, launch.missile)
        site = context.site_name(launch.site)
        number = f" #{truth.ordinal}" if truth.sisters > 1 else ""
        return {
            "name": f"{missile}{number} from {site}",
            "missile": missile,
            "site": site,
            "launch_id": launch.launch_id,
            "t0_us": launch.launch_time_us,
            "t0_source": "truth",
        }
    site_name = None
    if estimate is not None:
        near = context.nearest_site(estimate.lat_deg, estimate.lon_deg)
        site_name = near.name if near is not None else None
    where = f" from near {site_name}" if site_name else ""
    return {
        "name": f"{latest.missile_class.value}{where}",
        "missile": None,
        "site": site_name,
        "launch_id": None,
        # A missile is launched before anyone detects it, whatever the estimate says.
        "t0_us": min(estimate.time_us, view.first_detection_us)
        if estimate is not None
        else view.first_detection_us,
        "t0_source": "estimate" if estimate is not None else "first detection",
    }


def _threat(view: TrackView) -> dict[str, Any] | None:
    threat = view.latest.threat
    if threat is None:
        return None
    return {
        "description": threat.description,
        "zone": threat.zone.value,
        "zone_nation": threat.zone_nation,
        "ellipse_land": list(threat.ellipse_land),
        "ellipse_waters": list(threat.ellipse_waters),
        "overflights": [
            {"nation": o.nation, "enter_us": o.enter_us, "exit_us": o.exit_us}
            for o in threat.overflights
        ],
        "warning": [
            {
                "code": w.code,
                "name": w.name,
                "nation": w.nation,
                "overflown": w.overflown,
                "in_ellipse": w.in_ellipse,
            }
            for w in threat.warning
        ],
    }


def _predicted(view: TrackView, air: bool) -> list[PathPoint]:
    latest = view.latest
    if view.final:
        return []
    impact = latest.impact
    horizon_s = 300.0
    if impact is not None and impact.time_us > latest.state_time_us:
        horizon_s = (impact.time_us - latest.state_time_us) / US_PER_S
    return predict_path(
        latest.position_m,
        latest.velocity_mps,
        latest.state_time_us,
        horizon_s=horizon_s,
        air=air,
    )


def track_json(
    view: TrackView, trail: Sequence[PathPoint], truth: Truth | None, context: MapContext
) -> dict[str, Any]:
    """Everything the page shows of one track (see the page script for its use)."""
    latest = view.latest
    lat, lon, alt_km = to_geodetic(latest.position_m)
    leads: dict[str, float | None] = {}
    for nation in SHARING_NATIONS:
        lead = view.lead_us(nation)
        leads[nation.value] = None if lead is None else round(lead / US_PER_S, 1)
    return {
        "id": view.system_track_id,
        "version": latest.version,
        "status": latest.status.value,
        "final": view.final,
        "missile_class": latest.missile_class.value,
        "scenario_id": latest.scenario_id,
        **_names(view, truth, context),
        "launch": _point(latest.launch or view.first.launch),
        "impact": _point(latest.impact),
        "state": {
            "time_us": latest.state_time_us,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "alt_km": round(alt_km, 3),
            "speed_mps": round(math.hypot(*latest.velocity_mps), 1),
        },
        "trail": [list(p) for p in trail],
        "predicted": [list(p) for p in _predicted(view, context.physics.air)],
        "contributors": [n.value for n in view.seen_by],
        "first_detection": {
            "nation": view.first_detection_nation.value,
            "time_us": view.first_detection_us,
        },
        "alerted_us": view.alerted_us,
        "detections": {n.value: t for n, t in view.detections.items()},
        "leads_s": leads,
        "threatened": [n.value for n in latest.threatened],
        "threat": _threat(view),
        "note": latest.note,
    }
