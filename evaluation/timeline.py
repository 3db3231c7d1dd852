"""The picture over time: the raid count against the missiles in flight, and alert delays.

All times are event time: a fused alert's ``newest_report_us`` (the publication time
of the newest report behind it; through a broker ``alert_us`` is wall-clock time),
a national warning's ``reported_us``.

* :func:`raid_count`: every :data:`RAID_STEP_S` from :data:`RAID_AFTER_S` after the
  first national warning of any missile, the system tracks open (from a track's
  first alert, or its first after a close, to its IMPACT or DROPPED alert; an IMPACT
  counts from its predicted impact if that is later than its newest report) against
  the missiles a nation has warned of and that have not come down. A missile
  launched or impacting within :data:`RAID_GRACE_S` of a sample may be counted or
  not: the count may lag a report's latency, never more;
* :func:`first_alert_delays`: per missile, the first fused alert naming one of its
  national tracks minus the first national warning of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from evaluation.results import RaidCount
from evaluation.truth import TruthPath
from trilink.constants import US
from trilink.model import AlertStatus, FusedAlert

RAID_STEP_S = 2.0
RAID_AFTER_S = 60.0
RAID_GRACE_S = 5.0
RAID_TAIL_S = 30.0  # tracks lingering this long after the last impact still count

_CLOSING = (AlertStatus.IMPACT, AlertStatus.DROPPED)


def _closed_at(a: FusedAlert) -> int:
    """Event time a closing alert ends its track's life: its newest report, or for an
    IMPACT its predicted impact if later. A track every nation lost in midcourse (out
    of all coverage) coasts on its ballistic prediction and closes as IMPACT once that
    impact is due, carrying the newest report it had: the missile was in the picture
    until it came down, not until it was last seen."""
    if a.status is AlertStatus.IMPACT and a.impact is not None:
        return max(a.newest_report_us, a.impact.time_us)
    return a.newest_report_us


def open_intervals(
    alerts: Sequence[FusedAlert], excluded: Collection[str] = ()
) -> list[tuple[int, int]]:
    """(open, close) event times (µs) of every system track not in ``excluded``; a track
    never closed stays open to the end of time."""
    by_track: dict[str, list[FusedAlert]] = defaultdict(list)
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        if a.system_track_id not in excluded:
            by_track[a.system_track_id].append(a)
    out: list[tuple[int, int]] = []
    for history in by_track.values():
        opened: int | None = None
        for a in history:
            if opened is None and a.status not in _CLOSING:
                opened = a.newest_report_us
            elif opened is not None and a.status in _CLOSING:
                out.append((opened, max(opened, _closed_at(a))))
                opened = None
        if opened is not None:
            out.append((opened, 2**62))
    return out


def raid_count(
    truths: Sequence[TruthPath],
    first_warning_us: Mapping[str, int],
    alerts: Sequence[FusedAlert],
    excluded: Collection[str] = (),
) -> RaidCount:
    """How far the number of open system tracks strays from the missiles in flight."""
    if not first_warning_us:
        return RaidCount(RAID_STEP_S, RAID_AFTER_S, RAID_GRACE_S, 0, None, 0, None)
    t0 = min(first_warning_us.values())
    detected = [t for t in truths if t.name in first_warning_us]
    end = max(t.end_us for t in detected) + round(RAID_TAIL_S * US)
    grid = np.arange(t0 + round(RAID_AFTER_S * US), end + 1, round(RAID_STEP_S * US))
    if grid.size == 0:
        return RaidCount(RAID_STEP_S, RAID_AFTER_S, RAID_GRACE_S, 0, None, 0, None)
    grace = round(RAID_GRACE_S * US)
    warned = np.array([first_warning_us[t.name] for t in detected])[:, None]
    down = np.array([t.end_us for t in detected])[:, None]
    surely = ((warned <= grid - grace) & (grid <= down - grace)).sum(axis=0)
    maybe = ((warned <= grid) & (grid < down + grace)).sum(axis=0)
    alive = np.zeros(grid.size, dtype=np.int64)
    for opened, closed in open_intervals(alerts, excluded):
        alive += (grid >= opened) & (grid < closed)
    error = np.maximum(np.maximum(surely - alive, alive - maybe), 0)
    worst = int(error.argmax())
    return RaidCount(
        RAID_STEP_S,
        RAID_AFTER_S,
        RAID_GRACE_S,
        int(grid.size),
        int(error[worst]),
        int((error > 0).sum()),
        round((int(grid[worst]) - t0) / US, 3) if error[worst] > 0 else None,
    )


def first_alert_delays(
    truths: Sequence[TruthPath],
    first_warning_us: Mapping[str, int],
    first_fused_us: Mapping[str, int],
) -> dict[str, float | None]:
    """Per missile: first fused alert on it minus first national warning of it (s)."""
    return {
        t.name: (
            round((first_fused_us[t.name] - first_warning_us[t.name]) / US, 3)
            if t.name in first_fused_us and t.name in first_warning_us
            else None
        )
        for t in truths
    }
