"""``trilink broker``: run the embedded Kafka-protocol broker in the foreground."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer
from rich.console import Console

from cli.common import err_console, fail, handle_errors
from trilink.broker import EmbeddedBroker
from trilink.config import ENV_BOOTSTRAP

console = Console(highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``broker`` command to the root app."""
    app.command("broker")(broker)


def broker(
    port: int | None = typer.Option(
        None, "--port", "-p", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one)."
    ),
) -> None:
    """Run an embedded Kafka-compatible broker (Tansu, in memory) until Ctrl-C or SIGTERM.

    Data lives in memory only and is gone when it stops; see docs/embedded-broker.md.
    """
    stop = threading.Event()

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    embedded = EmbeddedBroker(port)
    try:
        with handle_errors():
            with err_console.status("starting embedded broker…"):
                embedded.start()
            try:  # from here on, Ctrl-C is how this command is meant to end
                console.print(f"embedded broker listening on [bold]{embedded.bootstrap_servers}[/]")
                console.print(f"export {ENV_BOOTSTRAP}={embedded.bootstrap_servers}", markup=False)
                err_console.print("[dim]Ctrl-C to stop[/]")
                while not stop.wait(0.5):
                    if not embedded.running:
                        last = (embedded.output() or ["no output"])[-1]
                        fail(f"embedded broker exited unexpectedly: {last}", code=1)
            except KeyboardInterrupt:
                pass
    finally:
        embedded.stop()
        signal.signal(signal.SIGTERM, previous)
    err_console.print("embedded broker stopped")
