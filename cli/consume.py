"""``trilink alerts | warnings | inspect | topics``: watch and examine what is on the cluster.

Thin by design: parse flags, build the config, call :mod:`consumers`, print.
Without ``--follow`` a command reads what is there when it starts and exits;
with it, it keeps going (a Rich Live table on a terminal, one line per record
otherwise) until Ctrl-C, ``--max`` or ``--timeout``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli.common import (
    BootstrapOption,
    RegistryOption,
    build_kafka_config,
    err_console,
    fail,
    handle_errors,
)
from consumers.errors import StartPositionError
from consumers.inspect import inspect_topic
from consumers.positions import StartPosition
from consumers.reader import Delivery, RecordReader, wait_for_topics
from consumers.render import (
    alert_line,
    alerts_table,
    jsonable,
    warning_line,
    warnings_table,
)
from consumers.topics import describe_cluster
from consumers.view import AlertPicture
from trilink.codec import codec_for
from trilink.config import KafkaConfig, Topics
from trilink.errors import TrilinkError
from trilink.kafka import AnyTopic
from trilink.kafka.clock import read_clock
from trilink.model import FusedAlert, MissileWarning, Nation

console = Console(highlight=False)

ONE_SHOT_IDLE_S = 10.0
"""A one-shot read gives up this long after the last record if the end is never reached."""

FollowOption = Annotated[
    bool, typer.Option("--follow", "-f", help="Keep reading new records until Ctrl-C.")
]
FromBeginningOption = Annotated[
    bool,
    typer.Option(
        "--from-beginning",
        help="Start at the first record (the default without --follow; --follow starts now).",
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="TIME",
        help="Start at records written since TIME: ISO-8601 (2022-10-04T22:20Z) or a "
        "duration back from now (90s, 15m, 2h, 1d).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="One JSON object per line (times as ISO-8601), for jq."),
]
MaxOption = Annotated[
    int | None, typer.Option("--max", min=1, metavar="N", help="Stop after N records.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.0,
        metavar="S",
        help=f"Stop after S seconds without a new record (default: never with --follow, "
        f"{ONE_SHOT_IDLE_S:g} s otherwise).",
    ),
]
GroupOption = Annotated[
    str | None,
    typer.Option(
        "--group",
        metavar="ID",
        help="Read as this consumer group (commits, resumes where it stopped) instead "
        "of assigning partitions directly.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``alerts``, ``warnings``, ``inspect`` and ``topics`` to the root app."""
    app.command("alerts")(alerts)
    app.command("warnings")(warnings)
    app.command("inspect")(inspect)
    app.command("topics")(topics)


def _require_cluster(bootstrap: str | None, registry: str | None) -> KafkaConfig:
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        fail(
            "no Kafka cluster: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS "
            "(`trilink broker` starts one)"
        )
    return kafka


def _start(from_beginning: bool, since: str | None, follow: bool) -> StartPosition:
    try:
        return StartPosition.from_flags(
            from_beginning=from_beginning, since=since, follow=follow, now_us=time.time_ns() // 1000
        )
    except StartPositionError as exc:
        fail(str(exc))


def _read(
    kafka: KafkaConfig,
    topic: str,
    start: StartPosition,
    *,
    follow: bool,
    group: str | None,
    max_records: int | None,
    timeout: float | None,
) -> Iterator[Delivery]:
    if follow:
        with err_console.status(f"waiting for topic {topic}…"):
            wait_for_topics(kafka, [topic], timeout)
    idle = timeout if (follow or timeout is not None) else ONE_SHOT_IDLE_S
    # Any record type: --topic may name any topic; the commands pick the records they show.
    with RecordReader(kafka, [AnyTopic(topic, codec_for(kafka))], group=group) as reader:
        reader.open(start)
        yield from reader.read(follow=follow, max_records=max_records, idle_timeout=idle)


def _clock_note(kafka: KafkaConfig, clock_topic: str) -> None:
    """Say on stderr when the times shown are on an accelerated session clock."""
    try:
        found = read_clock(kafka, clock_topic, codec_for(kafka), timeout=2.0)
    except TrilinkError:
        return  # no clock topic: real time
    if found is not None and not found.real_time:
        err_console.print(f"times are scenario times: {found.describe()}", highlight=False)


def _emit_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _undecodable(delivery: Delivery) -> None:
    assert delivery.error is not None
    err_console.print(
        f"[yellow]skipped[/] {delivery.topic}[{delivery.partition}]@{delivery.offset}: "
        f"{delivery.error.reason}",
        highlight=False,
    )


def alerts(
    follow: FollowOption = False,
    from_beginning: FromBeginningOption = False,
    since: SinceOption = None,
    as_json: JsonOption = False,
    max_records: MaxOption = None,
    timeout: TimeoutOption = None,
    topic: Annotated[str, typer.Option("--topic", help="Alert topic to read.")] = Topics().alerts,
    group: GroupOption = None,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
) -> None:
    """Fused trilateral alerts, one row per update (duplicates dropped).

    With --follow on a terminal: a live table with the newest state of each missile,
    who contributes, and when each nation's own sensors first saw it.
    """
    kafka = _require_cluster(bootstrap, registry)
    start = _start(from_beginning, since, follow)
    live = follow and not as_json and console.is_terminal
    if not as_json:
        _clock_note(kafka, Topics().clock)
    with handle_errors():
        records = _read(
            kafka,
            topic,
            start,
            follow=follow,
            group=group,
            max_records=max_records,
            timeout=timeout,
        )
        if live:
            _live_alerts(records)
            return
        for delivery in records:
            if delivery.error is not None:
                _undecodable(delivery)
            elif isinstance(delivery.record, FusedAlert):
                alert = delivery.record
                _emit_line(json.dumps(jsonable(alert)) if as_json else alert_line(alert))


def _live_alerts(records: Iterator[Delivery]) -> None:
    picture = AlertPicture()
    with Live(alerts_table([]), console=console, refresh_per_second=4) as live:
        for delivery in records:
            if isinstance(delivery.record, FusedAlert) and picture.apply(delivery.record):
                live.update(alerts_table(picture.tracks()))


def _parse_nation(text: str) -> Nation:
    partners = ("KOR", "JPN", "USA")
    value = text.strip().upper()
    if value not in partners:
        fail(f"--nation {text!r} is not one of {', '.join(partners)}")
    return Nation(value)


def warnings(
    nation: Annotated[
        str, typer.Option("--nation", "-n", metavar="KOR|JPN|USA", help="Whose warnings.")
    ],
    follow: FollowOption = False,
    from_beginning: FromBeginningOption = False,
    since: SinceOption = None,
    as_json: JsonOption = False,
    max_records: MaxOption = None,
    timeout: TimeoutOption = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Read this topic instead of the nation's.")
    ] = None,
    group: GroupOption = None,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
) -> None:
    """One nation's missile warnings (its own national tracks), one row per report."""
    who = _parse_nation(nation)
    kafka = _require_cluster(bootstrap, registry)
    start = _start(from_beginning, since, follow)
    live = follow and not as_json and console.is_terminal
    if not as_json:
        _clock_note(kafka, Topics().clock)
    with handle_errors():
        records = _read(
            kafka,
            topic or Topics().warnings(who),
            start,
            follow=follow,
            group=group,
            max_records=max_records,
            timeout=timeout,
        )
        if live:
            _live_warnings(records, who)
            return
        for delivery in records:
            if delivery.error is not None:
                _undecodable(delivery)
            elif isinstance(delivery.record, MissileWarning):
                warning = delivery.record
                _emit_line(json.dumps(jsonable(warning)) if as_json else warning_line(warning))


def _live_warnings(records: Iterator[Delivery], nation: Nation) -> None:
    newest: dict[str, MissileWarning] = {}
    title = f"{nation.value} warnings"
    with Live(warnings_table([], title=title), console=console, refresh_per_second=4) as live:
        for delivery in records:
            record = delivery.record
            if isinstance(record, MissileWarning):
                known = newest.get(record.track_id)
                if known is None or record.sequence >= known.sequence:
                    newest[record.track_id] = record
                live.update(warnings_table(list(newest.values()), title=title))


def inspect(
    topic: Annotated[str, typer.Argument(help="Topic to read.")],
    offset: Annotated[
        int | None,
        typer.Option(
            "--offset",
            metavar="N",
            help="First offset to show on each partition; negative counts back from the end "
            "(default: the first).",
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", min=1, metavar="N", help="Records.")] = 10,
    partition: Annotated[
        int | None, typer.Option("--partition", min=0, metavar="P", help="Only this partition.")
    ] = None,
    as_json: JsonOption = False,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
) -> None:
    """Decode records of any topic, either framing, or say why each one cannot be decoded."""
    kafka = _require_cluster(bootstrap, registry)
    shown = 0
    with handle_errors():
        codec = codec_for(kafka)
        for item in inspect_topic(
            kafka, codec, topic, partition=partition, offset=offset, count=count
        ):
            shown += 1
            data = item.to_json()
            if as_json:
                _emit_line(json.dumps(data))
                continue
            d = item.delivery
            head = f"{d.topic}[{d.partition}]@{d.offset}  {item.framing}"
            if item.ok:
                console.print(f"[bold]{head}[/]  {item.schema}")
                console.print_json(data=data["record"])
            else:
                assert d.error is not None
                console.print(f"[bold]{head}[/]  [red]cannot decode ({d.error.error_type}):[/] ")
                console.print(f"  {d.error.reason}", markup=False)
    if shown == 0:
        err_console.print(f"no records in {topic} at that position")


def topics(
    as_json: JsonOption = False,
    internal: Annotated[
        bool, typer.Option("--internal", help="Include internal topics (__*).")
    ] = False,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
) -> None:
    """Topics, partitions, end offsets and consumer-group lag."""
    kafka = _require_cluster(bootstrap, registry)
    with handle_errors():
        info = describe_cluster(kafka, include_internal=internal)
    if as_json:
        _emit_line(json.dumps(info.to_json()))
        return
    table = Table(title="Topics", header_style="bold")
    table.add_column("topic")
    table.add_column("partitions", justify="right")
    table.add_column("end offsets")
    table.add_column("records", justify="right")
    for t in info.topics:
        table.add_row(t.name, str(t.partitions), " ".join(map(str, t.ends)), str(t.records))
    console.print(table)
    if info.lags:
        lag_table = Table(title="Consumer groups", header_style="bold")
        for name in ("group", "topic", "committed", "lag"):
            lag_table.add_column(name, justify="right" if name in ("committed", "lag") else "left")
        for g in info.lags:
            lag_table.add_row(g.group, g.topic, str(g.committed), str(g.lag))
        console.print(lag_table)
