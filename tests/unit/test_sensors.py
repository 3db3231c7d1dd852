"""Sensors: table, measurement geometry, 4/3-Earth horizon, fields of regard, IR boost-only."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pymap3d
import pytest

from measurement import models as measurement_models
from measurement.errors import MeasurementError
from measurement.models import MeasurementKind
from sim.errors import SimError
from sim.sensors import (
    EFFECTIVE_EARTH,
    all_sensors,
    get_sensor,
    observe,
    seed_sequence,
    sensors_of,
)
from sim.solve import solve_trajectory
from tracking.errors import TrackingError
from trilink.errors import TrilinkError
from trilink.geodesy import ELLIPSOID, R_MEAN, geodetic_to_ecef, great_circle
from trilink.model import Nation

SUNAN = (39.2, 125.75)
LAUNCH_US = 1_777_593_600_000_000


@pytest.fixture(scope="module")
def srbm():  # type: ignore[no-untyped-def]
    """A 50-km-apogee SRBM from Sunan toward the Sea of Japan (bearing 80°, 400 km)."""
    return solve_trajectory(*SUNAN, 80.0, 400.0, 50.0, "hwasong-11a")


def _first_seen_s(sensor_names: list[str], trajectory, seed: int = 1) -> float | None:  # type: ignore[no-untyped-def]
    times = []
    for name in sensor_names:
        rng = np.random.default_rng(seed_sequence(seed, name))
        det = observe(get_sensor(name), trajectory, LAUNCH_US, LAUNCH_US, rng)
        if det.times_us.size:
            times.append((int(det.times_us[0]) - LAUNCH_US) / 1e6)
    return min(times) if times else None


def test_every_nation_has_its_own_sensors_with_unique_names() -> None:
    names = [s.name for s in all_sensors()]
    assert len(names) == len(set(names))
    for nation in (Nation.KOR, Nation.JPN, Nation.USA):
        assert sensors_of(nation)
        assert all(s.name.startswith(nation.value) for s in sensors_of(nation))
    assert {s.kind for s in sensors_of(Nation.USA)} == {MeasurementKind.RADAR, MeasurementKind.IR}
    with pytest.raises(SimError, match="valid sensors"):
        get_sensor("nope")


def test_a_model_with_the_wrong_number_of_sigmas_is_a_measurement_error() -> None:
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    with pytest.raises(MeasurementError, match="needs 3 or 4 sigmas") as info:
        measurement_models.MeasurementModel(
            MeasurementKind.RADAR, sensor.model.origin, sensor.model.rotation, (1.0, 0.1)
        )
    # One family for the CLI, and still the ValueError it was for older callers.
    assert isinstance(info.value, TrilinkError) and isinstance(info.value, ValueError)
    assert issubclass(TrackingError, TrilinkError) and not issubclass(
        MeasurementError, TrackingError
    )


def test_radar_measures_range_azimuth_elevation_like_pymap3d() -> None:
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    target = geodetic_to_ecef(39.0, 126.5, 40_000.0)
    z = measurement_models.measure_geometry(sensor.model, target[None])[0]
    az, el, rng = pymap3d.ecef2aer(*target, sensor.lat_deg, sensor.lon_deg, sensor.alt_m, ELLIPSOID)
    assert z[0] == pytest.approx(rng, abs=1e-3)
    assert math.degrees(z[1]) % 360.0 == pytest.approx(az, abs=1e-9)
    assert math.degrees(z[2]) == pytest.approx(el, abs=1e-9)


@pytest.mark.parametrize("name", ["KOR-GREEN-PINE-CHUNGBUK", "USA-SBIRS-GEO-EAST"])
def test_measurement_jacobian_matches_finite_differences(name: str) -> None:
    model = get_sensor(name).model
    x = np.concatenate([geodetic_to_ecef(39.5, 127.0, 60_000.0), [800.0, -300.0, 1200.0]])
    _, jac = measurement_models.predict_measurement(model, x[None])
    numeric = np.zeros((model.dim, 6))
    for i in range(6):
        dx = np.zeros(6)
        dx[i] = 1.0
        hi, lo = x + dx, x - dx
        numeric[:, i] = (
            measurement_models.measure(model, hi[None, :3], hi[None, 3:])
            - measurement_models.measure(model, lo[None, :3], lo[None, 3:])
        )[0] / 2.0
    assert np.allclose(jac[0], numeric, rtol=1e-5, atol=1e-12)


def test_a_doppler_radar_measures_the_range_rate() -> None:
    model = get_sensor("KOR-GREEN-PINE-CHUNGBUK").model
    assert model.doppler and model.dim == 4
    r = geodetic_to_ecef(39.0, 126.5, 40_000.0)
    v = np.array([900.0, -400.0, 1500.0])
    dt = 1e-3  # the range rate is the time derivative of the range
    ahead = measurement_models.measure(model, (r + v * dt)[None], v[None])[0]
    behind = measurement_models.measure(model, (r - v * dt)[None], v[None])[0]
    z = measurement_models.measure(model, r[None], v[None])[0]
    assert z[3] == pytest.approx((ahead[0] - behind[0]) / (2 * dt), rel=1e-6)
    with pytest.raises(MeasurementError, match="velocity"):
        measurement_models.measure(model, r[None])


def test_radar_inversion_round_trips() -> None:
    model = get_sensor("JPN-SPY1D-KONGO").model
    r = geodetic_to_ecef(39.0, 131.0, 80_000.0)
    z = measurement_models.measure(model, r[None], np.array([[1000.0, 0.0, 500.0]]))
    pos, cov = measurement_models.radar_position(model, z)
    assert np.allclose(pos[0], r, atol=1e-4)
    assert np.all(np.linalg.eigvalsh(cov[0]) > 0.0)


def test_four_thirds_earth_horizon_hides_low_targets_far_away() -> None:
    sensor = dataclasses.replace(
        get_sensor("KOR-GREEN-PINE-CHUNGBUK"), alt_m=0.0, min_el_deg=0.0, half_width_deg=180.0
    )
    lat, lon = great_circle(sensor.lat_deg, sensor.lon_deg, 0.0, 400_000.0)
    # Straight-line horizon over a 4/3-radius Earth: h = d² / (2 R_e) ≈ 9.4 km at 400 km.
    horizon_m = 400_000.0**2 / (2.0 * EFFECTIVE_EARTH * R_MEAN)
    low = geodetic_to_ecef(lat, lon, 0.7 * horizon_m)
    high = geodetic_to_ecef(lat, lon, 1.3 * horizon_m)
    assert sensor.covers(np.stack([low, high])).tolist() == [False, True]


def test_tpy2_sector_excludes_targets_behind_it() -> None:
    sensor = get_sensor("USA-TPY2-SHARIKI")  # looks west, toward Korea
    west = geodetic_to_ecef(*great_circle(sensor.lat_deg, sensor.lon_deg, 270.0, 800e3), 200e3)
    east = geodetic_to_ecef(*great_circle(sensor.lat_deg, sensor.lon_deg, 90.0, 800e3), 200e3)
    far = geodetic_to_ecef(*great_circle(sensor.lat_deg, sensor.lon_deg, 270.0, 2600e3), 900e3)
    assert sensor.covers(np.stack([west, east, far])).tolist() == [True, False, False]


def test_sunan_srbm_is_seen_by_korea_in_seconds_and_by_japan_late(srbm) -> None:  # type: ignore[no-untyped-def]
    korea = _first_seen_s([s.name for s in sensors_of(Nation.KOR)], srbm)
    japan = _first_seen_s([s.name for s in sensors_of(Nation.JPN)], srbm)
    assert korea is not None and korea < 25.0
    assert japan is None or japan > 60.0


def test_sbirs_sees_only_the_boost_above_the_clouds(srbm) -> None:  # type: ignore[no-untyped-def]
    for sensor in (s for s in all_sensors() if s.kind is MeasurementKind.IR):
        rng = np.random.default_rng(seed_sequence(3, sensor.name))
        det = observe(sensor, srbm, LAUNCH_US, LAUNCH_US, rng)
        assert det.times_us.size > 3
        t = (det.times_us - LAUNCH_US) / 1e6
        assert np.all(t < srbm.burnout_s)
        assert np.all(srbm.altitude_m(t) >= sensor.min_target_alt_km * 1000.0)


def test_detections_are_seeded_per_sensor_and_launch(srbm) -> None:  # type: ignore[no-untyped-def]
    sensor = get_sensor("KOR-SPY1D-EAST-SEA")

    def draw(*names: str):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(seed_sequence(7, *names))
        return observe(sensor, srbm, LAUNCH_US, LAUNCH_US, rng)

    a, b, c = draw("KOR", sensor.name, "L1"), draw("KOR", sensor.name, "L1"), draw("KOR", "L2")
    assert np.array_equal(a.times_us, b.times_us) and np.array_equal(a.z, b.z)
    assert not (a.z.shape == c.z.shape and np.array_equal(a.z, c.z))
    truth, velocity = srbm.state_at((a.times_us - LAUNCH_US) / 1e6)
    residual = measurement_models.innovation(
        sensor.model, a.z, measurement_models.measure(sensor.model, truth, velocity)
    )
    assert np.all(np.abs(residual) < 6.0 * np.asarray(sensor.sigma))


def test_scan_grid_is_anchored_and_regular() -> None:
    sensor = get_sensor("KOR-GREEN-PINE-BOSEONG")
    times = sensor.scan_times_us(1_000_000, 1_500_000, 9_000_000)
    assert times[0] >= 1_500_000 and times[-1] <= 9_000_000
    assert set(np.diff(times).tolist()) == {sensor.revisit_us}
    assert (int(times[0]) - 1_000_000 - round(sensor.phase_s * 1e6)) % sensor.revisit_us == 0
