"""``trilink keys``: make the signing keys of the nations and the bridge, and their trust store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from cli.common import fail, handle_errors
from trilink.errors import TrilinkError
from trilink.security import DEFAULT_NAMES, init_keys, load_signer, load_trust

console = Console(highlight=False)

keys_app = typer.Typer(
    help="Signing keys: each nation's and the bridge's key pair, and the trust store.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to the root app."""
    app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def init(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where to write the keys (made if missing).")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite keys already there.")] = False,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Succeed without writing if DIR already holds a loadable set."),
    ] = False,
) -> None:
    """Make USA, KOR, JPN and BRIDGE key pairs (``<NAME>.key``, mode 0600) and ``trust.json``.

    Services load their own ``.key`` and the shared ``trust.json`` from paths their
    configuration names. Private keys never belong in the repository.
    """
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is not a directory")
    if force and keep:
        fail("--force and --keep contradict each other")
    if keep and _complete_set(directory):
        console.print(f"{escape(str(directory))} already holds keys and a trust store: kept")
        return
    with handle_errors():
        written = init_keys(directory, force=force)
        signers = [(path, load_signer(path)) for path in written[:-1]]
        trust = load_trust(written[-1])
    for path, signer in signers:
        trusted = trust.keys[signer.key_id]
        nations = ", ".join(sorted(trusted.nations))
        console.print(
            f"{escape(str(path))}  key [bold]{signer.key_id}[/] ({trusted.role.value}: {nations})"
        )
    console.print(f"{escape(str(written[-1]))}  trusts {len(trust.keys)} keys")


def _complete_set(directory: Path) -> bool:
    """True if every key and the trust store in ``directory`` load, and trust each other."""
    try:
        trust = load_trust(directory / "trust.json")
        signers = [load_signer(directory / f"{name}.key") for name in DEFAULT_NAMES]
    except TrilinkError:
        return False
    return all(s.key_id in trust.keys for s in signers)
