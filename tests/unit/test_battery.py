"""Salvo dispersion: "N at one time" from one site fires as a battery."""

from __future__ import annotations

import itertools

from producers.scenario import DEFAULT_START_US, LaunchSpec, build, historical_scenario
from trilink.geodesy import distance_bearing
from trilink.model import LaunchEvent


def _battery(seed: int) -> tuple[LaunchEvent, ...]:
    specs = [LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0, 5.0)] * 4
    return build("battery", specs, DEFAULT_START_US, seed).launches


def _gaps_m(events: tuple[LaunchEvent, ...]) -> list[float]:
    return [
        distance_bearing(a.site_lat_deg, a.site_lon_deg, b.site_lat_deg, b.site_lon_deg)[0]
        for a, b in itertools.combinations(events, 2)
    ]


def test_simultaneous_launches_spread_over_a_few_hundred_metres_and_seconds() -> None:
    events = _battery(0)
    assert len(events) == 4 and {e.site for e in events} == {"sunan"}
    gaps = _gaps_m(events)
    assert min(gaps) > 100.0 and max(gaps) < 1200.0
    times_s = [(e.launch_time_us - events[0].scenario_start_us) / 1e6 for e in events]
    assert times_s[0] == 5.0
    steps = [b - a for a, b in itertools.pairwise(times_s)]
    assert all(2.0 <= s <= 5.0 for s in steps)
    # what was reported stays: bearing, range, apogee, missile
    assert {(e.bearing_deg, e.range_km, e.apogee_km, e.missile) for e in events} == {
        (80.0, 350.0, 50.0, "kn-25")
    }


def test_the_layout_is_seeded() -> None:
    assert _battery(0) == _battery(0)
    other = _battery(1)
    assert [e.site_lat_deg for e in other] != [e.site_lat_deg for e in _battery(0)]
    # a re-seeded scenario lays its battery out anew (from the specs as given)
    scenario = build("battery", [LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0)] * 3, 0, 0)
    assert (
        scenario.with_seed(1).launches
        == build("battery", [LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0)] * 3, 0, 1).launches
    )


def test_spaced_launches_are_left_where_they_are() -> None:
    specs = [LaunchSpec("sunan", "kn-25", 80.0, 350.0, 50.0, 10.0 * i) for i in range(3)]
    events = build("ripple", specs, DEFAULT_START_US, 0).launches
    assert len({(e.site_lat_deg, e.site_lon_deg) for e in events}) == 1


def test_the_2024_05_29_salvo_fires_as_a_battery_within_its_minute() -> None:
    events = historical_scenario("2024-05-29").launches
    assert len(events) == 18
    assert len({(e.site_lat_deg, e.site_lon_deg) for e in events}) == 18
    span_s = (events[-1].launch_time_us - events[0].launch_time_us) / 1e6
    assert 30.0 < span_s < 90.0
    neighbours = sorted(_gaps_m(events))[:17]
    assert min(neighbours) > 100.0
