"""The boost model of a national track that climbs low stays in its gate
(``TrackerConfig.low_climb_boost_floor``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from producers.national import NationalConfig, simulate_nation
from producers.origins import OriginCounts
from producers.scenario_file import load_scenario
from tracking.tracker import BOOST, Tracker, TrackerConfig, _climbing_below
from trilink.geodesy import geodetic_to_ecef
from trilink.model import Nation
from trilink.physics import Physics

SCENARIO = "scenarios/battery/scud-ripple-and-er-scuds.yaml"


def _state(alt_m: float, climb_mps: float) -> np.ndarray:
    r = geodetic_to_ecef(39.0, 126.0, alt_m)
    up = r / np.linalg.norm(r)
    return np.concatenate([r, climb_mps * up])


def test_climbing_below_reads_height_and_sign_of_the_climb() -> None:
    x = np.stack(
        [
            _state(8_000.0, 400.0),  # climbing low: may thrust
            _state(8_000.0, -400.0),  # falling low: re-entry
            _state(30_000.0, 400.0),  # climbing above the ceiling
        ]
    )
    assert _climbing_below(x, 20_000.0).tolist() == [True, False, False]


def test_the_floor_lifts_only_a_low_climbing_track_judged_coasting() -> None:
    tracker = Tracker(TrackerConfig(low_climb_boost_floor=0.02), lambda: "T")
    low, falling = _state(8_000.0, 400.0), _state(8_000.0, -400.0)
    xs = np.stack([np.stack([low, low]), np.stack([falling, falling]), np.stack([low, low])])
    w = np.array([[1e-15, 1.0 - 1e-15], [1e-15, 1.0 - 1e-15], [0.7, 0.3]])
    out = tracker._floor_boost(xs, w)
    assert out[0, BOOST] == pytest.approx(0.02)
    assert out[1, BOOST] == pytest.approx(1e-15)  # a falling track is not lifted
    assert out[2, BOOST] == pytest.approx(0.7)  # nor one already thrusting
    assert np.allclose(out.sum(axis=1), 1.0)
    off = Tracker(TrackerConfig(low_climb_boost_floor=0.0), lambda: "T")
    assert np.array_equal(off._floor_boost(xs, w), w)


def _korean_tracks(floor: float) -> dict[str, dict[str | None, int]]:
    # KOR's tracks of the Scud-B ripple and ER Scuds, seed 1, in the atmosphere: the
    # detections each track took, by the launch that caused them.
    scenario = load_scenario(SCENARIO, 1).with_physics(Physics.ATMOSPHERE)
    config = NationalConfig(
        physics=Physics.ATMOSPHERE,
        tracker=replace(TrackerConfig(), low_climb_boost_floor=floor),
    )
    origins: OriginCounts = {}
    simulate_nation(scenario.launches, Nation.KOR, config=config, origins=origins)
    return {tid: dict(c) for (_, tid), c in origins.items()}


def test_a_scud_judged_coasting_in_its_first_seconds_keeps_its_one_track() -> None:
    # With no floor, KOR's first track of the ripple's first Scud-B judges it coasting
    # within two seconds, drops out of the radars' gates, coasts 15 s while a second
    # track takes the missile, and its grown gate then takes the third missile's
    # detections from that missile's own track (docs/score.md, "Stop 49").
    tracks = _korean_tracks(0.02)
    owners = [max(c, key=lambda o: c[o]) for c in tracks.values()]
    assert len(tracks) == 5 and len(set(owners)) == 5, tracks
    for counts in tracks.values():
        assert max(counts.values()) >= 0.98 * sum(counts.values()), counts
    unfloored = _korean_tracks(0.0)
    assert len(unfloored) > 5  # the case under test: without the floor KOR splits
