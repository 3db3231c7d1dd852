"""``trilink cot``: the Cursor-on-Target gateway, fused alerts to a TAK server.

Flags and ``TRILINK_COT_*`` variables are read here into one
:class:`consumers.cot.gateway.CotConfig`; launch sites are named from the
simulator's catalogue (the consumers package cannot reach it, the CLI can).
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

import typer

from cli.common import (
    BootstrapOption,
    ClockTopicOption,
    RegistryOption,
    build_kafka_config,
    err_console,
    fail,
    handle_errors,
    service_logging,
    stop_on_signals,
)
from consumers.cot.events import CotTiming
from consumers.cot.gateway import CotConfig, CotGateway
from consumers.cot.send import Protocol
from consumers.positions import StartPosition
from trilink.config import Topics
from trilink.errors import ConfigError
from trilink.geodesy import R_MEAN

ENV = "TRILINK_COT_"
_TOPICS = Topics()
_TIMING = CotTiming()
SITE_RADIUS_KM = 30.0
"""A launch estimate this close to a catalogue site is named after it."""
MAX_ALERTS = 10_000_000
MAX_TIMEOUT_S = 7 * 86400.0


def _opt(name: str, env: str, help_: str, **kw: Any) -> Any:
    return typer.Option(name, envvar=f"{ENV}{env}", show_envvar=True, help=help_, **kw)


_Host = Annotated[str, _opt("--tak-host", "TAK_HOST", "TAK server or CoT router host.")]
_Port = Annotated[
    int, _opt("--tak-port", "TAK_PORT", "Its CoT input port (8087: plain TCP).", metavar="PORT")
]
_Proto = Annotated[
    str,
    _opt(
        "--protocol",
        "PROTOCOL",
        "tcp (a stream; reconnects, resends the current picture) or udp (a datagram each).",
        metavar="tcp|udp",
    ),
]
_FromBeginning = Annotated[
    bool,
    _opt(
        "--from-beginning",
        "FROM_BEGINNING",
        "Read the alerts topic from its start (what is still current is sent); default: now.",
    ),
]
_Max = Annotated[int | None, _opt("--max", "MAX", "Stop after N alert records.", metavar="N")]
_Timeout = Annotated[
    float | None,
    _opt("--timeout", "TIMEOUT", "Stop after S seconds without an alert.", metavar="S"),
]
_Topic = Annotated[str, _opt("--topic", "TOPIC", "Fused alert topic.")]

_TrackStale = Annotated[
    float,
    _opt("--track-stale-s", "TRACK_STALE_S", "A track goes stale this long after its alert."),
]
_Hold = Annotated[
    float,
    _opt("--hold-s", "HOLD_S", "Launch and impact points stay this long after impact."),
]
_Queue = Annotated[
    int, _opt("--queue-size", "QUEUE_SIZE", "TCP: events queued for a slow server.", metavar="N")
]


def register(app: typer.Typer) -> None:
    """Add ``cot`` to the root app."""
    app.command("cot")(cot)


def cot(
    tak_host: _Host = "127.0.0.1",
    tak_port: _Port = 8087,
    protocol: _Proto = "tcp",
    from_beginning: _FromBeginning = False,
    max_alerts: _Max = None,
    timeout: _Timeout = None,
    topic: _Topic = _TOPICS.alerts,
    clock_topic: ClockTopicOption = _TOPICS.clock,
    track_stale_s: _TrackStale = _TIMING.track_s,
    hold_s: _Hold = _TIMING.hold_s,
    queue_size: _Queue = 1000,
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
) -> None:
    """Send fused alerts to a TAK server as Cursor-on-Target events.

    Per missile: the track (a-h-A-W-M-S-S, or a-h-A-W-M-U for an SLBM; ce/le
    1-sigma from the covariance), the launch point (b-d-l) and the predicted impact
    (b-d-i) with its 95% ellipse. IMPACT and DROPPED delete the track (t-x-d-d).
    Runs until Ctrl-C, --max or --timeout.
    """
    config = cot_config(
        tak_host=tak_host,
        tak_port=tak_port,
        protocol=protocol,
        topics=Topics(alerts=topic, clock=clock_topic),
        track_stale_s=track_stale_s,
        hold_s=hold_s,
        queue_size=queue_size,
    )
    if max_alerts is not None and not 1 <= max_alerts <= MAX_ALERTS:
        fail(f"--max must be 1..{MAX_ALERTS}, got {max_alerts}")
    if timeout is not None and not (math.isfinite(timeout) and 0.0 < timeout <= MAX_TIMEOUT_S):
        fail(f"--timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], got {timeout:g}")
    kafka = build_kafka_config(bootstrap, registry)
    if kafka is None:
        fail(
            "no Kafka cluster: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS "
            "(`trilink broker` starts one)"
        )
    start = StartPosition.from_flags(
        from_beginning=from_beginning, since=None, follow=True, now_us=time.time_ns() // 1000
    )
    service_logging()
    stop = stop_on_signals("the CoT gateway")
    with handle_errors():
        gateway = CotGateway(kafka, config, place=site_name)
        stats = gateway.run(start, stop, max_alerts=max_alerts, idle_timeout=timeout)
        sent = gateway.sender.stats() if gateway.sender is not None else None
    err_console.print(
        f"cot: {stats.alerts} alerts -> {stats.events} events"
        + ("" if sent is None else f"; sent {sent.sent}, dropped {sent.dropped}, held {sent.held}"),
        highlight=False,
    )


def cot_config(
    *,
    tak_host: str,
    tak_port: int,
    protocol: str,
    topics: Topics,
    track_stale_s: float,
    hold_s: float,
    queue_size: int,
) -> CotConfig:
    """The gateway's config from flag values; bad values exit 2 with one line."""
    try:
        proto = Protocol(protocol.strip().lower())
    except ValueError:
        fail(f"--protocol {protocol!r} is not tcp or udp")
    try:
        return CotConfig(
            tak_host=tak_host.strip(),
            tak_port=tak_port,
            protocol=proto,
            topics=topics,
            timing=CotTiming(track_s=track_stale_s, hold_s=hold_s),
            queue_size=queue_size,
        )
    except ConfigError as exc:
        fail(str(exc))


def site_name(lat_deg: float, lon_deg: float) -> str | None:
    """The catalogue launch site nearest to (lat, lon), if within ``SITE_RADIUS_KM``."""
    from sim.catalog import sites

    best: tuple[float, str] | None = None
    for site in sites().values():
        km = _distance_km(lat_deg, lon_deg, site.lat_deg, site.lon_deg)
        if km <= SITE_RADIUS_KM and (best is None or km < best[0]):
            best = (km, site.name)
    return None if best is None else best[1]


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere (plenty to pick the nearest site)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2.0 * R_MEAN * math.asin(min(1.0, math.sqrt(h))) / 1000.0
