"""The lifecycle on its own, with a stand-in for the picture step."""

from __future__ import annotations

import numpy as np

from bridge.admission import Outcome
from bridge.alerts import AlertPolicy
from bridge.config import AlertConfig, GateConfig
from bridge.lifecycle import Lifecycle
from bridge.schedule import ImpactSchedule
from bridge.table import Newcomer, TrackTable
from bridge.tracks import NationalTrack, Picture, SystemTrack
from bridge.validate import Checked
from tests.factories import T0_US, covariance_upper, make_ground_point, make_warning
from trilink.constants import US
from trilink.model import AlertStatus, MissileClass

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
    schedule = ImpactSchedule()
    schedule.queue(track.track_id, IMPACT_US)
    refresh = _Refresh()
    return Lifecycle(config, AlertPolicy(config), table, schedule, refresh), refresh, track


def test_a_passed_deadline_closes_with_impact_after_a_last_full_refresh() -> None:
    lifecycle, refresh, track = _setup()
    lifecycle.table.published[track.track_id] = 4  # a previous bridge got this far
    lifecycle.table.event_us = IMPACT_US + round(AlertConfig().impact_grace_s * US)
    out, touched = Outcome(), set[str]()
    lifecycle.close_due(T0_US, out, touched)
    assert refresh.calls == [(track.track_id, True)]  # dirty: its data was not in the picture
    (alert,) = out.alerts
    assert (alert.status, alert.version) == (AlertStatus.IMPACT, 5)
    assert alert.note == "predicted impact time passed"
    assert touched == {track.track_id} and track.closed is AlertStatus.IMPACT


def test_nothing_closes_before_the_grace_has_passed() -> None:
    lifecycle, refresh, track = _setup()
    lifecycle.table.event_us = IMPACT_US + round(AlertConfig().impact_grace_s * US) - 1
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and not refresh.calls and track.closed is None


def test_a_track_still_reported_airborne_is_not_closed_at_its_predicted_time() -> None:
    lifecycle, _, track = _setup()
    grace, window = AlertConfig().impact_grace_s, AlertConfig().still_reporting_s
    (member,) = track.active()
    deadline = IMPACT_US + round(grace * US)
    member.observed_us = deadline - 1 * US  # its nation saw it airborne a second ago
    lifecycle.table.event_us = deadline
    out = Outcome()
    lifecycle.close_due(T0_US, out, set())
    assert out.empty and track.closed is None

    # Its reports stop: once they are older than the window, the deadline closes it.
    lifecycle.table.event_us = deadline + round(window * US)
    lifecycle.close_due(T0_US, out, set())
    assert [a.status for a in out.alerts] == [AlertStatus.IMPACT]
