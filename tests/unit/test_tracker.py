"""National tracker: batched EKF steps, association in a tight salvo, track management, class."""

from __future__ import annotations

import ast
import inspect
import math
from pathlib import Path

import numpy as np
import pytest

import tracking.tracker as tracker_module
from evaluation.synthetic import ballistic_missile
from measurement import models as measurement_models
from producers.national import NATIONS, simulate_nation, solve_launch
from producers.scenario_file import load_scenario
from sim.sensors import Sensor, get_sensor, observe, seed_sequence
from sim.solve import solve_trajectory
from tests.factories import make_launch
from tracking import ambiguity, ekf, plausibility
from tracking.blends import Blends
from tracking.classify import classify, potential_range_km
from tracking.impact import crossing
from tracking.propagate import ground_crossing, propagate, propagate_state
from tracking.tracker import Stage, Tracker, TrackerConfig
from trilink.air import height_rows
from trilink.constants import US
from trilink.geodesy import FloatArray, distance_bearing, ecef_to_geodetic, geodetic_to_ecef
from trilink.model import MissileClass, MissileWarning, Nation
from trilink.physics import Physics


def _state(lat: float, lon: float, alt_m: float, v: tuple[float, float, float]) -> np.ndarray:
    return np.concatenate([geodetic_to_ecef(lat, lon, alt_m), v])


@pytest.mark.parametrize("air", [False, True])
@pytest.mark.parametrize("dt", [0.0, 0.5, 7.3, -12.0, 60.0])
def test_batched_propagation_matches_the_shared_propagator(dt: float, air: bool) -> None:
    x = np.stack(
        [_state(39.5, 127.0, 80e3, (900.0, 200.0, 1500.0)), _state(40.0, 135.0, 900e3, (3e3, 0, 0))]
    )
    p = np.stack([np.diag([1e4, 2e4, 3e4, 25.0, 36.0, 49.0])] * 2)
    p[0, 0, 3] = p[0, 3, 0] = 100.0
    xs, ps = ekf.propagate_many(x, p, np.array([dt, dt]), np.array([3.0, 0.0]), air=air)
    for i, q in enumerate((3.0, 0.0)):
        x1, p1 = propagate(x[i], p[i], dt, q, air=air)
        if not air:
            assert np.allclose(xs[i], x1, rtol=0, atol=1e-6)
            assert np.allclose(ps[i], p1, rtol=1e-9, atol=1e-9)
            continue
        # Rows of a batch share their step count, and a row in the air (the first, at
        # 80 km) shortens everyone's steps: the second-order transitions then agree to
        # ~1e-6 of the variances (1e-4 of the small cross terms), not to rounding.
        assert np.allclose(xs[i], x1, rtol=0, atol=1e-3)
        scale = np.sqrt(np.outer(np.diag(p1), np.diag(p1)))  # compare as correlations
        assert np.all(np.abs(ps[i] - p1) <= 1e-4 * scale)


def test_rows_with_different_steps_propagate_independently() -> None:
    x = np.stack([_state(39.5, 127.0, 80e3, (900.0, 200.0, 1500.0))] * 2)
    p = np.stack([np.eye(6) * 100.0] * 2)
    xs, ps = ekf.propagate_many(x, p, np.array([0.0, 3.0]), np.zeros(2))
    assert np.array_equal(xs[0], x[0]) and np.array_equal(ps[0], p[0])
    assert np.allclose(xs[1], propagate(x[1], p[1], 3.0)[0], atol=1e-6)


def test_a_thrust_input_accelerates_along_the_velocity() -> None:
    x = _state(39.3, 127.8, 45e3, (1500.0, 300.0, 200.0))[None].repeat(2, axis=0)
    p = np.broadcast_to(np.eye(6), (2, 6, 6)).copy()
    xs, _ = ekf.propagate_many(
        x, p, np.array([4.0, 4.0]), np.zeros(2), thrust=np.array([30.0, 0.0])
    )
    gained = xs[0] - xs[1]
    v_hat = x[0, 3:] / np.linalg.norm(x[0, 3:])
    assert float(gained[:3] @ v_hat) == pytest.approx(0.5 * 30.0 * 16.0, rel=0.02)
    assert float(gained[3:] @ v_hat) == pytest.approx(30.0 * 4.0, rel=0.02)


def test_kalman_update_shrinks_the_covariance_and_is_consistent() -> None:
    model = get_sensor("KOR-GREEN-PINE-CHUNGBUK").model
    rng = np.random.default_rng(0)
    truth = _state(39.3, 127.8, 45e3, (1500.0, 300.0, 200.0))
    p0 = np.diag([500.0**2] * 3 + [100.0**2] * 3)
    x = truth + rng.multivariate_normal(np.zeros(6), p0, size=400)
    z = measurement_models.measure(
        model, np.broadcast_to(truth[:3], (400, 3)), np.broadcast_to(truth[3:], (400, 3))
    )
    z += rng.standard_normal(z.shape) * np.asarray(model.sigma)
    up = ekf.kalman_update(model, x, np.broadcast_to(p0, (400, 6, 6)).copy(), z)
    assert np.all(np.trace(up.p, axis1=1, axis2=2) < np.trace(p0))
    assert up.nis.mean() == pytest.approx(model.dim, rel=0.15)  # range, angles, range rate
    assert ekf.nees(up.x, up.p, truth).mean() == pytest.approx(6.0, rel=0.15)


@pytest.mark.parametrize("apart_m", [300.0, 1200.0])
def test_a_nearest_neighbour_choice_among_close_objects_keeps_the_covariance_honest(
    apart_m: float,
) -> None:
    # A second object a few hundred metres from the track's own, both detected: the
    # nearest detection is sometimes the other's. The Kalman covariance alone claims
    # an accuracy the choice does not have (NEES far above 6); with the spread of the
    # gated innovations added it is consistent again.
    model = get_sensor("KOR-GREEN-PINE-CHUNGBUK").model
    rng = np.random.default_rng(0)
    n = 2000
    truth = _state(39.3, 127.8, 45e3, (1500.0, 300.0, 200.0))
    p0 = np.diag([500.0**2] * 3 + [100.0**2] * 3)
    x = truth + rng.multivariate_normal(np.zeros(6), p0, size=n)
    p = np.broadcast_to(p0, (n, 6, 6)).copy()
    los = (truth[:3] - model.origin) / np.linalg.norm(truth[:3] - model.origin)
    other = truth.copy()
    other[:3] += apart_m * (np.array([0.0, 0.0, 1.0]) + 0.2 * los)
    z_true = measurement_models.measure(
        model, np.stack([truth[:3], other[:3]]), np.stack([truth[3:], other[3:]])
    )
    z = z_true[None] + rng.standard_normal((n, 2, model.dim)) * np.asarray(model.sigma)
    pred = ekf.Predicted.of(model, x, p)
    nu = measurement_models.innovation(model, z, pred.z_hat[:, None, :])
    d2 = np.einsum("nmi,nij,nmj->nm", nu, pred.s_inv, nu)
    chosen = d2.argmin(axis=1)
    assert 0.05 < (chosen == 1).mean() < 0.5  # the choice really is ambiguous
    rows = np.arange(n)
    up = ekf.kalman_update_predicted(
        model, x, p, pred.jac, pred.s_inv, nu[rows, chosen], d2[rows, chosen], pred.logdet
    )
    gate = Tracker(TrackerConfig(), str)._gate[model.dim]
    spread = ekf.association_spread(p, pred.jac, pred.s_inv, nu, d2, chosen, gate)
    assert ekf.nees(up.x, up.p, truth).mean() > 25.0
    assert ekf.nees(up.x, up.p + spread, truth).mean() < 8.0


def test_the_spread_is_zero_for_a_detection_alone_in_its_gate() -> None:
    model = get_sensor("KOR-GREEN-PINE-CHUNGBUK").model
    x = _state(39.3, 127.8, 45e3, (1500.0, 300.0, 200.0))[None]
    p = np.diag([500.0**2] * 3 + [100.0**2] * 3)[None]
    pred = ekf.Predicted.of(model, x, p)
    far = pred.z_hat.copy()
    far[0, 0] += 50e3  # 50 km further in range: outside any gate
    z = np.stack([pred.z_hat, far], axis=1)
    nu = measurement_models.innovation(model, z, pred.z_hat[:, None])
    d2 = np.einsum("nmi,nij,nmj->nm", nu, pred.s_inv, nu)
    spread = ekf.association_spread(p, pred.jac, pred.s_inv, nu, d2, np.array([0]), 20.0)
    assert not spread.any()


@pytest.mark.parametrize("seed", [0, 3, 6])
def test_the_boost_model_estimates_the_thrust_and_forgets_it_after_burnout(seed: int) -> None:
    # A Hwasong-12 seen by a Green Pine radar from 80 s: the thrust the boost model flies
    # follows the true acceleration along the velocity (21 -> 54 m/s² over the last
    # minute of the burn) and decays once the motor is out.
    event = make_launch(missile="hwasong-12", missile_class=MissileClass.IRBM)
    trajectory = solve_launch(event)
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    rng = np.random.default_rng(seed_sequence(seed, sensor.name))
    det = observe(sensor, trajectory, event.launch_time_us, event.scenario_start_us, rng)
    ids = iter(f"T{i}" for i in range(100))
    tracker = Tracker(TrackerConfig(), lambda: next(ids))
    ratios, after = [], []
    for t, z in zip(det.times_us.tolist(), det.z, strict=True):
        tracker.scan(sensor, t, z[None])
        ts = (t - event.launch_time_us) / 1e6
        (track,) = tracker.tracks
        _, v0 = trajectory.state_at(ts - 0.5)
        _, v1 = trajectory.state_at(ts + 0.5)
        true = float(np.dot(v1 - v0, v1) / np.linalg.norm(v1))
        if 95.0 <= ts <= 130.0:
            ratios.append(track.thrust / true)
        elif ts >= trajectory.burnout_s + 40.0:
            after.append(track.thrust)
    assert 0.5 < float(np.median(ratios)) < 2.0
    assert after and max(after) < 2.0


def test_the_tracker_sees_only_sensor_time_and_measurements() -> None:
    # Structural: the scan API carries no truth, and the module knows no launch records.
    params = list(inspect.signature(Tracker.scan).parameters)
    assert params == ["self", "sensor", "t_us", "z", "blends"]
    for module in (tracker_module, plausibility):
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not any(m.startswith(("sim", "producers", "trilink.model")) for m in imported)


def test_a_lone_detection_never_becomes_a_track() -> None:
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    ids = iter(f"T{i}" for i in range(100))
    tracker = Tracker(TrackerConfig(), lambda: next(ids))
    z = measurement_models.measure(
        sensor.model, geodetic_to_ecef(39.3, 126.5, 30e3)[None], np.zeros((1, 3))
    )
    tracker.scan(sensor, 0, z)
    assert [t.stage for t in tracker.tracks] == [Stage.TENTATIVE]
    for k in range(1, 8):  # the target stays in coverage but is never seen again
        tracker.scan(sensor, k * sensor.revisit_us, np.zeros((0, sensor.model.dim)))
    assert tracker.tracks == []


def test_a_blended_detection_is_read_with_the_resolution_cell_as_noise() -> None:
    """A track fed one object's detections, then a detection the radar flags as a blend
    of unresolved objects (at their centroid, 0.15 beamwidths off): read with the cell's
    noise it moves the track less and leaves it a wider covariance than the same
    detection read as a point target's; the blend's tracks start wider too."""
    sensor = get_sensor("USA-TPY2-SEONGJU")
    cell = measurement_models.blended(sensor.model, sensor.range_res_m, sensor.angle_res_rad)
    assert cell.sigma == sensor.blend_model.sigma
    assert cell.sigma[1] > 5 * sensor.model.sigma[1] and cell.sigma[3] == sensor.model.sigma[3]

    missile = ballistic_missile("A", 0)

    def run(blend: bool) -> tuple[np.ndarray, np.ndarray]:
        ids = iter(f"T{i}" for i in range(100))
        tracker = Tracker(TrackerConfig(), lambda: next(ids))
        for k in range(8):
            t = 60 * US + k * sensor.revisit_us
            x = missile.truth(t)
            z = measurement_models.measure(sensor.model, x[None, :3], x[None, 3:])
            if k < 7:
                tracker.scan(sensor, t, z)
        z[0, 1] += 0.15 * sensor.angle_res_rad
        blends = Blends(np.array([True]), sensor.blend_model) if blend else None
        out = tracker.scan(sensor, t, z, blends)
        assert len(out.updated) == 1
        return out.x[0][:3] - x[:3], out.p[0][:3, :3]

    pulled, tight = run(False)
    held, wide = run(True)
    assert np.linalg.norm(held) < 0.5 * np.linalg.norm(pulled)
    assert np.trace(wide) > np.trace(tight)

    ids = iter(f"T{i}" for i in range(100))
    tracker = Tracker(TrackerConfig(), lambda: next(ids))
    r = np.stack([geodetic_to_ecef(39.3, 126.5, 30e3), geodetic_to_ecef(38.6, 125.4, 30e3)])
    z = measurement_models.measure(sensor.model, r, np.zeros_like(r))
    started = tracker.scan(sensor, 0, z, Blends(np.array([True, False]), sensor.blend_model))
    (a, _), (b, _) = started.started
    assert np.trace(a.p[0][:3, :3]) > 10 * np.trace(b.p[0][:3, :3])


def test_a_scan_says_which_detection_row_each_track_took() -> None:
    # Two targets far apart, seen in a different row order on the second scan.
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    ids = iter(f"T{i}" for i in range(100))
    tracker = Tracker(TrackerConfig(), lambda: next(ids))
    r = np.stack([geodetic_to_ecef(39.3, 126.5, 30e3), geodetic_to_ecef(38.6, 125.4, 30e3)])
    z = measurement_models.measure(sensor.model, r, np.zeros_like(r))
    first = tracker.scan(sensor, 0, z)
    assert [row for _, row in first.started] == [0, 1] and first.rows == []
    near, far = (t for t, _ in first.started)
    second = tracker.scan(sensor, sensor.revisit_us, z[::-1])
    took = dict(zip((t.serial for t in second.updated), second.rows, strict=True))
    assert took == {near.serial: 1, far.serial: 0} and second.started == []


def _truth_of(warning: MissileWarning, truths: list) -> str:  # type: ignore[type-arg]
    best = None
    for event, trajectory in truths:
        t = (warning.observed_us - event.launch_time_us) / 1e6
        if 0.0 <= t <= trajectory.flight_time_s:
            r, _ = trajectory.state_at(t)
            d = float(np.linalg.norm(r - np.array(warning.position_m)))
            if best is None or d < best[0]:
                best = (d, event.launch_id)
    assert best is not None
    return best[1]


@pytest.mark.parametrize("seed", [0, 1])
def test_tight_salvo_gives_one_track_per_missile_per_nation(seed: int) -> None:
    scenario = load_scenario("tight-salvo", seed)
    truths = [(e, solve_launch(e)) for e in scenario.launches]
    for nation in NATIONS:
        warnings = simulate_nation(scenario.launches, nation)
        if not warnings:
            continue
        owner: dict[str, set[str]] = {}
        for w in warnings:
            owner.setdefault(w.track_id, set()).add(_truth_of(w, truths))
        assert all(len(v) == 1 for v in owner.values()), f"{nation}: a track mixes missiles"
        missiles = [next(iter(v)) for v in owner.values()]
        assert len(missiles) == len(set(missiles)), f"{nation}: a missile has two tracks"
        if nation in (Nation.KOR, Nation.USA):
            assert len(owner) == 4, f"{nation} sees the whole salvo"


def test_class_from_energy() -> None:
    cases = [
        ((39.2, 125.75, 80, 400, 50, "hwasong-11a"), MissileClass.SRBM),
        ((40.0, 127.9, 80, 4500, 970, "new-irbm-2022"), MissileClass.IRBM),
        ((39.2, 125.75, 80, 950, 4475, "hwasong-15"), MissileClass.ICBM),
    ]
    for args, expected in cases:
        tr = solve_trajectory(*args)
        r, v = tr.state_at(tr.burnout_s + 5.0)
        assert classify(np.concatenate([r, v]), boosting=False) is expected
    r, v = solve_trajectory(39.2, 125.75, 80, 400, 50, "hwasong-11a").state_at(20.0)
    assert classify(np.concatenate([r, v]), boosting=True) is MissileClass.UNKNOWN
    leo = _state(0.0, 0.0, 300e3, (0.0, 0.0, 7800.0))
    assert classify(leo, boosting=False) is MissileClass.SLV
    # At rest on the ground: only the Earth's spin (and a little height) to spend.
    assert potential_range_km(_state(39.0, 126.0, 0.0, (0.0, 0.0, 0.0))) < 50.0


@pytest.mark.parametrize("physics", list(Physics))
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize(
    ("shot", "t_s"),
    [
        ((39.2, 125.75, 80, 400, 50, "hwasong-11a"), 120.0),
        ((40.0, 127.9, 80, 4500, 970, "new-irbm-2022"), 600.0),
    ],
)
def test_fast_crossing_agrees_with_the_shared_one(
    shot: tuple,  # type: ignore[type-arg]
    t_s: float,
    backwards: bool,
    physics: Physics,
) -> None:
    r, v = solve_trajectory(*shot, physics).state_at(t_s)
    x = np.concatenate([r, v])
    p = np.diag([300.0**2] * 3 + [4.0**2] * 3)
    slow = ground_crossing(x, p, backwards=backwards, air=physics.air)
    fast = crossing(x, p, backwards=backwards, air=physics.air)
    assert slow is not None and fast is not None
    metres, _ = distance_bearing(slow.lat_deg, slow.lon_deg, fast.lat_deg, fast.lon_deg)
    assert metres < 10.0
    assert fast.dt_s == pytest.approx(slow.dt_s, abs=5e-3)
    # In the air the nominal drag's error enters on 2 s steps, and the two walk them at
    # different phases (their vacuum steps differ): near the ground the density changes
    # by a third within a step, so the ellipses agree to a few per cent there.
    rel = 0.05 if physics.air and not backwards else 0.01
    assert fast.semi_major_km == pytest.approx(slow.semi_major_km, rel=rel)
    assert fast.semi_minor_km == pytest.approx(slow.semi_minor_km, rel=rel)
    assert fast.sigma_t_s == pytest.approx(slow.sigma_t_s, rel=rel)
    assert crossing(np.concatenate([r * 0.5, v])) is None  # under ground


def test_an_estimate_that_thrusts_downwards_is_not_plausible() -> None:
    # 20 km above Sunan: climbing at 800 m/s, descending at 500 m/s (known to 50 m/s),
    # flying east at 800 m/s while descending at 50 m/s (known to 200 m/s: within half
    # a sigma of level flight).
    pos = geodetic_to_ecef(39.2, 125.7, 20e3)
    up = pos / np.linalg.norm(pos)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    x = np.stack(
        [np.concatenate([pos, v]) for v in (800.0 * up, -500.0 * up, 800.0 * east - 50.0 * up)]
    )
    p = np.stack([np.eye(6) * s**2 for s in (50.0, 50.0, 200.0)])
    thrusting = plausibility.plausible(x, p, np.full(3, 0.9))
    coasting = plausibility.plausible(x, p, np.full(3, 0.1))
    assert thrusting.tolist() == [True, False, True]
    assert coasting.all()  # a coasting missile descends after its apogee


def test_an_estimate_that_thrusts_slowly_high_up_is_not_plausible() -> None:
    # 13.5 km above Sunan, climbing: at 99 m/s known to 50 m/s (a track hopping between
    # a ripple's missiles where each comes into view), at 800 m/s, at 150 m/s known only
    # to 400 m/s; and at 60 m/s 1.5 km up (below any launch site's height: no bound).
    pos = geodetic_to_ecef(39.2, 125.7, 13.5e3)
    low = geodetic_to_ecef(39.2, 125.7, 1.5e3)
    x = np.stack(
        [
            np.concatenate([r, v * r / np.linalg.norm(r)])
            for r, v in ((pos, 99.0), (pos, 800.0), (pos, 150.0), (low, 60.0))
        ]
    )
    p = np.stack([np.eye(6) * s**2 for s in (50.0, 50.0, 400.0, 50.0)])
    thrusting = plausibility.plausible(x, p, np.full(4, 0.9))
    coasting = plausibility.plausible(x, p, np.full(4, 0.1))
    assert thrusting.tolist() == [False, True, True, True]
    # Coasting, the slow one is on an arc 14 km high that lands within 11 km: no
    # missile's, and it is no climb's either.
    assert coasting.tolist() == [False, True, True, True]
    # The bound is the least climb: sqrt(2 a h) over the height above any launch site.
    bound = math.sqrt(2.0 * plausibility.MIN_CLIMB_ACCEL_MPS2 * (13.5e3 - 2e3))
    assert 200.0 < bound < 99.0 + 0.5 * 400.0


@pytest.mark.parametrize(
    ("missile", "range_km", "apogee_km", "least"),
    [("hwasong-17", 1000, 6000, 5.0), ("hwasong-14", 930, 2800, 5.0), ("scud-b", 300, 80, 12.0),
     ("kn-25", 350, 50, 50.0)],
)  # fmt: skip
def test_the_climb_bound_holds_for_the_simulators_missiles(
    missile: str, range_km: float, apogee_km: float, least: float
) -> None:
    # Every kilometre of a boost in the atmosphere: |v|²/2h (h above the launch point)
    # stays above ``least``, at least 2.5 times the bound the plausibility test assumes.
    flight = solve_trajectory(39.0, 125.7, 90.0, range_km, apogee_km, missile, Physics.ATMOSPHERE)
    t = np.arange(0.5, flight.burnout_s, 0.25)
    r, v = flight.state_at(t)
    climb = height_rows(r.T) - height_rows(flight.state_at(0.0)[0])
    up = climb > 500.0
    net = np.sum(v[up] ** 2, axis=1) / (2.0 * climb[up])
    assert up.any() and float(net.min()) >= least
    assert least >= 2.5 * plausibility.MIN_CLIMB_ACCEL_MPS2


def test_an_estimate_that_hovers_while_coasting_is_not_plausible() -> None:
    # 35.8 km up, level: at 60 m/s known to 40 m/s (a radar track on a ripple's merged
    # returns where the missiles' path crosses its line of sight), at 60 m/s known only
    # to 400 m/s, and at 1,000 m/s; then falling at 60 m/s from 470 km (an ICBM's
    # lofted arc near its apogee, whose bound is small).
    level = geodetic_to_ecef(39.2, 125.7, 35.8e3)
    high = geodetic_to_ecef(39.2, 125.7, 470e3)
    up = level / np.linalg.norm(level)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    x = np.stack(
        [
            np.concatenate([r, v])
            for r, v in ((level, 60.0 * east), (level, 60.0 * east), (level, 1e3 * east),
                         (high, 60.0 * east - 5.0 * up))
        ]
    )  # fmt: skip
    p = np.stack([np.eye(6) * s**2 for s in (40.0, 400.0, 40.0, 40.0)])
    coasting = plausibility.plausible(x, p, np.full(4, 0.1))
    assert coasting.tolist() == [False, True, True, True]
    # The bound at 35.8 km: an arc 30 km long (the shortest launch on record) with its
    # apogee there flies at sqrt(g / 8H) * 30 km, above the climb's there.
    bound = float(plausibility.least_coast_speed(35.8e3, 0.0))
    assert 170.0 < bound < float(plausibility.least_climb_speed(35.8e3))
    # Held only when known slow by two sigma: 60 m/s known to 400 m/s may be anything.
    assert 60.0 + 2.0 * 40.0 < bound < 60.0 + 2.0 * 400.0


@pytest.mark.parametrize(
    ("missile", "range_km", "apogee_km"),
    [("hwasong-17", 1000, 6000), ("hwasong-11d", 110, 25), ("scud-b", 300, 80),
     ("kn-25", 350, 50), ("kn-23", 600, 50), ("kn-23", 200, 35)],
)  # fmt: skip
@pytest.mark.parametrize("physics", list(Physics))
def test_the_simulators_missiles_are_plausible_whole_flights_when_judged_coasting(
    missile: str, range_km: float, apogee_km: float, physics: Physics
) -> None:
    # Every half second from lift-off to impact, known exactly and judged coasting
    # (a tracker's judgement may lag the thrust): each state meets the smaller bound.
    # Lofted (the Hwasong-17 at 6,000 km), short and low (a Hwasong-11D at 110 km with a
    # 25 km apogee, 2022-04-16), the KN-23's pull-up and glide, in both flight models.
    flight = solve_trajectory(39.0, 125.7, 90.0, range_km, apogee_km, missile, physics)
    t = np.arange(0.5, flight.flight_time_s, 0.5)
    r, v = flight.state_at(t)
    x = np.concatenate([r, v], axis=1)
    ok = plausibility.plausible(x, np.zeros((len(t), 6, 6)), np.zeros(len(t)))
    heights = height_rows(r[~ok].T)
    assert ok.all(), [(float(s), float(h)) for s, h in zip(t[~ok], heights, strict=True)][:5]


def test_a_detection_another_track_could_have_taken_as_well_is_ambiguous() -> None:
    big = 1e12
    # Tracks 0 and 1 took detections 0 and 1; swapping them costs 2 more (ambiguous),
    # track 2's detection 2 is far from every other track.
    cost = np.array([[1.0, 2.0, big], [2.0, 2.0, big], [big, big, 0.5]])
    assert ambiguity.ambiguous(cost, {0: 0, 1: 1, 2: 2}, 6.0) == [0, 1]
    assert ambiguity.ambiguous(cost, {0: 0, 1: 1, 2: 2}, 1.0) == []
    # Track 1 took nothing (its missile went undetected) but fits detection 0 almost
    # as well as track 0 does: track 0's detection is ambiguous too.
    assert ambiguity.ambiguous(cost, {0: 0, 2: 2}, 6.0, idle=[1]) == [0]
    assert ambiguity.ambiguous(cost, {0: 0, 2: 2}, 6.0) == []


def _pair(
    sensor: Sensor, apart_m: float, boost: float, updated_us: int
) -> tuple[Tracker, list[FloatArray]]:
    # Two confirmed tracks 100 km up over North Korea, apart_m apart across the radar's
    # line of sight, on their true states, known to 100 m and 10 m/s, last updated at
    # updated_us.
    tracker = Tracker(TrackerConfig(), lambda: "T")
    r0 = geodetic_to_ecef(39.3, 127.5, 100e3)
    los = (r0 - sensor.model.origin) / np.linalg.norm(r0 - sensor.model.origin)
    across = np.cross(los, r0 / np.linalg.norm(r0))
    across /= np.linalg.norm(across)
    v = 2000.0 * across  # flying across the line of sight, side by side
    truths = [np.concatenate([r0 + k * apart_m * np.cross(across, los), v]) for k in (0, 1)]
    p = np.diag([100.0**2] * 3 + [10.0**2] * 3)
    for k, x in enumerate(truths):
        tracker.tracks.append(
            tracker_module.Track(
                serial=k,
                x=np.stack([x, x]),
                p=np.stack([p, p]),
                mu=np.array([boost, 1.0 - boost]),
                epoch_us=0,
                created_us=updated_us,
                last_update_us=updated_us,
                last_sensor=sensor.name,
                stage=Stage.CONFIRMED,
                track_id=f"T{k}",
            )
        )
    return tracker, truths


@pytest.mark.parametrize(
    ("apart_m", "boost", "updated_us", "held"),
    [
        (150.0, 1e-6, 0, True),  # inside the radar's cross-range error: coasts
        (5_000.0, 1e-6, 0, False),  # far apart: each takes its own
        (150.0, 1e-6, -4_000_000, False),  # held long enough: must not starve
        (150.0, 0.99, 0, False),  # boosting: coasting would lose its missile
    ],
)
def test_tracks_a_radar_cannot_tell_apart_coast_through_its_scan(
    apart_m: float, boost: float, updated_us: int, held: bool
) -> None:
    sensor = get_sensor("KOR-SPY1D-WEST-SEA")
    t_us = 1_000_000
    tracker, truths = _pair(sensor, apart_m, boost, updated_us)
    now = np.stack([propagate_state(x, 1.0) for x in truths])
    z = measurement_models.measure(sensor.model, now[:, 0:3], now[:, 3:6])
    result = tracker.scan(sensor, t_us, z)
    assert result.started == [], "a held detection starts no track"
    assert [t.last_update_us for t in tracker.tracks] == [updated_us if held else t_us] * 2


def test_a_drag_state_propagates_as_the_drag_it_scales() -> None:
    """The 7-state filter's propagation (the drag scale as a state): at scale 1 and
    known exactly, the kinematic six match the 6-state propagation flying the nominal
    body; the state's
    cross-covariance with the scale is the sensitivity of the flight to the scale
    (finite differences of the propagated state at scales 1.5 +- 0.01) times its
    variance (to 5%); climbing, the scale is not coupled (the body is the whole missile)."""
    x6 = _state(38.0, 132.0, 30e3, (1200.0, 300.0, -1500.0))
    p6 = np.diag([1e4, 1e4, 1e4, 25.0, 25.0, 25.0])
    x7 = np.concatenate([x6, [1.0]])
    p7 = np.zeros((7, 7))
    p7[0:6, 0:6] = p6
    dt = np.array([6.0])
    xs6, ps6 = ekf.propagate_many(x6[None], p6[None], dt, np.zeros(1), air=True)
    xs7, ps7 = ekf.propagate_many(x7[None], p7[None], dt, np.zeros(1), air=True)
    assert np.allclose(xs7[0, 0:6], xs6[0], rtol=0, atol=1e-6)
    assert xs7[0, 6] == 1.0
    assert np.allclose(ps7[0, 0:6, 0:6], ps6[0], rtol=1e-9, atol=1e-9)
    p7[6, 6] = 0.04

    def flown(scale: float) -> FloatArray:
        xa = np.concatenate([x6, [scale]])[None]
        return ekf.propagate_many(xa, p7[None], dt, np.zeros(1), air=True)[0][0, 0:6]

    sensitivity = (flown(1.51) - flown(1.49)) / 0.02
    assert np.linalg.norm(sensitivity[3:6]) > 10.0  # m/s per unit of scale: it matters
    x7[6] = 1.5
    _, ps = ekf.propagate_many(x7[None], p7[None], dt, np.zeros(1), air=True)
    # Within 5%: the transition is the midpoint-linearised second-order one.
    expected = 0.04 * sensitivity
    assert np.allclose(ps[0, 0:6, 6], expected, rtol=0.05, atol=0.05 * np.max(np.abs(expected)))

    climbing = x7.copy()
    climbing[3:6] *= -1.0
    _, ps = ekf.propagate_many(climbing[None], p7[None], dt, np.zeros(1), air=True)
    assert np.all(ps[0, 0:6, 6] == 0.0)


def test_a_radar_track_learns_the_drag_of_a_body_twice_the_nominal() -> None:
    """A body with twice the nominal drag (in the trackers' own air) falls from 40 km
    past a Korean radar that measures it every second (seeded noise): by 10 km the
    track's drag scale, begun at the nominal 1, is past 1.5 and its variance under half
    the prior's. (Seeds 0-4: 1.64-1.93, sigma 0.28; the scalar estimate that read the
    velocity each update corrected as the drag's whole miss reached 1.13-1.42, sigma
    0.37.)"""
    from tracking.propagate import propagate_state

    rng = np.random.default_rng(3)
    sensor = get_sensor("KOR-GREEN-PINE-CHUNGBUK")
    sigma = np.asarray(sensor.model.sigma)
    ids = iter(f"T{i}" for i in range(100))
    tracker = Tracker(TrackerConfig(), lambda: next(ids), physics=Physics.ATMOSPHERE)
    truth = _state(38.2, 128.6, 40e3, (-300.0, -900.0, -1800.0))
    t_us = 0
    while ecef_to_geodetic(truth[0:3])[2] > 10e3:
        z = measurement_models.measure(sensor.model, truth[None, 0:3], truth[None, 3:6])
        tracker.scan(sensor, t_us, z + rng.normal(0.0, sigma))
        truth = propagate_state(truth, 1.0, air=2.0)  # type: ignore[arg-type]
        t_us += 1_000_000
    (track,) = tracker.tracks
    assert track.drag_var is not None and track.drag_var < 0.5 * TrackerConfig().drag_sigma ** 2
    assert 1.5 < track.drag < 2.5
