"""``python -m bridge``: the fusion service without the rest of the ``trilink`` CLI."""

from __future__ import annotations

import logging

import typer

from trilink.cli.bridge import bridge


def main() -> None:
    """Run ``trilink bridge`` with INFO logging."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.run(bridge)


if __name__ == "__main__":
    main()
