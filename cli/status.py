"""``trilink status | clock``: every service's health, and the session's shared clock."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.common import (
    CLOCK_TOPIC,
    BootstrapOption,
    ClockTopicOption,
    RegistryOption,
    build_kafka_config,
    fail,
    handle_errors,
)
from trilink.clock import REAL_TIME, ClockDefinition, SimClock
from trilink.codec import codec_for
from trilink.config import KafkaConfig, Topics
from trilink.health import Heartbeat
from trilink.kafka.clock import read_clock, reset_clock
from trilink.kafka.heartbeat import read_heartbeats
from trilink.timeutil import iso, wall_clock_us

console = Console(highlight=False)

StaleOption = Annotated[
    float,
    typer.Option(
        "--stale-s",
        min=1.0,
        max=86_400.0,
        help="A service silent this long (wall seconds) is shown as SILENT.",
    ),
]


def _cluster(bootstrap: str | None, registry: str | None) -> KafkaConfig:
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        fail("no Kafka cluster: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS")
    return kafka


def _state(beat: Heartbeat, clock: ClockDefinition | None, stale_s: float) -> str:
    session = SimClock(clock or REAL_TIME)
    # Heartbeats are stamped on the session clock: judge their age in wall seconds.
    age_s = (session.now() - beat.time_us) / 1e6 / session.rate
    return "SILENT" if age_s > stale_s else beat.state.value


def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    stale_s: StaleOption = 30.0,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    heartbeats_topic: Annotated[
        str, typer.Option("--heartbeats-topic", help="Where services publish health.")
    ] = Topics().heartbeats,
    clock_topic: ClockTopicOption = CLOCK_TOPIC,
) -> None:
    """Every service's health from its heartbeats, and the session clock."""
    kafka = _cluster(bootstrap, registry)
    codec = codec_for(kafka)
    with handle_errors():
        clock = read_clock(kafka, clock_topic, codec, timeout=5.0)
        beats = read_heartbeats(kafka, heartbeats_topic, codec, timeout=5.0)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "clock": None if clock is None else clock.to_dict(),
                    "services": [{**b.to_dict(), "seen": _state(b, clock, stale_s)} for b in beats],
                }
            )
        )
        return
    console.print(f"clock: {'not set (real time)' if clock is None else clock.describe()}")
    if not beats:
        console.print("no service has reported yet")
        return
    table = Table(title="Services", header_style="bold")
    for column in ("service", "instance", "state", "last seen", "lag", "behind clock"):
        table.add_column(column)
    for column in ("processed", "dead letters"):
        table.add_column(column, justify="right")
    for b in beats:
        table.add_row(
            b.service,
            b.instance,
            _state(b, clock, stale_s),
            iso(b.time_us),
            f"{b.lag_records} records",
            f"{b.event_lag_s:.1f} s",
            str(b.processed),
            str(b.dead_letters),
        )
    console.print(table)


def clock(
    reset_speed: Annotated[
        float | None,
        typer.Option(
            "--reset",
            metavar="SPEED",
            min=0.001,
            max=1000.0,
            help="Start a new session clock now at SPEED x real time (restart services after).",
        ),
    ] = None,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    clock_topic: ClockTopicOption = CLOCK_TOPIC,
) -> None:
    """Show the session's shared clock, or reset it."""
    kafka = _cluster(bootstrap, registry)
    codec = codec_for(kafka)
    with handle_errors():
        if reset_speed is not None:
            now = wall_clock_us()
            proposal = ClockDefinition(now, reset_speed, set_by="trilink clock", set_at_us=now)
            found: ClockDefinition | None = reset_clock(kafka, clock_topic, codec, proposal)
        else:
            found = read_clock(kafka, clock_topic, codec, timeout=5.0)
    if found is None:
        typer.echo("clock: not set (services run on real time until one sets it)")
        return
    typer.echo(f"clock: {found.describe()} (generation {found.generation}, set by {found.set_by})")
    if not found.real_time:
        typer.echo(f"scenario time now: {iso(SimClock(found).now())}")


def register(app: typer.Typer) -> None:
    """Add ``status`` and ``clock`` to the root app."""
    app.command("status")(status)
    app.command("clock")(clock)
