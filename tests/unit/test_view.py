"""The alert picture model, the launch matching summary and their rendering (no I/O)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from consumers.render import alert_line, alerts_table, jsonable
from consumers.view import AlertPicture
from demo.render import summary_lines, summary_table
from demo.summary import NominalImpact, match_launches, summarise
from tests.factories import T0_US, make_alert, make_ground_point, make_launch, make_warning
from trilink.model import AlertStatus, Contributor, FusedAlert, MissileClass, Nation
from trilink.timeutil import iso

S = 1_000_000


def _alert(**overrides: object) -> FusedAlert:
    """The sample alert, issued 40 s after launch (KOR first saw it at +30 s)."""
    return make_alert(**{"newest_report_us": T0_US + 40 * S, **overrides})


def test_duplicate_versions_are_applied_once() -> None:
    picture = AlertPicture()
    assert picture.apply(make_alert(version=1))
    assert not picture.apply(make_alert(version=1))
    assert picture.apply(make_alert(version=2))
    view = picture.track("SYS-0001")
    assert view is not None
    assert (view.updates, picture.duplicates, view.latest.version) == (2, 1, 2)


def test_an_older_version_arriving_late_does_not_replace_the_newest() -> None:
    picture = AlertPicture()
    picture.apply(make_alert(version=5, status=AlertStatus.IMPACT))
    picture.apply(make_alert(version=3, status=AlertStatus.UPDATE))
    view = picture.track("SYS-0001")
    assert view is not None
    assert view.latest.version == 5 and view.first.version == 3
    assert view.final


def test_first_detection_per_nation_from_contributors() -> None:
    picture = AlertPicture()
    picture.apply(_alert())  # KOR first at +30 s, JPN contributor reported at +94 s
    view = picture.track("SYS-0001")
    assert view is not None
    assert dict(view.detections) == {Nation.KOR: T0_US + 30 * S, Nation.JPN: T0_US + 94 * S}
    assert view.seen_by == (Nation.KOR, Nation.JPN)
    assert view.lead_us(Nation.KOR) == 0
    assert view.lead_us(Nation.JPN) == 54 * S
    assert view.lead_us(Nation.USA) is None


@pytest.mark.parametrize("warning_first", [True, False])
def test_national_warnings_refine_first_detection_in_either_order(warning_first: bool) -> None:
    picture = AlertPicture()
    warning = make_warning(nation=Nation.JPN, track_id="JPN-0007", observed_us=T0_US + 71 * S)
    later = make_warning(nation=Nation.JPN, track_id="JPN-0007", observed_us=T0_US + 80 * S)
    records = [warning, later, _alert()] if warning_first else [_alert(), later, warning]
    picture.observe_all(records)
    view = picture.track("SYS-0001")
    assert view is not None
    assert view.detections[Nation.JPN] == T0_US + 71 * S
    assert view.lead_us(Nation.JPN) == 31 * S


def test_tracks_are_ordered_by_first_detection() -> None:
    picture = AlertPicture()
    picture.apply(make_alert(system_track_id="B", first_detection_us=T0_US + 50 * S))
    picture.apply(make_alert(system_track_id="A", first_detection_us=T0_US + 90 * S))
    assert [v.system_track_id for v in picture.tracks()] == ["B", "A"]
    assert len(picture) == 2


def test_summary_matches_tracks_to_launches_and_measures_impact_error() -> None:
    launch_a = make_launch(launch_id="L-A")
    launch_b = make_launch(launch_id="L-B", launch_time_us=T0_US + 120 * S)
    lat, lon = NominalImpact().impact(launch_a)
    picture = AlertPicture()
    # B's track was first seen 30 s after B's launch, like A's after A's.
    picture.apply(
        make_alert(
            system_track_id="SYS-B",
            first_detection_us=T0_US + 150 * S,
            impact=make_ground_point(lat_deg=lat + 0.1, lon_deg=lon),
        )
    )
    picture.apply(
        _alert(system_track_id="SYS-A", impact=make_ground_point(lat_deg=lat, lon_deg=lon))
    )
    rows = summarise(picture.tracks(), [launch_b, launch_a])
    assert [(r.launch.launch_id if r.launch else None, r.track.system_track_id) for r in rows] == [
        ("L-A", "SYS-A"),
        ("L-B", "SYS-B"),
    ]
    assert rows[0].impact_error_km == pytest.approx(0.0, abs=0.01)
    assert rows[1].impact_error_km == pytest.approx(11.1, abs=0.2)  # 0.1 deg of latitude
    assert rows[0].lead_s(Nation.JPN) == pytest.approx(54.0)
    assert rows[0].detection_delay_s(Nation.KOR) == pytest.approx(30.0)


def test_a_salvo_is_matched_in_order_whatever_the_launch_time_estimates() -> None:
    launches = [make_launch(launch_id=f"L{i}", launch_time_us=T0_US + i * 20 * S) for i in range(3)]
    picture = AlertPicture()
    for i in (2, 0, 1):
        picture.apply(
            make_alert(
                system_track_id=f"T{i}",
                status=AlertStatus.IMPACT,
                first_detection_us=T0_US + (i * 20 + 18) * S,
                # Back-propagated launch times can be off by more than the spacing.
                launch=make_ground_point(time_us=T0_US + (i * 20 - 25) * S),
            )
        )
    matched = match_launches(picture.tracks(), launches)
    assert {t: launch.launch_id for t, launch in matched.items()} == {
        "T0": "L0",
        "T1": "L1",
        "T2": "L2",
    }


def test_a_track_of_the_wrong_class_or_cut_short_is_the_last_choice() -> None:
    launch = make_launch()  # an IRBM
    picture = AlertPicture()
    picture.apply(
        make_alert(
            system_track_id="srbm", missile_class=MissileClass.SRBM, status=AlertStatus.IMPACT
        )
    )
    picture.apply(
        make_alert(
            system_track_id="piece", status=AlertStatus.DROPPED, first_detection_us=T0_US + 40 * S
        )
    )
    picture.apply(
        make_alert(
            system_track_id="irbm", status=AlertStatus.IMPACT, first_detection_us=T0_US + 45 * S
        )
    )
    assert {t: e.launch_id for t, e in match_launches(picture.tracks(), [launch]).items()} == {
        "irbm": "L-0001"
    }


def test_summary_keeps_unmatched_launches_and_tracks() -> None:
    picture = AlertPicture()
    far = make_ground_point(lat_deg=10.0, lon_deg=100.0)
    picture.apply(make_alert(system_track_id="SYS-FAR", launch=far))
    launch = make_launch()
    assert match_launches(picture.tracks(), [launch]) == {}
    rows = summarise(picture.tracks(), [launch])
    assert [(r.launch is not None, r.track is not None) for r in rows] == [
        (True, False),
        (False, True),
    ]
    lines = summary_lines(rows)
    assert lines[0] == "L-0001 (hwasong-12): no alert"
    assert "SYS-FAR (no launch matched)" in lines[1]


def test_summary_matching_respects_the_scenario() -> None:
    picture = AlertPicture()
    picture.apply(make_alert(scenario_id="other"))
    assert match_launches(picture.tracks(), [make_launch()]) == {}


def test_jsonable_turns_times_into_iso_text() -> None:
    data = jsonable(make_alert())
    assert data["alert_us"] == iso(T0_US + 95_600_000)
    assert data["contributors"][0]["last_report_us"] == iso(T0_US + 95 * S)
    assert data["impact"]["time_us"].endswith("Z")
    assert data["version"] == 2
    json.dumps(data)


def test_alert_line_and_tables_show_the_picture() -> None:
    alert = make_alert(
        contributors=(
            Contributor(Nation.USA, "USA-1", T0_US + 20 * S),
            Contributor(Nation.KOR, "KOR-0001", T0_US + 30 * S),
        ),
        first_detection_nation=Nation.USA,
        first_detection_us=T0_US + 20 * S,
        newest_report_us=T0_US + 22 * S,
    )
    line = alert_line(alert)
    assert "SYS-0001  v2" in line and "by KOR+USA" in line and "first USA" in line
    picture = AlertPicture()
    picture.apply(alert)
    console = Console(width=250, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(alerts_table(picture.tracks()))
    rows = summarise(picture.tracks(), [make_launch()])
    console.print(summary_table(rows))
    text = console.export_text()
    assert "lead 8.0 s" in text  # KOR's radars saw it 8 s after the first alert
    assert "shared only" in text  # Japan only knows it through sharing
    assert "hwasong-12" in text


def test_small_impact_ellipses_are_not_shown_as_zero() -> None:
    from consumers.render import point
    from trilink.model import Ellipse, GroundPoint

    def shown(axis_km: float) -> str:
        return point(GroundPoint(35.5, 178.0, 0, Ellipse(axis_km, axis_km / 2, 0.0)))

    assert shown(25.0).endswith("±25 km")
    assert shown(1.24).endswith("±1.2 km")
    assert shown(0.04).endswith("±<0.1 km")
