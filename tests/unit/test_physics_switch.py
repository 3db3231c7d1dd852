"""The flight-model switch: chosen with the scenario or the CLI, carried everywhere."""

from __future__ import annotations

import pytest

from bridge.association import Gate
from bridge.config import EngineConfig, GateConfig
from producers.errors import ScenarioError
from producers.national import NationalConfig, NationalSimulation, solve_launch
from producers.scenario_file import scenario_from_mapping
from trilink.errors import ConfigError
from trilink.model import Nation
from trilink.physics import DEFAULT_PHYSICS, Physics

DOC = {
    "scenario_id": "one-icbm",
    "launches": [
        {"site": "pyongsong", "missile": "hwasong-15", "bearing_deg": 76.0}
        | {"range_km": 950.0, "apogee_km": 4475.0}
    ],
}


def test_vacuum_is_the_default_and_names_parse() -> None:
    assert DEFAULT_PHYSICS is Physics.VACUUM and not Physics.VACUUM.air
    assert Physics.ATMOSPHERE.air
    assert Physics.parse(" Atmosphere ") is Physics.ATMOSPHERE
    with pytest.raises(ConfigError, match="vacuum, atmosphere"):
        Physics.parse("drag")


def test_a_scenario_file_chooses_its_model_and_keeps_it() -> None:
    assert scenario_from_mapping(DOC, "x").physics is Physics.VACUUM
    air = scenario_from_mapping({**DOC, "physics": "atmosphere"}, "x")
    assert air.physics is Physics.ATMOSPHERE
    assert air.with_seed(3).physics is air.at(0).physics is Physics.ATMOSPHERE
    assert air.with_physics(None) is air
    assert air.with_physics(Physics.VACUUM).physics is Physics.VACUUM
    with pytest.raises(ScenarioError, match="one-icbm: physics must be one of"):
        scenario_from_mapping({**DOC, "physics": "plasma"}, "x")


def test_the_model_reaches_the_truth_the_trackers_and_the_bridge() -> None:
    (event,) = scenario_from_mapping(DOC, "x").launches
    spec_burn_s = 270.0  # two stages, 150 s + 120 s; the air adds a 2 s separation coast
    assert solve_launch(event).burnout_s == spec_burn_s
    assert solve_launch(event, Physics.ATMOSPHERE).burnout_s == spec_burn_s + 2.0
    sim = NationalSimulation(Nation.KOR, config=NationalConfig(physics=Physics.ATMOSPHERE))
    sim.add_launch(event)
    (theatre,) = sim._theatres.values()
    assert theatre.tracker._air
    assert not Gate(GateConfig()).propagator.air
    assert Gate(GateConfig(), Physics.ATMOSPHERE).propagator.air
    assert EngineConfig().physics is Physics.VACUUM
