"""Assignment revision: two system tracks exchange the members one nation put on the
wrong one of two closely spaced missiles (``bridge.exchange``). No I/O."""

from __future__ import annotations

import pytest

from bridge.association import Gate
from bridge.config import AlertConfig, GateConfig
from bridge.exchange import Exchange
from bridge.fusion import CovarianceIntersection
from bridge.table import Newcomer, TrackTable
from bridge.tracks import NationalTrack, Picture, SystemTrack
from tests.factories import T0_US
from tests.members import national_track
from trilink.constants import US
from trilink.model import MissileClass, Nation

NOW_US = T0_US + 200 * US
LAT, LON = 39.5, 128.0
SIGMA_M, SIGMA_MPS = 100.0, 10.0


def _member(nation: Nation, track_id: str, east_m: float) -> NationalTrack:
    """A settled national track (``tests.members``) with a 100 m / 10 m/s covariance."""
    m = national_track(nation, track_id, east_m, NOW_US, sigma_m=SIGMA_M, sigma_mps=SIGMA_MPS)
    m.first_observed_us = NOW_US - 60 * US  # settled: compared on the full state
    return m


def _track(table: TrackTable, founder: NationalTrack, joiner: NationalTrack) -> SystemTrack:
    touched: set[str] = set()
    track = table.found(Newcomer(founder, founder.first_observed_us), touched)
    table.join(Newcomer(joiner, joiner.first_observed_us), track, touched)
    est = founder.estimate
    track.picture = Picture(est.time_us, est.x, est.p, False, None, None, MissileClass.SRBM, NOW_US)
    track.membership_changed = False
    return track


def _crossed(apart_m: float) -> tuple[SystemTrack, SystemTrack]:
    """Korea holds each missile on its own track; the US tracks joined them crossed."""
    table = TrackTable.configured(GateConfig(), AlertConfig())
    a = _track(table, _member(Nation.KOR, "KOR-1", 0.0), _member(Nation.USA, "USA-2", apart_m))
    b = _track(table, _member(Nation.KOR, "KOR-2", apart_m), _member(Nation.USA, "USA-1", 0.0))
    return a, b


def _exchange() -> Exchange:
    return Exchange(Gate(GateConfig()), CovarianceIntersection("fast"))


def test_crossed_members_change_places() -> None:
    a, b = _crossed(apart_m=1_000.0)  # 1 km apart, 100 m accurate: plainly crossed
    touched: set[str] = set()
    assert _exchange().run([a, b], [a, b], touched) == 1
    assert {k[1] for k in a.members} == {"KOR-1", "USA-1"}
    assert {k[1] for k in b.members} == {"KOR-2", "USA-2"}
    assert touched == {a.track_id, b.track_id}
    assert a.membership_changed and b.membership_changed
    assert any("(exchange)" in n for n in a.notes)
    # The members know their new tracks, and the founders stayed where they were.
    assert all(m.system_track_id == a.track_id for m in a.members.values())
    assert all(m.system_track_id == b.track_id for m in b.members.values())


@pytest.mark.parametrize("apart_m", [150.0, 250.0])
def test_closely_spaced_objects_the_data_cannot_tell_apart_stay(apart_m: float) -> None:
    # 150 m and 250 m apart with 100 m on each side: the exchange would not be
    # ``ambiguity_ratio`` times likelier, so nothing moves on noise.
    a, b = _crossed(apart_m)
    assert _exchange().run([a, b], [a, b], set()) == 0
    assert {k[1] for k in a.members} == {"KOR-1", "USA-2"}


def test_an_exchange_needs_news_and_a_settled_membership() -> None:
    a, b = _crossed(apart_m=1_000.0)
    b.membership_changed = True  # its membership changed in this batch: left alone
    assert _exchange().run([a, b], [a, b], set()) == 0
    b.membership_changed = False
    assert _exchange().run([a, b], [a, b], set()) == 1  # USA-1 had not been tested yet

    # Tested once per piece of news on its track: the same data is not tested twice.
    a, b = _crossed(apart_m=1_000.0)
    for m in (*a.members.values(), *b.members.values()):
        m.swap_checked_us = m.reported_us
    assert _exchange().run([a, b], [a, b], set()) == 0
    next(iter(a.members.values())).reported_us += US  # Korea reports again on track a
    assert _exchange().run([a, b], [a, b], set()) == 1


def test_a_member_is_tested_at_most_once_per_break_check_interval() -> None:
    # The exchange's cost must not grow with the report rate: news within
    # ``break_check_s`` of a member's last test waits for more.
    every_us = round(GateConfig().break_check_s * US)
    a, b = _crossed(apart_m=1_000.0)
    for m in (*a.members.values(), *b.members.values()):
        m.swap_checked_us = m.reported_us
    korea = next(iter(a.members.values()))
    korea.reported_us += every_us // 2
    assert _exchange().run([a, b], [a, b], set()) == 0
    assert {k[1] for k in a.members} == {"KOR-1", "USA-2"}
    korea.reported_us += every_us // 2
    assert _exchange().run([a, b], [a, b], set()) == 1
    assert {k[1] for k in a.members} == {"KOR-1", "USA-1"}


def _doubled() -> tuple[SystemTrack, SystemTrack]:
    """Track a holds its missile's KOR and USA tracks and, beside them, the US track of
    the missile 1 km east, whose own track b holds only Korea's (the US track joined a
    before Korea's report founded b: a feed read behind the others)."""
    table = TrackTable.configured(GateConfig(), AlertConfig())
    a = _track(table, _member(Nation.KOR, "KOR-1", 0.0), _member(Nation.USA, "USA-1", 0.0))
    touched: set[str] = set()
    stray = _member(Nation.USA, "USA-2", 1_000.0)
    table.join(Newcomer(stray, stray.first_observed_us), a, touched)
    a.membership_changed = False
    founder = _member(Nation.KOR, "KOR-2", 1_000.0)
    b = table.found(Newcomer(founder, founder.first_observed_us), touched)
    est = founder.estimate
    b.picture = Picture(est.time_us, est.x, est.p, False, None, None, MissileClass.SRBM, NOW_US)
    b.membership_changed = False
    return a, b


def test_a_member_beside_its_nations_other_track_moves_to_its_missiles_track() -> None:
    a, b = _doubled()
    touched: set[str] = set()
    assert _exchange().run([a, b], [a, b], touched) == 1
    assert {k[1] for k in a.members} == {"KOR-1", "USA-1"}
    assert {k[1] for k in b.members} == {"KOR-2", "USA-2"}
    assert touched == {a.track_id, b.track_id}
    assert any("USA/USA-2 re-associated from" in n for n in b.notes)


def test_a_lone_member_moves_to_a_track_without_its_nation_once_settled() -> None:
    # The same stray alone on track a (no other US track there): a radar's track that
    # swapped objects. Settled (its velocity known), it moves to its missile's track;
    # within its first settle_s it does not (an infrared track wandering among plumes
    # in boost would be chased from track to track): the break test takes it on.
    a, b = _doubled()
    del a.members[(Nation.USA, "USA-1")]
    stray = a.members[(Nation.USA, "USA-2")]
    stray.first_observed_us = NOW_US - round((GateConfig().settle_s - 1.0) * US)
    assert _exchange().run([a, b], [a, b], set()) == 0
    assert {k[1] for k in b.members} == {"KOR-2"}
    a, b = _doubled()
    del a.members[(Nation.USA, "USA-1")]
    assert _exchange().run([a, b], [a, b], set()) == 1
    assert {k[1] for k in b.members} == {"KOR-2", "USA-2"}
    assert {k[1] for k in a.members} == {"KOR-1"}


@pytest.mark.parametrize("settled", [True, False])
def test_of_two_members_of_a_nation_the_earlier_moves_only_once_settled(settled: bool) -> None:
    # The stray joined track a first, its nation's right member after it (a radar's
    # track that swapped objects, then its nation's new track of the missile it left).
    # Settled, the stray moves to its missile's track and the right member stays;
    # unsettled, only the later of two members would move, and the right one fits.
    table = TrackTable.configured(GateConfig(), AlertConfig())
    touched: set[str] = set()
    founder = _member(Nation.KOR, "KOR-1", 0.0)
    a = table.found(Newcomer(founder, founder.first_observed_us), touched)
    stray = _member(Nation.USA, "USA-2", 1_000.0)
    if not settled:
        stray.first_observed_us = NOW_US - round((GateConfig().settle_s - 1.0) * US)
    for m in (stray, _member(Nation.USA, "USA-1", 0.0)):
        table.join(Newcomer(m, m.first_observed_us), a, touched)
    est = founder.estimate
    a.picture = Picture(est.time_us, est.x, est.p, False, None, None, MissileClass.SRBM, NOW_US)
    a.membership_changed = False
    other = _member(Nation.KOR, "KOR-2", 1_000.0)
    b = table.found(Newcomer(other, other.first_observed_us), touched)
    b.picture = Picture(
        NOW_US, other.estimate.x, other.estimate.p, False, None, None, MissileClass.SRBM, NOW_US
    )
    b.membership_changed = False
    assert _exchange().run([a, b], [a, b], set()) == int(settled)
    assert {k[1] for k in b.members} == ({"KOR-2", "USA-2"} if settled else {"KOR-2"})
    assert {k[1] for k in a.members} == (
        {"KOR-1", "USA-1"} if settled else {"KOR-1", "USA-1", "USA-2"}
    )


@pytest.mark.parametrize("settled", [True, False])
def test_a_swapped_member_moves_beside_its_nations_track_of_its_missile(settled: bool) -> None:
    # Japan's track on a swapped objects: it now sits on the missile 1 km east, outside
    # a's gate, where Japan's own track of that missile is on b. No exchange (Japan's
    # member on b fits only b): settled, the swapped track joins b as Japan's second
    # track of that missile; unsettled, it waits for the break test.
    table = TrackTable.configured(GateConfig(), AlertConfig())
    swapped = _member(Nation.JPN, "JPN-1", 1_000.0)
    if not settled:
        swapped.first_observed_us = NOW_US - round((GateConfig().settle_s - 1.0) * US)
    a = _track(table, _member(Nation.KOR, "KOR-1", 0.0), swapped)
    b = _track(table, _member(Nation.KOR, "KOR-2", 1_000.0), _member(Nation.JPN, "JPN-2", 1_000.0))
    gate = Gate(GateConfig())
    assert (
        gate.distance(swapped.estimate, a.members[(Nation.KOR, "KOR-1")].estimate) > gate.threshold
    )
    touched: set[str] = set()
    assert _exchange().run([a, b], [a, b], touched) == int(settled)
    if settled:
        assert {k[1] for k in a.members} == {"KOR-1"}
        assert {k[1] for k in b.members} == {"KOR-2", "JPN-2", "JPN-1"}
        assert touched == {a.track_id, b.track_id}
    else:
        assert {k[1] for k in b.members} == {"KOR-2", "JPN-2"}
