"""Test harness: one Kafka-protocol broker per session, fresh topics and groups per test.

``--kafka`` chooses the broker (default ``auto``):

* ``external``  -- ``KAFKA_BOOTSTRAP_SERVERS`` (``auto`` picks it when the variable is set);
* ``docker``    -- Apache Kafka in a container via testcontainers (skipped without Docker);
* ``embedded``  -- the embedded Tansu broker (``auto`` otherwise).

The broker starts on first use, so unit-only runs never start one. Fixtures:
``kafka`` (``.bootstrap_servers``, ``.kind``), ``kafka_config``, ``new_topic``,
``new_group``, ``topics``; ``second_kafka`` is a second cluster for the
two-system tests. Tests under ``tests/integration`` get the
``integration`` marker automatically.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trilink.config import ENV_BOOTSTRAP, KafkaConfig, Topics

KAFKA_KINDS = ("auto", "embedded", "docker", "external")

# A shell starts background jobs with SIGINT ignored, and processes inherit that: the
# commands the tests start would then ignore the Ctrl-C the tests send them. They
# get Python's usual handler, as in a terminal.
if (
    signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    and threading.current_thread() is threading.main_thread()
):
    signal.signal(signal.SIGINT, signal.default_int_handler)
_INTEGRATION_DIR = Path(__file__).parent / "integration"
_USED = pytest.StashKey["KafkaEndpoint"]()


@dataclass(frozen=True)
class KafkaEndpoint:
    """The session's broker: where it is and what it is."""

    bootstrap_servers: str
    kind: str  # "external", "docker" or "embedded"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kafka",
        choices=KAFKA_KINDS,
        default="auto",
        help="broker for integration tests: auto (KAFKA_BOOTSTRAP_SERVERS if set, else "
        "embedded), embedded (Tansu), docker (Apache Kafka via testcontainers), external",
    )


def _kind(config: pytest.Config) -> str:
    kind = str(config.getoption("--kafka"))
    if kind == "auto":
        return "external" if os.environ.get(ENV_BOOTSTRAP) else "embedded"
    return kind


def pytest_report_header(config: pytest.Config) -> str:
    kind = _kind(config)
    detail = {
        "external": f"{ENV_BOOTSTRAP}={os.environ.get(ENV_BOOTSTRAP, '<unset>')}",
        "docker": "Apache Kafka via testcontainers, started on first use",
        "embedded": "embedded Tansu broker, started on first use",
    }[kind]
    return f"kafka: {kind} ({detail})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


# Failures that passed on a rerun (pytest-rerunfailures prints only their names): kept
# so that a flaky test's first failure can be read from the run's log.
_RERUN_TAIL_LINES = 40
_reruns: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.outcome == "rerun" and report.longrepr is not None:
        _reruns.append((report.nodeid, str(report.longrepr)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    used = terminalreporter.config.stash.get(_USED, None)
    if used is not None:
        terminalreporter.write_line(f"kafka used: {used.kind} at {used.bootstrap_servers}")
    for nodeid, text in _reruns:
        terminalreporter.write_sep("-", f"rerun after failing: {nodeid}")
        for line in text.splitlines()[-_RERUN_TAIL_LINES:]:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def kafka(request: pytest.FixtureRequest) -> Iterator[KafkaEndpoint]:
    """The session's broker (see the module docstring for how it is chosen)."""
    kind = _kind(request.config)
    if kind == "external":
        servers = os.environ.get(ENV_BOOTSTRAP)
        if not servers:
            pytest.fail(f"--kafka=external needs {ENV_BOOTSTRAP}", pytrace=False)
        endpoint = KafkaEndpoint(servers, "external")
        request.config.stash[_USED] = endpoint
        yield endpoint
    elif kind == "docker":
        yield from _docker_kafka(request.config)
    else:
        from trilink.broker import EmbeddedBroker

        with EmbeddedBroker() as broker:
            endpoint = KafkaEndpoint(broker.bootstrap_servers, "embedded")
            request.config.stash[_USED] = endpoint
            yield endpoint


def _docker_kafka(config: pytest.Config) -> Iterator[KafkaEndpoint]:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        pytest.skip(f"--kafka=docker but Docker is unreachable: {exc}")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer() as container:
        endpoint = KafkaEndpoint(container.get_bootstrap_server(), "docker")
        config.stash[_USED] = endpoint
        yield endpoint


@pytest.fixture(scope="session")
def second_kafka(request: pytest.FixtureRequest, kafka: KafkaEndpoint) -> Iterator[KafkaConfig]:
    """A second cluster of the same kind, for the two-system tests (the session's
    broker is the ROK-US system, this one Japan-US); started on first use.

    External: ``TRILINK_TEST_SECOND_BOOTSTRAP`` names it (skipped when unset).
    """
    if kafka.kind == "external":
        servers = os.environ.get("TRILINK_TEST_SECOND_BOOTSTRAP")
        if not servers:
            pytest.skip("a second external cluster needs TRILINK_TEST_SECOND_BOOTSTRAP")
        yield KafkaConfig(bootstrap_servers=servers)
    elif kafka.kind == "docker":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield KafkaConfig(bootstrap_servers=container.get_bootstrap_server())
    else:
        from trilink.broker import EmbeddedBroker

        with EmbeddedBroker() as broker:
            yield KafkaConfig(bootstrap_servers=broker.bootstrap_servers)


@pytest.fixture(scope="session")
def kafka_config(kafka: KafkaEndpoint) -> KafkaConfig:
    """A KafkaConfig pointing at the session's broker (no schema registry)."""
    return KafkaConfig(bootstrap_servers=kafka.bootstrap_servers)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def new_topic(kafka_config: KafkaConfig) -> Callable[..., str]:
    """Factory: ``new_topic(partitions=1, prefix="test")`` makes a fresh topic, returns its name."""
    from trilink.kafka import ensure_topics

    def create(partitions: int = 1, prefix: str = "test") -> str:
        name = _unique(prefix)
        ensure_topics(kafka_config, [name], partitions)
        return name

    return create


class GroupId(str):
    """A fresh consumer group id that is also a factory for more.

    ``new_group`` used as a value is one uuid-based id; ``new_group()`` (or
    ``new_group("bridge")``) returns another fresh id each call.
    """

    __slots__ = ()

    def __call__(self, prefix: str = "group") -> str:
        return _unique(prefix)


@pytest.fixture
def new_group() -> GroupId:
    """A fresh consumer group id (a str); call it for more: ``new_group()``."""
    return GroupId(_unique("group"))


@pytest.fixture
def topics(kafka_config: KafkaConfig) -> Topics:
    """A :class:`Topics` with a uuid suffix on every name, all created (3 partitions)."""
    from trilink.kafka import ensure_topics

    suffix = uuid.uuid4().hex[:12]
    defaults = Topics()
    fresh = Topics(
        **{f.name: f"{getattr(defaults, f.name)}-{suffix}" for f in dataclasses.fields(Topics)}
    )
    ensure_topics(kafka_config, [getattr(fresh, f.name) for f in dataclasses.fields(Topics)], 3)
    return fresh
