"""The receiving end of a latency measurement, in its own process.

Running the probe apart from the load generator keeps the two from contending for
one interpreter lock: the receive timestamp is taken as soon as ``consume`` returns,
not when a pacing thread happens to yield. Both processes read the same system
clock (``time.time_ns``), so send and receive stamps compare directly.

Protocol over the pipe (parent -> probe): ``("measure_from", ns)`` starts counting
records whose origin is at or after ``ns`` (earlier ones are warm-up);
``("stop", drain_s)`` ends the run once nothing arrives for ``drain_s`` seconds
(or ``expected`` records were counted). Probe -> parent: ``"ready"``, then a result dict.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.latency import Latency

SENT_HEADER = "bench-ns"


def stamp(due_ns: int | None = None) -> list[tuple[str, str | bytes | None]]:
    """Headers carrying the time (ns since the epoch) a record was due, or now."""
    return [(SENT_HEADER, (time.time_ns() if due_ns is None else due_ns).to_bytes(8, "big"))]


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """What to read and how to find each record's origin time."""

    bootstrap: str
    topics: tuple[str, ...]
    partitions: int = 1
    expected: int = 0  # stop once this many were counted (0: only on "stop")
    origin: str = "header"  # "header": SENT_HEADER; "alert": see bench.pipeline
    max_s: float = 900.0


def _origin_fn(spec: ProbeSpec) -> Any:
    if spec.origin == "header":

        def from_header(msg: Any) -> list[int]:
            for key, value in msg.headers() or ():
                if key == SENT_HEADER:
                    return [int.from_bytes(value, "big")]
            return []

        return from_header
    if spec.origin == "alert":
        from bench.pipeline import alert_origins

        return alert_origins()
    raise ValueError(f"unknown origin {spec.origin!r}")


def _probe_main(spec: ProbeSpec, conn: Connection) -> None:
    from bench import clients

    c = clients.consumer(spec.bootstrap)
    clients.assign_from_start(c, spec.topics, spec.partitions)
    origins_of = _origin_fn(spec)
    lat = Latency()
    measure_from = None
    drain_s: float | None = None
    received = counted = errors = 0
    last_rx = time.monotonic()
    deadline = time.monotonic() + spec.max_s
    c.consume(1, timeout=0.05)  # start fetching before the parent starts sending
    conn.send("ready")
    while time.monotonic() < deadline:
        # consume(n, timeout) waits for n records or the timeout, whichever comes
        # first: block for one record, then take whatever else is already queued.
        first = c.poll(0.05)
        now_ns = time.time_ns()
        msgs = [] if first is None else [first, *c.consume(10_000, timeout=0)]
        # Commands first: a record sent after "measure_from" may already be here.
        while conn.poll():
            kind, value = conn.recv()
            if kind == "measure_from":
                measure_from = int(value)
            elif kind == "stop":
                drain_s = float(value)
        for msg in msgs:
            if msg.error() is not None:
                errors += 1
                continue
            received += 1
            for origin in origins_of(msg):
                if measure_from is not None and origin >= measure_from:
                    lat.record_ns(now_ns - origin)
                    counted += 1
        if msgs:
            last_rx = time.monotonic()
        if spec.expected and counted >= spec.expected:
            break
        if drain_s is not None and time.monotonic() - last_rx > drain_s:
            break
    c.close()
    conn.send(
        {
            "hist": lat.encode(),
            "clamped": lat.clamped,
            "received": received,
            "counted": counted,
            "errors": errors,
        }
    )


class Probe:
    """Handle on a running probe process."""

    def __init__(self, spec: ProbeSpec) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_probe_main, args=(spec, child), daemon=True)
        self._proc.start()
        if not self._conn.poll(60) or self._conn.recv() != "ready":
            self._proc.kill()
            raise RuntimeError("latency probe did not start")

    def measure_from(self, ns: int) -> None:
        self._conn.send(("measure_from", ns))

    def finish(
        self, drain_s: float = 1.0, timeout_s: float = 120.0
    ) -> tuple[Latency, dict[str, Any]]:
        """Stop after the stream goes quiet; return the histogram and the counters."""
        self._conn.send(("stop", drain_s))
        if not self._conn.poll(timeout_s):
            self._proc.kill()
            raise RuntimeError("latency probe did not finish")
        result = self._conn.recv()
        self._proc.join(10)
        lat = Latency.decode(result.pop("hist"), result.pop("clamped"))
        return lat, result
