"""``trilink demo``: the whole pipeline on one machine, with a live picture of the alerts.

Parses flags, builds the pipeline (national producers + bridge on the accelerated
scenario clock) and hands it to :func:`demo.run.run_demo`; this module only
decides how it looks: a Rich Live view on a terminal, progressive plain lines
otherwise (or with ``--once``), and the summary table at the end.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from bridge.service import BridgeService
from cli.common import (
    BootstrapOption,
    PhysicsOption,
    RegistryOption,
    build_kafka_config,
    cluster,
    err_console,
    fail,
    handle_errors,
    physics_choice,
)
from cli.map import DEFAULT_PORT as DEFAULT_MAP_PORT
from cli.map import demo_map
from cli.systems import JpnusOption, RokusOption, system_clusters
from consumers.errors import ConsumerError
from consumers.render import alert_line, alerts_table, clock
from demo.pipeline import PipelineConfig, ThreadedPipeline
from demo.render import summary_lines, summary_table
from demo.run import DemoConfig, DemoResult, DemoWatch, all_topics, run_demo
from demo.systems_render import systems_lines
from producers.errors import ScenarioError
from trilink.codec import Codec, codec_for
from trilink.config import KafkaConfig
from trilink.model import FusedAlert, LaunchEvent
from trilink.systems import System

DEFAULT_SPEED = 25.0
WIDE = 240  # summary columns do not wrap in logs and pipes


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the root app."""
    app.command("demo")(demo)


def demo(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Non-interactive: plain progressive lines, no live view; ends by itself "
            "when every missile's track has ended (IMPACT, or DROPPED out of coverage); "
            "non-zero exit on --timeout.",
        ),
    ] = False,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", min=1.0, max=200.0, help="Simulation seconds per wall-clock second."
        ),
    ] = DEFAULT_SPEED,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="Scenario to inject: 'demo' (2022-10-04 IRBM over Japan + a KN-25 salvo), "
            "another built-in name, or a scenario file.",
        ),
    ] = "demo",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of every random draw (default: 0).")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=10.0, help="Give up this many seconds after injection."),
    ] = 300.0,
    map_port: Annotated[
        int,
        typer.Option(
            "--map-port",
            min=0,
            max=65535,
            help="Serve the live map (trilink map) on this port; a free one if it is taken.",
        ),
    ] = DEFAULT_MAP_PORT,
    no_map: Annotated[bool, typer.Option("--no-map", help="Do not serve the live map.")] = False,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    single: Annotated[
        bool,
        typer.Option(
            "--single",
            help="One cluster for every nation (the simple set-up) instead of the two "
            "bilateral systems.",
        ),
    ] = False,
    rokus: RokusOption = None,
    jpnus: JpnusOption = None,
    physics: PhysicsOption = None,
) -> None:
    """Run the national producers and the bridge, inject a scripted scenario on an
    accelerated clock, and watch the fused alerts: who sees each missile, and when.

    By default two bilateral systems, each its own embedded broker: Korea and US
    Forces Korea on ROK-US, Japan and US Forces Japan on Japan-US, the bridge the
    only service on both; every record signed, and Korea withholding some tracks
    from Japan. --single (or --bootstrap-servers) runs one cluster instead. Prints
    the URL of the live map. Ctrl-C stops everything cleanly and still prints the
    summary.
    """
    systems = system_clusters(rokus, jpnus)
    kafka = build_kafka_config(bootstrap, registry)
    if systems is not None and (kafka is not None or single):
        fail("--rokus-bootstrap/--jpnus-bootstrap contradict --single and --bootstrap-servers")
    if kafka is None and not single:
        _demo_two_systems(
            systems,
            once,
            speed,
            _pipeline_config(scenario, speed, seed, physics),
            timeout,
            None if no_map else map_port,
        )
        return
    console, live = _console(once)
    with handle_errors():
        pipeline_config = _pipeline_config(scenario, speed, seed, physics)
        with cluster(kafka) as config:
            codec = codec_for(config)
            demo_config = DemoConfig(config, timeout_s=timeout)
            topics = all_topics(demo_config.topics)
            pipeline = ThreadedPipeline(config, pipeline_config, codec)
            display: LiveDisplay | LineDisplay = (
                LiveDisplay(console, speed, health=_bridge_health([pipeline.bridge]))
                if live
                else LineDisplay(console, speed)
            )
            port = None if no_map else map_port
            with (
                demo_map(
                    config,
                    codec,
                    console,
                    port=port,
                    topics=topics,
                    partitions=demo_config.partitions,
                    physics=pipeline_config.scenario.physics,
                ),
                display,
            ):
                result = run_demo(demo_config, pipeline, codec, display)
    _finish(console, result, timeout)


def _console(once: bool) -> tuple[Console, bool]:
    """The console, and whether it shows the live view (a terminal, without --once)."""
    console = Console(highlight=False)
    live = console.is_terminal and not once
    if not live:
        console = Console(highlight=False, width=max(console.width, WIDE))
    return console, live


def _pipeline_config(
    scenario: str, speed: float, seed: int | None, physics: str | None
) -> PipelineConfig:
    """The scenario to run, or exit with one line saying why it cannot be."""
    try:
        return PipelineConfig.load(
            scenario, speed=speed, seed=seed, physics=physics_choice(physics)
        )
    except (ConsumerError, ScenarioError) as exc:
        fail(str(exc))


def _finish(
    console: Console, result: DemoResult, timeout: float, *, extra: Sequence[str] = ()
) -> None:
    console.print()
    console.print(summary_table(result.rows, title="Trilateral sharing: summary"))
    if not console.is_terminal:
        for line in summary_lines(result.rows):
            console.print(line, markup=False, soft_wrap=True)
    for line in extra:
        console.print(line, markup=False, soft_wrap=True)
    console.print(f"demo took {result.elapsed_s:.0f} s", style="dim")
    if result.interrupted:
        err_console.print("interrupted: every service stopped")
        raise typer.Exit(130)
    if result.failed:
        name, why = next(iter(result.failed.items()))
        fail(f"service {name} failed: {why}", code=1)
    if not result.complete:
        unfinished = sum(
            1
            for r in result.rows
            if r.launch is not None and (r.track is None or not r.track.final)
        )
        fail(
            f"timed out after {timeout:g} s: {unfinished} of {len(result.launches)} missiles "
            "still without a final (IMPACT/DROPPED) alert",
            code=1,
        )


def _launch_line(launch: LaunchEvent) -> str:
    return (
        f"launch {launch.launch_id}: {launch.missile} ({launch.missile_class.value}) from "
        f"{launch.site} at {clock(launch.launch_time_us)} UTC, bearing "
        f"{launch.bearing_deg:.0f}°, {launch.range_km:.0f} km, apogee {launch.apogee_km:.0f} km"
    )


class LineDisplay:
    """Plain progressive lines: for pipes, logs, CI and ``--once``."""

    def __init__(self, console: Console, speed: float) -> None:
        self.console = console
        self.speed = speed

    def __enter__(self) -> LineDisplay:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        return None

    @contextmanager
    def _timed(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        self.console.print(f"… {text}", markup=False)
        yield
        self.console.print(f"  done in {time.monotonic() - started:.1f} s", style="dim")

    def step(self, text: str) -> AbstractContextManager[object]:
        return self._timed(text)

    def injected(self, launches: Sequence[LaunchEvent]) -> None:
        self.console.print(f"scenario injected, clock ×{self.speed:g}:", markup=False)
        for launch in launches:
            self.console.print(f"  {_launch_line(launch)}", markup=False, soft_wrap=True)

    def alert(self, alert: FusedAlert, watch: DemoWatch) -> None:
        done = len(watch.finished())
        self.console.print(
            f"ALERT {alert_line(alert)}  [{done}/{len(watch.launches)} finished]",
            markup=False,
            soft_wrap=True,
        )


def _bridge_health(bridges: Sequence[BridgeService]) -> Callable[[], str]:
    """The bridge's health line (lag, time behind the clock), for the live view."""

    def line() -> str:
        lines = []
        for bridge in bridges:
            health = bridge.health
            text = "starting" if health is None else health.monitor.heartbeat().line()
            lines.append(text if len(bridges) == 1 else f"{bridge.name}: {text}")
        return "\n".join(lines)

    return line


def _demo_two_systems(
    systems: dict[System, KafkaConfig] | None,
    once: bool,
    speed: float,
    pipeline_config: PipelineConfig,
    timeout: float,
    port: int | None,
) -> None:
    """The demo on two bilateral systems (embedded brokers unless both are given)."""
    from demo.systems import TwoSystemPipeline, report

    console, live = _console(once)
    with handle_errors():
        given = systems or {}
        with (
            cluster(given.get(System.ROKUS)) as rokus,
            cluster(given.get(System.JPNUS)) as jpnus,
            tempfile.TemporaryDirectory(prefix="trilink-keys-") as keys_dir,
        ):
            codec = Codec()  # single-object encoding: records cross between systems
            clusters = {System.ROKUS: rokus, System.JPNUS: jpnus}
            pipeline = TwoSystemPipeline(clusters, pipeline_config, codec, Path(keys_dir))
            demo_config = DemoConfig(rokus, timeout_s=timeout)
            display: LiveDisplay | LineDisplay = (
                LiveDisplay(
                    console, speed, health=_bridge_health(list(pipeline.bridge.services.values()))
                )
                if live
                else LineDisplay(console, speed)
            )
            topics = demo_config.topics
            with (
                demo_map(
                    rokus,
                    codec,
                    console,
                    port=port,
                    topics=[*System.ROKUS.inputs(topics), topics.alerts, topics.launches],
                    partitions=demo_config.partitions,
                    # Japan's reports on ROK-US are the ones released across.
                    feed_topics=replace(topics, warnings_jpn=topics.crossed_jpn),
                    physics=pipeline_config.scenario.physics,
                ),
                display,
            ):
                result = run_demo(demo_config, pipeline, codec, display)
            systems_report = report(pipeline)
    _finish(console, result, timeout, extra=systems_lines(systems_report))


class LiveDisplay:
    """A Rich Live screen: the launches, the alert table and what is happening."""

    def __init__(
        self, console: Console, speed: float, *, health: Callable[[], str] | None = None
    ) -> None:
        self.console = console
        self.speed = speed
        self.health = health
        self.launches: Sequence[LaunchEvent] = ()
        self.watch: DemoWatch | None = None
        self.activity = "starting"
        self.started = time.monotonic()
        self.finished = False
        self._live = Live(self, console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.finished = True
        self._live.refresh()
        self._live.stop()

    def __rich__(self) -> RenderableType:
        elapsed = time.monotonic() - self.started
        header = Text.assemble(
            ("trilink demo", "bold"),
            f"  accelerated clock ×{self.speed:g}  elapsed {elapsed:.0f} s (wall)",
        )
        parts: list[RenderableType] = [header]
        if self.health is not None:
            line = self.health()
            parts.append(Text(line, style="bold red" if "BEHIND" in line else "dim"))
        parts.extend(Text(_launch_line(launch), style="dim") for launch in self.launches)
        if self.watch is not None:
            parts.append(alerts_table(self.watch.tracks()))
            done = len(self.watch.finished())
            parts.append(
                Text(
                    f"{done}/{len(self.launches)} missiles finished (impact, or out of coverage)",
                    style="bold",
                )
            )
        if self.finished:
            parts.append(Text(f"stopped after {elapsed:.0f} s", style="bold green"))
        else:
            parts.append(Spinner("dots", text=Text(self.activity, style="cyan")))
        return Group(*parts)

    @contextmanager
    def _activity(self, text: str) -> Iterator[None]:
        previous, self.activity = self.activity, text + "…"
        try:
            yield
        finally:
            self.activity = previous

    def step(self, text: str) -> AbstractContextManager[object]:
        return self._activity(text)

    def injected(self, launches: Sequence[LaunchEvent]) -> None:
        self.launches = launches
        self.watch = DemoWatch(())  # replaced by the run's watch with the first alert
        self.activity = "waiting for the national sensors to detect the launches…"

    def alert(self, alert: FusedAlert, watch: DemoWatch) -> None:
        self.watch = watch
        self.activity = "watching the alerts (Ctrl-C stops)…"
