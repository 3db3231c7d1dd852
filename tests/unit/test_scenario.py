"""Scenarios: built-ins, historical replays, YAML files, re-anchoring, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.errors import ScenarioError
from producers.inject import LaunchRequest, scenario_for
from producers.scenario import BUILTINS, DEFAULT_START_US
from producers.scenario_file import load_scenario
from trilink.model import LaunchEvent, MissileClass
from trilink.timeutil import parse_iso

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def _offsets_s(events: tuple[LaunchEvent, ...]) -> list[float]:
    return [(e.launch_time_us - events[0].scenario_start_us) / 1e6 for e in events]


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_builtin_loads_with_a_shared_clock(name: str) -> None:
    scenario = load_scenario(name, 3)
    assert scenario.launches
    ids = [e.launch_id for e in scenario.launches]
    assert len(ids) == len(set(ids))
    for event in scenario.launches:
        assert event.scenario_start_us == scenario.start_us <= event.launch_time_us
        assert event.scenario_id == scenario.scenario_id and event.seed == 3
    times = [e.launch_time_us for e in scenario.launches]
    assert times == sorted(times)


def test_builtin_shapes() -> None:
    sunan = load_scenario("sunan-srbm")
    (event,) = sunan.launches
    assert (event.site, event.bearing_deg, event.range_km, event.apogee_km) == (
        "sunan", 80.0, 400.0, 50.0,
    )  # fmt: skip
    assert event.missile_class is MissileClass.SRBM
    tight = load_scenario("tight-salvo")
    assert _offsets_s(tight.launches) == [0.0, 10.0, 20.0, 30.0]
    assert len({e.site for e in tight.launches}) == 1
    assert len(load_scenario("salvo-20").launches) == 20
    june = load_scenario("2022-06-05")
    assert june.scenario_id == "hist-2022-06-05" and len(june.launches) == 8
    assert len({e.site for e in june.launches}) == 4
    assert _offsets_s(june.launches)[-1] <= 35 * 60
    assert june.start_us == parse_iso("2022-06-05T00:06:00Z")
    october = load_scenario("2022-10-04")
    (irbm,) = october.launches
    assert october.scenario_id == "hist-2022-10-04"
    assert irbm.missile_class is MissileClass.IRBM and irbm.apogee_km == 970.0
    demo = load_scenario("demo")
    assert demo.launches[0].missile_class is MissileClass.IRBM
    assert [e.missile for e in demo.launches[1:]] == ["kn-25"] * 3


def test_re_anchoring_keeps_offsets_and_changes_ids() -> None:
    scenario = load_scenario("tight-salvo", 1)
    moved = scenario.at(DEFAULT_START_US + 3_600_000_000)
    assert _offsets_s(moved.launches) == _offsets_s(scenario.launches)
    assert moved.start_us == DEFAULT_START_US + 3_600_000_000
    assert not {e.launch_id for e in moved.launches} & {e.launch_id for e in scenario.launches}
    assert moved.at(scenario.start_us) == scenario
    assert scenario.with_seed(1) == scenario


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_example_files_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.launches and scenario.scenario_id


def test_yaml_file_details(tmp_path: Path) -> None:
    mixed = load_scenario(SCENARIO_DIR / "irbm-and-salvo.yaml")
    assert mixed.seed == 7 and len(mixed.launches) == 4
    assert mixed.launches[0].missile_class is MissileClass.IRBM
    custom = [e for e in mixed.launches if e.site == "custom-east-coast"]
    assert [(e.site_lat_deg, e.site_lon_deg) for e in custom] == [(39.9, 127.6)] * 2
    assert _offsets_s(mixed.launches)[1:] == [120.0, 135.0, 200.0]
    assert load_scenario(SCENARIO_DIR / "irbm-and-salvo.yaml", seed=9).seed == 9
    path = tmp_path / "named-by-file.yaml"
    path.write_text(
        "start: 2026-06-01T00:00:00Z\nlaunches:\n"
        "  - {site: sunan, bearing_deg: 80, range_km: 300, apogee_km: 50}\n"
    )
    scenario = load_scenario(path)
    assert scenario.scenario_id == "named-by-file"
    assert scenario.start_us == parse_iso("2026-06-01T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("launches: [{site: atlantis, bearing_deg: 1, range_km: 300, apogee_km: 50}]", "sunan"),
        ("launches: [{site: sunan, range_km: 300, apogee_km: 50}]", "missing bearing_deg"),
        ("launches: [{site: sunan, bearing_deg: x, range_km: 300, apogee_km: 50}]", "number"),
        ("launches: []", "no launches"),
        ("- just a list", "mapping"),
        ("launches: [{site: sunan, bearing_deg: 80, range_km: 300, apogee_km: 50", "YAML"),
        ("launches: [{site: sunan, bearing_deg: 80, range_km: 9000, apogee_km: 10}]", "sunan"),
    ],
)
def test_bad_files_fail_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "\n" not in str(info.value).strip() or message == "YAML"


def test_unknown_names_list_the_choices() -> None:
    with pytest.raises(ScenarioError, match="built-ins: sunan-srbm"):
        load_scenario("no-such-scenario")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario("/nonexistent/file.yaml")


def test_injector_requests() -> None:
    salvo = scenario_for(launch=LaunchRequest("sunan", "kn-25", 80.0, 350.0, 50.0, 3, 5.0))
    assert _offsets_s(salvo.launches) == [0.0, 5.0, 10.0]
    assert salvo.scenario_id == "inject-sunan-salvo"
    assert scenario_for(historical="2022-10-04").scenario_id == "hist-2022-10-04"
    assert scenario_for(scenario="tight-salvo", seed=4).seed == 4
    with pytest.raises(ScenarioError, match="exactly one"):
        scenario_for()
    with pytest.raises(ScenarioError, match="exactly one"):
        scenario_for(historical="2022-10-04", scenario="demo")
    with pytest.raises(ScenarioError, match="valid missiles"):
        scenario_for(launch=LaunchRequest("sunan", "scud-z", 80.0, 350.0, 50.0))
    with pytest.raises(ScenarioError, match="known UTC dates"):
        scenario_for(historical="1999-01-01")


def test_unknown_keys_in_a_scenario_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        "scenario_id: typo\nlaunches:\n  - site: sunan\n    bearing: 80\n"
        "    bearing_deg: 80\n    range_km: 300\n    apogee_km: 50\n"
    )
    with pytest.raises(ScenarioError, match=r"launch 1: unknown key bearing \(allowed: "):
        load_scenario(path)
    path.write_text("scenario_id: typo\nlaunch: []\n")
    with pytest.raises(ScenarioError, match="typo: unknown key launch"):
        load_scenario(path)


def test_malformed_yaml_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("launches:\n  - site: [sunan\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    assert "line " in str(info.value)


def test_a_salvo_size_beyond_any_raid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(
        "launches:\n  - {site: sunan, bearing_deg: 80, range_km: 300, apogee_km: 50, "
        "count: 100000000}\n"
    )
    with pytest.raises(ScenarioError, match=r"count must be a whole number in 1\.\.1000"):
        load_scenario(path)
