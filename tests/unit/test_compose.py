"""The Docker Compose deployment, checked without a Docker engine.

The file must validate against the Compose JSON Schema, every service command must be
a real ``trilink`` command line, dependencies must wait for health where a healthcheck
exists, and everything the Dockerfile copies must exist.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"
SPEC = ROOT.parent / "shared" / "reference" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def test_compose_file_matches_the_compose_schema(compose: dict[str, Any]) -> None:
    if not SPEC.is_file():
        pytest.skip(f"Compose JSON Schema not available at {SPEC}")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SPEC.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_deployment_has_every_role(compose: dict[str, Any]) -> None:
    services = _services(compose)
    images = {name: s.get("image", "") for name, s in services.items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert images["schema-registry"].startswith("confluentinc/cp-schema-registry:")
    commands = {name: _command(s)[:4] for name, s in services.items() if "command" in s}
    nations = sorted(
        c[3] for c in commands.values() if c[:3] == ["trilink", "producer", "--nation"]
    )
    assert nations == ["JPN", "KOR", "USA"]
    assert ["trilink", "bridge"] in (c[:2] for c in commands.values())
    assert ["trilink", "alerts", "--follow"] in (c[:3] for c in commands.values())
    assert services["inject"].get("profiles") == ["inject"]


def test_trilink_services_use_the_registry_framing(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if _command(service)[:1] != ["trilink"]:
            continue
        env = service.get("environment", {})
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", name
        assert env.get("SCHEMA_REGISTRY_URL", "").startswith("http://schema-registry:"), name


def test_every_service_command_is_a_real_trilink_command(compose: dict[str, Any]) -> None:
    cli_main._load()
    runner = CliRunner()
    checked = 0
    for name, service in _services(compose).items():
        command = _command(service)
        if command[:1] != ["trilink"]:
            continue
        args = [*command[1:], "--help"]
        result = runner.invoke(cli_main.app, args)
        assert result.exit_code == 0, f"{name}: trilink {' '.join(args)}\n{result.output}"
        checked += 1
    assert checked >= 6


def test_dependencies_wait_for_health_where_there_is_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    healthy = {name for name, s in services.items() if "healthcheck" in s}
    assert {"kafka", "schema-registry"} <= healthy
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if dependency in healthy:
                assert how.get("condition") == "service_healthy", f"{name} -> {dependency}"


def test_dockerfile_copies_paths_that_exist(compose: dict[str, Any]) -> None:
    builds = {
        (s["build"]["context"], s["build"]["dockerfile"])
        for s in _services(compose).values()
        if "build" in s
    }
    assert builds, "no service builds the trilink image"
    for context, dockerfile in builds:
        context_dir = (COMPOSE.parent / context).resolve()
        path = context_dir / dockerfile
        assert path.is_file(), path
        text = path.read_text()
        assert "FROM python:3.11-slim" in text
        assert "pip install" in text
        copies = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
        assert copies
        for sources in copies:
            for source in sources:
                assert (context_dir / source).exists(), f"{dockerfile}: COPY {source} is missing"
