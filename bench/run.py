"""Entry point: ``python -m bench.run --profile full|quick|tiny``.

Runs every benchmark of the profile against the embedded broker (or
``--bootstrap-servers``), writes the raw figures as JSON and regenerates the
markdown report.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.brokers import open_broker
from bench.profiles import PROFILES
from bench.report import render
from bench.report_engine import quick_lines
from bench.suite import run_suite

ROOT = Path(__file__).resolve().parents[1]
app = typer.Typer(add_completion=False, help=__doc__)
err = Console(stderr=True, soft_wrap=True)  # whole lines, whatever the width


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def _fail(message: str) -> None:
    err.print(f"bench: {message}", markup=False, highlight=False)
    raise typer.Exit(2)


@app.command()
def main(
    profile: Annotated[
        str, typer.Option(help="full (~20 min), quick (< 2 min) or tiny (seconds).")
    ] = "quick",
    out: Annotated[Path, typer.Option(help="Where to write the raw results (JSON).")] = ROOT
    / "bench"
    / "results.json",
    markdown: Annotated[Path, typer.Option(help="Where to write the report.")] = ROOT
    / "BENCHMARKS.md",
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(help="Benchmark this cluster instead of starting the embedded broker."),
    ] = None,
) -> None:
    """Run the benchmarks of a profile; write the JSON results and the markdown report."""
    chosen = PROFILES.get(profile)
    if chosen is None:
        _fail(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
        return
    if not out.parent.is_dir():
        _fail(f"directory of --out does not exist: {out.parent}")
    if not markdown.parent.is_dir():
        _fail(f"directory of --markdown does not exist: {markdown.parent}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = "python -m bench.run " + shlex.join(sys.argv[1:])

    def progress(line: str) -> None:
        err.print(f"[bench] {line}", markup=False, highlight=False)

    with open_broker(bootstrap_servers) as (servers, broker):
        progress(f"profile {chosen.name} on {broker} at {servers}")
        results = run_suite(chosen, servers, broker, progress)
    results["meta"]["command"] = command
    results["meta"]["commit"] = _commit()
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    markdown.write_text(render(results), encoding="utf-8")
    progress(f"wrote {out} and {markdown}")
    for t in results["targets"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        progress(f"target {t['target']} ({t['goal']}): {t['figure']} {t['unit']} -> {verdict}")
    for line in quick_lines(results):
        progress(line)


if __name__ == "__main__":
    app()
