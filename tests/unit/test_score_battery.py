"""The battery: its scenarios load, a catalogue date is a scenario, runs are summarised
and failing ones listed; the held-out scenarios score (slow: full simulation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.battery import (
    MAX_FIRST_ALERT_DELAY_S,
    RunFigures,
    best_nation,
    run_battery,
    summarise,
)
from evaluation.scoring import offline_fuser
from producers.errors import ScenarioError
from producers.scenario_file import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BATTERY = sorted((SCENARIOS / "battery").glob("*.yaml"))
HELDOUT = sorted((SCENARIOS / "heldout").glob("*.yaml"))


def test_the_battery_and_the_held_out_set_are_there() -> None:
    assert len(BATTERY) >= 12 and len(HELDOUT) >= 4
    assert "tuning" in (SCENARIOS / "heldout" / "README.md").read_text()
    # Held-out scenarios are not copies of battery ones.
    assert not {p.name for p in BATTERY} & {p.name for p in HELDOUT}


@pytest.mark.parametrize("path", BATTERY + HELDOUT, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_battery_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path, seed=3)
    assert scenario.launches and scenario.seed == 3
    assert len({e.launch_id for e in scenario.launches}) == len(scenario.launches)


def test_a_catalogue_date_is_a_scenario() -> None:
    scenario = load_scenario("2024-05-29", seed=2)
    assert scenario.scenario_id == "hist-2024-05-29" and scenario.seed == 2
    assert len(scenario.launches) == 18
    assert {e.missile for e in scenario.launches} == {"kn-25"}
    with pytest.raises(ScenarioError, match="no historical launch"):
        load_scenario("1999-01-01")


def _run(scenario: str, seed: int, fuser: str = "trilink", **kw: object) -> RunFigures:
    base = {
        "missiles": 4,
        "system_tracks": 4,
        "raid_error": 0,
        "first_alert_delay_s": 0.0,
        "fused_rms_km": 0.1,
        "fused_n": 4,
        "national_rms_km": {"KOR": 0.2, "JPN": 0.05, "USA": 0.15},
        "national_n": {"KOR": 4, "JPN": 1, "USA": 4},
        "gospa_mean": 10.0,
    }
    return RunFigures(scenario, seed, fuser, **{**base, **kw})  # type: ignore[arg-type]


def test_a_run_fails_on_any_surplus_miscount_or_late_alert() -> None:
    assert _run("a", 0).failures() == []
    bad = _run(
        "a", 1, extra=2, merged=1, raid_error=1, first_alert_delay_s=MAX_FIRST_ALERT_DELAY_S + 4
    )
    assert bad.failures() == ["2 extra", "1 merged", "raid count off by 1", "first alert 5 s late"]
    assert not bad.clean
    assert _run("a", 2, error="boom").failures() == ["error: boom"]


def test_the_summary_has_a_row_per_scenario_a_total_and_every_failing_run() -> None:
    runs = [
        _run("a", 0),
        _run("a", 1, system_tracks=5, extra=1, fused_rms_km=0.3),
        _run("b", 0, missiles=2, system_tracks=2, gospa_mean=20.0),
        _run("b", 1, missiles=2, system_tracks=1, missed=1, first_alert_delay_s=2.5),
    ]
    s = summarise(runs, [0, 1], ["trilink"])
    # JPN is the most precise but predicts a quarter of the impacts: USA is the best.
    assert s.best_nation == "USA"
    a, b = s.rows["trilink"]
    assert (a.scenario, a.runs, a.missiles_per_run, a.tracks_min, a.tracks_max) == ("a", 2, 4, 4, 5)
    assert (a.zero_extra, a.zero_missed, a.zero_merged, a.passed) == (1, 2, 2, 1)
    assert a.fused_rms_km == pytest.approx((0.5 * (0.1**2 + 0.3**2)) ** 0.5, abs=1e-3)
    assert a.nation_rms_km == 0.15
    assert (b.first_alert_delay_max_s, b.gospa_mean) == (2.5, 15.0)
    total = s.totals["trilink"]
    assert (total.runs, total.missiles_total, total.tracks_total, total.passed) == (4, 12, 12, 2)
    assert total.missiles_per_run is None
    assert [(r.scenario, r.seed) for r in s.failing] == [("a", 1), ("b", 1)]
    assert s.to_json()["failing"][1]["failures"] == ["1 missed", "first alert 2.5 s late"]


def test_the_ellipse_holds_are_pooled_over_runs_for_the_picture_and_each_nation() -> None:
    def held(inside: int, n: int, nations: dict[str, list[int]], miss: float | None) -> RunFigures:
        return _run(
            "a" if len(runs) < 2 else "b",
            len(runs) % 2,
            ellipse=[inside, n],
            national_ellipse=nations,
            ellipse_median_miss=miss,
        )

    runs: list[RunFigures] = []
    runs.append(held(9, 10, {"KOR": [3, 4]}, 0.1))
    runs.append(held(1, 10, {"KOR": [1, 4], "JPN": [0, 0]}, None))
    runs.append(held(5, 5, {"KOR": [4, 4]}, 0.3))
    runs.append(_run("b", 1, error="boom", ellipse=[0, 5]))
    s = summarise(runs, [0, 1], ["trilink"])
    a, b = s.rows["trilink"]
    assert (a.ellipse_coverage, b.ellipse_coverage) == (0.5, 1.0)
    assert s.totals["trilink"].ellipse_coverage == 0.6
    assert (a.ellipse_median_miss, s.totals["trilink"].ellipse_median_miss) == (0.1, 0.2)
    assert s.national_ellipse == {"JPN": None, "KOR": 0.6667}
    assert s.to_json()["national_ellipse"]["KOR"] == 0.6667


def test_the_best_nation_needs_no_run_to_predict_everything() -> None:
    assert best_nation([]) is None
    runs = [_run("a", 0, national_rms_km={"KOR": None, "JPN": None, "USA": None})]
    assert best_nation(runs) is None


@pytest.mark.slow
@pytest.mark.parametrize("path", HELDOUT, ids=lambda p: p.stem)
def test_held_out_scenarios_score(path: Path) -> None:
    # Held out from any tuning: the check is that they run and report, not how well.
    # One scenario per test, so the unit tier's workers share them out.
    runs = run_battery([path], [0], {"trilink": offline_fuser}, processes=1)
    assert [r.scenario for r in runs] == [path.stem]
    for r in runs:
        assert r.error is None, r
        assert r.missiles > 0 and r.system_tracks > 0
        assert r.gospa_mean is not None and r.raid_error is not None
        assert r.fused_rms_km is not None and r.first_alert_delay_s is not None
    rows = summarise(runs, [0], ["trilink"]).rows["trilink"]
    assert [row.scenario for row in rows] == [path.stem]


def test_the_battery_command_refuses_a_missing_directory_and_a_missing_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import cli.battery
    from cli.main import _load, app

    _load()
    runner = CliRunner()
    result = runner.invoke(app, ["battery", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such scenario file or directory" in result.output
    result = runner.invoke(app, ["battery", str(tmp_path)])
    assert result.exit_code == 2 and "no scenario files" in result.output
    monkeypatch.setattr(cli.battery, "PEER_MODULE", "evaluation.no_such_peer")
    result = runner.invoke(app, ["battery", str(SCENARIOS / "battery"), "--peer"])
    assert result.exit_code == 1 and "--peer" in result.output and "not available" in result.output


def test_the_catalogue_target_is_every_launch_date() -> None:
    from cli.battery import CATALOGUE, _scenario_paths
    from sim.catalog import historical

    paths = _scenario_paths(Path(CATALOGUE))
    dates = [str(p) for p in paths]
    assert dates == sorted({launch.date for launch in historical()})
    # Each is a scenario as ``trilink score DATE`` reads it, with that day's launches.
    day = dates[-1]
    launches = load_scenario(day, seed=0).launches
    assert len(launches) == sum(1 for launch in historical() if launch.date == day)
