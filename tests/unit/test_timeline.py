"""The raid count's view of a system track's life: from its first alert to its close."""

from __future__ import annotations

from evaluation.timeline import open_intervals
from tests.factories import T0_US, make_alert, make_ground_point
from trilink.constants import US
from trilink.model import AlertStatus


def _life(status: AlertStatus, impact_s: float | None) -> list[tuple[int, int]]:
    impact = None if impact_s is None else make_ground_point(time_us=T0_US + round(impact_s * US))
    opened = make_alert(version=1, status=AlertStatus.NEW, newest_report_us=T0_US)
    closed = make_alert(version=2, status=status, newest_report_us=T0_US + 300 * US, impact=impact)
    return open_intervals([opened, closed])


def test_a_track_every_nation_lost_in_midcourse_lives_until_its_predicted_impact() -> None:
    # Out of every sensor's coverage, the track coasts and closes as IMPACT when the
    # impact is due, carrying the newest report it had (300 s): it counts to 1,200 s.
    assert _life(AlertStatus.IMPACT, 1_200.0) == [(T0_US, T0_US + 1_200 * US)]


def test_an_impact_reported_by_the_nations_closes_at_the_newest_report() -> None:
    assert _life(AlertStatus.IMPACT, 290.0) == [(T0_US, T0_US + 300 * US)]
    assert _life(AlertStatus.IMPACT, None) == [(T0_US, T0_US + 300 * US)]


def test_a_dropped_track_ends_at_its_newest_report_whatever_it_predicted() -> None:
    assert _life(AlertStatus.DROPPED, 1_200.0) == [(T0_US, T0_US + 300 * US)]
