"""How long a nation's track of a missile waits before an alert lists it (evaluation.waits)."""

from __future__ import annotations

from evaluation.waits import join_waits
from tests.factories import T0_US, make_alert, make_warning
from trilink.constants import US
from trilink.model import Contributor, Nation


def test_a_track_waits_from_its_first_report_to_the_first_alert_that_lists_it() -> None:
    kor = [make_warning(track_id="KOR-1", reported_us=T0_US + k * US) for k in (10, 12, 14)]
    jpn = [
        make_warning(nation=Nation.JPN, track_id="JPN-1", reported_us=T0_US + k * US)
        for k in (20, 22, 90)
    ]
    junk = make_warning(track_id="KOR-9", reported_us=T0_US + 5 * US)  # no missile's track
    usa = make_warning(nation=Nation.USA, track_id="USA-1", reported_us=T0_US + 30 * US)
    only_kor = (Contributor(Nation.KOR, "KOR-1", T0_US),)
    both = (*only_kor, Contributor(Nation.JPN, "JPN-1", T0_US))
    alerts = [
        make_alert(contributors=only_kor, newest_report_us=T0_US + 10 * US),
        make_alert(contributors=both, newest_report_us=T0_US + 80 * US),
        make_alert(contributors=both, newest_report_us=T0_US + 90 * US),
    ]
    missiles = {
        (Nation.KOR, "KOR-1"): "M1",
        (Nation.JPN, "JPN-1"): "M1",
        (Nation.USA, "USA-1"): "M2",
    }
    waits = join_waits([*kor, *jpn, junk, usa], alerts, missiles)
    # Korea at once, Japan held 60 s, the US never listed (one report: waited 0 s).
    assert waits.waits_s == {"JPN/JPN-1": 60.0, "KOR/KOR-1": 0.0, "USA/USA-1": 0.0}
    assert waits.never == ("USA/USA-1",)
    assert waits.max_s == 60.0
    assert join_waits([], alerts, missiles).max_s is None
