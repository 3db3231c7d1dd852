"""Shared CLI helpers: options from flags and environment, one-line failures, exit codes."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cli.common import (
    BootstrapOption,
    RegistryOption,
    build_kafka_config,
    cluster,
    exits_on_error,
    fail,
    handle_errors,
)
from trilink.config import KafkaConfig
from trilink.errors import BrokerError, ConfigError

app = typer.Typer()


@app.command()
@exits_on_error
def show(bootstrap: BootstrapOption = None, registry: RegistryOption = None) -> None:
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        typer.echo("embedded")
        return
    if kafka.bootstrap_servers == "boom:1":
        raise BrokerError("the cluster is on fire")
    typer.echo(f"{kafka.bootstrap_servers} {kafka.schema_registry_url}")


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = {"KAFKA_BOOTSTRAP_SERVERS": "", "SCHEMA_REGISTRY_URL": ""}
    result = CliRunner().invoke(app, args, env={**base, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_options_from_flags_and_environment() -> None:
    assert _run([]) == (0, "embedded\n", "")
    code, out, _ = _run(["-b", "k1:9092,k2:9092", "--schema-registry", "http://sr:8081"])
    assert (code, out) == (0, "k1:9092,k2:9092 http://sr:8081\n")
    code, out, _ = _run([], {"KAFKA_BOOTSTRAP_SERVERS": "env:9092"})
    assert (code, out) == (0, "env:9092 None\n")
    code, out, _ = _run(["--bootstrap-servers", "flag:1"], {"KAFKA_BOOTSTRAP_SERVERS": "env:9092"})
    assert out == "flag:1 None\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-b", "no-port"], "is not host:port"),
        (["--schema-registry", "http://sr:8081"], "needs --bootstrap-servers"),
        (["-b", "k:1", "--schema-registry", "sr:8081"], "not an http(s) URL"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    code, out, err = _run(args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("error:")


def test_trilink_errors_exit_1_with_one_line() -> None:
    code, _, err = _run(["-b", "boom:1"])
    assert code == 1
    assert err == "error: the cluster is on fire\n"


def test_handle_errors_maps_error_families() -> None:
    with pytest.raises(typer.Exit) as info, handle_errors():
        raise ConfigError("bad value")
    assert info.value.exit_code == 2
    with pytest.raises(typer.Exit) as info, handle_errors():
        raise KeyboardInterrupt
    assert info.value.exit_code == 130
    with pytest.raises(ValueError), handle_errors():  # not ours: a real bug, keep the traceback
        raise ValueError("bug")


def test_fail_escapes_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        fail("topic [bold]x[/bold] missing", code=1)
    assert capsys.readouterr().err == "error: topic [bold]x[/bold] missing\n"


def test_cluster_passes_a_given_config_through() -> None:
    given = KafkaConfig("k:9092")
    checked: list[KafkaConfig] = []
    with cluster(given, check=checked.append) as kafka:
        assert checked == [given]
        assert kafka is given
