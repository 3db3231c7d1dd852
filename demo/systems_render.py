"""The two-system part of the demo's summary, as plain lines."""

from __future__ import annotations

from demo.systems import SystemsReport
from trilink.systems import System


def systems_lines(report: SystemsReport) -> list[str]:
    """Where records crossed, what Japan never received, and Japan's warning time."""
    lines = ["", "Two bilateral systems, linked only by the bridge (INDOPACOM):"]
    for c in report.crossings:
        lines.append(
            f"  {c.nation.value} reports {c.source.display} -> {c.target.display}: "
            f"{c.crossed} crossed, {c.withheld} withheld by their label, "
            f"{c.refused} refused (unverifiable)"
        )
    if report.withheld:
        t = report.withheld[0]
        where = "never received on Japan-US" if not t.on_japan_us else "FOUND ON JAPAN-US"
        lines.append(
            f"  withheld from Japan: KOR track {t.track_id} ({t.marking}): {t.reports} reports "
            f"stayed on {System.ROKUS.display}, {where}"
            + (f" (and {len(report.withheld) - 1} more tracks)" if len(report.withheld) > 1 else "")
        )
    else:
        lines.append("  withheld from Japan: nothing (Korea restricted no track this run)")
    leads = [j for j in report.japan if j.lead_s is not None]
    unseen = [j for j in report.japan if j.lead_s is None]
    if leads:
        best = max(leads, key=lambda j: j.lead_s or 0.0)
        earlier = sum(1 for j in leads if (j.lead_s or 0.0) > 0.0)
        lines.append(
            f"  Japan-US alerted before Japan's own sensors on {earlier} "
            f"of {len(leads)} missiles Japan saw itself (up to {best.lead_s:.0f} s earlier, "
            f"track {best.system_track_id}), from what it could receive"
        )
    if unseen:
        lines.append(
            f"  {len(unseen)} Japan-US track(s) Japan's own sensors never reported: "
            "known on Japan-US only through the US and Korea's released reports"
        )
    return lines
