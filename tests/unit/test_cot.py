"""Fused alerts as CoT events: XML structure and values, stale rules, framing (no I/O);
and the command's bad arguments."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from consumers.cot.events import (
    TYPE_DELETE,
    CotEvent,
    CotTiming,
    Kind,
    alert_events,
    cot_time,
    event_uid,
)
from consumers.cot.gateway import CotConfig
from consumers.cot.position import CHI2_95_2D_SCALE, UNKNOWN_ERROR_M, position_covariance
from consumers.cot.send import MAX_DATAGRAM, XML_DECLARATION, datagram, stream_frame
from consumers.cot.text import callsign, remarks
from tests.factories import T0_US, make_alert, make_ground_point
from trilink.clock import fixed
from trilink.errors import ConfigError
from trilink.geodesy import ecef_to_geodetic, enu_rotation
from trilink.model import AlertStatus, Ellipse, MissileClass
from trilink.threat import ImpactZone, ThreatAssessment, WarnedArea
from trilink.timeutil import parse_iso

S = 1_000_000


def _by_kind(events: list[CotEvent]) -> dict[str, ET.Element]:
    return {e.subject.rsplit(".", 1)[1]: ET.fromstring(e.xml) for e in events}


def _stale_us(element: ET.Element) -> int:
    return parse_iso(element.attrib["stale"])


def _upper(p: np.ndarray) -> tuple[float, ...]:
    """21-value upper triangle of a 6x6 with ``p`` as its position block."""
    full = np.eye(6) * 25.0
    full[:3, :3] = p
    return tuple(float(full[i, j]) for i in range(6) for j in range(i, 6))


def _enu_covariance(alert_position: tuple[float, float, float], enu: np.ndarray) -> np.ndarray:
    lat, lon, _ = ecef_to_geodetic(np.asarray(alert_position))
    rot = enu_rotation(lat, lon)
    return rot.T @ enu @ rot


def test_an_update_gives_track_launch_and_impact_with_stable_uids() -> None:
    events = alert_events(make_alert())
    assert [e.uid for e in events] == [
        "trilink.SYS-0001.track",
        "trilink.SYS-0001.launch",
        "trilink.SYS-0001.impact",
    ]
    assert [e.type for e in events] == ["a-h-A-W-M-S-S", "b-d-l", "b-d-i"]
    for e in events:
        element = ET.fromstring(e.xml)
        assert element.tag == "event"
        assert element.attrib["version"] == "2.0"
        assert element.attrib["how"] == "m-f"
        assert element.find("point") is not None
        assert element.find("detail/contact").attrib["callsign"]
    # the next version of the same track moves the same markers
    again = alert_events(make_alert(version=3))
    assert [e.uid for e in again] == [e.uid for e in events]


def test_a_submarine_launched_missile_has_its_own_type() -> None:
    track = alert_events(make_alert(missile_class=MissileClass.SLBM))[0]
    assert track.type == "a-h-A-W-M-U"


def test_track_point_is_the_fused_position_with_course_and_speed() -> None:
    alert = make_alert()
    track = _by_kind(alert_events(alert))["track"]
    lat, lon, hae = ecef_to_geodetic(np.asarray(alert.position_m))
    point = track.find("point")
    assert float(point.attrib["lat"]) == pytest.approx(lat, abs=1e-6)
    assert float(point.attrib["lon"]) == pytest.approx(lon, abs=1e-6)
    assert float(point.attrib["hae"]) == pytest.approx(hae, abs=0.1)
    rot = enu_rotation(lat, lon)
    east, north, _ = rot @ np.asarray(alert.velocity_mps)
    course = track.find("detail/track")
    assert float(course.attrib["speed"]) == pytest.approx(math.hypot(east, north), abs=0.1)
    assert float(course.attrib["course"]) == pytest.approx(
        math.degrees(math.atan2(east, north)) % 360, abs=0.1
    )


def test_ce_and_le_are_one_sigma_in_the_local_frame() -> None:
    # 100 m east, 400 m north, 50 m up (1-sigma), rotated into ECEF.
    alert = make_alert()
    p = _enu_covariance(alert.position_m, np.diag([100.0**2, 400.0**2, 50.0**2]))
    point = _by_kind(alert_events(dataclasses.replace(alert, covariance=_upper(p))))["track"]
    assert float(point.find("point").attrib["ce"]) == pytest.approx(400.0, abs=0.1)
    assert float(point.find("point").attrib["le"]) == pytest.approx(50.0, abs=0.1)


def test_ce_follows_the_major_axis_of_a_correlated_horizontal_covariance() -> None:
    alert = make_alert()
    horizontal = np.array([[300.0**2, 0.8 * 300 * 200], [0.8 * 300 * 200, 200.0**2]])
    enu = np.zeros((3, 3))
    enu[:2, :2] = horizontal
    enu[2, 2] = 80.0**2
    p = _enu_covariance(alert.position_m, enu)
    track = _by_kind(alert_events(dataclasses.replace(alert, covariance=_upper(p))))["track"]
    expected = math.sqrt(np.linalg.eigvalsh(horizontal)[-1])
    assert float(track.find("point").attrib["ce"]) == pytest.approx(expected, abs=0.1)
    assert float(track.find("point").attrib["le"]) == pytest.approx(80.0, abs=0.1)


def test_a_malformed_covariance_makes_the_errors_unknown_not_the_track() -> None:
    track = _by_kind(alert_events(make_alert(covariance=(1.0, 2.0))))["track"]
    assert float(track.find("point").attrib["ce"]) == UNKNOWN_ERROR_M
    assert float(track.find("point").attrib["le"]) == UNKNOWN_ERROR_M


def test_position_covariance_reads_the_upper_triangle() -> None:
    values = tuple(float(i) for i in range(21))
    block = position_covariance(values)
    assert block.tolist() == [[0, 1, 2], [1, 6, 7], [2, 7, 11]]
    with pytest.raises(ValueError):
        position_covariance(values[:20])


def test_launch_and_impact_carry_their_95_percent_ellipse_and_link_to_the_track() -> None:
    impact = make_ground_point(
        lat_deg=40.9, lon_deg=139.2, time_us=T0_US + 1100 * S, ellipse=Ellipse(40.0, 12.0, 95.0)
    )
    points = _by_kind(alert_events(make_alert(impact=impact)))
    ellipse = points["impact"].find("detail/shape/ellipse")
    assert ellipse.attrib == {"major": "40000.0", "minor": "12000.0", "angle": "95.0"}
    point = points["impact"].find("point")
    assert (float(point.attrib["lat"]), float(point.attrib["lon"])) == (40.9, 139.2)
    assert float(point.attrib["ce"]) == pytest.approx(40000.0 / CHI2_95_2D_SCALE, abs=0.1)
    assert float(point.attrib["le"]) == UNKNOWN_ERROR_M
    for kind in ("launch", "impact"):
        link = points[kind].find("detail/link")
        assert link.attrib["uid"] == "trilink.SYS-0001.track"
        assert link.attrib["relation"] == "p-p"
    assert points["launch"].find("detail/shape/ellipse").attrib["major"] == "4000.0"


def test_no_launch_or_impact_estimate_no_point_events() -> None:
    events = alert_events(make_alert(launch=None, impact=None))
    assert [e.type for e in events] == ["a-h-A-W-M-S-S"]


def test_time_is_the_alert_start_its_state_time() -> None:
    alert = make_alert()
    track = _by_kind(alert_events(alert))["track"]
    assert parse_iso(track.attrib["time"]) == alert.alert_us
    assert parse_iso(track.attrib["start"]) == alert.state_time_us


def test_stale_of_a_live_track_and_its_points() -> None:
    alert = make_alert()
    timing = CotTiming(track_s=30.0, hold_s=300.0)
    points = _by_kind(alert_events(alert, timing=timing))
    assert _stale_us(points["track"]) == alert.alert_us + 30 * S
    assert alert.impact is not None
    assert _stale_us(points["impact"]) == alert.impact.time_us + 300 * S
    assert _stale_us(points["launch"]) == alert.impact.time_us + 300 * S
    only_launch = _by_kind(alert_events(make_alert(impact=None), timing=timing))
    assert _stale_us(only_launch["launch"]) == alert.alert_us + 30 * S


def test_impact_deletes_the_track_and_holds_the_points() -> None:
    alert = make_alert(status=AlertStatus.IMPACT, version=9)
    events = alert_events(alert, timing=CotTiming(hold_s=600.0))
    track = events[0]
    assert track.type == TYPE_DELETE and track.is_delete
    assert track.subject == "trilink.SYS-0001.track"
    element = ET.fromstring(track.xml)
    assert element.attrib["uid"] == "trilink.SYS-0001.track.delete.v9"
    link = element.find("detail/link")
    assert link.attrib == {"uid": "trilink.SYS-0001.track", "relation": "none", "type": "none"}
    assert element.find("detail/__forcedelete") is not None
    points = _by_kind(events[1:])
    assert {e.type for e in events[1:]} == {"b-d-l", "b-d-i"}
    for kind in ("launch", "impact"):
        assert _stale_us(points[kind]) == alert.alert_us + 600 * S


def test_dropped_deletes_the_track_and_the_impact_keeps_the_launch() -> None:
    events = alert_events(make_alert(status=AlertStatus.DROPPED))
    assert [(e.subject, e.type) for e in events] == [
        ("trilink.SYS-0001.track", "t-x-d-d"),
        ("trilink.SYS-0001.launch", "b-d-l"),
        ("trilink.SYS-0001.impact", "t-x-d-d"),
    ]


def test_stale_is_never_before_time() -> None:
    alert = make_alert(impact=make_ground_point(time_us=T0_US))  # impact long past
    for event in alert_events(alert, timing=CotTiming(hold_s=0.0)):
        assert event.stale_us > event.time_us


def test_times_go_to_the_wall_clock_of_an_accelerated_session() -> None:
    alert = make_alert()
    clock = fixed(epoch_us=T0_US, rate=10.0)
    track = alert_events(alert, to_wall=clock.wall_at, timing=CotTiming(track_s=30.0))[0]
    assert track.time_us == clock.wall_at(alert.alert_us)
    assert track.stale_us - track.time_us == 3 * S  # 30 scenario seconds at 10x
    element = ET.fromstring(track.xml)
    assert parse_iso(element.attrib["stale"]) == track.stale_us


def test_cot_time_is_utc_milliseconds_with_z() -> None:
    assert cot_time(T0_US + 1_234_567) == "2026-05-01T00:00:01.234Z"


def test_callsign_names_class_site_and_launch_time() -> None:
    alert = make_alert()
    assert callsign(alert, lambda lat, lon: "Sunan") == "IRBM Sunan 00:00:00Z"
    assert callsign(alert) == "IRBM 39.66N 124.70E 00:00:00Z"
    assert callsign(make_alert(launch=None)) == "IRBM 00:00:30Z"
    points = _by_kind(alert_events(alert, place=lambda lat, lon: "Sunan"))
    assert (
        points["impact"].find("detail/contact").attrib["callsign"] == "IRBM Sunan 00:00:00Z impact"
    )


def test_remarks_say_what_people_need() -> None:
    threat = ThreatAssessment(
        zone=ImpactZone.EEZ,
        zone_nation="JPN",
        ellipse_land=(),
        ellipse_waters=("JPN",),
        overflights=(),
        warning=(WarnedArea("JP-01", "Hokkaido", "JPN", True, False, T0_US + 500 * S),),
        reference="Okushiri Island",
        reference_nation="JPN",
        reference_km=150.0,
        reference_bearing_deg=270.0,
        description="about 150 km W of Okushiri Island, inside Japan's EEZ",
        impact_us=T0_US + 1100 * S,
    )
    text = remarks(make_alert(threat=threat))
    assert text.startswith("IRBM launched 00:00:00Z from 39.66N 124.70E")
    assert "T+95 s" in text
    assert "seen by JPN+KOR, first KOR at T+30 s" in text
    assert "about 150 km W of Okushiri Island" in text
    assert "warn Hokkaido" in text
    assert "threatens JPN" in text
    track = _by_kind(alert_events(make_alert(threat=threat)))["track"]
    assert track.find("detail/remarks").text == text


def test_text_xml_cannot_carry_is_replaced() -> None:
    # A control character would make the router reject the document and drop the link.
    for event in alert_events(make_alert(note="bad\x00\x1bnote", system_track_id="S\x07")):
        element = ET.fromstring(event.xml)
        assert "\ufffd" in element.attrib["uid"]
    remarks_text = _by_kind(alert_events(make_alert(note="bad\x00note")))["track"]
    assert "bad\ufffdnote" in (remarks_text.findtext("detail/remarks") or "")


def test_trilink_detail_names_the_alert() -> None:
    track = _by_kind(alert_events(make_alert(version=4)))["track"]
    assert track.find("detail/__trilink").attrib["track"] == "SYS-0001"
    assert track.find("detail/__trilink").attrib["version"] == "4"


def test_event_uid() -> None:
    assert event_uid("SYS-7", Kind.IMPACT) == "trilink.SYS-7.impact"


@pytest.mark.parametrize(("track_s", "hold_s"), [(0.5, 300.0), (30.0, -1.0), (math.nan, 1.0)])
def test_timing_bounds(track_s: float, hold_s: float) -> None:
    with pytest.raises(ConfigError):
        CotTiming(track_s=track_s, hold_s=hold_s)


@pytest.mark.parametrize(
    "changes", [{"tak_port": 0}, {"tak_port": 70000}, {"tak_host": " "}, {"queue_size": 0}]
)
def test_config_bounds(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        CotConfig(**changes)  # type: ignore[arg-type]


# -- framing ------------------------------------------------------------------------------


def test_a_stream_frame_is_a_whole_document_per_event() -> None:
    events = alert_events(make_alert())
    stream = b"".join(stream_frame(e) for e in events)
    assert stream.startswith(XML_DECLARATION)
    assert stream.count(XML_DECLARATION) == len(events)
    # A TAK client reads the stream as events one after another (declarations dropped).
    parser = ET.XMLPullParser(events=("end",))
    parser.feed(b"<stream>" + stream.replace(XML_DECLARATION, b"") + b"</stream>")
    uids = [el.attrib["uid"] for _, el in parser.read_events() if el.tag == "event"]
    assert uids == [e.uid for e in events]
    assert all(stream_frame(e).endswith(b"</event>\n") for e in events)


def test_a_datagram_is_one_document() -> None:
    event = alert_events(make_alert())[0]
    data = datagram(event)
    assert data == XML_DECLARATION + event.xml
    assert ET.fromstring(data).attrib["uid"] == event.uid


def test_an_oversized_datagram_is_refused() -> None:
    event = alert_events(make_alert())[0]
    huge = dataclasses.replace(event, xml=b"<event>" + b" " * MAX_DATAGRAM + b"</event>")
    with pytest.raises(ValueError, match="bytes"):
        datagram(huge)


def test_launch_sites_are_named_from_the_catalogue() -> None:
    from cli.cot import site_name
    from sim.catalog import get_site

    sunan = get_site("sunan")
    assert site_name(sunan.lat_deg + 0.01, sunan.lon_deg) == sunan.name
    assert site_name(35.0, 150.0) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--protocol", "sctp"), "--protocol 'sctp' is not tcp or udp"),
        (("--tak-port", "70000"), "TAK port must be 1..65535"),
        ((), "no Kafka cluster"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TRILINK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "cot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "error:" in lines[0] and needle in lines[0]
