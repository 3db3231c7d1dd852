"""``trilink battery``: every scenario of a directory over N seeds, scored, in one table.

``make score`` runs it on ``scenarios/battery``, ``make score-catalogue`` on every launch
date of the CNS catalogue (``catalogue``) in the atmosphere. ``--peer`` fuses the same warnings
with the Stone Soup peer pipeline (``evaluation.peer.stonesoup_fuse``) too and sets
its columns beside trilink's.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import PhysicsOption, err_console, fail, handle_errors, physics_choice

if TYPE_CHECKING:
    from rich.console import Console

    from evaluation.battery import Row, RunFigures, Summary
    from evaluation.scoring import Fuser
    from trilink.physics import Physics

TRILINK = "trilink"
PEER = "stonesoup"
PEER_MODULE, PEER_FUNCTION = "evaluation.peer", "stonesoup_fuse"


CATALOGUE = "catalogue"
"""The battery's target for every launch date of the CNS catalogue, each its own scenario
(``trilink score DATE`` for each: the real launches, none of them tuned on)."""


def _scenario_paths(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    if str(target) == CATALOGUE and not target.exists():
        from sim.catalog import historical

        return [Path(d) for d in sorted({launch.date for launch in historical()})]
    if not target.is_dir():
        fail(f"{target}: no such scenario file or directory")
    paths = sorted(target.glob("*.yaml"))
    if not paths:
        fail(f"{target}: no scenario files (*.yaml)")
    return paths


def _peer() -> Fuser:
    try:
        module = importlib.import_module(PEER_MODULE)
        fuser: Fuser = getattr(module, PEER_FUNCTION)
    except (ImportError, AttributeError) as exc:
        fail(f"--peer: {PEER_MODULE}.{PEER_FUNCTION} is not available ({exc})", code=1)
    return fuser


def battery(
    target: Annotated[
        Path,
        typer.Argument(
            help="A directory of scenario files (*.yaml), one file, or 'catalogue': every"
            " launch date of the CNS catalogue."
        ),
    ] = Path("scenarios/battery"),
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Seeds per scenario.")] = 10,
    first_seed: Annotated[int, typer.Option("--first-seed", help="The first seed.")] = 0,
    processes: Annotated[
        int, typer.Option("--processes", min=1, max=2, help="Worker processes (at most 2).")
    ] = 2,
    peer: Annotated[
        bool, typer.Option("--peer", help="Score the Stone Soup peer fuser beside trilink's.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    physics: PhysicsOption = None,
) -> None:
    """Simulate, fuse and score every scenario over several seeds; print one table."""
    from evaluation.battery import summarise
    from evaluation.scoring import offline_fuser

    paths = _scenario_paths(target)
    model = physics_choice(physics)
    fusers: dict[str, Fuser] = {TRILINK: offline_fuser}
    if peer:
        fusers[PEER] = _peer()
    seed_list = list(range(first_seed, first_seed + seeds))
    with handle_errors():
        runs = _run_with_progress(paths, seed_list, fusers, processes, model)
    summary = summarise(runs, seed_list, list(fusers))
    if as_json:
        typer.echo(json.dumps({**summary.to_json(), "runs": [r.to_json() for r in runs]}))
        return
    _print(summary)


def _run_with_progress(
    paths: list[Path],
    seeds: list[int],
    fusers: dict[str, Fuser],
    processes: int,
    physics: Physics | None,
) -> list[RunFigures]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from evaluation.battery import run_battery

    columns = (
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("battery", total=len(paths) * len(seeds))

        def done(figures: list[RunFigures]) -> None:
            first = figures[0]
            failing = [f.fuser for f in figures if f.failures()]
            mark = f" [red]✗ {', '.join(failing)}[/]" if failing else " [green]✓[/]"
            progress.console.print(f"{first.scenario} seed {first.seed}{mark}", highlight=False)
            progress.advance(task)

        return run_battery(paths, seeds, fusers, processes=processes, on_run=done, physics=physics)


def _fmt(value: float | int | None, spec: str = "g") -> str:
    return "-" if value is None else format(value, spec)


def _cells(row: Row, first: bool) -> list[str]:
    per_run = row.missiles_per_run
    tracks = (
        f"{row.tracks_total} / {row.missiles_total}"
        if per_run is None
        else f"{row.tracks_min}–{row.tracks_max} / {per_run}"
        if row.tracks_min != row.tracks_max
        else f"{row.tracks_min} / {per_run}"
    )
    cells = [
        tracks,
        f"{row.zero_extra}/{row.zero_missed}/{row.zero_merged}",
        f"{row.passed}/{row.runs}",
        _fmt(row.raid_error_max),
        _fmt(row.first_alert_delay_max_s),
        _fmt(row.fused_rms_km, ".3f"),
    ]
    if first:
        cells.append(_fmt(row.nation_rms_km, ".3f"))
    cells.append(_fmt(row.gospa_mean, ".1f"))
    cells.append(_fmt(row.ellipse_coverage, ".1%"))
    cells.append(f"{_fmt(row.join_wait_median_s, '.1f')} / {_fmt(row.join_wait_max_s, '.1f')}")
    return cells


def _console() -> Console:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a file or a pipe: do not wrap the table at 80 columns
        console = Console(width=400)
    return console


def _print(summary: Summary) -> None:
    from rich.table import Table

    console = _console()
    nation = summary.best_nation or "best nation"
    console.print(
        f"battery: {len(summary.rows[summary.fusers[0]])} scenarios × {len(summary.seeds)} "
        f"seeds (best single nation over the battery: {nation})",
        highlight=False,
    )
    table = Table()
    table.add_column("scenario")
    table.add_column("runs", justify="right")
    for i, f in enumerate(summary.fusers):
        tag = "" if i == 0 else f"{f}\n"
        table.add_column(f"{tag}tracks / missiles", justify="right")
        table.add_column(f"{tag}runs with 0\nextra/missed/merged", justify="right")
        table.add_column(f"{tag}pass", justify="right")
        table.add_column(f"{tag}raid err\nafter 60 s", justify="right")
        table.add_column(f"{tag}1st alert\ndelay s", justify="right")
        table.add_column(f"{tag}impact\nRMS km", justify="right")
        if i == 0:
            table.add_column(f"{nation}\nRMS km", justify="right")
        table.add_column(f"{tag}GOSPA", justify="right")
        table.add_column(f"{tag}95% ellipse\nholds impact", justify="right")
        table.add_column(f"{tag}join wait s\nmedian / max", justify="right")
    first = summary.fusers[0]
    for k, row in enumerate(summary.rows[first]):
        cells = [row.scenario, str(row.runs)]
        for i, f in enumerate(summary.fusers):
            cells += _cells(summary.rows[f][k], i == 0)
        table.add_row(*cells)
    total = summary.totals[first]
    cells = ["total", str(total.runs)]
    for i, f in enumerate(summary.fusers):
        cells += _cells(summary.totals[f], i == 0)
    table.add_row(*cells, style="bold", end_section=True)
    console.print(table)
    if summary.national_ellipse:
        shares = ", ".join(f"{n} {_fmt(v, '.1%')}" for n, v in summary.national_ellipse.items())
        console.print(
            f"95% ellipses holding the impact after burnout, each nation's warnings: {shares}",
            highlight=False,
        )
    _print_nationals(console, summary)
    _print_failing(console, summary)


def _print_nationals(console: Console, summary: Summary) -> None:
    from rich.table import Table

    if not summary.nationals:
        return
    table = Table(title="national trackers, summed over every run (by detection origin)")
    for name in ("nation", "tracks", "missiles tracked", "surplus tracks", "swapped tracks"):
        table.add_column(name, justify="left" if name == "nation" else "right")
    for code, f in sorted(summary.nationals.items()):
        table.add_row(code, str(f.tracks), str(f.missiles), str(f.surplus), str(f.swaps))
    console.print(table)


def _print_failing(console: Console, summary: Summary) -> None:
    for f in summary.fusers:
        failing = [r for r in summary.failing if r.fuser == f]
        runs = summary.totals[f].runs
        console.print(f"[bold]{f}: {len(failing)} of {runs} runs fail[/]", highlight=False)
        for r in failing:
            why = "; ".join(r.failures())
            console.print(f"  {r.scenario} seed {r.seed}: {why}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``battery`` to the root app."""
    app.command("battery")(battery)
