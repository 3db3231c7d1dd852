"""The engine's memory rebuilt from what a previous bridge left on Kafka.

Pure: snapshots (the last per system track) and the newest published alert per
system track in, the engine's tables out. The two sources can disagree after a
crash — on brokers where aborted transactions stay visible, or when a crash cut a
transaction short — and each disagreement has one safe reading:

* an alert newer than the snapshot: its version is taken (versions continue above
  it) and the memberships it announced become hints, so replayed reports rebuild
  the same system tracks instead of inventing new ones;
* a terminal alert (IMPACT/DROPPED) the snapshot does not know: the track is closed;
* a snapshot newer than every alert of its track: that alert never reached the
  broker; it is issued again (same version, it was never published).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bridge.state import BridgeTrackState, restore_track
from bridge.tracks import NationalTrack, SystemTrack, TrackKey
from trilink.model import AlertStatus, FusedAlert


@dataclass(slots=True)
class Rebuilt:
    """The tables an engine resumes with."""

    tracks: dict[str, SystemTrack] = field(default_factory=dict)
    national: dict[TrackKey, NationalTrack] = field(default_factory=dict)
    event_us: int = 0
    published: dict[str, int] = field(default_factory=dict)
    hints: dict[TrackKey, str] = field(default_factory=dict)
    published_closed: dict[str, AlertStatus] = field(default_factory=dict)
    reissue: list[str] = field(default_factory=list)


def rebuild(states: Iterable[BridgeTrackState], published: Mapping[str, FusedAlert]) -> Rebuilt:
    """Tables from snapshots and the newest published alert per system track."""
    out = Rebuilt()
    for state in states:
        track, members = restore_track(state)
        out.tracks[track.track_id] = track
        out.event_us = max(out.event_us, state.event_us)
        for m in members:
            held = out.national.get(m.key)
            if held is None or m.last_sequence >= held.last_sequence:
                if held is not None and held.system_track_id != m.system_track_id:
                    other = out.tracks.get(held.system_track_id)
                    if other is not None:
                        other.members.pop(m.key, None)
                out.national[m.key] = m
            else:  # a stale copy: the member moved on to another track since
                track.members.pop(m.key, None)
    for track_id, alert in published.items():
        out.published[track_id] = max(out.published.get(track_id, 0), alert.version)
        out.event_us = max(out.event_us, alert.newest_report_us)
        known = out.tracks.get(track_id)
        if known is not None and known.version >= alert.version:
            continue
        for c in alert.contributors:
            if (c.nation, c.track_id) not in out.national:
                out.hints[(c.nation, c.track_id)] = track_id
        if alert.status in (AlertStatus.IMPACT, AlertStatus.DROPPED):
            out.published_closed[track_id] = alert.status
            if known is not None:
                known.closed, known.closed_us = alert.status, alert.newest_report_us
    out.reissue = sorted(
        t.track_id
        for t in out.tracks.values()
        if t.last_alert is not None and t.version > out.published.get(t.track_id, 0)
    )
    return out
