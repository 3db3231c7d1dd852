"""``trilink map``: the common operating picture in a browser, served from this machine.

Thin: flags -> config -> :mod:`consumers.map`. The simulator's sensor table and
the catalogues' launch sites and missile names are read here and handed to the map
as plain values (the consumers floor does not read the simulator), and so are the
Natural Earth layers the threat package ships. ``trilink demo`` serves the same map
through :func:`demo_map`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import typer
from rich.console import Console

from cli.common import (
    BootstrapOption,
    PhysicsOption,
    RegistryOption,
    build_kafka_config,
    cluster,
    fail,
    handle_errors,
    physics_choice,
    service_logging,
    stop_on_signals,
)
from consumers.errors import ConsumerError, StartPositionError
from consumers.map import (
    FeedConfig,
    LaunchSite,
    MapContext,
    MapFeed,
    MapServer,
    MapState,
    SensorSite,
    ServerConfig,
)
from consumers.positions import StartKind, StartPosition
from sim.catalog import missiles, sites
from sim.sensors import all_sensors
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig, Topics
from trilink.physics import DEFAULT_PHYSICS, Physics
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
DEFAULT_SINCE = "15m"
BASEMAP_LAYERS = ("land", "units", "zones")


def register(app: typer.Typer) -> None:
    """Add the ``map`` command to the root app."""
    app.command("map")(map_command)


def map_context(physics: Physics = DEFAULT_PHYSICS) -> MapContext:
    """The simulator's sensors and the catalogues' sites and missile names, as plain data;
    ``physics`` is the flight model the predicted paths fly."""
    sensors = tuple(
        SensorSite(
            name=s.name,
            nation=s.nation.value,
            kind=s.kind.value,
            platform=s.platform,
            lat_deg=s.lat_deg,
            lon_deg=s.lon_deg,
            alt_m=s.alt_m,
            max_range_km=s.max_range_km,
            boresight_deg=s.boresight_deg,
            half_width_deg=s.half_width_deg,
            min_el_deg=s.min_el_deg,
        )
        for s in all_sensors()
    )
    launch_sites = tuple(
        LaunchSite(site.key, site.name, site.lat_deg, site.lon_deg) for site in sites().values()
    )
    names = MappingProxyType({key: m.name for key, m in missiles().items()})
    return MapContext(sensors=sensors, sites=launch_sites, missile_names=names, physics=physics)


def basemap_files() -> dict[str, Path]:
    """Natural Earth land, admin-1 units and maritime zones shipped with ``threat``."""
    data = resources.files("threat").joinpath("data")
    return {name: Path(str(data.joinpath(f"{name}.geojson"))) for name in BASEMAP_LAYERS}


@dataclass(frozen=True, slots=True)
class RunningMap:
    """A map being served: its URL, and the pieces tests look into."""

    url: str
    state: MapState
    feed: MapFeed
    server: MapServer


@contextmanager
def serving_map(
    kafka: KafkaConfig,
    codec: Codec,
    *,
    topics: Topics | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    start: StartPosition | None = None,
    wait_positioned: float | None = None,
    any_port_if_busy: bool = False,
    physics: Physics = DEFAULT_PHYSICS,
) -> Iterator[RunningMap]:
    """Serve the map for the block: web server first, then the reading thread.

    ``start`` defaults to now. ``any_port_if_busy`` falls back to a free port when
    ``port`` is taken (the demo's choice; ``trilink map`` reports it instead).
    """
    state = MapState(map_context(physics))
    server = _listen(state, host, port, any_port_if_busy)
    feed_config = FeedConfig(topics=topics or Topics(), start=start or StartPosition(StartKind.NOW))
    feed = MapFeed(kafka, codec, state, feed_config)
    try:
        feed.start(wait_positioned=wait_positioned)
        yield RunningMap(server.url, state, feed, server)
    finally:
        feed.stop()
        server.stop()


def _listen(state: MapState, host: str, port: int, any_port_if_busy: bool) -> MapServer:
    layers = MappingProxyType(basemap_files())
    server = MapServer(state, ServerConfig(host=host, port=port, basemap=layers))
    try:
        server.start()
    except ConsumerError:
        if not any_port_if_busy or port == 0:
            raise
        log.info("map: port %d is taken; serving on a free port", port)
        server = MapServer(state, ServerConfig(host=host, port=0, basemap=layers))
        server.start()
    return server


@contextmanager
def demo_map(
    kafka: KafkaConfig,
    codec: Codec,
    console: Console,
    *,
    port: int | None,
    topics: list[str],
    partitions: int,
    feed_topics: Topics | None = None,
    physics: Physics = DEFAULT_PHYSICS,
) -> Iterator[str | None]:
    """The demo's map: ``topics`` created first so the reader is positioned before
    anything is injected; prints the URL. ``port`` None: no map. ``feed_topics``:
    what the map reads (default names otherwise)."""
    if port is None:
        yield None
        return
    from trilink.kafka import ensure_topics

    ensure_topics(kafka, topics, partitions)
    with serving_map(
        kafka,
        codec,
        port=port,
        wait_positioned=30.0,
        any_port_if_busy=True,
        topics=feed_topics,
        physics=physics,
    ) as running:
        console.print(f"map: {running.url}  (open it to watch the missiles live)", markup=False)
        yield running.url


def map_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")
    ] = DEFAULT_PORT,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Show every alert still on the topics.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help=f"Show alerts written since TIME: ISO-8601 or a duration back from now "
            f"(default {DEFAULT_SINCE}).",
        ),
    ] = None,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    physics: PhysicsOption = None,
) -> None:
    """Serve a live map of the shared picture: sensors and their coverage, each
    missile's launch point, trajectory, impact ellipse and threatened areas, and when
    each nation detected it. Open the printed URL; Ctrl-C stops.
    """
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        fail(
            "no Kafka cluster: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS "
            "(`trilink broker` starts one; `trilink demo` serves the map itself)"
        )
    if not host.strip():
        fail("--host is empty")
    try:
        start = StartPosition.from_flags(
            from_beginning=from_beginning,
            since=None if from_beginning else (since or DEFAULT_SINCE),
            follow=True,
            now_us=wall_clock_us(),
        )
    except StartPositionError as exc:
        fail(str(exc))
    service_logging()
    console = Console(highlight=False)
    with handle_errors(), cluster(kafka) as config:
        stop = stop_on_signals("the map")
        with serving_map(
            config,
            codec_for(config),
            host=host.strip(),
            port=port,
            start=start,
            physics=physics_choice(physics) or DEFAULT_PHYSICS,
        ) as m:
            console.print(f"map: {m.url}  (Ctrl-C stops)", markup=False)
            stop.wait()
