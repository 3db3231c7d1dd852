"""``trilink map``: bad arguments are one line and exit 2, before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cli import main as cli_main


def test_a_port_out_of_range_is_a_one_line_usage_error() -> None:
    code = "from cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "map", "--port", "70000", "-b", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trilink: error:") and "--port" in lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--since", "yesterday-ish", "-b", "127.0.0.1:1"), "--since"),
        (("--host", " ", "-b", "127.0.0.1:1"), "--host is empty"),
        ((), "no Kafka cluster"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    args: tuple[str, ...], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    cli_main._load()
    result = CliRunner().invoke(cli_main.app, ["map", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.stderr
