"""Where the benchmarks run: a given cluster, or the embedded broker started for the run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from trilink.broker import EmbeddedBroker


@contextlib.contextmanager
def open_broker(bootstrap_servers: str | None) -> Iterator[tuple[str, str]]:
    """Yield ``(bootstrap_servers, description)``: the given cluster or an embedded Tansu."""
    if bootstrap_servers:
        yield bootstrap_servers, f"external ({bootstrap_servers})"
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers, "embedded Tansu (memory storage)"
