"""``trilink producer | inject | simulate``: the national producers and their ground truth.

Thin by design: flags and environment are read here into frozen configs, then
:mod:`producers` does the work.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import (
    CLOCK_TOPIC,
    BootstrapOption,
    ClockTopicOption,
    PhysicsOption,
    RegistryOption,
    build_kafka_config,
    cluster,
    connect_timeout_s,
    fail,
    handle_errors,
    physics_choice,
    service_logging,
    stop_on_signals,
)
from cli.systems import JpnusOption, KeyFileOption, RokusOption, signer_from, system_clusters
from producers.errors import ProducerError
from trilink.clock import MAX_RATE
from trilink.codec import codec_for
from trilink.config import Topics
from trilink.errors import TrilinkError
from trilink.kafka.clock import SessionClock
from trilink.kafka.probe import check_reachable
from trilink.model import Nation
from trilink.physics import DEFAULT_PHYSICS
from trilink.systems import System
from trilink.timeutil import iso, parse_iso

if TYPE_CHECKING:
    from producers.inject import LaunchRequest

ENV = "TRILINK_PRODUCER_"
NATIONS = ("KOR", "JPN", "USA")

SpeedOption = Annotated[
    float | None,
    typer.Option(
        "--speed",
        envvar=[f"{ENV}SPEED", "TRILINK_SPEED"],
        show_envvar=True,
        help="Session clock speed (x real time), agreed with the cluster (the first service "
        "to start with a speed sets it); default: follow the session's clock.",
    ),
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", help="Seed of every random draw (default: the scenario's).")
]


def producer(
    nation: Annotated[
        str,
        typer.Option("--nation", envvar=f"{ENV}NATION", show_envvar=True, help="KOR, JPN or USA."),
    ],
    speed: SpeedOption = None,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    launches_topic: Annotated[
        str, typer.Option("--launches-topic", help="Ground-truth launch topic.")
    ] = Topics().launches,
    warnings_topic: Annotated[
        str | None,
        typer.Option("--warnings-topic", help="Output topic (default: warnings.<nation>)."),
    ] = None,
    clock_topic: ClockTopicOption = CLOCK_TOPIC,
    key_file: KeyFileOption = None,
    restrict: Annotated[
        float,
        typer.Option(
            "--restrict-fraction",
            envvar=f"{ENV}RESTRICT_FRACTION",
            show_envvar=True,
            min=0.0,
            max=1.0,
            help="Share of this nation's tracks released only to the US and itself "
            "(SECRET//REL TO USA, <nation>); the same tracks every run.",
        ),
    ] = 0.0,
    physics: PhysicsOption = None,
) -> None:
    """Simulate one nation's sensors and tracker and publish its warnings.

    Every warning is labelled; with --key-file it is also signed (a bridge with a
    trust store refuses unsigned records). Consumes launch events from the
    ground-truth topic and runs until SIGINT/SIGTERM.
    """
    from producers.labelling import Labeller, ReleasePolicy
    from producers.service import NationalProducer, ProducerConfig

    code = nation.strip().upper()
    if code not in NATIONS:
        fail(f"--nation must be one of {', '.join(NATIONS)}, got {nation!r}")
    if speed is not None and not (math.isfinite(speed) and 0.0 < speed <= MAX_RATE):
        fail(f"--speed must be > 0 and at most {MAX_RATE:g}, got {speed}")
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        # A private embedded broker would be one nobody else can reach: no launches
        # arrive and no warning leaves. `trilink demo` is the all-in-one form.
        fail(
            "producer needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS): start a broker "
            "with 'trilink broker', or run everything at once with 'trilink demo'"
        )
    n = Nation(code)
    topics = Topics(launches=launches_topic, clock=clock_topic)
    if warnings_topic:
        field = {"KOR": "warnings_kor", "JPN": "warnings_jpn", "USA": "warnings_usa"}[code]
        topics = Topics(launches=launches_topic, clock=clock_topic, **{field: warnings_topic})
    from producers.national import NationalConfig

    # Launch events carry no flight model: every service of a session is given the same.
    national = NationalConfig(physics=physics_choice(physics) or DEFAULT_PHYSICS)
    config = ProducerConfig(nation=n, speed=speed, topics=topics, national=national)
    labeller = Labeller(
        n,
        signer=signer_from(key_file),
        policy=ReleasePolicy(
            restricted_fraction=restrict, restricted_to=frozenset((Nation.USA, n))
        ),
    )
    service_logging()
    stop = stop_on_signals("the producer")
    with handle_errors(), cluster(kafka, progress=False) as resolved:
        NationalProducer(resolved, config, labeller=labeller).run(stop)


def inject(
    site: Annotated[str | None, typer.Option("--site", help="Launch site (catalogue key).")] = None,
    missile: Annotated[
        str, typer.Option("--missile", help="Missile key, alias, class or 'unknown'.")
    ] = "unknown",
    bearing: Annotated[
        float | None, typer.Option("--bearing", help="Bearing to the impact point (deg).")
    ] = None,
    range_km: Annotated[float | None, typer.Option("--range-km", help="Range (km).")] = None,
    apogee_km: Annotated[float | None, typer.Option("--apogee-km", help="Apogee (km).")] = None,
    count: Annotated[
        int | None, typer.Option("--count", help="Salvo size (with the launch parameters).")
    ] = None,
    spacing_s: Annotated[
        float | None, typer.Option("--spacing-s", help="Seconds between salvo launches.")
    ] = None,
    historical: Annotated[
        str | None,
        typer.Option("--historical", metavar="DATE", help="Replay a historical day, re-timed."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", metavar="NAME|FILE", help="Built-in scenario or YAML file."),
    ] = None,
    seed: SeedOption = None,
    lead_s: Annotated[
        float, typer.Option("--lead-s", help="Scenario start this many seconds from now.")
    ] = 2.0,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    launches_topic: Annotated[
        str, typer.Option("--launches-topic", help="Ground-truth launch topic.")
    ] = Topics().launches,
    clock_topic: ClockTopicOption = CLOCK_TOPIC,
    rokus: RokusOption = None,
    jpnus: JpnusOption = None,
) -> None:
    """Publish launch events (one launch, a salvo, a historical day or a scenario).

    With --rokus-bootstrap and --jpnus-bootstrap the same launches go to both
    systems (the injector is the simulated world, not a party). Prints the launch ids.
    """
    from producers.inject import inject as publish
    from producers.inject import scenario_for

    request = _launch_request(site, missile, bearing, range_km, apogee_km, count, spacing_s)
    if not 0.0 <= lead_s <= 3600.0:
        fail(f"--lead-s must be in [0, 3600] s, got {lead_s}")
    systems = system_clusters(rokus, jpnus)
    kafka = build_kafka_config(bootstrap, registry)
    if systems is not None:
        if kafka is not None:
            fail("give either --bootstrap-servers (one cluster) or the two systems, not both")
        kafka = systems[System.ROKUS]
    if kafka is None:
        fail(
            "inject needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS): the producers' cluster"
        )
    try:
        chosen = scenario_for(launch=request, historical=historical, scenario=scenario, seed=seed)
    except ProducerError as exc:
        fail(str(exc))
    with handle_errors():
        check_reachable(kafka, connect_timeout_s())
        # Launch times on the session clock, whatever speed the session runs at; the
        # lead is wall time for the producers to hear of the launches first.
        session = SessionClock(kafka, clock_topic, codec_for(kafka))
        try:
            session.poll(1.0)
            anchored = publish(
                kafka,
                chosen,
                topics=Topics(launches=launches_topic),
                lead_s=lead_s * session.rate,
                clock=session.now,
            )
            if systems is not None:
                # The very same launches (ids and times) on the other system.
                publish(
                    systems[System.JPNUS],
                    anchored,
                    topics=Topics(launches=launches_topic),
                    lead_s=0.0,
                    clock=lambda: anchored.start_us,
                )
        finally:
            session.close()
    for event in anchored.launches:
        typer.echo(event.launch_id)


def _launch_request(
    site: str | None,
    missile: str,
    bearing: float | None,
    range_km: float | None,
    apogee_km: float | None,
    count: int | None,
    spacing_s: float | None,
) -> LaunchRequest | None:
    """The one launch or salvo the flags describe, None if they describe none; exits with
    one line if they describe one only in part."""
    from producers.inject import LaunchRequest

    launch_given = any(v is not None for v in (site, bearing, range_km, apogee_km))
    if (count is not None or spacing_s is not None) and not launch_given:
        fail("--count/--spacing-s need launch parameters (--site, --bearing, --range-km, ...)")
    if not launch_given:
        return None
    missing = [
        flag
        for flag, value in (
            ("--site", site),
            ("--bearing", bearing),
            ("--range-km", range_km),
            ("--apogee-km", apogee_km),
        )
        if value is None
    ]
    if missing:
        fail(f"a launch needs {', '.join(missing)}")
    assert site is not None and bearing is not None
    assert range_km is not None and apogee_km is not None
    try:
        return LaunchRequest(
            site,
            missile,
            bearing,
            range_km,
            apogee_km,
            1 if count is None else count,
            10.0 if spacing_s is None else spacing_s,
        )
    except ProducerError as exc:
        fail(str(exc))


def simulate(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the JSON-lines files.")],
    seed: SeedOption = None,
    start: Annotated[
        str | None,
        typer.Option("--start", metavar="ISO|now", help="Re-anchor the scenario start."),
    ] = None,
    physics: PhysicsOption = None,
) -> None:
    """Run a scenario offline: launches.jsonl and warnings.<nation>.jsonl, no Kafka."""
    from producers.national import NationalConfig, simulate_all
    from producers.scenario_file import load_scenario
    from trilink.timeutil import us_from_datetime

    try:
        loaded = load_scenario(scenario, seed).with_physics(physics_choice(physics))
    except ProducerError as exc:
        fail(str(exc))
    if start is not None:
        import datetime as dt

        try:
            anchor = (
                us_from_datetime(dt.datetime.now(dt.UTC)) if start == "now" else parse_iso(start)
            )
        except ValueError:
            fail(f"--start {start!r} is not ISO-8601 or 'now'")
        loaded = loaded.at(anchor)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {out}: {exc.strerror}")
    with handle_errors():
        warnings = simulate_all(loaded.launches, config=NationalConfig(physics=loaded.physics))
    try:
        _write_jsonl(out / "launches.jsonl", [e.to_dict() for e in loaded.launches])
        for nation, records in warnings.items():
            name = f"warnings.{nation.value.lower()}.jsonl"
            _write_jsonl(out / name, [w.to_dict() for w in records])
    except OSError as exc:
        raise TrilinkError(f"cannot write to {out}: {exc.strerror}") from exc
    typer.echo(
        f"{loaded.scenario_id}: {len(loaded.launches)} launches from "
        f"{iso(loaded.start_us)}, warnings "
        + ", ".join(f"{n.value} {len(ws)}" for n, ws in warnings.items())
        + f" -> {out}"
    )


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, separators=(",", ":")) + "\n")


def register(app: typer.Typer) -> None:
    """Add ``producer``, ``inject`` and ``simulate`` to the root app."""
    app.command("producer")(producer)
    app.command("inject")(inject)
    app.command("simulate")(simulate)
