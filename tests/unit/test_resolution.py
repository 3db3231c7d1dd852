"""Sensor resolution: echoes inside one resolution cell blend into one detection."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pymap3d
import pytest

from measurement.models import MeasurementKind, measure
from producers.national import solve_launch
from sim.resolution import Echo, Resolution, resolve
from sim.sensors import all_sensors, get_sensor, observe, seed_sequence
from tests.factories import T0_US, make_launch
from trilink.geodesy import geodetic_to_ecef, great_circle
from trilink.model import MissileClass

RADAR = Resolution(MeasurementKind.RADAR, range_m=50.0, angle_rad=0.02)
IR = Resolution(MeasurementKind.IR, angle_rad=1e-4)


def _echo(rng: float, az: float, el: float, amplitude: float = 1.0, origin: str = "a") -> Echo:
    return Echo(np.array([rng, az, el, 0.0]), np.zeros(4), amplitude, origin)


def test_two_objects_in_one_cell_give_one_detection_at_their_weighted_centroid() -> None:
    strong = Echo(np.array([500e3, 0.10, 0.20, 100.0]), np.array([3.0, 0, 0, 0]), 3.0, "strong")
    weak = Echo(np.array([500e3 + 40.0, 0.11, 0.20, 200.0]), np.zeros(4), 1.0, "weak")
    (d,) = resolve(RADAR, [weak, strong])
    assert d.merged == 2 and d.origin == "strong"
    # 3:1 weights; the strongest member's noise (3 m in range) rides on the blend.
    assert d.z == pytest.approx([500e3 + 10.0 + 3.0, 0.1025, 0.20, 125.0])


def test_radar_separates_objects_apart_in_range_or_in_angle() -> None:
    base = _echo(500e3, 0.1, 0.2, origin="a")
    far_in_range = _echo(500e3 + 60.0, 0.1, 0.2, origin="b")
    far_in_angle = _echo(500e3, 0.1 + 0.03, 0.2, origin="c")
    out = resolve(RADAR, [base, far_in_range, far_in_angle])
    assert [d.origin for d in out] == ["a", "b", "c"]
    assert all(d.merged == 1 for d in out)
    assert out[1].z[0] == pytest.approx(500e3 + 60.0)


def test_unresolved_pairs_chain_into_one_group_and_order_is_kept() -> None:
    a = _echo(500e3, 0.1, 0.2, 1.0, "a")
    lone = _echo(700e3, 0.5, 0.2, 1.0, "lone")
    b = _echo(500e3 + 40.0, 0.1, 0.2, 2.0, "b")
    c = _echo(500e3 + 80.0, 0.1, 0.2, 1.0, "c")  # 80 m from a, 40 m from b
    out = resolve(RADAR, [a, lone, b, c])
    assert [(d.origin, d.merged) for d in out] == [("b", 3), ("lone", 1)]


def test_azimuth_blend_across_the_wrap_stays_near_pi() -> None:
    a = _echo(500e3, math.pi - 0.002, 0.2)
    b = _echo(500e3, -math.pi + 0.002, 0.2)
    (d,) = resolve(RADAR, [a, b])
    assert abs(abs(d.z[1]) - math.pi) < 1e-9


def test_infrared_resolves_by_focal_plane_angle_only() -> None:
    a = Echo(np.array([0.01, 0.02]), np.zeros(2), 1.0, "a")
    b = Echo(np.array([0.01 + 5e-5, 0.02]), np.zeros(2), 1.0, "b")
    c = Echo(np.array([0.01 + 3e-4, 0.02]), np.zeros(2), 1.0, "c")
    out = resolve(IR, [a, b, c])
    assert [(d.origin, d.merged) for d in out] == [("a", 2), ("c", 1)]


def test_a_zero_cell_resolves_everything() -> None:
    ideal = Resolution(MeasurementKind.RADAR)
    same = [_echo(500e3, 0.1, 0.2, origin=o) for o in "ab"]
    assert [d.merged for d in resolve(ideal, same)] == [1, 1]


def test_every_sensor_has_a_resolution_cell_coarser_than_its_noise() -> None:
    for sensor in all_sensors():
        angle_sigma = sensor.sigma[1 if sensor.kind is MeasurementKind.RADAR else 0]
        assert sensor.angle_res_rad > 2.0 * angle_sigma
        if sensor.kind is MeasurementKind.RADAR:
            assert sensor.range_res_m > sensor.sigma[0]


def test_radar_cell_seen_from_a_real_sensor_merges_launchers_side_by_side() -> None:
    # Two missiles 300 m apart across the line of sight of a Green Pine radar ~330 km
    # away: same range within the range cell, well inside the beam.
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    az, _, _ = pymap3d.geodetic2aer(39.2, 125.7, 20e3, sensor.lat_deg, sensor.lon_deg, sensor.alt_m)
    beside = great_circle(39.2, 125.7, (float(az) + 90.0) % 360.0, 300.0)
    r = np.stack([geodetic_to_ecef(39.2, 125.7, 20e3), geodetic_to_ecef(*beside, 20e3)])
    truth = measure(sensor.model, r, np.zeros((2, 3)))
    linked = sensor.resolution.unresolved(truth)
    assert abs(truth[0, 0] - truth[1, 0]) < sensor.range_res_m
    assert bool(linked[0, 1])


def _scans(sensor_name: str, offset_s: float, **launch: Any) -> list[list[Echo]]:
    """Each scan's echoes of two missiles (KN-25 unless ``launch`` says otherwise) fired
    ``offset_s`` apart from launchers 300 m apart across their bearing."""
    sensor = get_sensor(sensor_name)
    by_time: dict[int, list[Echo]] = {}
    for i in range(2):
        event = make_launch(
            launch_id=f"L{i}",
            site_lat_deg=39.2 + 0.0027 * i,
            launch_time_us=T0_US + round(i * offset_s * 1e6),
            **(
                {
                    "missile": "kn-25",
                    "missile_class": MissileClass.SRBM,
                    "range_km": 350.0,
                    "apogee_km": 50.0,
                }
                | launch
            ),
        )
        det = observe(
            sensor,
            solve_launch(event),
            event.launch_time_us,
            event.scenario_start_us,
            np.random.default_rng(seed_sequence(1, sensor.name, event.launch_id)),
        )
        for k, t in enumerate(det.times_us.tolist()):
            echo = Echo(det.truth[k], det.noise[k], float(det.amplitude[k]), event.launch_id)
            by_time.setdefault(t, []).append(echo)
    return [by_time[t] for t in sorted(by_time)]


def test_a_battery_fired_together_is_one_infrared_bloom() -> None:
    # SBIRS pixels span kilometres at geostationary range: two plumes 300 m apart are one.
    scans = [s for s in _scans("USA-SBIRS-GEO-WEST", 0.0) if len(s) == 2]
    assert scans
    sensor = get_sensor("USA-SBIRS-GEO-WEST")
    assert all(len(resolve(sensor.resolution, s)) == 1 for s in scans)


def test_a_ripple_separates_on_infrared_as_the_second_missile_falls_behind() -> None:
    sensor = get_sensor("USA-SBIRS-GEO-WEST")
    # An IRBM ripple 3 s apart: one bloom at first, two plumes as the first speeds away.
    irbm = {"missile": "hwasong-12", "range_km": 1000.0, "apogee_km": 970.0}
    scans = _scans(sensor.name, 3.0, missile_class=MissileClass.IRBM, **irbm)
    counts = [len(resolve(sensor.resolution, s)) for s in scans if len(s) == 2]
    assert counts[0] == 1 and counts[-1] == 2
    assert counts == sorted(counts)  # once resolved, they stay resolved


def test_the_cheap_all_apart_test_never_hides_a_blend() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        truth = np.column_stack(
            [
                500e3 + rng.uniform(0, 400.0, n),
                rng.uniform(0.1, 0.16, n),
                rng.uniform(0.2, 0.26, n),
                np.zeros(n),
            ]
        )
        if RADAR.all_apart(truth):
            assert not (RADAR.unresolved(truth) & ~np.eye(n, dtype=bool)).any()
