"""Fused alerts as Cursor-on-Target (CoT) events for TAK clients: pure, no I/O.

One :class:`~trilink.model.FusedAlert` gives up to three events. Each uid stays
the same for the whole flight, so a TAK client moves one marker instead of
drawing a new one per update (``<id>`` is the system track id):

* ``trilink.<id>.track``: the missile, type ``a-h-A-W-M-S-S`` (``a-h-A-W-M-U``
  for an SLBM), ``how="m-f"`` (fused); the point is the fused position (height
  above the ellipsoid) with ``ce``/``le`` the 1-sigma horizontal and vertical
  errors of its covariance (:mod:`consumers.cot.position`); ``<track>`` gives
  course and horizontal speed.
* ``trilink.<id>.launch``: the estimated launch point, type ``b-d-l``.
* ``trilink.<id>.impact``: the predicted impact point, type ``b-d-i``.

The two ground points carry their 95% ellipse as ``<shape><ellipse major= minor=
angle=/></shape>`` (semi-axes in metres, angle the bearing of the major axis in
degrees clockwise from true north), ``ce`` the 1-sigma along its major axis and
``le`` unknown, and a ``<link relation="p-p">`` to the track. Every event has a
``<contact callsign>`` (:func:`~consumers.cot.text.callsign`), ``<remarks>``
(:func:`~consumers.cot.text.remarks`) and a ``<__trilink>`` detail with the
system track, version and status.

``time`` is when the bridge issued the alert, ``start`` the time of validity of
its state. ``stale`` (:class:`CotTiming`):

* NEW / UPDATE: the track ``track_s`` after the alert (the next update replaces
  it first); launch and impact ``hold_s`` after the predicted impact, or like the
  track while there is no impact prediction.
* IMPACT: the track is deleted; launch and impact stay ``hold_s`` after the alert.
* DROPPED: the track and the impact prediction are deleted (no track backs the
  prediction any more); the launch point stays ``hold_s``.

A delete is a ``t-x-d-d`` event in the form of the ATAK developer guide (a uid of
its own, ``<link uid=... relation="none" type="none"/>``, ``<__forcedelete/>``):
a missile that fell or is no longer tracked must leave the map at once, not stay
a live hostile until it goes stale.

Alert times are on the session clock, which may run faster than real time; TAK
clients compare ``stale`` with their own wall clock, so every CoT time goes
through ``to_wall`` (scenario -> wall time). The durations are scenario seconds.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from consumers.cot.position import UNKNOWN_ERROR_M, ground_ce_m, track_point
from consumers.cot.text import PlaceNamer, callsign, remarks
from trilink.errors import ConfigError
from trilink.model import AlertStatus, FusedAlert, GroundPoint, MissileClass
from trilink.timeutil import US_PER_S, datetime_from_us

TYPE_MISSILE = "a-h-A-W-M-S-S"
"""Hostile air track: weapon, missile, surface-to-surface."""
TYPE_SUBMARINE_MISSILE = "a-h-A-W-M-U"
"""Hostile air track: weapon, missile, launched from under water (SLBM)."""
TYPE_LAUNCH = "b-d-l"
TYPE_IMPACT = "b-d-i"
TYPE_DELETE = "t-x-d-d"
HOW_FUSED = "m-f"

_CLOSING = (AlertStatus.IMPACT, AlertStatus.DROPPED)
# Characters XML 1.0 cannot carry. ElementTree writes them anyway, and a TAK server's
# parser then rejects the document and drops the whole connection.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


_MIN_STALE_US = US_PER_S  # stale after time, always: a TAK client drops an event born stale


def _argb(a: int, r: int, g: int, b: int) -> int:
    """ATAK's colour: ARGB as a signed 32-bit integer."""
    value = (a << 24) | (r << 16) | (g << 8) | b
    return value - (1 << 32) if value >= 1 << 31 else value


# Stroke and fill of the ellipses: launch amber, impact red; fills translucent.
_COLOURS = {
    "launch": (_argb(255, 255, 165, 0), _argb(48, 255, 165, 0)),
    "impact": (_argb(255, 255, 0, 0), _argb(64, 255, 0, 0)),
}


class Kind(StrEnum):
    """What an event shows; the last part of its uid."""

    TRACK = "track"
    LAUNCH = "launch"
    IMPACT = "impact"


@dataclass(frozen=True, slots=True)
class CotTiming:
    """How long events stay valid, in scenario seconds.

    ``track_s``: a live track goes stale this long after its alert unless an update
    replaces it. 30 s is three of the bridge's maximum alert intervals (an UPDATE
    every 10 s at most while data flows): two missed updates grey it out.
    ``hold_s``: launch and impact points stay this long after the predicted impact
    (or after the alert that closed the track): where it fell is what people ask
    about in the minutes after.
    """

    track_s: float = 30.0
    hold_s: float = 300.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.track_s) and 1.0 <= self.track_s <= 3600.0):
            raise ConfigError(f"track stale time must be 1..3600 s, got {self.track_s:g}")
        if not (math.isfinite(self.hold_s) and 0.0 <= self.hold_s <= 86400.0):
            raise ConfigError(f"hold time must be 0..86400 s, got {self.hold_s:g}")


@dataclass(frozen=True, slots=True)
class CotEvent:
    """One CoT event, serialised (UTF-8, no XML declaration). ``subject`` is the uid of
    the map item it concerns: its own, or for a delete the one it removes. Times are
    wall-clock µs."""

    uid: str
    subject: str
    type: str
    time_us: int
    stale_us: int
    xml: bytes

    @property
    def is_delete(self) -> bool:
        return self.type == TYPE_DELETE


def event_uid(system_track_id: str, kind: Kind) -> str:
    """The stable uid of one kind of event of one system track."""
    return xml_safe(f"trilink.{system_track_id}.{kind.value}")


def track_type(missile_class: MissileClass) -> str:
    """The CoT type of a missile track: submarine-launched or surface-to-surface."""
    return TYPE_SUBMARINE_MISSILE if missile_class is MissileClass.SLBM else TYPE_MISSILE


def cot_time(us: int) -> str:
    """CoT's time format: UTC, millisecond precision, ``Z``."""
    t = datetime_from_us(us)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class _Times:
    """time, start and stale on the scenario clock; ``wall`` maps them for the wire."""

    time_us: int
    start_us: int
    stale_us: int

    def attributes(self, wall: Callable[[int], int]) -> dict[str, str]:
        return {
            "time": cot_time(wall(self.time_us)),
            "start": cot_time(wall(self.start_us)),
            "stale": cot_time(wall(self.stale_us)),
        }


def _element(
    uid: str, type_: str, times: _Times, wall: Callable[[int], int], point: tuple[float, ...]
) -> tuple[ET.Element, ET.Element]:
    """An ``<event>`` with its ``<point>`` and an empty ``<detail>``."""
    event = ET.Element(
        "event",
        {"version": "2.0", "uid": uid, "type": type_, "how": HOW_FUSED, **times.attributes(wall)},
    )
    lat, lon, hae, ce, le = point
    ET.SubElement(
        event,
        "point",
        lat=f"{lat:.7f}",
        lon=f"{lon:.7f}",
        hae=f"{hae:.1f}",
        ce=f"{ce:.1f}",
        le=f"{le:.1f}",
    )
    return event, ET.SubElement(event, "detail")


def _finish(event: ET.Element, subject: str, times: _Times, wall: Callable[[int], int]) -> CotEvent:
    return CotEvent(
        uid=event.attrib["uid"],
        subject=subject,
        type=event.attrib["type"],
        time_us=wall(times.time_us),
        stale_us=wall(times.stale_us),
        xml=ET.tostring(event, encoding="utf-8", xml_declaration=False),
    )


def _describe(detail: ET.Element, name: str, text: str, alert: FusedAlert) -> None:
    ET.SubElement(detail, "contact", callsign=xml_safe(name))
    ET.SubElement(detail, "remarks").text = xml_safe(text)
    # Machine-readable origin for gateways and logs; TAK clients ignore unknown details.
    ET.SubElement(
        detail,
        "__trilink",
        track=xml_safe(alert.system_track_id),
        version=str(alert.version),
        status=alert.status.value,
        missile_class=alert.missile_class.value,
        data_mode=alert.data_mode.value,
    )


@dataclass(frozen=True, slots=True)
class _Context:
    """What every event of one alert shares."""

    alert: FusedAlert
    timing: CotTiming
    wall: Callable[[int], int]
    name: str
    text: str

    def times(self, stale_us: int) -> _Times:
        t = self.alert.alert_us
        start = min(self.alert.state_time_us, t)
        return _Times(t, start, max(stale_us, t + _MIN_STALE_US))

    def seconds(self, value: float) -> int:
        return round(value * US_PER_S)


def _track(ctx: _Context) -> CotEvent:
    alert = ctx.alert
    uid = event_uid(alert.system_track_id, Kind.TRACK)
    tp = track_point(alert)
    times = ctx.times(alert.alert_us + ctx.seconds(ctx.timing.track_s))
    point = (tp.lat_deg, tp.lon_deg, tp.hae_m, tp.ce_m, tp.le_m)
    if alert.status in _CLOSING:
        return _delete(uid, alert.version, times, ctx.wall, point)
    event, detail = _element(uid, track_type(alert.missile_class), times, ctx.wall, point)
    ET.SubElement(detail, "track", course=f"{tp.course_deg:.1f}", speed=f"{tp.speed_mps:.1f}")
    _describe(detail, ctx.name, ctx.text, alert)
    return _finish(event, uid, times, ctx.wall)


def _ground(ctx: _Context, kind: Kind, p: GroundPoint) -> CotEvent:
    alert = ctx.alert
    uid = event_uid(alert.system_track_id, kind)
    hold = ctx.seconds(ctx.timing.hold_s)
    if alert.status in _CLOSING:
        stale = alert.alert_us + hold
    elif alert.impact is not None:
        stale = alert.impact.time_us + hold
    else:
        stale = alert.alert_us + ctx.seconds(ctx.timing.track_s)
    times = ctx.times(stale)
    point = (p.lat_deg, p.lon_deg, 0.0, ground_ce_m(p), UNKNOWN_ERROR_M)
    if kind is Kind.IMPACT and alert.status is AlertStatus.DROPPED:
        return _delete(uid, alert.version, times, ctx.wall, point)
    type_ = TYPE_LAUNCH if kind is Kind.LAUNCH else TYPE_IMPACT
    event, detail = _element(uid, type_, times, ctx.wall, point)
    shape = ET.SubElement(detail, "shape")
    ET.SubElement(
        shape,
        "ellipse",
        major=f"{p.ellipse.semi_major_km * 1000.0:.1f}",
        minor=f"{p.ellipse.semi_minor_km * 1000.0:.1f}",
        angle=f"{p.ellipse.orientation_deg % 360.0:.1f}",
    )
    stroke, fill = _COLOURS[kind.value]
    ET.SubElement(detail, "strokeColor", value=str(stroke))
    ET.SubElement(detail, "fillColor", value=str(fill))
    track_uid = event_uid(alert.system_track_id, Kind.TRACK)
    ET.SubElement(
        detail, "link", uid=track_uid, type=track_type(alert.missile_class), relation="p-p"
    )
    _describe(detail, f"{ctx.name} {kind.value}", ctx.text, alert)
    return _finish(event, uid, times, ctx.wall)


def _delete(
    target: str, version: int, times: _Times, wall: Callable[[int], int], point: tuple[float, ...]
) -> CotEvent:
    # The delete's own uid must be unique; the version keeps it so across a revival.
    event, detail = _element(f"{target}.delete.v{version}", TYPE_DELETE, times, wall, point)
    ET.SubElement(detail, "link", uid=target, relation="none", type="none")
    ET.SubElement(detail, "__forcedelete")
    return _finish(event, target, times, wall)


def _identity(us: int) -> int:
    return us


def alert_events(
    alert: FusedAlert,
    *,
    timing: CotTiming | None = None,
    to_wall: Callable[[int], int] = _identity,
    place: PlaceNamer | None = None,
    clock: str = "",
) -> list[CotEvent]:
    """The CoT events of one alert, track first (see the module docstring).

    ``to_wall`` maps session-clock µs to wall-clock µs (identity in real time);
    ``place`` names launch sites for the callsign (coordinates otherwise);
    ``clock`` describes an accelerated session clock for the remarks.
    """
    ctx = _Context(
        alert=alert,
        timing=timing or CotTiming(),
        wall=to_wall,
        name=callsign(alert, place),
        text=remarks(alert, place, clock),
    )
    events = [_track(ctx)]
    if alert.launch is not None:
        events.append(_ground(ctx, Kind.LAUNCH, alert.launch))
    if alert.impact is not None:
        events.append(_ground(ctx, Kind.IMPACT, alert.impact))
    return events
