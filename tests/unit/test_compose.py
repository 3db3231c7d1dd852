"""The Docker Compose deployment, checked without a Docker engine.

Two bilateral systems, ROK-US (``kafka-rokus``) and Japan-US (``kafka-jpnus``), with the
bridge the only party on both. The file must validate against the Compose JSON Schema,
every service command must be a real ``trilink`` command line, dependencies must wait
for health and for each system's set-up, and everything the Dockerfile copies must
exist.

The set-up script ``compose/acls.sh`` is run for real under ``sh``, with stand-ins for
the Kafka tools that record their arguments: the credentials, topics and ACLs checked
here are the ones the script would create, not a reading of its source.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import main as cli_main
from trilink.config import Topics
from trilink.kafka import ensure_topics
from trilink.model import Nation

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose" / "docker-compose.yml"
ACLS = ROOT / "compose" / "acls.sh"
SPEC = ROOT.parent / "shared" / "reference" / "compose-spec.json"

SYSTEMS = ("rokus", "jpnus")
BROKER = {system: f"kafka-{system}" for system in SYSTEMS}
SETUP = {system: f"acls-{system}" for system in SYSTEMS}
# Which system each nation's producer belongs to; the US has one on each.
HOME = {"KOR": {"rokus"}, "JPN": {"jpnus"}, "USA": {"rokus", "jpnus"}}
NATIONS = {"kor": "KOR", "jpn": "JPN", "usa": "USA"}  # principal -> nation
# Services on both systems: the bridge, and the injector (the simulated world).
ON_BOTH = {"bridge", "inject"}
# `trilink` commands being added in parallel: checked once the CLI has them.
PENDING_COMMANDS = {"keys"}

TOPICS = Topics()
DEFAULT_PARTITIONS = inspect.signature(ensure_topics).parameters["partitions"].default
ONE_PARTITION = {TOPICS.clock, TOPICS.heartbeats, TOPICS.bridge_leader}
CROSSING = {"rokus": "crossed.jpn", "jpnus": "crossed.kor"}


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


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def _interpolate(value: Any) -> str:
    """``value`` as Compose would pass it with no variable set: ``${X:-d}`` is ``d``."""
    text = str(value)
    assert "$$" not in text, text
    return _VARIABLE.sub(lambda m: m.group("default") or "", text)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): _interpolate(v) for k, v in env.items()}


@dataclass(frozen=True)
class Client:
    """How a service connects to one system."""

    bootstrap: str
    username: str | None
    password: str | None


def _clients(service: dict[str, Any]) -> dict[str, Client]:
    """The systems a trilink service connects to, by system name."""
    env = _env(service)
    found: dict[str, Client] = {}
    if "KAFKA_BOOTSTRAP_SERVERS" in env:
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        host = bootstrap.rpartition(":")[0]
        systems = [s for s, broker in BROKER.items() if host == broker]
        assert len(systems) == 1, f"bootstrap {bootstrap} is not one system's broker"
        found[systems[0]] = Client(
            bootstrap, env.get("TRILINK_SASL_USERNAME"), env.get("TRILINK_SASL_PASSWORD")
        )
    for system in SYSTEMS:
        prefix = f"TRILINK_{system.upper()}_"
        if f"{prefix}BOOTSTRAP" in env:
            bootstrap = env[f"{prefix}BOOTSTRAP"]
            assert bootstrap.rpartition(":")[0] == BROKER[system], bootstrap
            assert system not in found, "a system given twice"
            found[system] = Client(
                bootstrap, env.get(f"{prefix}SASL_USERNAME"), env.get(f"{prefix}SASL_PASSWORD")
            )
    return found


def _trilink_services(compose: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, service in _services(compose).items():
        if _command(service)[:1] == ["trilink"]:
            yield name, service


# -- the set-up script, run with stand-in Kafka tools ----------------------------------


@dataclass(frozen=True)
class Acl:
    principal: str
    pattern: str  # literal | prefixed
    kind: str  # topic | group | transactional-id | cluster
    name: str
    operation: str


@dataclass
class Setup:
    """What acls.sh did for one system."""

    credentials: dict[str, str]  # user -> SCRAM-SHA-512 password
    topics: dict[str, int]  # topic -> partitions
    acls: list[Acl]

    def allowed(self, user: str, kind: str, name: str, operation: str) -> bool:
        """Would StandardAuthorizer allow it (allow ACLs only; READ/WRITE imply DESCRIBE)?"""
        for acl in self.acls:
            if acl.principal != f"User:{user}" or acl.kind != kind:
                continue
            if acl.pattern == "literal":
                matches = acl.name in (name, "*")
            else:
                matches = name.startswith(acl.name)
            implied = operation == "DESCRIBE" and acl.operation in {"READ", "WRITE"}
            if matches and (acl.operation in (operation, "ALL") or implied):
                return True
        return False

    def readers(self, topic: str) -> set[str]:
        users = {a.principal.removeprefix("User:") for a in self.acls}
        return {u for u in users if self.allowed(u, "topic", topic, "READ")}


_STUB = """#!/bin/sh
{ printf '%s' "${0##*/}"; for a in "$@"; do printf '\\t%s' "$a"; done; printf '\\n'; } \\
    >> "$TRILINK_TEST_LOG"
"""
_TOOLS = ("kafka-acls.sh", "kafka-configs.sh", "kafka-topics.sh", "kafka-broker-api-versions.sh")


def _setup_service(compose: dict[str, Any], system: str) -> dict[str, Any]:
    service = _services(compose)[SETUP[system]]
    assert service.get("network_mode") == f"service:{BROKER[system]}"
    return service


def _run_setup(compose: dict[str, Any], system: str, tools: Path) -> list[list[str]]:
    service = _setup_service(compose, system)
    entrypoint = [str(a) for a in service["entrypoint"]]
    assert entrypoint[0] == "/bin/sh" and entrypoint[1].endswith("/acls.sh"), entrypoint
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in service["volumes"]}
    assert (COMPOSE.parent / mounts[entrypoint[1]]).resolve() == ACLS
    log = tools / f"{system}.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KAFKA_BIN": str(tools),
        "TRILINK_TEST_LOG": str(log),
        **_env(service),
    }
    args = [*entrypoint[2:], *_command(service)]
    result = subprocess.run(
        ["sh", str(ACLS), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in log.read_text().splitlines()]


def _option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]


def _parse(calls: list[list[str]]) -> Setup:
    setup = Setup({}, {}, [])
    for tool, *args in calls:
        if tool == "kafka-configs.sh" and "--alter" in args:
            assert _option(args, "--entity-type") == ["users"]
            (user,) = _option(args, "--entity-name")
            (config,) = _option(args, "--add-config")
            found = re.fullmatch(r"SCRAM-SHA-512=\[password=(.*)\]", config)
            assert found, config
            setup.credentials[user] = found.group(1)
        elif tool == "kafka-topics.sh" and "--create" in args:
            (topic,) = _option(args, "--topic")
            (partitions,) = _option(args, "--partitions")
            setup.topics[topic] = int(partitions)
        elif tool == "kafka-acls.sh":
            assert "--add" in args and not _option(args, "--deny-principal"), args
            (pattern,) = _option(args, "--resource-pattern-type") or ["literal"]
            resources = [
                (kind, name)
                for kind in ("topic", "group", "transactional-id")
                for name in _option(args, f"--{kind}")
            ]
            if "--cluster" in args or "--idempotent" in args:
                resources.append(("cluster", "kafka-cluster"))
            for principal in _option(args, "--allow-principal"):
                for kind, name in resources:
                    for operation in _option(args, "--operation"):
                        setup.acls.append(Acl(principal, pattern, kind, name, operation.upper()))
    return setup


@pytest.fixture(scope="module")
def setups(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Setup]:
    if shutil.which("sh") is None:
        pytest.skip("no POSIX sh to run compose/acls.sh")
    tools = tmp_path_factory.mktemp("kafka-bin")
    for tool in _TOOLS:
        path = tools / tool
        path.write_text(_STUB)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {system: _parse(_run_setup(compose, system, tools)) for system in SYSTEMS}


# -- the file as a whole ---------------------------------------------------------------


def test_compose_file_matches_the_compose_schema(compose: dict[str, Any]) -> None:
    if not SPEC.is_file():
        pytest.skip(f"Compose JSON Schema not available at {SPEC}")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SPEC.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_deployment_has_every_role_on_each_system(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for system in SYSTEMS:
        assert services[BROKER[system]]["image"].startswith("apache/kafka:")
        assert services[SETUP[system]]["image"] == services[BROKER[system]]["image"]
    producers: dict[str, list[str]] = {s: [] for s in SYSTEMS}
    tails: dict[str, int] = dict.fromkeys(SYSTEMS, 0)
    for _name, service in _trilink_services(compose):
        command = _command(service)
        if command[:3] == ["trilink", "producer", "--nation"]:
            (system,) = _clients(service)
            producers[system].append(command[3])
        if command[:3] == ["trilink", "alerts", "--follow"]:
            (system,) = _clients(service)
            tails[system] += 1
    assert sorted(producers["rokus"]) == ["KOR", "USA"]
    assert sorted(producers["jpnus"]) == ["JPN", "USA"]
    assert tails == {"rokus": 1, "jpnus": 1}
    assert _command(services["bridge"])[:2] == ["trilink", "bridge"]
    assert _command(services["keys"]) == ["trilink", "keys", "init", "--keep", "/keys"]
    assert services["inject"].get("profiles") == ["inject"]
    assert _command(services["inject"])[:2] == ["trilink", "inject"]


def test_no_schema_registry_records_are_self_describing(compose: dict[str, Any]) -> None:
    # Registry schema ids are per registry: a record crossing between the two systems
    # would carry an id meaningless on the other side.
    for name, service in _services(compose).items():
        assert "schema-registry" not in str(service.get("image", "")), name
        assert "SCHEMA_REGISTRY_URL" not in _env(service), name


def test_every_service_command_is_a_real_trilink_command(compose: dict[str, Any]) -> None:
    cli_main._load()
    runner = CliRunner()
    checked = 0
    for name, service in _trilink_services(compose):
        command = _command(service)
        if command[1] in PENDING_COMMANDS:
            top = runner.invoke(cli_main.app, [command[1], "--help"])
            if top.exit_code != 0:
                continue  # not in the CLI yet; checked like the others once it is
        args = [*command[1:], "--help"]
        result = runner.invoke(cli_main.app, args)
        assert result.exit_code == 0, f"{name}: trilink {' '.join(args)}\n{result.output}"
        checked += 1
    assert checked >= 8


# -- start-up order ----------------------------------------------------------------------


def test_dependencies_wait_for_health_where_there_is_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    healthy = {name for name, s in services.items() if "healthcheck" in s}
    assert set(BROKER.values()) <= healthy
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if dependency in healthy:
                assert how.get("condition") == "service_healthy", f"{name} -> {dependency}"


def test_services_wait_for_their_systems_setup_and_the_keys(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for system in SYSTEMS:
        deps = services[SETUP[system]]["depends_on"]
        assert deps == {BROKER[system]: {"condition": "service_healthy"}}
    for name, service in _trilink_services(compose):
        deps = service.get("depends_on", {})
        for system in _clients(service):
            assert deps.get(BROKER[system]) == {"condition": "service_healthy"}, name
            done = {"condition": "service_completed_successfully"}
            assert deps.get(SETUP[system]) == done, name
        if any(str(v).startswith("keys:") for v in service.get("volumes", [])) and name != "keys":
            assert deps.get("keys") == {"condition": "service_completed_successfully"}, name
            assert all(str(v).endswith(":ro") for v in service["volumes"]), name


def test_japan_us_services_start_after_the_bridge(compose: dict[str, Any]) -> None:
    # The bridge copies the session clock from ROK-US to Japan-US.
    for name, service in _trilink_services(compose):
        if set(_clients(service)) == {"jpnus"}:
            deps = service.get("depends_on", {})
            assert deps.get("bridge") == {"condition": "service_started"}, name


def test_services_sign_with_their_own_key(compose: dict[str, Any]) -> None:
    try:
        keys = importlib.import_module("trilink.security.keys")
        names, trust_file = tuple(keys.DEFAULT_NAMES), str(keys.TRUST_FILE)
    except ImportError:  # trilink keys not in this tree yet: the names it documents
        names, trust_file = ("USA", "KOR", "JPN", "BRIDGE"), "trust.json"
    services = _services(compose)
    keys_dir = _command(services["keys"])[-1]
    mounted = [str(v) for v in services["keys"]["volumes"]]
    assert mounted == [f"keys:{keys_dir}"]
    written = {f"{keys_dir}/{name}.key" for name in names}
    signers = {}
    for name, service in _trilink_services(compose):
        env = _env(service)
        if "TRILINK_TRUST_FILE" in env:
            assert env["TRILINK_TRUST_FILE"] == f"{keys_dir}/{trust_file}", name
        if "TRILINK_KEY_FILE" in env:
            assert env["TRILINK_KEY_FILE"] in written, name
            signers[name] = Path(env["TRILINK_KEY_FILE"]).stem
    for name, service in _trilink_services(compose):
        command = _command(service)
        if command[:3] == ["trilink", "producer", "--nation"]:
            assert signers.get(name) == command[3], f"{name} signs as {signers.get(name)}"
    assert signers["bridge"] == "BRIDGE"
    assert set(signers.values()) == set(names)


# -- who is on which system -------------------------------------------------------------


def test_only_the_bridge_is_on_both_systems(compose: dict[str, Any]) -> None:
    both = {name for name, s in _trilink_services(compose) if len(_clients(s)) == 2}
    assert both == ON_BOTH
    services = _services(compose)
    assert services["inject"].get("profiles") == ["inject"]
    bridge = _clients(services["bridge"])
    assert {c.username for c in bridge.values()} == {"bridge"}
    assert bridge["rokus"].password != bridge["jpnus"].password
    assert {c.username for c in _clients(services["inject"]).values()} == {"world"}


def test_each_producer_is_on_its_own_nations_system(compose: dict[str, Any]) -> None:
    seen: dict[str, set[str]] = {}
    for name, service in _trilink_services(compose):
        command = _command(service)
        if command[:3] != ["trilink", "producer", "--nation"]:
            continue
        nation = command[3]
        clients = _clients(service)
        assert len(clients) == 1, f"{name} is on {sorted(clients)}"
        ((system, client),) = clients.items()
        assert system in HOME[nation], f"{name}: {nation} on {system}"
        assert client.username == nation.lower(), name
        seen.setdefault(nation, set()).add(system)
    assert seen == HOME


def test_networks_follow_the_systems(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert set(compose["networks"]) == set(SYSTEMS)
    for system in SYSTEMS:
        assert services[BROKER[system]]["networks"] == [system]
    for name, service in _trilink_services(compose):
        clients = _clients(service)
        if clients:
            assert sorted(service["networks"]) == sorted(clients), name
        else:
            assert service.get("network_mode") == "none", name


def test_every_sasl_user_has_a_scram_credential_on_its_system(
    compose: dict[str, Any], setups: dict[str, Setup]
) -> None:
    checked = 0
    for name, service in _trilink_services(compose):
        env = _env(service)
        clients = _clients(service)
        if clients:
            assert env.get("TRILINK_SASL_MECHANISM") == "SCRAM-SHA-512", name
        for system, client in clients.items():
            assert client.username and client.password, f"{name} on {system}: no credential"
            created = setups[system].credentials
            assert client.username in created, f"{name}: no {client.username} on {system}"
            assert created[client.username] == client.password, f"{name}: wrong password"
            checked += 1
    assert checked >= 10


# -- the brokers -----------------------------------------------------------------------


def _listeners(value: str) -> dict[str, str]:
    return dict(item.split("://", 1) for item in value.split(","))


def test_brokers_authenticate_and_authorise(compose: dict[str, Any]) -> None:
    services = _services(compose)
    cluster_ids = set()
    for system in SYSTEMS:
        broker = services[BROKER[system]]
        env = _env(broker)
        cluster_ids.add(env["CLUSTER_ID"])
        protocols = dict(
            p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        listeners = _listeners(env["KAFKA_LISTENERS"])
        assert set(listeners) == set(protocols)
        for name, address in listeners.items():
            if protocols[name] == "PLAINTEXT":
                # Unauthenticated means ANONYMOUS, a super user: loopback only.
                assert address.startswith("127.0.0.1:"), f"{system}: {name} on {address}"
            else:
                assert protocols[name] == "SASL_PLAINTEXT", name
        assert protocols["CONTROLLER"] == "PLAINTEXT"
        assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
        for name, protocol in protocols.items():
            if protocol.startswith("SASL"):
                key = f"KAFKA_LISTENER_NAME_{name}_SCRAM___SHA___512_SASL_JAAS_CONFIG"
                assert "ScramLoginModule" in env[key], key
        assert (
            env["KAFKA_AUTHORIZER_CLASS_NAME"]
            == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        )
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert env["KAFKA_SUPER_USERS"] == "User:ANONYMOUS"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        admin = listeners[env["KAFKA_INTER_BROKER_LISTENER_NAME"]]
        assert admin in " ".join(broker["healthcheck"]["test"]), "healthcheck not on ADMIN"
        # Clients reach the CLIENT listener under the broker's name, as configured.
        advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
        assert advertised["CLIENT"] == f"{BROKER[system]}:9092"
    assert len(cluster_ids) == len(SYSTEMS)
    hosts = [p for s in SYSTEMS for p in services[BROKER[s]]["ports"]]
    assert len(set(hosts)) == len(hosts)


# -- the ACLs ----------------------------------------------------------------------------


def test_the_setup_script_is_posix_sh() -> None:
    if shutil.which("sh") is None:
        pytest.skip("no POSIX sh")
    result = subprocess.run(["sh", "-n", str(ACLS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ACLS.read_text().startswith("#!/bin/sh\n")


def test_the_setup_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed")
    result = subprocess.run(
        [shellcheck, "--shell=sh", str(ACLS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout


def test_each_system_has_its_topics_only(setups: dict[str, Setup]) -> None:
    shared = {
        TOPICS.launches,
        TOPICS.warnings_usa,
        TOPICS.alerts,
        TOPICS.dead_letter,
        TOPICS.bridge_state,
        TOPICS.bridge_leader,
        TOPICS.clock,
        TOPICS.heartbeats,
    }
    expected = {
        "rokus": shared | {TOPICS.warnings_kor, CROSSING["rokus"]},
        "jpnus": shared | {TOPICS.warnings_jpn, CROSSING["jpnus"]},
    }
    for system, setup in setups.items():
        assert set(setup.topics) == expected[system], system
        for topic, partitions in setup.topics.items():
            want = 1 if topic in ONE_PARTITION else DEFAULT_PARTITIONS
            assert partitions == want, f"{system}: {topic}"
        named = {a.name for a in setup.acls if a.kind == "topic" and a.pattern == "literal"}
        assert named - {"*"} <= set(setup.topics), f"{system}: ACLs on topics it has not"
        assert not [a for a in setup.acls if a.pattern == "prefixed" and a.kind == "topic"]


def test_nothing_is_granted_create_or_cluster_rights(setups: dict[str, Setup]) -> None:
    for system, setup in setups.items():
        assert not [a for a in setup.acls if a.operation in {"CREATE", "ALL", "ALTER"}], system
        assert not [a for a in setup.acls if a.kind == "cluster"], system


def test_nations_reach_only_their_own_topics(setups: dict[str, Setup]) -> None:
    warnings = {TOPICS.warnings_kor, TOPICS.warnings_jpn, TOPICS.warnings_usa}
    forbidden = {
        TOPICS.dead_letter,
        TOPICS.bridge_state,
        TOPICS.bridge_leader,
        *CROSSING.values(),
    }
    checked = 0
    for system, setup in setups.items():
        nations = [u for u in setup.credentials if u in NATIONS]
        assert sorted(nations) == sorted({"rokus": ["kor", "usa"], "jpnus": ["jpn", "usa"]}[system])
        for user in nations:
            own = TOPICS.warnings(Nation(NATIONS[user]))
            for topic in forbidden | (warnings - {own}):
                assert not setup.allowed(user, "topic", topic, "READ"), f"{user} reads {topic}"
            for topic in warnings | (forbidden - {TOPICS.dead_letter}):
                allowed = setup.allowed(user, "topic", topic, "WRITE")
                assert allowed == (topic == own), f"{system}: {user} WRITE {topic}"
            assert setup.allowed(user, "topic", own, "READ"), f"{user} cannot resume"
            for topic in (TOPICS.launches, TOPICS.alerts, TOPICS.clock):
                assert setup.allowed(user, "topic", topic, "READ"), f"{user} READ {topic}"
            for topic in (TOPICS.clock, TOPICS.heartbeats, TOPICS.dead_letter):
                assert setup.allowed(user, "topic", topic, "WRITE"), f"{user} WRITE {topic}"
            group = f"trilink-producer-{user}"
            for g in (group, f"{group}-resume", "trilink-clock-1", "trilink-probe-ab"):
                assert setup.allowed(user, "group", g, "READ"), f"{user} group {g}"
            assert not setup.allowed(user, "group", "trilink-bridge", "READ")
            assert not setup.allowed(user, "transactional-id", "trilink-bridge", "WRITE")
            checked += 1
        assert setup.readers(TOPICS.dead_letter) <= {"bridge", "ops"}, system
        assert not setup.readers(TOPICS.bridge_state) - {"bridge"}, system
    assert checked == 4


def test_the_bridge_and_the_injector_get_what_they_need(setups: dict[str, Setup]) -> None:
    for system, setup in setups.items():
        own = {"rokus": TOPICS.warnings_kor, "jpnus": TOPICS.warnings_jpn}[system]
        crossing = CROSSING[system]
        for topic in (own, TOPICS.warnings_usa, crossing, TOPICS.alerts, TOPICS.bridge_state):
            assert setup.allowed("bridge", "topic", topic, "READ"), f"{system}: {topic}"
        for topic in (
            TOPICS.alerts,
            TOPICS.dead_letter,
            TOPICS.bridge_state,
            TOPICS.bridge_leader,
            TOPICS.heartbeats,
            TOPICS.clock,
            crossing,
        ):
            assert setup.allowed("bridge", "topic", topic, "WRITE"), f"{system}: {topic}"
        for operation in ("WRITE", "DESCRIBE"):
            assert setup.allowed("bridge", "transactional-id", "trilink-bridge", operation)
        for group in ("trilink-bridge", "trilink-bridge-leader"):
            assert setup.allowed("bridge", "group", group, "READ"), group
        assert setup.allowed("world", "topic", TOPICS.launches, "WRITE")
        assert not setup.allowed("world", "topic", TOPICS.alerts, "READ")
        writers = {
            a.principal for a in setup.acls if a.name == TOPICS.launches and a.operation == "WRITE"
        }
        assert writers == {"User:world"}, system


# -- the image ---------------------------------------------------------------------------


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


def test_the_image_holds_every_package_the_trilink_command_imports() -> None:
    # The image installs the repository editable: a package left out of its COPY lines
    # is missing at run time, though `pip install -e .` succeeds without it (cli/,
    # demo/, evaluation/, measurement/ and threat/ were: `trilink` could not start).
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    text = (ROOT / "compose" / "Dockerfile").read_text()
    copied = {
        source.rstrip("/")
        for line in text.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    assert "schemas" in copied  # read beside the packages (trilink.schemas)
