"""Entry point of the ``trilink`` command.

Each command group lives in its own module under ``cli`` and exposes
``register(app)``; this module only assembles them and maps errors to exit codes.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import sys
from typing import Any

import typer


def _base(name: str) -> Any:
    # Newer typer vendors click privately; reach click's exception classes through
    # typer's public BadParameter so this works with either packaging.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


UsageError = _base("UsageError")
ClickException = _base("ClickException")
Abort = typer.Abort

app = typer.Typer(
    name="trilink",
    help="Trilateral missile-warning data sharing on Kafka: simulate, produce, fuse, watch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Order is the order of `trilink --help`.
_COMMAND_MODULES: tuple[str, ...] = (
    "sim",
    "assess",
    "broker",
    "consume",
    "cot",
    "status",
    "bridge",
    "battery",
    "produce",
    "demo",
    "map",
    "keys",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trilink {_package_version()}")
        raise typer.Exit()


def _package_version() -> str:
    try:
        return importlib.metadata.version("trilink")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "0+unknown"


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-vv debug)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # librdkafka repeats every connection failure many times a second; trilink reports
    # an unreachable cluster itself in one line. Its own log shows from -vv on.
    logging.getLogger("trilink.librdkafka").setLevel(
        logging.DEBUG if verbose >= 2 else logging.CRITICAL
    )


_VERBOSE = re.compile(r"^-v+$|^--verbose$")


def hoist_verbosity(argv: list[str]) -> list[str]:
    """Move ``-v``/``-vv``/``--verbose`` given after the subcommand to the front.

    Verbosity is the root's option, but people type it where they are: after the
    command (``trilink bridge -v``). Everything after ``--`` is left alone.
    """
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if _VERBOSE.match(a)]
    rest = [a for a in argv[:end] if not _VERBOSE.match(a)]
    return flags + rest + argv[end:]


# The module of each command: a process that runs one command imports only its module
# (importing all of them costs seconds of start-up: scipy, aiohttp, the demo). A unit
# test checks this against what the modules register.
_MODULE_OF_COMMAND: dict[str, str] = {
    "sim": "sim",
    "assess": "assess",
    "broker": "broker",
    "alerts": "consume",
    "inspect": "consume",
    "topics": "consume",
    "warnings": "consume",
    "cot": "cot",
    "clock": "status",
    "status": "status",
    "bridge": "bridge",
    "score": "bridge",
    "battery": "battery",
    "inject": "produce",
    "producer": "produce",
    "simulate": "produce",
    "demo": "demo",
    "map": "map",
    "keys": "keys",
}

_loaded: list[str] = []


def _load(only: str | None = None) -> None:
    """Register every command group on ``app`` (or only module ``only``), each once
    (tests and the entry point share it)."""
    for name in _COMMAND_MODULES if only is None else (only,):
        if name not in _loaded:
            importlib.import_module(f"cli.{name}").register(app)
            _loaded.append(name)


def _command_module(argv: list[str]) -> str | None:
    """The module of the command ``argv`` runs, or None (help, no command, an unknown one).

    Root options take no values, so the first argument that is not an option names the
    command.
    """
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return _MODULE_OF_COMMAND.get(arg)
    return None


def main() -> None:
    """Run the CLI (console-script entry point).

    Click's own usage errors (a bad type, a missing option) are printed as one line
    instead of a framed box, so every bad argument reads the same way: exit 2.
    """
    args = hoist_verbosity(sys.argv[1:])
    _load(_command_module(args))
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="trilink", standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
            sys.exit(2)
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        print(f"trilink: error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(2)
    except Abort:
        print("trilink: aborted", file=sys.stderr)
        sys.exit(130)
    except ClickException as exc:
        print(f"trilink: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
