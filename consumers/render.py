"""How records and the alert picture look: plain lines, JSON objects and Rich tables.

Everything here is pure formatting (no I/O); the CLI chooses where it goes.
Times show as UTC clock times on the simulation clock the records carry.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from consumers.view import SHARING_NATIONS, TrackView
from trilink.model import AlertStatus, FusedAlert, GroundPoint, MissileWarning, Nation, Record
from trilink.timeutil import datetime_from_us, iso, s_from_us

_STATUS_STYLE = {
    AlertStatus.NEW: "bold red",
    AlertStatus.UPDATE: "yellow",
    AlertStatus.IMPACT: "bold magenta",
    AlertStatus.DROPPED: "dim",
}


def jsonable(record: Record | Mapping[str, Any]) -> dict[str, Any]:
    """A record's ``to_dict`` ready for ``json.dumps``: ``*_us`` times as ISO-8601 text
    (keys unchanged), bytes as base64."""
    data = record if isinstance(record, Mapping) else record.to_dict()
    return {k: _jsonable_value(k, v) for k, v in data.items()}


def _jsonable_value(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_value(key, v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if key.endswith("_us") and isinstance(value, int) and not isinstance(value, bool):
        return iso(value)
    return value


def clock(us: int | None) -> str:
    """``HH:MM:SS.s`` UTC, or an em dash for unknown."""
    if us is None:
        return "—"
    t = datetime_from_us(us)
    return f"{t:%H:%M:%S}.{t.microsecond // 100_000}"


def seconds(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f} s" if signed else f"{value:.1f} s"


def point(p: GroundPoint | None) -> str:
    """``40.12°N 145.30°E ±12 km``: position with the semi-major axis of its 95% ellipse."""
    if p is None:
        return "—"
    ns = "N" if p.lat_deg >= 0 else "S"
    ew = "E" if p.lon_deg >= 0 else "W"
    axis = p.ellipse.semi_major_km
    # Mid-course predictions tighten to hundreds of metres: "±0 km" would read as none.
    spread = f"±{axis:.0f} km" if axis >= 10.0 else f"±{axis:.1f} km" if axis >= 0.1 else "±<0.1 km"
    return f"{abs(p.lat_deg):.2f}°{ns} {abs(p.lon_deg):.2f}°{ew} {spread}"


def nations(items: Sequence[Nation]) -> str:
    return "+".join(n.value for n in items) or "—"


def threat_text(alert: FusedAlert) -> str:
    """The record's threat assessment in words: description, then the warning list with
    the time to the first overflight and to impact from the alert's state time."""
    found = alert.threat
    if found is None:
        return "—"
    parts = [found.description]
    if found.warning:
        parts.append("warn " + ", ".join(w.name for w in found.warning))
    upcoming = [o.enter_us for o in found.overflights if o.enter_us > alert.state_time_us]
    if upcoming:
        parts.append(f"overflight in {s_from_us(min(upcoming) - alert.state_time_us):.0f} s")
    if found.impact_us > alert.state_time_us:
        parts.append(f"impact in {s_from_us(found.impact_us - alert.state_time_us):.0f} s")
    return "; ".join(parts)


def alert_line(alert: FusedAlert) -> str:
    """One line per alert update, for logs and pipes."""
    contributors = sorted({c.nation for c in alert.contributors}, key=SHARING_NATIONS.index)
    impact = f"impact {point(alert.impact)}"
    if alert.impact is not None:
        impact += f" at {clock(alert.impact.time_us)}"
    return (
        f"{clock(alert.state_time_us)}  {alert.system_track_id}  v{alert.version}  "
        f"{alert.status.value:<7} {alert.missile_class.value:<7} {impact}  "
        f"by {nations(contributors)}  first {alert.first_detection_nation.value} "
        f"{clock(alert.first_detection_us)}"
        + ("" if alert.threat is None else f"  threat: {threat_text(alert)}")
    )


def warning_line(warning: MissileWarning) -> str:
    """One line per national warning."""
    impact = "" if warning.impact is None else f"  impact {point(warning.impact)}"
    phase = "boost" if warning.boosting else "coast"
    return (
        f"{clock(warning.observed_us)}  {warning.nation.value}  {warning.track_id}  "
        f"#{warning.sequence}  {warning.status.value:<8} {warning.missile_class.value:<7} "
        f"{phase}  q={warning.quality}{impact}"
    )


def status_text(alert: FusedAlert) -> Text:
    return Text(alert.status.value, style=_STATUS_STYLE.get(alert.status, ""))


def _seen_cell(view: TrackView, nation: Nation) -> Text:
    """Who sees the missile: own sensors since when (and lead), or from sharing only."""
    own = view.detections.get(nation)
    if own is None:
        return Text("shared only", style="cyan")
    lead = view.lead_us(nation) or 0
    text = Text(clock(own), style="green" if nation in view.seen_by else "dim")
    if lead > 0:
        text.append(f"  lead {s_from_us(lead):.1f} s", style="bold cyan")
    return text


def alerts_table(views: Sequence[TrackView], *, title: str = "Trilateral alerts") -> Table:
    """The live picture: newest state per system track and each nation's first detection."""
    table = Table(title=title, expand=False, header_style="bold")
    table.add_column("track")
    table.add_column("status")
    table.add_column("ver", justify="right")
    table.add_column("class")
    table.add_column("impact point (95%)")
    table.add_column("impact at")
    table.add_column("contributors")
    for nation in SHARING_NATIONS:
        table.add_column(f"{nation.value} own detection")
    table.add_column("threat", max_width=60)
    for view in views:
        alert = view.latest
        table.add_row(
            alert.system_track_id,
            status_text(alert),
            str(alert.version),
            alert.missile_class.value,
            point(alert.impact),
            clock(None if alert.impact is None else alert.impact.time_us),
            nations(view.seen_by),
            *(_seen_cell(view, n) for n in SHARING_NATIONS),
            threat_text(alert),
        )
    if not views:
        table.caption = "waiting for alerts…"
    return table


def warnings_table(warnings: Sequence[MissileWarning], *, title: str) -> Table:
    """Newest warning per national track."""
    table = Table(title=title, header_style="bold")
    for name in ("observed", "nation", "track", "seq", "status", "class", "phase", "impact"):
        table.add_column(name)
    for w in warnings:
        table.add_row(
            clock(w.observed_us),
            w.nation.value,
            w.track_id,
            str(w.sequence),
            w.status.value,
            w.missile_class.value,
            "boost" if w.boosting else "coast",
            point(w.impact),
        )
    if not warnings:
        table.caption = "waiting for warnings…"
    return table
