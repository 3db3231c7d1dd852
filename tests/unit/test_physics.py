"""Flight physics beyond vacuum (the ``atmosphere`` model): drag, the KN-23 pull-up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from ambiance import Atmosphere

from sim import solve
from sim.atmosphere import CEILING_M, TOP_M, density, density_array
from sim.boost import drag_derivative, drag_vector, free_derivative
from sim.catalog import NO_DRAG, Missile, get_missile, get_site
from sim.flight import Trajectory, build_trajectory
from sim.manoeuvre import glide_derivative, lift_vector
from sim.solve import solve_trajectory
from trilink.air import height_m, height_rows
from trilink.geodesy import ecef_acceleration, ecef_to_geodetic, geodetic_to_ecef
from trilink.physics import Physics

AIR = Physics.ATMOSPHERE


def _descent_state_at(traj: Trajectory, height_m: float) -> tuple[np.ndarray, np.ndarray]:
    """State where the descent passes ``height_m`` (sampled at 0.05 s)."""
    t = np.arange(traj.apogee_s, traj.flight_time_s, 0.05)
    h = np.asarray(traj.altitude_m(t))
    i = int(np.argmax(h < height_m))
    r, v = traj.state_at(t[i])
    return r, v


def _flight_path_deg(r: np.ndarray, v: np.ndarray) -> float:
    lat, lon, _ = ecef_to_geodetic(r)
    up = geodetic_to_ecef(lat, lon, 1.0) - geodetic_to_ecef(lat, lon, 0.0)
    return float(np.degrees(np.arcsin(v @ up / np.linalg.norm(v))))


def _fly(missile: Missile, scale: float, pitch: float) -> Trajectory:
    return build_trajectory(missile, 39.0, 125.7, 80.0, scale, pitch)


def test_density_is_the_standard_atmosphere() -> None:
    for h in (0.0, 1234.5, 11000.0, 20000.0, 47000.0, 71000.0, 80000.0):
        want = float(Atmosphere(h).density[0])
        assert density(h) == pytest.approx(want, rel=1e-4)
        assert float(density_array(np.array([h]))[0]) == pytest.approx(density(h), rel=1e-12)
    # above the model's ceiling it thins on (US-1976 gives ~5.6e-7 at 100 km), then stops
    assert 1e-7 < density(100e3) < density(CEILING_M)
    assert density(TOP_M + 1.0) == 0.0
    assert density(-50.0) == density(0.0)


def test_scalar_drag_and_lift_equal_their_vectorised_forms() -> None:
    rng = np.random.default_rng(3)
    spec = get_missile("kn-23")
    assert spec.pullup is not None
    inv_beta = 1.0 / spec.drag.reentry
    for height in (2e3, 15e3, 35e3, 60e3, 90e3):
        r = geodetic_to_ecef(39.5, 128.0, height)
        v = rng.normal(0.0, 1500.0, 3)
        state = np.concatenate([r, v])
        gravity = ecef_acceleration(r, v)
        drag = drag_vector(r[None], v[None], inv_beta)[0]
        lift = lift_vector(r[None], v[None], inv_beta, spec.pullup)[0]
        got = drag_derivative(inv_beta)(0.0, state)[3:]
        np.testing.assert_allclose(got, gravity + drag, rtol=1e-9, atol=1e-9)
        got = glide_derivative(inv_beta, spec.pullup)(0.0, state)[3:]
        np.testing.assert_allclose(got, gravity + drag + lift, rtol=1e-9, atol=1e-9)
        assert np.all(free_derivative(0.0, state)[3:] - got != 0.0)


def test_drag_slows_the_reentry() -> None:
    spec = get_missile("nodong")
    air = _fly(spec, 0.95, 45.0)
    vacuum = _fly(dataclasses.replace(spec, drag=NO_DRAG), 0.95, 45.0)
    _, v_air = _descent_state_at(air, 10e3)
    _, v_vac = _descent_state_at(vacuum, 10e3)
    assert np.linalg.norm(v_air) < 0.8 * np.linalg.norm(v_vac)
    assert air.range_km < vacuum.range_km
    assert air.apogee_km < vacuum.apogee_km  # drag in the boost too


def test_the_solver_still_hits_range_and_apogee_in_the_air() -> None:
    for missile, range_km, apogee_km in (("kn-25", 350.0, 50.0), ("nodong", 1000.0, 250.0)):
        traj = solve_trajectory(39.0, 125.7, 80.0, range_km, apogee_km, missile, AIR)
        assert traj.range_km == pytest.approx(range_km, rel=1e-3)
        assert traj.apogee_km == pytest.approx(apogee_km, rel=1e-3)


def test_kn23_pulls_up_and_flattens_its_terminal_path() -> None:
    spec = get_missile("hwasong-11a")
    assert spec.pullup is not None and get_missile("kn-25").pullup is None
    glide = _fly(spec, 1.0, 20.0)
    plain = _fly(dataclasses.replace(spec, pullup=None), 1.0, 20.0)
    # same boost and apogee; then the pull-up flattens the descent and stretches the range
    assert glide.apogee_km == pytest.approx(plain.apogee_km, rel=1e-9)
    gamma_glide = _flight_path_deg(*_descent_state_at(glide, 15e3))
    gamma_plain = _flight_path_deg(*_descent_state_at(plain, 15e3))
    assert gamma_glide > gamma_plain + 15.0 and gamma_glide > -15.0
    assert glide.range_km > plain.range_km + 20.0
    assert glide.flight_time_s > plain.flight_time_s + 20.0
    # lift of a few g for tens of seconds: the speed turns while the body sinks
    t = np.arange(glide.apogee_s, glide.flight_time_s, 0.5)
    _, v = glide.state_at(t)
    accel = np.linalg.norm(np.diff(v, axis=0), axis=1) / 0.5
    assert 15.0 < accel.max() < 80.0


def test_pull_up_flights_are_deterministic_and_solvable() -> None:
    a = solve_trajectory(39.0, 127.5, 80.0, 600.0, 50.0, "kn-23", AIR)
    b = build_trajectory(
        get_missile("kn-23"), 39.0, 127.5, a.azimuth_deg, a.burn_scale, a.pitch_deg
    )
    assert a.range_km == pytest.approx(600.0, rel=1e-3)
    assert a.apogee_km == pytest.approx(50.0, rel=1e-3)
    t = np.linspace(0.0, a.flight_time_s, 50)
    np.testing.assert_array_equal(a.state_at(t)[0], b.state_at(t)[0])


def test_a_launcher_near_a_site_starts_from_the_sites_solution() -> None:
    s = get_site("sunan")
    lat, lon = s.lat_deg + 0.002, s.lon_deg - 0.003
    near = solve_trajectory(lat, lon, 80.0, 350.0, 50.0, "kn-25", AIR)
    assert near.range_km == pytest.approx(350.0, rel=1e-4)
    assert near.apogee_km == pytest.approx(50.0, rel=1e-4)
    # the start is a function of the inputs: a fresh process (cold caches) agrees
    solve._solve_cached.cache_clear()
    solve._cold_fit.cache_clear()
    again = solve_trajectory(lat, lon, 80.0, 350.0, 50.0, "kn-25", AIR)
    assert (again.burn_scale, again.pitch_deg, again.azimuth_deg) == (
        near.burn_scale, near.pitch_deg, near.azimuth_deg,
    )  # fmt: skip


def test_vacuum_flies_as_before_the_air() -> None:
    """The default model: no drag, no pull-up, no separation coast (and no warm start)."""
    s = get_site("pyongsong")
    args = (s.lat_deg, s.lon_deg, 76.0, 950.0, 4475.0, "hwasong-15")
    vacuum = solve_trajectory(*args)
    assert vacuum is solve_trajectory(*args, Physics.VACUUM)
    spec = get_missile("hwasong-15")
    assert vacuum.burnout_s == spec.burn_s == spec.in_vacuum().boost_s
    air = solve_trajectory(*args, AIR)
    assert air.burnout_s == spec.boost_s > spec.burn_s
    kn23 = get_missile("kn-23").in_vacuum()
    assert kn23.pullup is None and kn23.drag == NO_DRAG
    # each flight still hits the reported range and apogee
    for traj in (vacuum, air):
        assert traj.range_km == pytest.approx(950.0, rel=1e-3)
        assert traj.apogee_km == pytest.approx(4475.0, rel=1e-3)


def test_a_vacuum_solve_near_a_site_ignores_the_sites_solution() -> None:
    # Vacuum flights stay those solved from the Kepler guess (main's, to the bit).
    s = get_site("sunan")
    lat, lon = s.lat_deg + 0.002, s.lon_deg - 0.003
    solve._solve_cached.cache_clear()
    solve._cold_fit.cache_clear()
    solve_trajectory(lat, lon, 80.0, 350.0, 50.0, "kn-25")
    assert solve._cold_fit.cache_info().currsize == 1  # its own solve only, not the site's


def test_height_of_stacked_positions_is_the_kernels() -> None:
    points = [(39.2, 125.7, 13.5e3), (0.0, 100.0, 0.0), (89.0, -40.0, 300e3), (-35.0, 10.0, -50.0)]
    r = np.stack([geodetic_to_ecef(*p) for p in points], axis=1)  # (3, n)
    rows = height_rows(r)
    assert rows.shape == (4,)
    for k, (_, _, h) in enumerate(points):
        assert rows[k] == pytest.approx(height_m(*r[:, k]), abs=1e-6)
        assert rows[k] == pytest.approx(h, abs=30.0)  # first order in the flattening
    assert float(height_rows(r[:, 0])) == pytest.approx(rows[0])
