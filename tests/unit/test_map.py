"""The map's geometry, its coalescing state and the names it gives tracks (no I/O)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from consumers.map import LaunchSite, MapContext, MapState, SensorSite
from consumers.map import state as state_module
from consumers.map.geometry import (
    coverage_ring,
    ellipse_ring,
    horizon_range_km,
    predict_path,
)
from sim.solve import solve_trajectory
from tests.factories import T0_US, make_alert, make_ground_point, make_launch, make_warning
from tracking.impact import crossing
from trilink.model import AlertStatus, Contributor, Ellipse, Nation
from trilink.physics import Physics

S = 1_000_000


def _km(a: list[float], b: list[float]) -> float:
    """Great-circle distance between two [lon, lat] points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _signed_area(ring: list[list[float]]) -> float:
    """Shoelace area in the lon/lat plane: negative for a clockwise ring."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


# -- geometry -----------------------------------------------------------------------


def test_an_ellipse_ring_is_closed_clockwise_with_its_axes_where_the_alert_says() -> None:
    ring = ellipse_ring(40.0, 135.0, Ellipse(20.0, 5.0, 90.0), points=48)
    assert len(ring) == 49 and ring[0] == ring[-1]
    centre = [135.0, 40.0]
    assert _km(centre, ring[0]) == pytest.approx(20.0, rel=1e-3)  # along the major axis
    assert ring[0][0] > 135.0 and ring[0][1] == pytest.approx(40.0, abs=0.01)  # due east
    assert _km(centre, ring[12]) == pytest.approx(5.0, rel=1e-3)  # a quarter turn on
    assert _signed_area(ring) < 0


def test_the_radar_horizon_grows_with_altitude_and_stops_at_the_range() -> None:
    # 4/3 Earth, sensor at sea level, zero elevation: sqrt(2 * Re * h).
    expected = math.sqrt(2 * 4 / 3 * 6371.0088 * 100.0)
    assert horizon_range_km(0.0, 100.0, 0.0, 5000.0) == pytest.approx(expected, rel=0.01)
    low = horizon_range_km(400.0, 10.0, 0.2, 1500.0)
    high = horizon_range_km(400.0, 100.0, 0.2, 1500.0)
    assert 0.0 < low < high <= 1500.0
    assert horizon_range_km(20.0, 300.0, 0.2, 650.0) <= 650.0
    assert horizon_range_km(20.0, 1000.0, 0.2, 300.0) == 0.0  # higher than its reach


def test_coverage_is_a_disc_or_a_fan_and_none_for_infrared() -> None:
    radar = SensorSite("R", "JPN", "RADAR", "", 38.0, 138.0, 400.0, 1500.0)
    disc = coverage_ring(radar, 50.0)
    assert disc is not None and disc[0] == disc[-1]
    distances = [_km([138.0, 38.0], p) for p in disc[:-1]]
    assert max(distances) - min(distances) < 0.5
    assert _signed_area(disc) < 0

    fan = coverage_ring(replace(radar, boresight_deg=270.0, half_width_deg=60.0), 50.0)
    assert fan is not None
    assert fan[0] == fan[-1] == [138.0, 38.0]  # the apex at the radar
    assert _signed_area(fan) < 0
    assert coverage_ring(replace(radar, kind="IR"), 50.0) is None


@pytest.mark.parametrize("physics", list(Physics))
def test_the_predicted_path_of_a_coasting_missile_lands_near_its_true_impact(
    physics: Physics,
) -> None:
    flight = solve_trajectory(39.2, 125.7, 80.0, 350.0, 50.0, "kn-25", physics)
    r, v = flight.state_at(60.0)
    remaining = flight.flight_time_s - 60.0
    path = predict_path(r, v, T0_US, horizon_s=remaining, air=physics.air)
    lon, lat, alt_km, t_us = path[-1]
    assert alt_km == pytest.approx(0.0, abs=0.01)
    # Where the trackers' impact prediction puts it (the same model); in the air the
    # truth differs by what the nominal body gets wrong about a KN-25 (~5 km from 60 s).
    predicted = crossing(np.concatenate([r, v]), air=physics.air)
    assert predicted is not None
    assert _km([lon, lat], [predicted.lon_deg, predicted.lat_deg]) < 0.5
    truth_km = 8.0 if physics.air else 3.0
    assert _km([lon, lat], [flight.impact_lon_deg, flight.impact_lat_deg]) < truth_km
    assert (t_us - T0_US) / S == pytest.approx(remaining, abs=3.0)
    assert 40 <= len(path) <= 80  # about sixty steps whatever the range
    assert max(p[2] for p in path) == pytest.approx(flight.apogee_km, rel=0.05)


# -- state --------------------------------------------------------------------------

CONTEXT = MapContext(
    sensors=(SensorSite("R", "JPN", "RADAR", "J/FPS-5", 38.0, 138.0, 400.0, 1500.0),),
    sites=(LaunchSite("sunan", "Sunan", 39.2, 125.67),),
    missile_names=MappingProxyType({"hwasong-12": "Hwasong-12"}),
)


def _tracks(frame: str) -> dict[str, dict[str, object]]:
    return {t["id"]: t for t in json.loads(frame)["tracks"]}


def test_many_updates_of_a_track_reach_a_client_as_its_newest_state() -> None:
    state = MapState(CONTEXT)
    for version in range(1, 40):
        state.apply(make_alert(version=version, state_time_us=T0_US + version * S))
    state.apply(make_alert(version=39))  # a duplicate changes nothing
    assert state.publish()
    rev, kind, text = state.frame(None)
    assert kind == "snapshot"
    (track,) = _tracks(text).values()
    assert track["version"] == 39
    assert len(track["trail"]) == 39  # every state is on the flown path
    assert json.loads(text)["static"]["sensors"][0]["coverage"]["50"]

    assert not state.publish()  # nothing new: the revision stays
    _, kind, text = state.frame(rev)
    assert kind == "delta" and _tracks(text) == {}
    state.apply(make_alert(version=40, status=AlertStatus.IMPACT))
    state.publish()
    _, _, text = state.frame(rev)
    assert [t["version"] for t in _tracks(text).values()] == [40]
    assert _tracks(text)["SYS-0001"]["predicted"] == []  # an ended track predicts nothing


def test_a_client_from_a_restarted_server_gets_a_snapshot() -> None:
    state = MapState(CONTEXT)
    state.apply(make_alert())
    state.publish()
    assert state.frame(state.revision + 100)[1] == "snapshot"


def test_a_track_is_named_after_its_launch_with_times_from_the_launch() -> None:
    state = MapState(CONTEXT)
    state.apply(make_alert(launch=make_ground_point(lat_deg=39.25, lon_deg=125.6)))
    state.publish()
    track = state.snapshot()["tracks"][0]
    assert track["name"] == "IRBM from near Sunan"  # no truth: class and nearest site
    assert track["t0_source"] == "estimate"

    state.apply(make_launch())
    state.publish()
    snapshot = state.snapshot()
    track = snapshot["tracks"][0]
    assert track["name"] == "Hwasong-12 from Sunan"
    assert (track["launch_id"], track["t0_us"]) == ("L-0001", T0_US)
    assert snapshot["meta"]["launches"][0]["missile"] == "Hwasong-12"


def test_sister_missiles_are_numbered_in_launch_order() -> None:
    state = MapState(CONTEXT)
    for i in range(2):
        launch_us = T0_US + i * 20 * S
        state.apply(make_launch(launch_id=f"L-{i}", launch_time_us=launch_us))
        state.apply(
            make_alert(
                system_track_id=f"SYS-{i}",
                launch=make_ground_point(lat_deg=39.2, lon_deg=125.7, time_us=launch_us + S),
                first_detection_us=launch_us + 30 * S,
            )
        )
    state.publish()
    names = {t["id"]: (t["name"], t["launch_id"]) for t in state.snapshot()["tracks"]}
    assert names == {
        "SYS-0": ("Hwasong-12 #1 from Sunan", "L-0"),
        "SYS-1": ("Hwasong-12 #2 from Sunan", "L-1"),
    }


def test_sisters_without_launch_estimates_are_told_apart_by_their_first_detections() -> None:
    state = MapState(CONTEXT)
    for i, (launch_s, seen_s) in enumerate(((0, 18), (15, 34))):
        state.apply(make_launch(launch_id=f"L-{i}", launch_time_us=T0_US + launch_s * S))
        state.apply(
            make_alert(
                system_track_id=f"SYS-{i}", launch=None, first_detection_us=T0_US + seen_s * S
            )
        )
    state.publish()
    matched = {t["id"]: t["launch_id"] for t in state.snapshot()["tracks"]}
    assert matched == {"SYS-0": "L-0", "SYS-1": "L-1"}


def test_japan_s_lead_is_from_the_first_alert_to_its_own_first_detection() -> None:
    state = MapState(CONTEXT)
    only_korea = (Contributor(Nation.KOR, "KOR-0001", T0_US + 30 * S),)
    state.apply(make_alert(version=1, contributors=only_korea, newest_report_us=T0_US + 40 * S))
    state.publish()
    first = state.snapshot()["tracks"][0]
    assert first["leads_s"]["JPN"] is None  # not seen by Japan: warned through sharing only

    rev = state.revision
    state.apply(make_alert(version=2))  # Japan's track joins
    state.apply(make_warning(nation=Nation.JPN, track_id="JPN-0007", observed_us=T0_US + 90 * S))
    state.publish()
    (track,) = _tracks(state.frame(rev)[2]).values()
    assert track["leads_s"]["JPN"] == 50.0
    assert track["detections"]["JPN"] == T0_US + 90 * S


def test_the_oldest_tracks_leave_the_page_when_there_are_too_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state_module, "MAX_TRACKS", 2)
    state = MapState(CONTEXT)
    state.apply(make_alert(system_track_id="OLD", state_time_us=T0_US))
    state.publish()
    rev = state.revision
    for name, at in (("MID", 10), ("NEW", 20)):
        state.apply(make_alert(system_track_id=name, state_time_us=T0_US + at * S))
    state.publish()
    delta = json.loads(state.frame(rev)[2])
    assert delta["removed"] == ["OLD"]
    assert {t["id"] for t in state.snapshot()["tracks"]} == {"MID", "NEW"}


def test_status_and_clock_changes_reach_clients_once() -> None:
    state = MapState(CONTEXT)
    state.publish()
    rev = state.revision
    state.set_status("live", "alerts.trilateral")
    delta = json.loads(state.frame(rev)[2])
    assert delta["meta"]["status"] == {"feed": "live", "detail": "alerts.trilateral"}
    assert "meta" not in json.loads(state.frame(state.revision)[2])
