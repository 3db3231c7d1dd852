"""``trilink bridge`` (the INDOPACOM fusion service) and ``trilink score`` (how good is it).

Flags and ``TRILINK_*`` environment variables are read here and only here, into
one frozen :class:`bridge.config.BridgeConfig`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.config import (
    AlertConfig,
    BridgeConfig,
    EngineConfig,
    GateConfig,
    ValidationConfig,
)
from cli.common import (
    BootstrapOption,
    ClockTopicOption,
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
from cli.systems import (
    JpnusOption,
    KeyFileOption,
    RokusOption,
    TrustFileOption,
    load_keys,
    system_clusters,
)
from trilink.config import Topics
from trilink.constants import NATIONS
from trilink.errors import ConfigError
from trilink.physics import DEFAULT_PHYSICS, Physics

if TYPE_CHECKING:
    from evaluation.results import ScenarioScore

ENV = "TRILINK_BRIDGE_"
_DEFAULT_TOPICS = Topics()
_GATE = GateConfig()
_ALERTS = AlertConfig()
_VALIDATION = ValidationConfig()


def _opt(name: str, env: str, help_: str, **kw: Any) -> Any:
    return typer.Option(name, envvar=f"{ENV}{env}", show_envvar=True, help=help_, **kw)


# The bridge's flags, one alias each so the command's signature stays readable.
_Group = Annotated[str, _opt("--group", "GROUP", "Consumer group (committed offsets).")]
_Transactional = Annotated[
    bool,
    _opt(
        "--transactional/--no-transactional",
        "TRANSACTIONAL",
        "Exactly-once via Kafka transactions, or at-least-once with idempotent output.",
    ),
]
_TransactionalId = Annotated[
    str, _opt("--transactional-id", "TRANSACTIONAL_ID", "Transactional id (fences old instances).")
]
_BatchSize = Annotated[int, _opt("--batch-size", "BATCH_SIZE", "Records per poll/transaction.")]
_CommitInterval = Annotated[
    float,
    _opt(
        "--commit-interval-s",
        "COMMIT_INTERVAL_S",
        "Longest wait of state snapshots (and, behind, of alerts) for a commit.",
        min=0.0,
        max=60.0,
    ),
]
_WarningsUsa = Annotated[str, _opt("--warnings-usa", "WARNINGS_USA", "USA warning topic.")]
_WarningsKor = Annotated[str, _opt("--warnings-kor", "WARNINGS_KOR", "KOR warning topic.")]
_WarningsJpn = Annotated[str, _opt("--warnings-jpn", "WARNINGS_JPN", "JPN warning topic.")]
_AlertsTopic = Annotated[str, _opt("--alerts-topic", "ALERTS_TOPIC", "Fused alert topic.")]
_DeadLetterTopic = Annotated[
    str, _opt("--dead-letter-topic", "DEAD_LETTER_TOPIC", "Dead-letter topic.")
]
_StateTopic = Annotated[str, _opt("--state-topic", "STATE_TOPIC", "Bridge state topic.")]
_GateDof = Annotated[int, _opt("--gate-dof", "GATE_DOF", "Gate on 6 (state) or 3 (position) dof.")]
_GateProbability = Annotated[
    float, _opt("--gate-probability", "GATE_PROBABILITY", "Chi-square probability of the gate.")
]
_BreakProbability = Annotated[
    float,
    _opt("--break-probability", "BREAK_PROBABILITY", "Chi-square probability of the break gate."),
]
_UpdateKm = Annotated[
    float, _opt("--update-km", "UPDATE_KM", "UPDATE when the impact moves this far.")
]
_DriftKm = Annotated[
    float,
    _opt(
        "--drift-km", "DRIFT_KM", "UPDATE when the track leaves the last alert's path by this much."
    ),
]
_Shrink = Annotated[
    float,
    _opt("--shrink-fraction", "SHRINK_FRACTION", "UPDATE when the ellipse shrinks by this much."),
]
_MaxInterval = Annotated[
    float,
    _opt("--max-interval-s", "MAX_INTERVAL_S", "UPDATE at least this often while data flows."),
]
_FutureWindow = Annotated[
    float,
    _opt("--future-window-s", "FUTURE_WINDOW_S", "Reject reports further ahead of the clock."),
]
_PastWindow = Annotated[
    float, _opt("--past-window-s", "PAST_WINDOW_S", "Reject reports further behind the clock.")
]
_Fusion = Annotated[str, _opt("--fusion", "FUSION", "Covariance intersection: det, trace or fast.")]

_Speed = Annotated[
    float | None,
    typer.Option(
        "--speed",
        envvar=[f"{ENV}SPEED", "TRILINK_SPEED"],
        show_envvar=True,
        min=0.001,
        max=1000.0,
        help="Session clock speed (x real time), agreed with the cluster; "
        "default: follow the session's clock.",
    ),
]


def bridge(
    bootstrap: BootstrapOption = None,
    registry: RegistryOption = None,
    group: _Group = "trilink-bridge",
    transactional: _Transactional = True,
    transactional_id: _TransactionalId = "trilink-bridge",
    batch_size: _BatchSize = 500,
    commit_interval_s: _CommitInterval = 0.1,
    warnings_usa: _WarningsUsa = _DEFAULT_TOPICS.warnings_usa,
    warnings_kor: _WarningsKor = _DEFAULT_TOPICS.warnings_kor,
    warnings_jpn: _WarningsJpn = _DEFAULT_TOPICS.warnings_jpn,
    alerts_topic: _AlertsTopic = _DEFAULT_TOPICS.alerts,
    dead_letter_topic: _DeadLetterTopic = _DEFAULT_TOPICS.dead_letter,
    state_topic: _StateTopic = _DEFAULT_TOPICS.bridge_state,
    gate_dof: _GateDof = 6,
    gate_probability: _GateProbability = _GATE.gate_probability,
    break_probability: _BreakProbability = _GATE.break_probability,
    update_km: _UpdateKm = _ALERTS.update_km,
    drift_km: _DriftKm = _ALERTS.drift_km,
    shrink: _Shrink = _ALERTS.shrink_fraction,
    max_interval_s: _MaxInterval = _ALERTS.max_interval_s,
    future_s: _FutureWindow = _VALIDATION.future_s,
    past_s: _PastWindow = _VALIDATION.past_s,
    fusion: _Fusion = "det",
    speed: _Speed = None,
    clock_topic: ClockTopicOption = _DEFAULT_TOPICS.clock,
    rokus: RokusOption = None,
    jpnus: JpnusOption = None,
    key_file: KeyFileOption = None,
    trust_file: TrustFileOption = None,
    physics: PhysicsOption = None,
) -> None:
    """Fuse the three national warning streams into one picture on the alerts topic.

    With --rokus-bootstrap and --jpnus-bootstrap, link the two bilateral systems:
    release each partner's reports across as their labels allow and publish on each
    system the picture fused from what every nation there may see (keys required).
    Runs until SIGINT or SIGTERM; the batch in hand is finished first.
    """
    from bridge.interlink import Interlink, Keys
    from bridge.protection import Protection
    from bridge.service import BridgeService

    systems = system_clusters(rokus, jpnus)
    keys = load_keys(key_file, trust_file, required=systems is not None)
    kafka = build_kafka_config(bootstrap, registry)
    try:
        config = bridge_config(
            group=group,
            transactional=transactional,
            transactional_id=transactional_id,
            batch_size=batch_size,
            commit_interval_s=commit_interval_s,
            topics=Topics(
                warnings_usa=warnings_usa,
                warnings_kor=warnings_kor,
                warnings_jpn=warnings_jpn,
                alerts=alerts_topic,
                dead_letter=dead_letter_topic,
                bridge_state=state_topic,
                clock=clock_topic,
            ),
            gate=GateConfig(
                dof=gate_dof,
                gate_probability=gate_probability,
                break_probability=break_probability,
            ),
            alerts=AlertConfig(
                update_km=update_km,
                drift_km=drift_km,
                shrink_fraction=shrink,
                max_interval_s=max_interval_s,
            ),
            validation=ValidationConfig(future_s=future_s, past_s=past_s),
            fusion=fusion,
            speed=speed,
            physics=physics_choice(physics) or DEFAULT_PHYSICS,
        )
    except ConfigError as exc:
        fail(str(exc))
    if systems is not None:
        assert keys is not None
        if kafka is not None:
            fail("give either --bootstrap-servers (one cluster) or the two systems, not both")
        service_logging()
        stop = stop_on_signals("the bridge after the current batch")
        with handle_errors():
            Interlink(systems, config, Keys(*keys)).run(stop)
        return
    if kafka is None:
        # A private embedded broker would be one no producer can reach.
        fail(
            "bridge needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS): start a broker "
            "with 'trilink broker', or run everything at once with 'trilink demo'"
        )
    service_logging()
    stop = stop_on_signals("the bridge after the current batch")
    protection = (
        None
        if keys is None
        else Protection(keys[0], keys[1], frozenset(config.engine.validation.releasable_to))
    )
    with handle_errors(), cluster(kafka, progress=False) as resolved:
        BridgeService(resolved, config, protection=protection).run(stop)


def bridge_config(
    *,
    group: str,
    transactional: bool,
    transactional_id: str,
    batch_size: int,
    topics: Topics,
    commit_interval_s: float = 0.1,
    gate: GateConfig,
    alerts: AlertConfig,
    validation: ValidationConfig,
    fusion: str,
    speed: float | None,
    physics: Physics = DEFAULT_PHYSICS,
) -> BridgeConfig:
    """The frozen configuration of ``trilink bridge`` from its flags; ConfigError if invalid."""
    return BridgeConfig(
        engine=EngineConfig(
            topics=topics,
            gate=gate,
            alerts=alerts,
            validation=validation,
            fusion_criterion=fusion,  # type: ignore[arg-type]  # EngineConfig checks it
            physics=physics,
        ),
        group=group,
        transactional=transactional,
        transactional_id=transactional_id,
        batch_size=batch_size,
        commit_interval_s=commit_interval_s,
        speed=speed,
    )


def score(
    scenario: Annotated[
        str,
        typer.Argument(
            help="A built-in scenario (tight-salvo), a catalogue date (2024-05-29) or a YAML file."
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the scenario's random draws.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap-servers",
            "-b",
            metavar="HOST:PORT[,...]",
            help="Run the bridge on this cluster (fresh topics) instead of offline.",
        ),
    ] = None,
    physics: PhysicsOption = None,
) -> None:
    """Simulate a scenario, fuse it, and score the picture against truth."""
    from evaluation.scoring import score_scenario
    from producers.errors import ScenarioError

    kafka = build_kafka_config(bootstrap, None)
    with handle_errors():
        try:
            result = score_scenario(scenario, seed, kafka=kafka, physics=physics_choice(physics))
        except ScenarioError as exc:
            fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_json(), sort_keys=False))
        return
    _print_summary(result)


def _print_summary(result: ScenarioScore) -> None:
    from rich.console import Console
    from rich.table import Table

    from evaluation.coverage import MEDIAN_CALIBRATED

    console = Console()
    s = result.score
    console.print(
        f"[bold]{result.scenario}[/] seed {result.seed} ({result.mode}): "
        f"{s.missiles} missiles, {s.system_tracks} system tracks, "
        f"merged {s.merged}, duplicates {s.duplicates}, missed {s.missed}, "
        f"extra {s.extra_tracks} (matched by {s.matching})"
    )
    raid = s.raid_count
    console.print(
        f"raid count off by at most {_fmt(None if raid is None else raid.max_abs_error)} "
        f"after the first minute; first alert at most "
        f"{_fmt(s.max_first_alert_delay_s)} s after the first national warning"
    )
    table = Table("impact error (km)", "median", "max", "n")
    for who, errors in s.impact_error_km.rows():
        table.add_row(who, _fmt(errors.median), _fmt(errors.max), str(errors.n))
    console.print(table)
    console.print(f"fused not worse than the best nation: {_fmt(s.fused_not_worse_fraction)}")
    lead = Table("missile", *(f"{n.value} lead (s)" for n in NATIONS))
    for missile, by_nation in s.lead_time_s.items():
        lead.add_row(missile, *(_fmt(by_nation[n]) for n in NATIONS))
    console.print(lead)
    g = s.gospa
    console.print(f"GOSPA (c={g.c_km} km, p={g.p}): mean {_fmt(g.mean)} km")
    cover = s.ellipse_coverage
    if cover is not None:
        held = [("fused, after burnout", cover.fused), ("fused, in boost", cover.fused_boost)]
        held += [(f"{n.value}, after burnout", h) for n, h in cover.national.items()]
        table = Table("95% impact ellipse holds the impact", "share", "of")
        for who, h in held:
            table.add_row(who, _fmt(h.fraction), str(h.n))
        console.print(table)
        console.print(
            f"median normalised miss of the fused predictions after burnout: "
            f"{_fmt(cover.fused_median_miss)} ({MEDIAN_CALIBRATED:g} if calibrated)"
        )


def _fmt(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    """Add ``bridge`` and ``score`` to the root app."""
    app.command("bridge")(bridge)
    app.command("score")(score)
