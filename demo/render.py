"""Rich and plain-text rendering of the demo's summary (one row per launch)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from consumers.render import clock, point, seconds, status_text, threat_text
from consumers.view import SHARING_NATIONS
from demo.summary import MissileSummary
from trilink.model import Nation
from trilink.timeutil import s_from_us


def _when(row: MissileSummary, us: int | None) -> str:
    """``T+95.2 s`` after the launch when it is known, else the clock time."""
    if us is None:
        return "—"
    if row.launch is None:
        return clock(us)
    return f"T{s_from_us(us - row.launch.launch_time_us):+.1f} s"


def _own_detection(row: MissileSummary, nation: Nation) -> str:
    if row.track is None:
        return "—"
    own = row.detections.get(nation)
    if own is None:
        return "never (shared only)"
    lead = row.lead_s(nation)
    return _when(row, own) if not lead else f"{_when(row, own)}, lead {seconds(lead)}"


def _error(row: MissileSummary) -> str:
    return "—" if row.impact_error_km is None else f"{row.impact_error_km:.1f} km"


def summary_table(rows: Sequence[MissileSummary], *, title: str = "Summary") -> Table:
    """Per missile: first alert, each nation's own first detection and the lead the
    alert gave it, the predicted impact and its error against the truth."""
    table = Table(title=title, header_style="bold")
    table.add_column("missile")
    table.add_column("launch (UTC)")
    table.add_column("track")
    table.add_column("first detection")
    table.add_column("first alert")
    for nation in SHARING_NATIONS:
        table.add_column(f"{nation.value} own detection")
    table.add_column("impact point (95%)")
    table.add_column("impact error", justify="right")
    table.add_column("threat", max_width=60)
    for row in rows:
        track = row.track
        if track is None:
            table.add_row(
                row.name,
                clock(row.launch.launch_time_us if row.launch else None),
                Text("no alert", style="bold red"),
            )
            continue
        table.add_row(
            row.name,
            clock(None if row.launch is None else row.launch.launch_time_us),
            Text.assemble(
                f"{track.system_track_id} v{track.latest.version} ", status_text(track.latest)
            ),
            f"{track.first_detection_nation.value} {_when(row, track.first_detection_us)}",
            _when(row, track.alerted_us),
            *(_own_detection(row, n) for n in SHARING_NATIONS),
            point(row.impact),
            _error(row),
            threat_text(track.latest),
        )
    return table


def summary_lines(rows: Sequence[MissileSummary]) -> list[str]:
    """The summary as plain lines (one per missile), for logs and tests."""
    lines = []
    for row in rows:
        track = row.track
        if track is None:
            lines.append(f"{row.name}: no alert")
            continue
        per_nation = "; ".join(f"{n.value} {_own_detection(row, n)}" for n in SHARING_NATIONS)
        lines.append(
            f"{row.name}: {track.system_track_id} v{track.latest.version} "
            f"{track.latest.status.value}; first detection {track.first_detection_nation.value} "
            f"{_when(row, track.first_detection_us)}; first alert "
            f"{_when(row, track.alerted_us)}; {per_nation}; impact {point(row.impact)}, "
            f"error {_error(row)}"
            + ("" if track.latest.threat is None else f"; threat {threat_text(track.latest)}")
        )
    return lines
