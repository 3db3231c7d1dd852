"""Entry point of the ``trilink`` command.

Each command group lives in its own module under ``trilink.cli`` and exposes
``register(app)``; this module only assembles them and maps errors to exit codes.
"""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(
    name="trilink",
    help="Trilateral missile-warning data sharing on Kafka: simulate, produce, fuse, watch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Order is the order of `trilink --help`.
_COMMAND_MODULES: tuple[str, ...] = ("sim", "broker", "consume", "bridge", "produce", "demo")


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-vv debug)."),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f"trilink.cli.{name}").register(app)


def main() -> None:
    """Run the CLI (console-script entry point)."""
    _load()
    app()
