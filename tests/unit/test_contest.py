"""A nation's new track displaces its old one on a system track (``Associator._contests``).

A national track that slid onto a neighbouring missile still sits on the system track
of the missile it left; its nation starts a new track on that missile. The other
nations on the system track say which of the two is the missile's: the old one leaves,
the new one joins, and no second system track is founded for the missile. A member
that leaves its track before its estimate has settled waits before joining another
(``Associator._hold_unsettled``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bridge.association import Gate
from bridge.associator import Associator, _Board
from bridge.config import AlertConfig, EngineConfig, GateConfig
from bridge.estimate import Estimate
from bridge.table import Newcomer, TrackTable
from bridge.tracks import NationalTrack, Picture
from evaluation.synthetic import NationModel, Report, ballistic_missile, national_reports
from tests.engine_feed import feed
from tests.members import national_track
from trilink.constants import US
from trilink.geodesy import A
from trilink.model import MissileClass, Nation

T0 = 1_777_593_600_000_000
KOR = NationModel(Nation.KOR, delay_s=0.0, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=2.0)
USA = NationModel(Nation.USA, delay_s=4.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=2.0)
SLID_S = 30.0  # the old US track leaves the missile this long after its first report
NEW_S = 4.0  # the US starts its new track on the missile this long after that


def _slid(reports: list[Report], offset_m: float, slid_s: float = SLID_S) -> list[Report]:
    """The US track's reports from ``slid_s`` on are ``offset_m`` off the missile; a new
    US track ("USA-NEW") reports the missile from ``NEW_S`` later."""
    first_us = min(r.warning.observed_us for r in reports if r.warning.nation is Nation.USA)
    slid_us = first_us + round(slid_s * US)
    out = []
    for r in reports:
        w = r.warning
        if w.nation is Nation.USA and w.observed_us >= slid_us:
            if w.observed_us >= slid_us + round(NEW_S * US):
                out.append(replace(r, warning=replace(w, track_id="USA-NEW")))
            x, y, z = w.position_m
            w = replace(w, position_m=(x, y, z + offset_m), impact=None)
        out.append(replace(r, warning=w))
    return sorted(out, key=lambda r: (r.warning.reported_us, r.warning.track_id))


@pytest.mark.parametrize(("offset_m", "displaced"), [(0.0, False), (5_000.0, True)])
def test_a_new_track_displaces_its_nations_old_one(offset_m: float, displaced: bool) -> None:
    missile = ballistic_missile("M0", T0, speed_mps=1800.0, alt_m=20_000.0)
    alerts, _ = feed(_slid(national_reports([missile], (KOR, USA), seed=3), offset_m))
    tracks = {a.system_track_id for a in alerts}
    first = min(alerts, key=lambda a: (a.newest_report_us, a.version)).system_track_id
    final = max((a for a in alerts if a.system_track_id == first), key=lambda a: a.version)
    us = {c.track_id for c in final.contributors if c.nation is Nation.USA}
    assert len(tracks) == 1  # one missile, one system track
    if displaced:
        # 5 km off (outside the strict gate of Korea's estimate, inside the break
        # distance): the new track takes the old one's place.
        assert us == {"USA-NEW"}
        # Said once, in the alert of the departure (not in every alert while it waits).
        notes = [a.note for a in alerts if a.system_track_id == first]
        assert sum("USA/USA-0001 left" in n for n in notes) == 1
    else:
        # Both fit: the old track stays (the new one, first seen high, joins beside it).
        assert "USA-0001" in us


@pytest.mark.parametrize(("slid_s", "displaced"), [(SLID_S, False), (6.0, True)])
def test_an_unsettled_incumbent_yields_to_a_likelier_newcomer(
    slid_s: float, displaced: bool
) -> None:
    """1.5 km off, the old US track still fits Korea's estimate, and the new one is
    likelier there by less than the ambiguity margin. A settled incumbent keeps its
    place; one within ``settle_s`` of its first observation (an infrared track that
    wandered off its plume in boost) yields it, and waits until it has settled."""
    missile = ballistic_missile("M0", T0, speed_mps=1800.0, alt_m=20_000.0)
    alerts, _ = feed(_slid(national_reports([missile], (KOR, USA), seed=3), 1_500.0, slid_s))
    first = min(alerts, key=lambda a: (a.newest_report_us, a.version)).system_track_id
    joined_new = [
        a
        for a in alerts
        if a.system_track_id == first and any(c.track_id == "USA-NEW" for c in a.contributors)
    ]
    left = [a for a in alerts if "USA/USA-0001 left" in a.note]
    assert bool(left) is displaced
    if displaced:
        assert joined_new and min(a.version for a in joined_new) == left[0].version


def test_a_member_that_left_its_track_unsettled_waits_before_joining_another() -> None:
    """The US track of M0 slides onto M1 (20 s ahead on the same path) ``hop_s`` after
    it began: it breaks from M0's track at once, but joins M1's only once its own
    estimate has settled (``GateConfig.settle_s`` after its first observation), so a
    track handed from plume to plume does not pass through every track on its way."""
    hop_s = 8.0
    missiles = [
        ballistic_missile("M0", T0, speed_mps=1800.0, alt_m=20_000.0),
        ballistic_missile("M1", T0 - 20 * US, speed_mps=1800.0, alt_m=20_000.0),
    ]
    reports = national_reports(missiles, (KOR, USA), seed=4)
    us = [r for r in reports if r.warning.nation is Nation.USA]
    first_us = min(r.warning.observed_us for r in us if r.missile == "M0")
    hop_us = first_us + round(hop_s * US)
    kept = []
    for r in reports:
        w = r.warning
        if w.nation is not Nation.USA or (r.missile == "M0" and w.observed_us < hop_us):
            kept.append(r)
        elif r.missile == "M1" and w.observed_us >= hop_us:
            kept.append(replace(r, warning=replace(w, track_id="USA-0001")))
    alerts, _ = feed(sorted(kept, key=lambda r: (r.warning.reported_us, r.warning.track_id)))
    joined = {
        a.system_track_id: a.newest_report_us
        for a in sorted(alerts, key=lambda a: -a.version)
        for c in a.contributors
        if c.track_id == "USA-0001"
    }
    assert len(joined) == 2  # M0's track, then M1's
    second = max(joined, key=lambda t: joined[t])
    settle_us = round(EngineConfig().gate.settle_s * US)
    assert joined[second] >= first_us + settle_us


def test_the_contest_builds_references_only_for_tracks_within_reach() -> None:
    # At a thousand tracks, fusing every track's other nations for each newcomer cost
    # more than the rest of the engine: the straight-line pre-filter on the pictures
    # keeps the tracks a newcomer may contest, and only those.
    table = TrackTable.configured(GateConfig(), AlertConfig())

    def member(track_id: str, east_m: float) -> NationalTrack:
        return national_track(Nation.KOR, track_id, east_m, T0)

    tracks = []
    for track_id, east_m in (("KOR-NEAR", 5_000.0), ("KOR-FAR", 300_000.0)):
        m = member(track_id, east_m)
        track = table.found(Newcomer(m, T0), set())
        e = m.estimate
        track.picture = Picture(e.time_us, e.x, e.p, False, None, None, MissileClass.SRBM, T0)
        tracks.append(track)
    board = _Board.of(table.tracks.values(), {}, lambda ms: ms[0].estimate)
    newcomer = member("KOR-NEW", 0.0)
    assert board.near(newcomer.estimate) == [tracks[0]]


def _boosting(time_s: float, along_m: float, speed_mps: float) -> Estimate:
    """A thrusting state 15 km up, ``along_m`` east of a point, climbing and flying
    east at ``speed_mps``, at ``time_s`` after T0."""
    x = np.array([A + 15_000.0, along_m, 0.0, 300.0, speed_mps, 0.0])
    return Estimate(T0 + round(time_s * US), x, np.diag([1e4] * 3 + [1e2] * 3), boosting=True)


def test_a_contest_gives_no_verdict_where_moving_the_others_word_blurs_the_contenders() -> None:
    # Two live tracks of one nation 4 km apart along one boost path (a ripple's
    # neighbours): the others' word 8 s newer, moved back without the thrust it has
    # flown since, may miss by up to 150 m/s² x 8² / 2 = 4.8 km along the path, so it
    # cannot say which is its missile's; 2 s newer (300 m) it can. An incumbent last
    # heard 8 s before the newcomer in boost (its nation began its track again) is
    # not known to be apart from it at all: the contest decides as before.
    table = TrackTable.configured(GateConfig(), AlertConfig())
    associator = Associator(Gate(GateConfig()), table)
    new = _boosting(0.0, 0.0, 1_000.0)
    live_old = _boosting(1.0, 5_000.0, 1_000.0)  # 4 km ahead of the newcomer's missile
    assert associator._blurred(_boosting(8.0, 12_000.0, 1_300.0), new, live_old)
    assert not associator._blurred(_boosting(2.0, 2_100.0, 1_100.0), new, live_old)
    stale_old = _boosting(-8.0, -6_000.0, 700.0)
    assert not associator._blurred(_boosting(8.0, 12_000.0, 1_300.0), new, stale_old)
