"""Carrying out association decisions: national tracks joining, founding and leaving
system tracks, with the notes the alert history shows.

Functions over the engine's two tables (system tracks by id, national tracks by
(nation, track id)); every system track they change is added to ``touched``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.tracks import NationalTrack, SystemTrack, TrackKey, key_text, system_track_id
from trilink.model import AlertStatus

Tracks = dict[str, SystemTrack]
Nationals = dict[TrackKey, NationalTrack]


@dataclass(slots=True)
class Newcomer:
    """A national track without a system track (new, or detached by a break)."""

    member: NationalTrack
    created_us: int  # the observed time a system track it founds is named after
    previous: str = ""  # system track it was detached from


def join(
    tracks: Tracks, national: Nationals, n: Newcomer, track: SystemTrack, touched: set[str]
) -> None:
    """``n`` joins ``track`` (reviving it if it had been dropped)."""
    if track.closed is not None:
        track.closed = None
        track.notes.append("revived")
    track.add(n.member)
    national[n.member.key] = n.member
    if n.previous:
        track.notes.append(f"{key_text(n.member.key)} re-associated from {n.previous}")
        _note_departure(tracks, n, track.track_id, touched)
    else:
        track.notes.append(f"{key_text(n.member.key)} joined")
    touched.add(track.track_id)


def join_late(national: Nationals, n: Newcomer, track: SystemTrack, touched: set[str]) -> None:
    """``n`` joins ``track``, closed since, as a late contributor; it stays closed.

    Its reports all began before the close but arrived after it (its nation's feed
    was read behind the others): the missile is the same, only the news is late.
    Its picture is left as it was; the engine re-states the closing alert once so
    the contributor lists consumers read from final alerts are complete.
    """
    track.add(n.member)
    national[n.member.key] = n.member
    track.notes.append(f"{key_text(n.member.key)} joined late (its reports precede the close)")
    touched.add(track.track_id)


def found(tracks: Tracks, national: Nationals, n: Newcomer, touched: set[str]) -> SystemTrack:
    """A new system track for ``n``, named after (nation, track id, ``n.created_us``)."""
    m = n.member
    base = system_track_id(m.nation, m.track_id, n.created_us)
    track_id, suffix = base, 2
    while track_id in tracks:
        track_id, suffix = f"{base}-{suffix}", suffix + 1
    track = SystemTrack(
        track_id=track_id,
        data_mode=m.data_mode,
        scenario_id=m.scenario_id,
        created_us=n.created_us,
        first_detection_us=m.first_observed_us,
        first_detection_nation=m.nation,
    )
    tracks[track_id] = track
    track.add(m)
    national[m.key] = m
    if n.previous:
        track.notes.append(f"{key_text(m.key)} re-associated from {n.previous}")
        _note_departure(tracks, n, track_id, touched)
    touched.add(track_id)
    return track


def attach_hinted(
    tracks: Tracks,
    national: Nationals,
    n: Newcomer,
    track_id: str,
    closed: AlertStatus | None,
    event_us: int,
    touched: set[str],
) -> None:
    """Put a replayed national track back where a published alert said it was."""
    track = tracks.get(track_id)
    m = n.member
    if track is None:
        track = SystemTrack(
            track_id, m.data_mode, m.scenario_id, n.created_us, m.first_observed_us, m.nation
        )
        track.closed, track.closed_us = closed, event_us
        tracks[track_id] = track
    if track.closed is AlertStatus.IMPACT:
        track.members[m.key] = m  # its later reports are ignored like the others'
        m.system_track_id = track_id
        national[m.key] = m
        return
    join(tracks, national, n, track, touched)


def _note_departure(tracks: Tracks, n: Newcomer, new_id: str, touched: set[str]) -> None:
    old = tracks.get(n.previous)
    if old is not None:
        old.notes.append(f"{key_text(n.member.key)} re-associated to {new_id}")
        touched.add(old.track_id)
