"""``trilink sim``: JSON and table output, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from cli import main as cli_main


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli_main._load()
    return cli_main.app


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["sim", *args])
    return result.exit_code, result.stdout, result.stderr


def test_sim_is_a_registered_command_group() -> None:
    assert "sim" in cli_main._COMMAND_MODULES


def test_trajectory_json_from_lat_lon(app: typer.Typer) -> None:
    code, out, err = _run(
        app,
        *("trajectory", "--from", "39.282,125.869", "--bearing", "76"),
        *("--range-km", "950", "--apogee-km", "4475", "--missile", "hwasong-15", "--json"),
    )
    assert code == 0, err
    (line,) = out.strip().splitlines()
    doc = json.loads(line)
    assert doc["range_km"] == pytest.approx(950.0, rel=1e-3)
    assert doc["apogee_km"] == pytest.approx(4475.0, rel=1e-3)
    assert doc["flight_time_s"] == pytest.approx(3180.0, rel=0.05)
    assert doc["missile"] == "hwasong-15" and doc["missile_class"] == "ICBM"
    assert doc["burnout_s"] == 270.0  # 150 s + 120 s: in vacuum the stages do not coast
    assert (doc["launch_lat"], doc["launch_lon"], doc["bearing_deg"]) == (39.282, 125.869, 76.0)
    assert 40.0 < doc["impact_lat"] < 42.0 and 135.0 < doc["impact_lon"] < 138.0


def test_trajectory_in_the_atmosphere_model(app: typer.Typer) -> None:
    code, out, err = _run(
        app,
        *("trajectory", "--from", "39.282,125.869", "--bearing", "76"),
        *("--range-km", "950", "--apogee-km", "4475", "--missile", "hwasong-15", "--json"),
        *("--physics", "atmosphere"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["range_km"] == pytest.approx(950.0, rel=1e-3)
    assert doc["burnout_s"] == 272.0  # 150 s + 2 s separation coast + 120 s
    code, _, err = _run(app, "trajectory", "--site", "Sunan", "--bearing", "65", "--range-km",
                        "350", "--physics", "plasma")  # fmt: skip
    assert code == 2 and "physics must be one of vacuum, atmosphere" in err


def test_trajectory_from_site_with_minimum_energy_default(app: typer.Typer) -> None:
    code, out, err = _run(
        app, "trajectory", "--site", "Sunan", "--bearing", "65", "--range-km", "350", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["site"] == "sunan"
    assert doc["missile"] == "unknown" and doc["missile_class"] == "SRBM"
    assert 70.0 < doc["apogee_km"] < 110.0  # a minimum-energy 350 km arc peaks near R/4


def test_trajectory_table(app: typer.Typer) -> None:
    code, out, _ = _run(
        app, "trajectory", "--site", "hodo", "--bearing", "70", "--range-km", "600",
        "--apogee-km", "50", "--missile", "kn-23",
    )  # fmt: skip
    assert code == 0
    assert "flight_time_s" in out and "hwasong-11a" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "39.2;125.7", "--range-km", "300"], "--from wants LAT,LON"),
        (["--from", "139.2,125.7", "--range-km", "300"], "not a valid latitude"),
        (["--site", "atlantis", "--range-km", "300"], "unknown site 'atlantis'"),
        (["--site", "sunan", "--range-km", "-5"], "range must be"),
        (["--site", "sunan", "--range-km", "1000", "--apogee-km", "5"], "too low"),
        (["--site", "sunan", "--range-km", "300", "--missile", "v-2"], "unknown missile"),
        (["--range-km", "300"], "exactly one of --from"),
        (["--site", "sunan", "--from", "39,125", "--range-km", "300"], "exactly one of --from"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    app: typer.Typer, args: list[str], message: str
) -> None:
    code, out, err = _run(app, "trajectory", "--bearing", "70", *args)
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert message in line
    assert "Traceback" not in err


def test_catalogue_listings(app: typer.Typer) -> None:
    code, out, _ = _run(app, "sites", "--json")
    assert code == 0 and any(s["key"] == "sohae" for s in json.loads(out))
    code, out, _ = _run(app, "missiles", "--json")
    assert code == 0 and any(m["key"] == "hwasong-18" for m in json.loads(out))
    code, out, _ = _run(app, "historical", "2022-06-05", "--json")
    assert code == 0 and len(json.loads(out)) == 8
    code, _, err = _run(app, "historical", "1999-01-01")
    assert code == 2 and "no historical launch" in err
