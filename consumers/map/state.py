"""The map's shared state: the feed thread writes records in, the web side reads frames out.

Coalescing is the point. Records arrive as fast as the demo's clock runs (every
radar scan of every nation at 25x), but the page only needs the newest state of
each missile. :meth:`MapState.apply` folds records in and marks tracks dirty;
:meth:`MapState.publish` (called by the feed a few times a second) renders each
dirty track once into JSON text and bumps the revision; :meth:`MapState.frame`
hands a client everything that changed since the revision it last saw. A slow
client therefore skips intermediate versions instead of queueing them: memory is
bounded by the number of tracks, never by the rate of records.

``apply``, ``set_clock``, ``set_status`` and ``publish`` are the feed's (one
thread); ``frame`` and ``revision`` may be called from any thread.

Pages get the newest :data:`MAX_TRACKS` tracks; the underlying
:class:`~consumers.view.AlertPicture` still remembers every track it was told of
(a few kilobytes each), which a map left running for weeks would want to prune.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from consumers.map.geometry import PathPoint, to_geodetic
from consumers.map.tracks import MapContext, Truth, match_truth, track_json
from consumers.view import AlertPicture
from trilink.clock import REAL_TIME, ClockDefinition
from trilink.model import FusedAlert, LaunchEvent, MissileWarning, Nation, Record
from trilink.timeutil import wall_clock_us

MAX_TRACKS = 200
"""Most tracks sent to a page: the newest by state time (a long-lived map never grows
its frames without bound)."""
MAX_LAUNCHES = 200
TRAIL_POINTS = 600
MAX_REMOVED = 1000


class MapState:
    """The newest picture of every missile, rendered for the page (see module docstring)."""

    def __init__(self, context: MapContext | None = None) -> None:
        self.context = context or MapContext()
        self.server_id = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._picture = AlertPicture()
        self._trails: dict[str, dict[int, PathPoint]] = {}
        self._launches: dict[str, LaunchEvent] = {}
        self._dirty: set[str] = set()
        self._meta_dirty = True
        self._detections: dict[str, Mapping[Nation, int]] = {}
        self._truth: dict[str, Truth] = {}
        self._clock: ClockDefinition = REAL_TIME
        self._status = {"feed": "starting", "detail": ""}
        # Read by frame() under the lock:
        self._revision = 0
        self._rendered: dict[str, str] = {}
        self._changed: dict[str, int] = {}
        self._removed: dict[str, int] = {}
        self._meta_json = "{}"
        self._meta_rev = 0
        self._floor = 0
        self._static_json = json.dumps(
            {
                "sensors": self.context.sensors_json(),
                "sites": [
                    {"key": s.key, "name": s.name, "lat": s.lat_deg, "lon": s.lon_deg}
                    for s in self.context.sites
                ],
                "coverage_altitudes_km": [f"{a:g}" for a in self.context.coverage_altitudes_km],
            },
            separators=(",", ":"),
        )
        self.records = 0
        self.published_at = time.monotonic()

    # -- the feed's side ------------------------------------------------------------

    def apply(self, record: Record) -> None:
        """Fold in one record (alerts, warnings and launches; anything else is ignored)."""
        self.records += 1
        if isinstance(record, FusedAlert):
            if self._picture.apply(record):
                self._dirty.add(record.system_track_id)
                lat, lon, alt_km = to_geodetic(record.position_m)
                trail = self._trails.setdefault(record.system_track_id, {})
                trail[record.state_time_us] = (
                    round(lon, 5),
                    round(lat, 5),
                    round(alt_km, 3),
                    record.state_time_us,
                )
                if len(trail) > TRAIL_POINTS:
                    del trail[min(trail)]
        elif isinstance(record, MissileWarning):
            self._picture.observe_warning(record)
        elif isinstance(record, LaunchEvent) and record.launch_id not in self._launches:
            self._launches[record.launch_id] = record
            if len(self._launches) > MAX_LAUNCHES:
                oldest = min(self._launches.values(), key=lambda e: e.launch_time_us)
                del self._launches[oldest.launch_id]
            self._meta_dirty = True
            self._dirty.update(self._trails)  # names may change with the truth

    def apply_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.apply(record)

    def set_clock(self, clock: ClockDefinition) -> None:
        """The session clock in force (the page runs its own clock from it)."""
        if clock != self._clock:
            self._clock = clock
            self._meta_dirty = True

    def set_status(self, feed: str, detail: str = "") -> None:
        """What the feed is doing, for the page's header (live, waiting, error...)."""
        status = {"feed": feed, "detail": detail}
        if status != self._status:
            self._status = status
            self._meta_dirty = True
            self.publish()

    def publish(self) -> bool:
        """Render what changed since the last call; True if the revision moved."""
        views = self._picture.tracks()
        for view in views:
            # A national warning can refine a first detection without a new alert.
            if self._detections.get(view.system_track_id) != view.detections:
                self._dirty.add(view.system_track_id)
        if not self._dirty and not self._meta_dirty:
            return False
        shown = sorted(views, key=lambda v: v.latest.state_time_us)[-MAX_TRACKS:]
        if self._dirty:
            truth = match_truth(shown, self._scenario_launches(shown))
            if truth != self._truth:
                self._dirty.update(t for t in truth.keys() ^ self._truth.keys())
                self._dirty.update(t for t in truth if truth[t] != self._truth.get(t))
                self._truth = truth
        rendered: dict[str, str] = {}
        for view in shown:
            track = view.system_track_id
            if track in self._dirty:
                self._detections[track] = view.detections
                trail = [self._trails[track][t] for t in sorted(self._trails.get(track, {}))]
                body = track_json(view, trail, self._truth.get(track), self.context)
                rendered[track] = json.dumps(body, separators=(",", ":"))
        kept = {v.system_track_id for v in shown}
        meta = self._meta() if self._meta_dirty else None
        with self._lock:
            self._revision += 1
            for track, text in rendered.items():
                self._rendered[track] = text
                self._changed[track] = self._revision
            for track in [t for t in self._rendered if t not in kept]:
                del self._rendered[track], self._changed[track]
                self._removed[track] = self._revision
            if len(self._removed) > MAX_REMOVED:
                # Forget the oldest removals: a client that far behind gets a snapshot.
                for track, at in sorted(self._removed.items(), key=lambda kv: kv[1])[
                    : MAX_REMOVED // 2
                ]:
                    del self._removed[track]
                    self._floor = max(self._floor, at)
            if meta is not None:
                self._meta_json, self._meta_rev = meta, self._revision
        self._dirty.clear()
        self._meta_dirty = False
        self.published_at = time.monotonic()
        return True

    def _scenario_launches(self, views: Iterable[Any]) -> list[LaunchEvent]:
        scenarios = {v.latest.scenario_id for v in views}
        return [e for e in self._launches.values() if e.scenario_id in scenarios]

    def _meta(self) -> str:
        launches = sorted(self._launches.values(), key=lambda e: e.launch_time_us)
        return json.dumps(
            {
                "clock": {"epoch_us": self._clock.epoch_us, "rate": self._clock.rate},
                "status": self._status,
                "launches": [self._launch_json(e) for e in launches],
            },
            separators=(",", ":"),
        )

    def _launch_json(self, launch: LaunchEvent) -> dict[str, Any]:
        names = self.context.missile_names
        return {
            "launch_id": launch.launch_id,
            "scenario_id": launch.scenario_id,
            "missile": names.get(launch.missile, launch.missile),
            "missile_class": launch.missile_class.value,
            "site": self.context.site_name(launch.site),
            "lat": launch.site_lat_deg,
            "lon": launch.site_lon_deg,
            "launch_time_us": launch.launch_time_us,
            "bearing_deg": launch.bearing_deg,
            "range_km": launch.range_km,
            "apogee_km": launch.apogee_km,
        }

    # -- the web side ---------------------------------------------------------------

    @property
    def revision(self) -> int:
        with self._lock:
            return self._revision

    def frame(self, since: int | None) -> tuple[int, str, str]:
        """(revision, event name, JSON text): a full snapshot for a new client
        (``since`` None, or a revision this state cannot describe a change from),
        otherwise only what changed after ``since``."""
        with self._lock:
            rev = self._revision
            head = f'"rev":{rev},"server_id":"{self.server_id}","server_wall_us":{wall_clock_us()}'
            if since is None or since > rev or since < self._floor:
                tracks = ",".join(self._rendered.values())
                text = (
                    f'{{"type":"snapshot",{head},"meta":{self._meta_json},'
                    f'"static":{self._static_json},"tracks":[{tracks}]}}'
                )
                return rev, "snapshot", text
            tracks = ",".join(self._rendered[t] for t, r in self._changed.items() if r > since)
            removed = json.dumps([t for t, r in self._removed.items() if r > since])
            meta = f',"meta":{self._meta_json}' if self._meta_rev > since else ""
            text = f'{{"type":"delta",{head}{meta},"tracks":[{tracks}],"removed":{removed}}}'
            return rev, "delta", text

    def snapshot(self) -> dict[str, Any]:
        """The full state as a dict (for ``/api/state`` and tests)."""
        result: dict[str, Any] = json.loads(self.frame(None)[2])
        return result
