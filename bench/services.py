"""The service under test (the bridge, or the passthrough) in its own process, on one core.

A separate process keeps the load generator and the probes off the service's
interpreter lock, and ``os.sched_setaffinity`` confines the service (with its
librdkafka threads, which inherit the mask) to a single core, so a figure in
"warnings/s on one core" is what it says. The parent samples the child's RSS and
CPU time with psutil.
"""

from __future__ import annotations

import contextlib
import cProfile
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

import psutil

from bridge.config import BridgeConfig, EngineConfig
from trilink.config import Topics

Kind = Literal["bridge", "passthrough"]


def fresh_topics(tag: str) -> Topics:
    """Every topic of the pipeline under a fresh prefix: runs never see each other's data."""
    from bench.clients import uid

    p = uid(tag)
    return Topics(
        launches=f"{p}.launches",
        warnings_usa=f"{p}.warnings.usa",
        warnings_kor=f"{p}.warnings.kor",
        warnings_jpn=f"{p}.warnings.jpn",
        alerts=f"{p}.alerts",
        dead_letter=f"{p}.deadletter",
        bridge_state=f"{p}.state",
    )


def bridge_config(topics: Topics, *, transactional: bool = True, **overrides: Any) -> BridgeConfig:
    """The bridge's default configuration on ``topics``, with a fresh group and txn id."""
    from bench.clients import uid

    return BridgeConfig(
        engine=EngineConfig(topics=topics),
        group=uid("group"),
        transactional=transactional,
        transactional_id=uid("txn"),
        **overrides,
    )


def pick_core() -> int | None:
    """The last core this process may use (the load generator keeps the others)."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None
    return cores[-1] if len(cores) > 1 else None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    kind: Kind
    bootstrap: str
    config: BridgeConfig
    core: int | None = None
    cprofile_out: str | None = None
    # The bridge verifies its input and signs its alerts with the keys made here by
    # ``trilink.security.init_keys`` (None: an unprotected bridge).
    keys_dir: str | None = None


def _protection(keys_dir: str) -> Any:
    """The bridge's protection from the key files in ``keys_dir``, for all three nations."""
    from pathlib import Path

    from bridge.protection import Protection
    from trilink.model import Nation
    from trilink.security import load_signer, load_trust

    root = Path(keys_dir)
    return Protection(
        load_signer(root / "BRIDGE.key"),
        load_trust(root / "trust.json"),
        frozenset((Nation.USA, Nation.KOR, Nation.JPN)),
    )


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the benchmark that spawned it dies.

    Why: a benchmark killed mid-run otherwise leaves its service spinning on
    reconnects to a broker that is gone, stealing a core from the next run.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _serve(spec: ServiceSpec, conn: Connection, halt: Any) -> None:
    _die_with_parent()
    logging.basicConfig(level=logging.WARNING)
    if spec.core is not None:
        os.sched_setaffinity(0, {spec.core})
    from bench.clients import kafka

    k = kafka(spec.bootstrap)
    stop = threading.Event()
    service: Any
    if spec.kind == "bridge":
        from bridge.service import BridgeService

        protection = None if spec.keys_dir is None else _protection(spec.keys_dir)
        service = BridgeService(k, spec.config, protection=protection)
        ready = service.stats.ready
    else:
        from bench.passthrough import PassthroughService

        service = PassthroughService(k, spec.config)
        ready = service.ready

    def announce() -> None:
        ready.wait()
        conn.send(("ready", time.time()))

    def watch() -> None:
        halt.wait()
        stop.set()

    threading.Thread(target=announce, daemon=True).start()
    threading.Thread(target=watch, daemon=True).start()
    profiler = cProfile.Profile() if spec.cprofile_out else None
    error = None
    try:
        if profiler is not None:
            profiler.enable()
        service.run(stop)
    except Exception as exc:  # reported to the parent, which fails the benchmark
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if profiler is not None and spec.cprofile_out:
            profiler.disable()
            profiler.dump_stats(spec.cprofile_out)
    if spec.kind == "bridge":
        s = service.stats
        stats = {
            "consumed": s.consumed,
            "batches": s.batches,
            "alerts": s.alerts,
            "dead_letters": s.dead_letters,
            "transactions": s.transactions,
            "aborts": s.aborts,
        }
    else:
        stats = {"consumed": service.consumed, "delivery_failures": service.delivery.failed}
    conn.send(("done", {"error": error, **stats}))


class ServiceProcess:
    """Start a service in a child process; ``stop()`` returns its counters."""

    def __init__(self, spec: ServiceSpec) -> None:
        ctx = mp.get_context("spawn")
        self.spec = spec
        self._conn, child = ctx.Pipe()
        self._halt = ctx.Event()
        self._proc = ctx.Process(target=_serve, args=(spec, child, self._halt), daemon=True)
        self._proc.start()
        assert self._proc.pid is not None
        self.pid = self._proc.pid
        self.ps = psutil.Process(self.pid)
        self.ready_at: float | None = None

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Block until the service polls its input; returns that wall-clock time."""
        if not self._conn.poll(timeout_s):
            self.kill()
            raise RuntimeError(f"{self.spec.kind} did not become ready in {timeout_s:g} s")
        kind, value = self._conn.recv()
        if kind != "ready":
            self.kill()
            raise RuntimeError(f"{self.spec.kind} failed before serving: {value}")
        self.ready_at = float(value)
        return self.ready_at

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def cpu_s(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def stop(self, timeout_s: float = 60.0) -> dict[str, Any]:
        self._halt.set()
        if not self._conn.poll(timeout_s):
            self.kill()
            raise RuntimeError(f"{self.spec.kind} did not stop in {timeout_s:g} s")
        _kind, stats = self._conn.recv()
        self._proc.join(10)
        if stats.get("error"):
            raise RuntimeError(f"{self.spec.kind} failed: {stats['error']}")
        return dict(stats)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self._proc.kill()
            self._proc.join(5)
