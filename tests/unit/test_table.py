"""The track table on its own: applying reports, founding, joining, evicting."""

from __future__ import annotations

from typing import Any

import numpy as np

from bridge.admission import Outcome
from bridge.config import AlertConfig, GateConfig
from bridge.table import Newcomer, TrackTable
from bridge.tracks import NationalTrack, SystemTrack, system_track_id
from bridge.validate import Checked
from tests.factories import T0_US, make_warning
from trilink.constants import US
from trilink.model import AlertStatus, Nation, TrackStatus


def _checked(**overrides: Any) -> Checked:
    w = make_warning(**overrides)
    return Checked(w, np.array((*w.position_m, *w.velocity_mps)), np.eye(6))


def _joined(
    table: TrackTable, out: Outcome, nation: Nation, track_id: str
) -> tuple[SystemTrack, Newcomer]:
    """A track founded by KOR's first report that ``nation``'s ``track_id`` then joined:
    the track, and the joiner as it arrived."""
    (founder,) = table.apply([_checked(sequence=1)], out).newcomers
    track = table.found(founder, set())
    (joiner,) = table.apply([_checked(nation=nation, track_id=track_id, sequence=1)], out).newcomers
    table.join(joiner, track, set())
    return track, joiner


def _table() -> TrackTable:
    return TrackTable.configured(GateConfig(), AlertConfig())


def test_configured_windows_are_in_microseconds() -> None:
    table = TrackTable.configured(GateConfig(silent_s=12.0), AlertConfig(revive_window_s=300.0))
    assert (table.silent_us, table.revive_window_us) == (12 * US, 300 * US)


def test_new_reports_make_a_newcomer_and_replays_are_counted() -> None:
    table, out = _table(), Outcome()
    first = _checked(sequence=1, reported_us=T0_US + 1)
    second = _checked(sequence=2, reported_us=T0_US + 2, observed_us=T0_US + 96_000_000)
    changes = table.apply([second, first], out)
    assert (out.accepted, out.replayed) == (2, 0)
    (n,) = changes.newcomers
    assert n.member.last_sequence == 2 and n.created_us == n.member.first_observed_us
    assert table.event_us == T0_US + 2
    assert table.nation_us == {Nation.KOR: T0_US + 96_000_000}

    track = table.found(n, changes.touched)
    assert changes.touched == {track.track_id}
    again = table.apply([second, _checked(sequence=3, reported_us=T0_US + 3)], out)
    assert (out.accepted, out.replayed) == (3, 1)
    assert again.touched == {track.track_id} and not again.newcomers


def test_a_lost_member_changes_its_track() -> None:
    table, out = _table(), Outcome()
    (n,) = table.apply([_checked(sequence=1)], out).newcomers
    track = table.found(n, set())
    track.membership_changed = False
    table.apply([_checked(sequence=2, status=TrackStatus.LOST)], out)
    assert track.membership_changed
    assert track.notes[-1] == "KOR/KOR-0001 lost"


def test_found_names_colliding_tracks_apart() -> None:
    table = _table()
    a = NationalTrack.from_report(_checked())
    b = NationalTrack.from_report(_checked())
    first = table.found(Newcomer(a, T0_US), set())
    second = table.found(Newcomer(b, T0_US), set())
    assert first.track_id == system_track_id(Nation.KOR, "KOR-0001", T0_US)
    assert second.track_id == f"{first.track_id}-2"


def test_join_revives_a_closed_track_and_notes_the_departure() -> None:
    table, touched = _table(), set[str]()
    kor = NationalTrack.from_report(_checked())
    usa = NationalTrack.from_report(_checked(nation=Nation.USA, track_id="USA-0001"))
    old = table.found(Newcomer(kor, T0_US), touched)
    new = table.found(Newcomer(usa, T0_US), touched)
    new.closed = AlertStatus.DROPPED
    old.remove(kor.key)
    table.join(Newcomer(kor, T0_US, previous=old.track_id), new, touched)
    assert new.closed is None
    assert new.notes[-2:] == ["revived", f"KOR/KOR-0001 re-associated from {old.track_id}"]
    assert old.notes[-1] == f"KOR/KOR-0001 re-associated to {new.track_id}"
    assert kor.system_track_id == new.track_id


def test_evict_forgets_only_members_still_filed_under_the_track() -> None:
    table = _table()
    kor = NationalTrack.from_report(_checked())
    usa = NationalTrack.from_report(_checked(nation=Nation.USA, track_id="USA-0001"))
    track = table.found(Newcomer(kor, T0_US), set())
    table.join(Newcomer(usa, T0_US), track, set())
    # USA's national track started afresh elsewhere (its old copy stays with the track).
    fresh = NationalTrack.from_report(_checked(nation=Nation.USA, track_id="USA-0001"))
    moved = table.found(Newcomer(fresh, T0_US + 1), set())
    table.evict(track)
    assert track.track_id not in table.tracks
    assert kor.key not in table.national
    assert table.national[usa.key] is fresh and fresh.system_track_id == moved.track_id


def test_a_member_detached_and_held_is_retried_on_its_next_report() -> None:
    """A break detaches a member that gates with no track: it is held, and its next
    report offers it to association again, as a retry: the track it left may take it
    back (only the batch of the break bars it), and it rejoins that track."""
    table, out = _table(), Outcome()
    track, u = _joined(table, out, Nation.USA, "USA-0001")
    track.remove(u.member.key)  # the break test's detachment
    table.hold(u.member, previous=track.track_id)
    assert u.member.key not in table.national  # filed under no track while held
    again = table.apply(
        [_checked(nation=Nation.USA, track_id="USA-0001", sequence=2, reported_us=T0_US + 5)], out
    )
    (n,) = again.newcomers
    assert n.member is u.member and n.member.last_sequence == 2
    assert n.previous == track.track_id and n.retried and not u.retried
    assert track.track_id not in again.touched  # the track it left is not its own
    table.join(n, track, set())
    assert track.notes[-1] == "USA/USA-0001 rejoined"


def test_a_newcomer_held_as_ambiguous_is_retried_as_a_known_missile() -> None:
    """A newcomer held because it could not tell two known tracks apart comes back
    marked ``known`` on its next report (once: a join or a new hold decides again);
    one held for another reason does not."""
    table, out = _table(), Outcome()
    (n,) = table.apply(
        [_checked(nation=Nation.JPN, track_id="JPN-0001", sequence=1)], out
    ).newcomers
    assert not n.known
    table.hold(n.member, known=True)
    (again,) = table.apply(
        [_checked(nation=Nation.JPN, track_id="JPN-0001", sequence=2, reported_us=T0_US + 5)], out
    ).newcomers
    assert again.member is n.member and again.known
    table.hold(again.member)  # held again, for its nation this time
    (third,) = table.apply(
        [_checked(nation=Nation.JPN, track_id="JPN-0001", sequence=3, reported_us=T0_US + 9)], out
    ).newcomers
    assert not third.known


def test_a_held_newcomer_retried_without_a_newer_observation_is_stale() -> None:
    """A held track's closing report repeats its last state: retried on it, the newcomer
    is ``stale`` (nothing new to judge it on); a report with a newer observation, or a
    first report, is not."""
    table, out = _table(), Outcome()
    kw: dict[str, Any] = {"nation": Nation.USA, "track_id": "USA-0021"}
    (n,) = table.apply([_checked(sequence=1, **kw)], out).newcomers
    assert not n.stale
    table.hold(n.member)
    (ended,) = table.apply(
        [_checked(sequence=2, reported_us=T0_US + 36 * US, status="IMPACTED", **kw)], out
    ).newcomers
    assert ended.member is n.member and ended.stale
    table.hold(ended.member)
    newer = T0_US + 97_000_000
    (moved,) = table.apply(
        [_checked(sequence=3, reported_us=T0_US + 40 * US, observed_us=newer, **kw)], out
    ).newcomers
    assert not moved.stale


def test_a_held_detached_member_is_announced_as_leaving_once() -> None:
    """A member detached by a break and held is retried on each of its reports; its old
    track says it left once, not in every alert published while it waits (on the
    2024-05-29 salvo a US track held a minute was announced leaving five times), and
    again only after it has joined a track and left once more."""
    table, out = _table(), Outcome()
    track, j = _joined(table, out, Nation.JPN, "JPN-0001")
    left = "JPN/JPN-0001 left (it drifted off)"
    for sequence in (2, 3, 4):  # the break, then two retries still near no track
        track.notes.clear()  # an alert was published in between
        touched: set[str] = set()
        report = _checked(nation=Nation.JPN, track_id="JPN-0001", sequence=sequence)
        if sequence == 2:
            j.member.apply(report)
            detached = Newcomer(j.member, j.created_us, track.track_id)
        else:
            (detached,) = table.apply([report], out).newcomers
            assert detached.previous == track.track_id
        table.hold(detached.member, detached.previous)
        table.note_left(detached, touched)
        assert track.notes == ([left] if sequence == 2 else [])
        assert touched == ({track.track_id} if sequence == 2 else set())
    (back,) = table.apply(
        [_checked(nation=Nation.JPN, track_id="JPN-0001", sequence=5)], out
    ).newcomers
    table.join(back, track, set())
    assert track.notes[-1] == "JPN/JPN-0001 rejoined"
    track.notes.clear()
    table.hold(back.member, track.track_id)
    table.note_left(Newcomer(back.member, back.created_us, track.track_id), set())
    assert track.notes == [left]  # a second departure is news again
