"""The installed ``trilink`` entry point turns click's usage errors into one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = "from cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("alerts", "--max", "abc"), "--max"),
        (("no-such-command",), "No such command"),
        (("sim", "trajectory", "--bearing"), "--bearing"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trilink: error:")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_help_exits_zero() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_version_prints_the_package_version() -> None:
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("trilink ")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bridge", "-v"], ["-v", "bridge"]),
        (["inject", "--site", "x", "-vv"], ["-vv", "inject", "--site", "x"]),
        (["-v", "alerts", "--verbose"], ["-v", "--verbose", "alerts"]),
        (["inspect", "t", "--", "-v"], ["inspect", "t", "--", "-v"]),
        (["inject", "--missile", "-vx"], ["inject", "--missile", "-vx"]),
    ],
)
def test_verbosity_after_the_subcommand_moves_to_the_root(
    argv: list[str], expected: list[str]
) -> None:
    from cli.main import hoist_verbosity

    assert hoist_verbosity(argv) == expected


def test_verbose_after_the_subcommand_turns_on_info_logging() -> None:
    done = _run("topics", "--bootstrap-servers", "127.0.0.1:1", "-v")
    assert "No such option" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("bridge",),
        ("producer", "--nation", "KOR"),
        ("inject", "--site", "sunan", "--bearing", "80", "--range-km", "300", "--apogee-km", "50"),
    ],
)
def test_an_unreachable_cluster_is_one_line_and_exit_1(command: tuple[str, ...]) -> None:
    done = _run(*command, "-b", "127.0.0.1:1", TRILINK_CONNECT_TIMEOUT_S="0.5")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == ["error: cannot reach Kafka at 127.0.0.1:1 within 0.5 s"], done.stderr


@pytest.mark.parametrize("value", ["soon", "nan", "0", "1e9"])
def test_a_connect_timeout_out_of_bounds_is_one_line_and_exit_2(value: str) -> None:
    done = _run("bridge", "-b", "127.0.0.1:1", TRILINK_CONNECT_TIMEOUT_S=value)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: TRILINK_CONNECT_TIMEOUT_S must be a number of seconds in [0.1, 300], got {value!r}"
    ]


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--past-window-s", "nan", "past_s must be a finite number"),
        ("--future-window-s", "inf", "future_s must be a finite number"),
        ("--update-km", "nan", "update_km must be a finite number"),
    ],
)
def test_bridge_refuses_non_finite_numbers_before_starting(
    flag: str, value: str, needle: str
) -> None:
    done = _run("bridge", flag, value, "-b", "127.0.0.1:1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {needle}, got {value}"]


def test_each_command_is_found_in_the_module_that_registers_it() -> None:
    import importlib

    import typer

    from cli.main import _COMMAND_MODULES, _MODULE_OF_COMMAND

    registered: dict[str, str] = {}
    for module in _COMMAND_MODULES:
        app = typer.Typer()
        app.callback()(lambda: None)
        importlib.import_module(f"cli.{module}").register(app)
        group = typer.main.get_command(app)
        assert isinstance(group, typer.core.TyperGroup)
        registered.update(dict.fromkeys(group.commands, module))
    assert registered == _MODULE_OF_COMMAND


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["-v", "producer", "--nation", "KOR"], "produce"),
        (["alerts", "--max", "3"], "consume"),
        (["--help"], None),
        ([], None),
        (["no-such-command"], None),
        (["--", "bridge"], None),
    ],
)
def test_the_command_picks_the_module_to_load(argv: list[str], module: str | None) -> None:
    from cli.main import _command_module

    assert _command_module(argv) == module


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import atexit, sys; "
        "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith('cli.')), "
        "file=sys.stderr)); "
        "from cli.main import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "producer", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--nation" in done.stdout
    loaded = done.stderr.strip().splitlines()[-1]
    assert "'cli.produce'" in loaded and "'cli.demo'" not in loaded, loaded
