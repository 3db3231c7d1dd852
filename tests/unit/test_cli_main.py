"""The installed ``trilink`` entry point turns click's usage errors into one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
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
