"""``trilink simulate | inject | producer``: output files and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import main as cli_main
from trilink.model import LaunchEvent, MissileWarning


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli_main._load()
    return cli_main.app


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"KAFKA_BOOTSTRAP_SERVERS": ""})
    return result.exit_code, result.stdout, result.stderr


def test_produce_commands_are_registered() -> None:
    assert "produce" in cli_main._COMMAND_MODULES


def test_simulate_writes_the_four_streams(app: typer.Typer, tmp_path: Path) -> None:
    code, out, err = _run(app, "simulate", "sunan-srbm", "--out", str(tmp_path), "--seed", "2")
    assert code == 0, err
    assert "sunan-srbm" in out
    launches = [
        LaunchEvent.from_dict(json.loads(line))
        for line in (tmp_path / "launches.jsonl").read_text().splitlines()
    ]
    assert len(launches) == 1 and launches[0].seed == 2
    for nation in ("kor", "jpn", "usa"):
        rows = (tmp_path / f"warnings.{nation}.jsonl").read_text().splitlines()
        warnings = [MissileWarning.from_dict(json.loads(r)) for r in rows]
        assert all(w.nation.value.lower() == nation for w in warnings)
    first = (tmp_path / "warnings.kor.jsonl").read_bytes()
    code, _, err = _run(app, "simulate", "sunan-srbm", "--out", str(tmp_path), "--seed", "2")
    assert code == 0, err
    assert (tmp_path / "warnings.kor.jsonl").read_bytes() == first


def test_simulate_can_re_anchor(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = _run(
        app, "simulate", "sunan-srbm", "--out", str(tmp_path), "--start", "2030-01-01T00:00:00Z"
    )
    assert code == 0, err
    event = json.loads((tmp_path / "launches.jsonl").read_text())
    assert event["scenario_start_us"] == 1_893_456_000_000_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate", "no-such", "--out", "x"), "unknown scenario"),
        (("simulate", "sunan-srbm", "--out", "x", "--start", "yesterday"), "--start"),
        (("inject", "--count", "3"), "--count/--spacing-s need launch parameters"),
        (("inject", "--bearing", "80", "--range-km", "300", "-b", "h:1"), "needs --site"),
        (("inject", "-b", "h:1"), "exactly one of"),
        (
            (
                "inject",
                "--site",
                "sunan",
                "--bearing",
                "80",
                "--range-km",
                "300",
                "--apogee-km",
                "50",
            ),
            "needs --bootstrap-servers",
        ),
        (
            (
                "inject",
                "--site",
                "atlantis",
                "--bearing",
                "80",
                "--range-km",
                "300",
                "--apogee-km",
                "50",
                "-b",
                "h:1",
            ),
            "valid sites: baegun",
        ),
        (
            (
                "inject",
                "--site",
                "sunan",
                "--bearing",
                "80",
                "--range-km",
                "300",
                "--apogee-km",
                "50",
                "--count",
                "0",
                "-b",
                "h:1",
            ),
            "--count must be in 1..1000",
        ),
        *(
            (
                (
                    "inject",
                    "--site",
                    "sunan",
                    "--bearing",
                    bearing,
                    "--range-km",
                    rng,
                    "--apogee-km",
                    "50",
                    "--count",
                    count,
                    "-b",
                    "h:1",
                ),
                message,
            )
            for bearing, rng, count, message in (
                ("80", "300", "100000000", "--count must be in 1..1000"),
                ("360", "300", "1", "--bearing must be in [0, 360)"),
                ("-5", "300", "1", "--bearing must be in [0, 360)"),
                ("nan", "300", "1", "--bearing must be a finite number"),
                ("80", "inf", "1", "--range-km must be a finite number"),
                ("80", "-3", "1", "--range-km must be in (0, 20000]"),
            )
        ),
        (("inject", "--historical", "1999-01-01", "-b", "h:1"), "no historical launch"),
        (("inject", "--scenario", "demo", "--lead-s", "-1", "-b", "h:1"), "--lead-s"),
        (("producer", "--nation", "XX"), "--nation must be one of"),
        (("producer", "--nation", "KOR", "--speed", "0"), "--speed must be > 0"),
        (("producer", "--nation", "KOR"), "producer needs --bootstrap-servers"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    app: typer.Typer, args: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(app, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0] and "Traceback" not in err
