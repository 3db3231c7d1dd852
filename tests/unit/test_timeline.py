"""The raid count's view of a system track's life: from its first alert to its close."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.timeline import RAID_GRACE_S, open_intervals, raid_count
from evaluation.truth import TruthPath
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


@pytest.mark.parametrize(("early_s", "error"), [(0.5 * RAID_GRACE_S, 0), (2.0 * RAID_GRACE_S, 1)])
def test_a_track_closing_within_the_grace_of_the_impact_counts_right(
    early_s: float, error: int
) -> None:
    """The count may lag by the grace either way: a track that closes a few seconds
    before its missile comes down (a prediction made with a nominal drag, slightly
    early) is not a miscount; one that closes well before is."""
    truth = TruthPath("M", T0_US, T0_US + 300 * US, 40.0, 135.0, lambda t: np.zeros((len(t), 3)))
    opened = make_alert(version=1, status=AlertStatus.NEW, newest_report_us=T0_US, impact=None)
    closed = make_alert(
        version=2,
        status=AlertStatus.IMPACT,
        newest_report_us=T0_US + round((300.0 - early_s) * US),
        impact=None,
    )
    count = raid_count([truth], {"M": T0_US}, [opened, closed])
    assert count.max_abs_error == error
