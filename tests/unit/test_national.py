"""National simulation: who warns when, determinism, warning contents, track life cycle."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from evaluation.truth import truth_from_launch
from producers.national import (
    NATIONS,
    NationalConfig,
    NationalSimulation,
    scenario_tag,
    simulate_all,
    simulate_nation,
    solve_launch,
)
from producers.origins import OriginCounts
from producers.report import message_id
from producers.scenario_file import load_scenario
from sim.sensors import sensors_of
from tracking.propagate import from_upper_triangle
from tracking.tracker import TrackerConfig
from trilink.codec import Codec
from trilink.geodesy import distance_bearing
from trilink.model import DataMode, MissileWarning, Nation, TrackStatus
from trilink.physics import Physics


@pytest.fixture(scope="module")
def sunan() -> tuple:  # type: ignore[type-arg]
    scenario = load_scenario("sunan-srbm", 4)
    (event,) = scenario.launches
    return event, solve_launch(event), simulate_all(scenario.launches)


def _json(warnings: list[MissileWarning]) -> list[str]:
    return [json.dumps(w.to_dict(), sort_keys=True) for w in warnings]


def test_korea_warns_during_the_boost_and_japan_late_or_never(sunan) -> None:  # type: ignore[no-untyped-def]
    event, trajectory, warnings = sunan
    first = {n: min((w.reported_us for w in ws), default=None) for n, ws in warnings.items()}
    kor = first[Nation.KOR]
    assert kor is not None
    kor_s = (kor - event.launch_time_us) / 1e6
    # B's KN-23 climbs through the 4/3-Earth horizon of the nearest radar (~250 km) at
    # ~16 s; three hits, then sensor and processing latency.
    assert kor_s < 30.0 and kor_s < trajectory.burnout_s
    jpn = first[Nation.JPN]
    assert jpn is None or (jpn - event.launch_time_us) / 1e6 > 60.0
    initial = next(w for w in warnings[Nation.KOR] if w.status is TrackStatus.INITIAL)
    assert initial.launch is not None
    km, _ = distance_bearing(
        event.site_lat_deg, event.site_lon_deg, initial.launch.lat_deg, initial.launch.lon_deg
    )
    assert km / 1000.0 < initial.launch.ellipse.semi_major_km


def test_a_track_reports_boosting_until_burnout_without_flicker() -> None:
    # Six KN-23s fired 4 s apart: a radar that sees the thrust only across its line of
    # sight leaves the IMM's mode flickering between scans; the reports must not.
    scenario = load_scenario("scenarios/battery/ripple-kn23-6x4s.yaml", 0)
    burnout = solve_launch(scenario.launches[0]).burnout_s
    warnings = simulate_nation(scenario.launches, Nation.KOR)
    by_track: dict[str, list[MissileWarning]] = {}
    for w in sorted(warnings, key=lambda w: w.sequence):
        by_track.setdefault(w.track_id, []).append(w)
    assert len(by_track) == len(scenario.launches)
    first = min(e.launch_time_us for e in scenario.launches)
    for reports in by_track.values():
        # The first report may come before the IMM has judged the thrust (its prior is
        # even); from then on: True while thrusting, then False for good.
        flags = [w.boosting for w in reports[1:]]
        assert flags == sorted(flags, reverse=True), flags
        assert flags[0], "seen during the boost"
        assert not flags[-1]
    assert all((w.observed_us - first) / 1e6 < 2 * burnout + 60 for w in warnings if w.boosting)


def test_detection_origins_are_a_side_output(sunan) -> None:  # type: ignore[no-untyped-def]
    # Recording origins changes no warning; each track's detections are all its launch's.
    event, _, warnings = sunan
    origins: OriginCounts = {}
    again = simulate_all([event], origins=origins)
    for nation in NATIONS:
        assert _json(again[nation]) == _json(warnings[nation])
    tracks = {(w.nation, w.track_id) for ws in warnings.values() for w in ws}
    assert set(origins) == tracks
    for counts in origins.values():
        assert set(counts) == {event.launch_id} and counts[event.launch_id] >= 3


def test_sbirs_only_reports_come_from_the_boost(sunan) -> None:  # type: ignore[no-untyped-def]
    # Reported at confirmation whatever the velocity's uncertainty and the estimate's
    # early swings, SBIRS warns of the launch before the radars see it, and only while
    # the missile burns.
    event, trajectory, _ = sunan
    eager = NationalConfig(report_velocity_sigma_mps=1e9, report_plausible_updates=0)
    warnings = {Nation.USA: simulate_nation([event], Nation.USA, config=eager)}
    ir = {s.name for s in sensors_of(Nation.USA) if s.boost_only}
    ir_only = [w for w in warnings[Nation.USA] if set(w.sensors) <= ir]
    assert ir_only, "SBIRS reports the launch before the radars see it"
    burnout_us = event.launch_time_us + trajectory.burnout_s * 1e6
    assert all(w.observed_us < burnout_us for w in ir_only)
    assert all(w.boosting for w in ir_only if w.status is not TrackStatus.INITIAL)


def test_a_first_report_knows_its_velocity_as_a_radar_track_does(sunan) -> None:  # type: ignore[no-untyped-def]
    """No nation's first report of a track is vaguer in velocity than
    ``NationalConfig.report_velocity_sigma_mps``: the US track of this launch, confirmed
    on SBIRS lines of sight at +-1 km/s, is first reported once its data fix it."""
    _, _, warnings = sunan
    limit = NationalConfig().report_velocity_sigma_mps
    for ws in warnings.values():
        firsts = [w for w in ws if w.status is TrackStatus.INITIAL]
        assert firsts
        for w in firsts:
            p = np.asarray(from_upper_triangle(w.covariance))
            assert np.trace(p[3:6, 3:6]) <= 3.0 * limit * limit * (1.0 + 1e-9)


def test_warning_contents_and_life_cycle(sunan) -> None:  # type: ignore[no-untyped-def]
    event, trajectory, warnings = sunan
    codec = Codec()
    for nation, ws in warnings.items():
        by_track: dict[str, list[MissileWarning]] = {}
        for w in ws:
            by_track.setdefault(w.track_id, []).append(w)
            assert w.nation is nation and w.track_id.startswith(f"{nation.value}-")
            assert w.scenario_id == "sunan-srbm" and w.data_mode is DataMode.SIMULATED
            assert w.reported_us > w.observed_us
            assert 0 <= w.quality <= 15
            assert np.all(np.linalg.eigvalsh(from_upper_triangle(w.covariance)) > 0.0)
            assert w.message_id == message_id(nation, w.track_id, w.sequence, w.scenario_id)
            assert uuid.UUID(w.message_id).version == 5
            assert w.sensors and all(s.startswith(nation.value) for s in w.sensors)
            assert codec.decode(codec.encode(w), MissileWarning) == w
        for track in by_track.values():
            assert [w.sequence for w in track] == list(range(1, len(track) + 1))
            assert track[0].status is TrackStatus.INITIAL
            assert track[-1].status in (TrackStatus.IMPACTED, TrackStatus.LOST)
            assert all(w.status is TrackStatus.UPDATE for w in track[1:-1])
    kor = [w for w in warnings[Nation.KOR] if w.status is TrackStatus.UPDATE]
    last = kor[-1]
    assert last.impact is not None and not last.boosting
    km, _ = distance_bearing(
        trajectory.impact_lat_deg, trajectory.impact_lon_deg, last.impact.lat_deg,
        last.impact.lon_deg,
    )  # fmt: skip
    assert km / 1000.0 < max(1.0, 2.0 * last.impact.ellipse.semi_major_km)
    impact_us = event.launch_time_us + trajectory.flight_time_s * 1e6
    assert abs(last.impact.time_us - impact_us) < 2e6
    end = warnings[Nation.KOR][-1]
    assert end.status is TrackStatus.IMPACTED and end.reported_us >= last.impact.time_us
    assert last.missile_class.value == "SRBM"


def test_same_seed_gives_byte_identical_warnings() -> None:
    scenario = load_scenario("tight-salvo", 11)
    codec = Codec()
    for nation in (Nation.KOR, Nation.USA):
        a = simulate_nation(scenario.launches, nation)
        b = simulate_nation(load_scenario("tight-salvo", 11).launches, nation)
        assert _json(a) == _json(b)
        assert [codec.encode(w) for w in a] == [codec.encode(w) for w in b]
    other = simulate_nation(load_scenario("tight-salvo", 12).launches, Nation.KOR)
    assert _json(other) != _json(simulate_nation(scenario.launches, Nation.KOR))


def test_stepping_and_launch_order_do_not_change_the_warnings() -> None:
    scenario = load_scenario("tight-salvo", 3)
    reference = _json(simulate_nation(scenario.launches, Nation.USA))
    rnd = random.Random(5)
    sim = NationalSimulation(Nation.USA)
    events = list(scenario.launches)
    rnd.shuffle(events)  # Kafka partitions deliver a salvo in any order
    out: list[MissileWarning] = []
    t = scenario.start_us - 600_000_000
    for event in events:
        t += rnd.randint(0, 100_000_000)
        out += sim.advance(min(t, scenario.start_us - 1))
        sim.add_launch(event)
    t = scenario.start_us
    while not sim.idle:
        t += rnd.randint(1, 15_000_000)
        out += sim.advance(t)
        assert all(w.reported_us <= t for w in out)
    assert _json(out) == reference


def test_a_launch_added_after_its_flight_is_not_seen() -> None:
    scenario = load_scenario("sunan-srbm", 1)
    sim = NationalSimulation(Nation.KOR)
    sim.advance(scenario.start_us + 600_000_000)
    sim.add_launch(scenario.launches[0])
    assert sim.finish() == []


def test_track_ids_depend_on_the_scenario_only() -> None:
    """A restarted producer replays a scenario alone: its tracks must get the ids they
    had when other scenarios ran before it, and two scenarios must never share one."""
    first = load_scenario("sunan-srbm", 1)
    salvo = load_scenario("tight-salvo", 2)
    alone = simulate_nation(salvo.launches, Nation.KOR)
    after = simulate_nation([*first.launches, *salvo.launches], Nation.KOR)
    ids = {w.track_id for w in alone}
    tag = scenario_tag(salvo.scenario_id, salvo.start_us)
    assert ids == {f"KOR-{tag}-{n:04d}" for n in range(1, len(ids) + 1)}
    assert _json([w for w in after if w.scenario_id == salvo.scenario_id]) == _json(alone)
    other = simulate_nation(first.launches, Nation.KOR)
    assert other and not ids & {w.track_id for w in other}
    # The same scenario started elsewhere in time is another scenario.
    moved = simulate_nation(salvo.at(salvo.start_us + 3_600_000_000).launches, Nation.KOR)
    assert not ids & {w.track_id for w in moved}


def test_every_nation_reports_something_for_a_salvo_over_japan() -> None:
    scenario = load_scenario("2022-10-04", 2)
    warnings = simulate_all(scenario.launches)
    assert set(warnings) == set(NATIONS)
    for nation in NATIONS:
        assert warnings[nation], f"{nation} sees the IRBM over Japan"
        classes = {w.missile_class.value for w in warnings[nation] if not w.boosting}
        assert "IRBM" in classes


def test_a_track_on_a_ripple_s_blended_plumes_waits_until_it_follows_one() -> None:
    """The 2024-05-29 salvo (18 KN-25 from Sunan within a minute): SBIRS cannot
    resolve the plumes on the common path, and a US track fed by them wanders from
    missile to missile. Held until its estimate has climbed while thrusting for a few
    updates (``tracking.plausibility.plausible``), fewer such tracks are reported while they
    still wander: 7 over these seeds, 16 without the hold."""
    wandering = 0
    for seed in range(10):
        sim = NationalSimulation(Nation.USA, record_origins=True)
        for event in load_scenario("2024-05-29", seed).launches:
            sim.add_launch(event)
        first: dict[str, int] = {}
        for w in sim.finish():
            first[w.track_id] = min(first.get(w.track_id, w.observed_us), w.observed_us)
        for (_, track_id), detections in sim.origin_times().items():
            if track_id in first:
                own = Counter(o for _, o in detections).most_common(1)[0][0]
                others = sum(1 for t, o in detections if t > first[track_id] and o != own)
                wandering += others >= 3
    assert wandering < 12


def test_radar_tracks_of_a_battery_s_missiles_leave_ambiguous_detections_alone() -> None:
    """Six KN-25 from launchers 300 m apart: Korea's radars measure range to 25-40 m
    but angles only to 400-600 m there, and two missiles side by side often fit one
    track about as well as the other. A track that takes its neighbour's detection
    each time the choice is a coin toss is pulled between the two missiles; holding
    such detections (``tracking.ambiguity``) lets the radars that do tell them
    apart keep the tracks on their own: over seeds 0-4, 7.1% of the detections Korea's
    tracks took were another missile's, 10.2% without the hold."""
    foreign = taken = 0
    for seed in range(5):
        sim = NationalSimulation(Nation.KOR, record_origins=True)
        for event in load_scenario("scenarios/battery/close-launchers.yaml", seed).launches:
            sim.add_launch(event)
        sim.finish()
        for detections in sim.origin_times().values():
            counts = Counter(o for _, o in detections)
            taken += sum(counts.values())
            foreign += sum(counts.values()) - counts.most_common(1)[0][1]
    assert foreign / taken < 0.085


def _impact_rms_m(estimate_drag: bool) -> float:
    # Korea's tracks of a KN-25 ripple in the atmosphere model: the last impact each
    # reported, against the impact of the missile behind most of its detections.
    errors = []
    for seed in range(2):
        scenario = load_scenario("scenarios/battery/ripple-kn25-8x3s.yaml", seed)
        scenario = scenario.with_physics(Physics.ATMOSPHERE)
        truth = {
            e.launch_id: truth_from_launch(e, solve_launch(e, Physics.ATMOSPHERE))
            for e in scenario.launches
        }
        config = NationalConfig(
            physics=Physics.ATMOSPHERE, tracker=TrackerConfig(estimate_drag=estimate_drag)
        )
        sim = NationalSimulation(Nation.KOR, config=config, record_origins=True)
        for event in scenario.launches:
            sim.add_launch(event)
        last = {w.track_id: w.impact for w in sim.finish() if w.impact is not None}
        for (_, track_id), detections in sim.origin_times().items():
            own = Counter(o for _, o in detections).most_common(1)[0][0]
            if track_id in last and own is not None:
                point, missile = last[track_id], truth[own]
                errors.append(
                    distance_bearing(
                        point.lat_deg, point.lon_deg, missile.impact_lat_deg, missile.impact_lon_deg
                    )[0]
                )
    assert len(errors) >= 12
    return float(np.sqrt(np.mean(np.square(errors))))


def test_a_tracker_that_estimates_the_body_s_drag_predicts_the_impact_better() -> None:
    """A KN-25 re-enters with 1.5 times the nominal body's ballistic coefficient (two
    thirds of its drag): flown as the nominal body, Korea's last impact predictions
    over seeds 0-1 are off by 1.08 km RMS; estimating the drag scale
    (``TrackerConfig.estimate_drag``) brings them to 0.64 km."""
    assert _impact_rms_m(True) < 0.8 * _impact_rms_m(False)


def test_a_radar_hands_its_blends_to_the_tracker_and_an_infrared_sensor_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Six KN-25 fired 300 m apart blend in the radars' beams and in the US satellites'
    pixels (258 radar and 8 infrared blended detections for Korea and the US, seed 0):
    radar scans hand theirs to the tracker flagged; no infrared scan does (its blends
    are read as point sources)."""
    from measurement.models import MeasurementKind
    from tracking.tracker import Tracker

    flagged: list[tuple[MeasurementKind, int]] = []
    scan = Tracker.scan

    def spy(self, sensor, t_us, z, blends=None):  # type: ignore[no-untyped-def]
        if blends is not None:
            assert blends.mask.shape == (len(z),) and blends.mask.any()
            assert blends.model.sigma[1] > sensor.model.sigma[1]
            flagged.append((sensor.model.kind, int(blends.mask.sum())))
        return scan(self, sensor, t_us, z, blends)

    monkeypatch.setattr(Tracker, "scan", spy)
    path = Path(__file__).parents[2] / "scenarios" / "battery" / "close-launchers.yaml"
    launches = load_scenario(path, seed=0).launches
    for nation in (Nation.KOR, Nation.USA):
        simulate_nation(launches, nation)
    assert flagged and {kind for kind, _ in flagged} == {MeasurementKind.RADAR}
