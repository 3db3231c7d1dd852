"""Pieces every ``trilink`` command shares: Kafka options, clean failure, a cluster to use.

Typical command::

    @app.command()
    def watch(bootstrap: BootstrapOption = None, registry: RegistryOption = None) -> None:
        kafka = build_kafka_config(bootstrap, registry)
        with handle_errors(), cluster(kafka) as config:
            ...
"""

from __future__ import annotations

import functools
import logging
import math
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from trilink.broker import EmbeddedBroker
from trilink.config import ENV_BOOTSTRAP, ENV_SCHEMA_REGISTRY, KafkaConfig, Topics
from trilink.errors import ConfigError, TrilinkError
from trilink.kafka.probe import METADATA_TIMEOUT_S, check_reachable
from trilink.physics import Physics

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)

BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        envvar=ENV_BOOTSTRAP,
        show_envvar=True,
        metavar="HOST:PORT[,...]",
        help="Kafka cluster to use. Without it an embedded broker is started for the command.",
    ),
]

RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--schema-registry",
        envvar=ENV_SCHEMA_REGISTRY,
        show_envvar=True,
        metavar="URL",
        help="Confluent Schema Registry: use the Confluent wire format. "
        "Without it: Avro single-object encoding with the bundled schemas.",
    ),
]
PhysicsOption = Annotated[
    str | None,
    typer.Option(
        "--physics",
        envvar="TRILINK_PHYSICS",
        show_envvar=True,
        metavar="vacuum|atmosphere",
        help="Flight model: vacuum (no drag) or atmosphere (drag, staging coasts, the "
        "KN-23 pull-up; the trackers and the bridge fly a nominal drag). "
        "Default: the scenario's own (its physics key), vacuum unless it says.",
    ),
]


def physics_choice(text: str | None) -> Physics | None:
    """The ``--physics`` option as a value (``None``: each scenario's own); exits on a typo."""
    if text is None:
        return None
    try:
        return Physics.parse(text)
    except ConfigError as exc:
        fail(str(exc))


CLOCK_TOPIC = Topics().clock
ClockTopicOption = Annotated[
    str,
    typer.Option("--clock-topic", envvar="TRILINK_CLOCK_TOPIC", help="The session clock's topic."),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit with ``code`` (2: bad arguments, 1: failure)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def sasl_properties(
    prefix: str = "TRILINK_", env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """librdkafka SASL properties from ``{prefix}SASL_USERNAME`` etc.; empty without a
    user name (a plaintext cluster such as the embedded broker)."""
    env = os.environ if env is None else env
    user = env.get(f"{prefix}SASL_USERNAME", "").strip()
    if not user:
        return {}
    password = env.get(f"{prefix}SASL_PASSWORD", "")
    if not password:
        fail(f"{prefix}SASL_USERNAME is set but {prefix}SASL_PASSWORD is empty")
    mechanism = env.get(f"{prefix}SASL_MECHANISM") or env.get("TRILINK_SASL_MECHANISM")
    protocol = env.get("TRILINK_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    return {
        "security.protocol": protocol,
        "sasl.mechanism": mechanism or "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
    }


def build_kafka_config(bootstrap: str | None, registry: str | None) -> KafkaConfig | None:
    """The cluster the flags name, or None for "start an embedded broker".

    Malformed values fail with exit code 2.
    """
    bootstrap = (bootstrap or "").strip() or None
    registry = (registry or "").strip() or None
    if bootstrap is None:
        if registry is not None:
            fail("--schema-registry needs --bootstrap-servers (the embedded broker has none)")
        return None
    if registry is not None and not registry.startswith(("http://", "https://")):
        fail(f"--schema-registry {registry!r} is not an http(s) URL")
    try:
        return KafkaConfig(
            bootstrap_servers=bootstrap,
            schema_registry_url=registry,
            client=MappingProxyType(sasl_properties()),
        )
    except ConfigError as exc:
        fail(str(exc))


ENV_CONNECT_TIMEOUT = "TRILINK_CONNECT_TIMEOUT_S"
CONNECT_TIMEOUT_BOUNDS_S = (0.1, 300.0)


def connect_timeout_s(env: Mapping[str, str] | None = None) -> float:
    """How long a command waits for a named cluster to answer: ``TRILINK_CONNECT_TIMEOUT_S``
    (bounded), else ``trilink.kafka.probe.METADATA_TIMEOUT_S``. A bad value exits 2."""
    raw = (os.environ if env is None else env).get(ENV_CONNECT_TIMEOUT, "").strip()
    if not raw:
        return METADATA_TIMEOUT_S
    lo, hi = CONNECT_TIMEOUT_BOUNDS_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not lo <= value <= hi:  # NaN fails too
        fail(f"{ENV_CONNECT_TIMEOUT} must be a number of seconds in [{lo:g}, {hi:g}], got {raw!r}")
    return value


def _check_reachable(kafka: KafkaConfig) -> None:
    check_reachable(kafka, connect_timeout_s())


@contextmanager
def cluster(
    kafka: KafkaConfig | None,
    progress: bool = True,
    *,
    check: Callable[[KafkaConfig], None] = _check_reachable,
) -> Iterator[KafkaConfig]:
    """Yield ``kafka`` once it answers, or start an embedded broker for the block and stop
    it after."""
    if kafka is not None:
        # Fail in seconds with one line, not after every client's own retries.
        check(kafka)
        yield kafka
        return
    broker = EmbeddedBroker()
    if progress:
        with err_console.status("starting embedded broker…"):
            broker.start()
    else:
        broker.start()
    try:
        yield KafkaConfig(bootstrap_servers=broker.bootstrap_servers)
    finally:
        broker.stop()


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn trilink errors into one line on stderr: ConfigError exits 2, others 1;
    Ctrl-C exits 130 without a traceback."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), code=2)
    except TrilinkError as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def exits_on_error(command: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`handle_errors` for a Typer command function."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with handle_errors():
            return command(*args, **kwargs)

    return wrapper


def service_logging() -> None:
    """Long-running services say what they do at INFO (start-up, health) unless asked
    for more; a one-shot command stays at WARNING."""
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)


def stop_on_signals(what: str) -> threading.Event:
    """An event set by SIGINT or SIGTERM, for services whose ``run(stop)`` finishes
    the work in hand before returning (a clean shutdown under Docker and Ctrl-C)."""
    stop = threading.Event()
    log = logging.getLogger("cli")

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping %s", signum, what)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop
