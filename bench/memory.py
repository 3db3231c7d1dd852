"""Memory: the bridge's resident set over a long run at a steady rate.

The embedded broker cannot carry 1,000 records/s for ten minutes: Tansu's memory
storage serves a partition ever more slowly as it fills with record batches, so
within a minute the bridge would be starved by the broker, not measured. The long
run therefore drives the bridge's engine without Kafka, in its own process pinned to
one core, in real time: every 10 ms the warnings that fell due are decoded,
validated, fused and turned into alerts, encoded when issued, and state snapshots,
taken and encoded when the service would commit them (``bridge.outbox``, at the
default ``commit_interval_s``), then dropped. The warnings come lazily from a
continuous stream (missiles launching and landing throughout, so system tracks are
created, closed, retained and, after ``closed_retention_s``, a fifth of the run,
evicted); the process never holds the stream. RSS (psutil) is sampled every
second; growth is RSS at the end against RSS at the end of the warm-up.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection
from typing import Any

import psutil


def retention_s(duration_s: float) -> float:
    """How long the run keeps a closed track: a fifth of the run, so evictions happen."""
    return duration_s / 5.0


def _engine_main(rate: float, duration_s: float, core: int | None, conn: Connection) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})
    from bench.workload import Stream, StreamShape
    from bridge.config import AlertConfig, BridgeConfig, EngineConfig
    from bridge.engine import Engine, Inbound
    from bridge.outbox import Outbox
    from bridge.state import BridgeTrackState
    from trilink.codec import Codec
    from trilink.config import Topics
    from trilink.kafka import Outgoing
    from trilink.model import MissileWarning, Nation

    codec = Codec()
    topics = Topics()
    # The default retention (15 min) outlasts the run, so no closed track would ever be
    # evicted: the run would show the table filling, not its steady state.
    alerts_config = AlertConfig(closed_retention_s=retention_s(duration_s))
    engine = Engine(
        EngineConfig(topics=topics, alerts=alerts_config),
        codec,
        lambda: time.time_ns() // 1000,
        snapshots=False,  # as the service: snapshots are taken when output is committed
    )
    service = BridgeConfig()
    batch_size = service.batch_size
    outbox = Outbox(service.commit_interval_s)
    stream = Stream(StreamShape.for_rate(rate, continuous=True), duration_s, topics)
    data = stream.data()
    anchor = time.time_ns() // 1000
    conn.send("ready")
    pending = next(data, None)
    consumed = alerts = states = offset = 0
    busy_s = 0.0
    while pending is not None:
        now = time.time_ns() // 1000
        batch: list[Inbound] = []
        # At most a service batch at a time: after a stall (a loaded machine) the due
        # warnings would otherwise make one huge batch, whose peak the allocator keeps
        # as RSS, a step no bridge shows (its consumer batches are bounded the same way).
        while pending is not None and pending[0] + anchor <= now and len(batch) < batch_size:
            rel_us, datum = pending
            datum["observed_us"] = int(datum["observed_us"]) + anchor  # type: ignore[call-overload]
            datum["reported_us"] = rel_us + anchor
            topic = topics.warnings(Nation(str(datum["nation"])))
            value = codec.encode_dict(MissileWarning.SCHEMA, datum)
            batch.append(Inbound(topic, 0, offset, str(datum["track_id"]).encode(), value))
            offset += 1
            pending = next(data, None)
        t0 = time.perf_counter()
        if batch:
            out = engine.process(batch)
            records = [Outgoing(topics.alerts, None, codec.encode(a)) for a in out.alerts]
            outbox.hold(records, out.touched, out.tombstones, alerts=len(out.alerts))
            consumed += len(batch)
            alerts += len(out.alerts)
        behind = len(batch) >= batch_size
        if (outbox.urgent and not behind) or outbox.due():
            for state in engine.snapshots_of(outbox.release().touched):
                codec.encode_dict(BridgeTrackState.SCHEMA, state.to_dict())
                states += 1
        busy_s += time.perf_counter() - t0
        if len(batch) < batch_size:  # caught up: wait for the next warnings to fall due
            time.sleep(0.01)
    conn.send(
        {
            "consumed": consumed,
            "alerts": alerts,
            "snapshots": states,
            "engine_busy_s": round(busy_s, 2),
            "tracks_held_at_end": len(engine.tracks),
        }
    )


def run(rate: float, duration_s: float, warmup_s: float, *, core: int | None) -> dict[str, Any]:
    """RSS of the engine process streaming ``rate`` warnings/s for ``duration_s``."""
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=_engine_main, args=(rate, duration_s, core, child), daemon=True)
    proc.start()
    if not conn.poll(120) or conn.recv() != "ready":
        proc.kill()
        raise RuntimeError("engine process did not start")
    ps = psutil.Process(proc.pid)
    t0 = time.monotonic()
    samples: list[tuple[float, int]] = []
    stats: dict[str, Any] | None = None
    deadline = t0 + duration_s + 120
    while time.monotonic() < deadline:
        if conn.poll(1.0):
            stats = conn.recv()
            break
        samples.append((round(time.monotonic() - t0, 1), int(ps.memory_info().rss)))
    proc.join(10)
    if stats is None:
        proc.kill()
        raise RuntimeError("engine process did not finish")
    if not samples:
        raise RuntimeError("no RSS samples were taken")
    after_warmup = [rss for t, rss in samples if t >= warmup_s] or [samples[-1][1]]
    at_warmup, at_end = after_warmup[0], samples[-1][1]
    mb = 2**20
    return {
        "mode": "engine in its own process, no Kafka, real time",
        "rate": rate,
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "closed_retention_s": retention_s(duration_s),
        "rss_start_mb": round(samples[0][1] / mb, 1),
        "rss_after_warmup_mb": round(at_warmup / mb, 1),
        "rss_end_mb": round(at_end / mb, 1),
        "rss_max_mb": round(max(r for _, r in samples) / mb, 1),
        "growth_after_warmup_pct": round(100.0 * (at_end - at_warmup) / at_warmup, 2),
        "achieved_rate": round(stats["consumed"] / duration_s, 1),
        "engine_cpu_share": round(stats["engine_busy_s"] / duration_s, 3),
        **stats,
        "samples": [(t, round(r / mb, 2)) for t, r in samples],
    }
