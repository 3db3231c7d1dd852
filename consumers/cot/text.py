"""The words on a TAK marker: callsign and remarks of a fused alert. Pure formatting.

Times are on the scenario clock the alert carries (UTC, ``Z``), as ``trilink
alerts`` shows them; ``T+`` counts from the estimated launch (or the first
detection before there is one).
"""

from __future__ import annotations

from collections.abc import Callable

from trilink.model import FusedAlert
from trilink.timeutil import US_PER_S, datetime_from_us

PlaceNamer = Callable[[float, float], str | None]
"""(lat, lon) -> a name people know (a launch site), or None."""


def hms(us: int) -> str:
    """``22:23:05Z``."""
    return f"{datetime_from_us(us):%H:%M:%S}Z"


def latlon(lat: float, lon: float) -> str:
    """``39.20N 125.67E``."""
    return f"{abs(lat):.2f}{'N' if lat >= 0 else 'S'} {abs(lon):.2f}{'E' if lon >= 0 else 'W'}"


def t_plus(alert: FusedAlert, us: int) -> str:
    """``T+95 s`` from the launch estimate (or the first detection)."""
    origin = alert.launch.time_us if alert.launch is not None else alert.first_detection_us
    return f"T{'+' if us >= origin else '-'}{abs(us - origin) / US_PER_S:.0f} s"


def launch_place(alert: FusedAlert, place: PlaceNamer | None) -> str | None:
    """The launch site's name, else its coordinates; None before a launch estimate."""
    if alert.launch is None:
        return None
    named = place(alert.launch.lat_deg, alert.launch.lon_deg) if place is not None else None
    return named or latlon(alert.launch.lat_deg, alert.launch.lon_deg)


def callsign(alert: FusedAlert, place: PlaceNamer | None = None) -> str:
    """``IRBM Sunan 22:23:05Z``: class, launch site, launch time. Before a launch
    estimate: ``IRBM 22:23:35Z``, class and first detection time."""
    cls = alert.missile_class.value
    where = launch_place(alert, place)
    if where is None or alert.launch is None:
        return f"{cls} {hms(alert.first_detection_us)}"
    return f"{cls} {where} {hms(alert.launch.time_us)}"


def remarks(alert: FusedAlert, place: PlaceNamer | None = None, clock: str = "") -> str:
    """What a TAK user reads on tapping the marker: the missile, where the picture
    stands (T+), who sees it, where it falls and who it threatens, the data mode;
    ``clock`` says when the times are on an accelerated session clock."""
    cls = alert.missile_class.value
    if alert.launch is not None:
        head = f"{cls} launched {hms(alert.launch.time_us)} from {launch_place(alert, place)}"
    else:
        head = f"{cls} first detected {hms(alert.first_detection_us)}"
    nations = "+".join(sorted({c.nation.value for c in alert.contributors})) or "none"
    parts = [
        head,
        f"{t_plus(alert, alert.state_time_us)}, alert v{alert.version} {alert.status.value}",
        f"seen by {nations}, first {alert.first_detection_nation.value} "
        f"at {t_plus(alert, alert.first_detection_us)}",
    ]
    if alert.impact is not None:
        p = alert.impact
        parts.append(
            f"impact {hms(p.time_us)} ({t_plus(alert, p.time_us)}) at "
            f"{latlon(p.lat_deg, p.lon_deg)} ±{p.ellipse.semi_major_km:.1f} km (95%)"
        )
    if alert.threat is not None:
        parts.append(alert.threat.description)
        if alert.threat.warning:
            parts.append("warn " + ", ".join(w.name for w in alert.threat.warning))
    if alert.threatened:
        parts.append("threatens " + "+".join(n.value for n in alert.threatened))
    if alert.note:
        parts.append(alert.note)
    parts.append(alert.data_mode.value)
    if clock:
        parts.append(f"times on the scenario clock: {clock}")
    return "; ".join(p for p in parts if p)
