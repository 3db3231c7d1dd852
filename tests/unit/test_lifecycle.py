"""The lifecycle on its own, with a stand-in for the picture step."""

from __future__ import annotations

import numpy as np

from bridge.admission import Outcome
from bridge.alerts import AlertPolicy
from bridge.config import AlertConfig, GateConfig
from bridge.lifecycle import Lifecycle
from bridge.schedule import ImpactSchedule
from bridge.table import Changes, Newcomer, TrackTable
from bridge.tracks import NationalTrack, Picture, SystemTrack
from bridge.validate import Checked
from tests.factories import T0_US, covariance_upper, make_ground_point, make_warning
from trilink.constants import US
from trilink.model import AlertStatus, MissileClass, Nation, TrackStatus

IMPACT_US = T0_US + 600 * US


class _Refresh:
    """Records refreshes; a full one takes the data in (as ``picture.Refresher`` does)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def refresh(self, track: SystemTrack, *, full: bool) -> None:
        self.calls.append((track.track_id, full))
        track.dirty = False


def _setup() -> tuple[Lifecycle, _Refresh, SystemTrack]:
    config = AlertConfig()
    table = TrackTable.configured(GateConfig(), config)
    w = make_warning()
    member = NationalTrack.from_report(
        Checked(w, np.array((*w.position_m, *w.velocity_mps)), np.eye(6))
    )
    track = table.found(Newcomer(member, T0_US), set())
    impact = make_ground_point(time_us=IMPACT_US)
    track.picture = Picture(
        T0_US,
        np.zeros(6),
        np.eye(6),
        False,
        impact,
        None,
        MissileClass.IRBM,
        T0_US,
        state_wire=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
        cov_wire=covariance_upper(),
    )
    table.nation_us[member.nation] = member.observed_us
    schedule = ImpactSchedule()
    schedule.queue(track.track_id, IMPACT_US)
    refresh = _Refresh()
    return Lifecycle(config, AlertPolicy(config), table, schedule, refresh), refresh, track


def _current(lifecycle: Lifecycle, event_us: int) -> None:
    """Event time at ``event_us``, the clock with it, and every feed read up to it."""
    table = lifecycle.table
    table.event_us = table.now_us = event_us
    table.nation_us = {nation: event_us for nation in table.nation_us}


def test_a_passed_deadline_closes_with_impact_after_a_last_full_refresh() -> None:
    lifecycle, refresh, track = _setup()
    lifecycle.table.published[track.track_id] = 4  # a previous bridge got this far
    _current(lifecycle, IMPACT_US + round(AlertConfig().impact_grace_s * US))
    out, touched = Outcome(), set[str]()
    lifecycle.close_due(T0_US, out, touched)
    assert refresh.calls == [(track.track_id, True)]  # dirty: its data was not in the picture
    (alert,) = out.alerts
    assert (alert.status, alert.version) == (AlertStatus.IMPACT, 5)
    assert alert.note == "predicted impact time passed"
    assert touched == {track.track_id} and track.closed is AlertStatus.IMPACT


def test_nothing_closes_before_the_grace_has_passed() -> None:
    lifecycle, refresh, track = _setup()
    _current(lifecycle, IMPACT_US + round(AlertConfig().impact_grace_s * US) - 1)
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and not refresh.calls and track.closed is None


def test_a_track_still_reported_airborne_is_not_closed_at_its_predicted_time() -> None:
    lifecycle, _, track = _setup()
    grace, window = AlertConfig().impact_grace_s, AlertConfig().still_reporting_s
    (member,) = track.active()
    deadline = IMPACT_US + round(grace * US)
    member.observed_us = deadline - 1 * US  # its nation saw it airborne a second ago
    _current(lifecycle, deadline)
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None

    # Its reports stop: once they are older than the window, the deadline closes it.
    _current(lifecycle, deadline + round(window * US))
    lifecycle.close_due(T0_US, out, set())
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]


def _behind(lifecycle: Lifecycle, track: SystemTrack, event_us: int, feed_us: int) -> None:
    """Event time (and the clock) at ``event_us``; the member's feed read to ``feed_us``."""
    (member,) = track.active()
    member.observed_us = feed_us
    lifecycle.table.event_us = lifecycle.table.now_us = event_us
    lifecycle.table.nation_us[member.nation] = feed_us
    lifecycle.table.nation_late_us[member.nation] = event_us - feed_us  # read just now


def test_a_deadline_waits_for_a_contributor_whose_feed_runs_behind() -> None:
    # A producer behind an accelerated clock (10x: 8 s of wall time is 80 s of event
    # time): the other feeds moved event time 60 s past the deadline, but this
    # contributor's news stops 50 s before it. Its report of the impact is late, not
    # missing, so the track is neither closed on the prediction nor dropped as stale.
    lifecycle, _, track = _setup()
    lifecycle.table.rate = 10.0
    deadline = IMPACT_US + round(AlertConfig().impact_grace_s * US)
    out = Outcome()
    _behind(lifecycle, track, deadline + 60 * US, deadline - 50 * US)
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None

    # The feed catches up to the deadline with the missile still airborne: still open.
    _behind(lifecycle, track, deadline + 61 * US, deadline - 1 * US)
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None

    # Then it goes quiet while its nation reports on: closed as the deadline says.
    _behind(lifecycle, track, deadline + 62 * US, deadline - 1 * US)
    lifecycle.table.nation_us[track.active()[0].nation] = deadline + 62 * US
    lifecycle.close_due(T0_US, out, set())
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]
    assert out.alerts[0].note == "predicted impact time passed"


def test_a_dead_feed_holds_a_close_back_by_the_feed_lag_only() -> None:
    # At 1x with the bridge caught up, a feed silent since 30 s before the deadline is
    # a stopped producer: the close waits the feed lag (8 s), not for ever.
    lifecycle, _, track = _setup()
    deadline = IMPACT_US + round(AlertConfig().impact_grace_s * US)
    lag = round(GateConfig().feed_lag_s * US)
    out = Outcome()
    _behind(lifecycle, track, deadline + lag - 1, deadline - 30 * US)
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None
    _behind(lifecycle, track, deadline + lag + 1 * US, deadline - 30 * US)
    lifecycle.close_due(T0_US, out, set())
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]


def test_a_quiet_nation_holds_nothing() -> None:
    # Its last report came on time, 30 s before the deadline: a tracker coasting the
    # missile unseen, not a producer behind. The deadline closes the track at once.
    lifecycle, _, track = _setup()
    deadline = IMPACT_US + round(AlertConfig().impact_grace_s * US)
    _behind(lifecycle, track, deadline, deadline - 30 * US)
    lifecycle.table.nation_late_us[track.active()[0].nation] = 0
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]


def test_behind_a_backlog_a_feed_fetched_behind_holds_until_its_news_comes() -> None:
    # The clock is ten minutes past the event time (a restart's backlog): lateness
    # says nothing then, and a feed fetched 5 minutes behind the others holds the
    # close past any feed lag, until its own news of the missile is read.
    lifecycle, _, track = _setup()
    deadline = IMPACT_US + round(AlertConfig().impact_grace_s * US)
    _behind(lifecycle, track, deadline + 300 * US, deadline - 300 * US)
    lifecycle.table.now_us = deadline + 900 * US
    lifecycle.table.nation_late_us[track.active()[0].nation] = 0
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None


def test_a_track_closes_with_impact_when_the_nations_that_saw_it_last_report_it() -> None:
    """Japan's radar lost a KN-25 a hundred seconds before it landed, and its tracker
    will say IMPACTED only at its own prediction, 11 s late (crossing-close-launchers in
    vacuum, seeds 1 and 5: the raid count one too high after every missile was down).
    Korea saw it come down and says so: the track closes then. While Japan's member is
    live (reported within the silence of its feed), Korea's word alone closes nothing."""
    lifecycle, _, track = _setup()
    table = lifecycle.table
    (kor,) = track.active()
    w = make_warning(nation=Nation.JPN, track_id="JPN-0005", sensors=("FPS-5-SHIMO",))
    jpn = NationalTrack.from_report(
        Checked(w, np.array((*w.position_m, *w.velocity_mps)), np.eye(6))
    )
    table.join(Newcomer(jpn, T0_US), track, set())
    landed = IMPACT_US - 30 * US  # well before the deadline path could close it
    kor.status, kor.observed_us = TrackStatus.IMPACTED, landed - 10 * US
    jpn.observed_us = landed - 5 * US  # live: Japan reported it 5 s before
    table.nation_us[Nation.JPN] = jpn.observed_us
    _current(lifecycle, landed)  # every feed read up to now
    out = Outcome()
    lifecycle.advance(Changes(touched={track.track_id}), landed, out)
    assert track.closed is None and not any(a.status is AlertStatus.IMPACT for a in out.alerts)
    # Japan's tracker lost it long ago: its feed moved on without news of it.
    jpn.observed_us = landed - 100 * US
    out = Outcome()
    lifecycle.advance(Changes(touched={track.track_id}), landed, out)
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]
    assert out.alerts[0].note == "contributors that saw it last report impact"
    assert track.closed is AlertStatus.IMPACT
