"""Broker baseline: one hop, produce -> consume, on the broker the pipeline uses.

The same run measures the hops the pipeline figures are corrected by, so "what the
bridge adds" compares like with like on a shared, noisy machine. Records are keyed
(64 keys, spread over the topic's partitions, as track ids are) and as large as an
encoded warning.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench import clients
from bench.latency import Latency
from bench.loadgen import DeliveryCounter, flush, paced
from bench.probe import SENT_HEADER, Probe, ProbeSpec, stamp

KEYS = tuple(f"KOR-{k:04d}".encode() for k in range(64))


def payload(size: int) -> bytes:
    """Incompressible bytes, so a record costs the broker what a real one of that size does."""
    return os.urandom(size)


def ping_pong(bootstrap: str, samples: int, size: int, warmup: int = 20) -> dict[str, Any]:
    """One record at a time: produce, wait until it is consumed, repeat."""
    topic = clients.uid("pingpong")
    clients.create_topics(bootstrap, [topic])
    p = clients.producer(bootstrap)
    c = clients.consumer(bootstrap)
    clients.assign_from_start(c, [topic])
    dr = DeliveryCounter()
    value = payload(size)
    lat = Latency()
    try:
        for i in range(warmup + samples):
            p.produce(topic, value, KEYS[i % len(KEYS)], headers=stamp(), on_delivery=dr)
            p.poll(0)
            deadline = time.monotonic() + 30
            while True:
                if time.monotonic() > deadline:
                    raise RuntimeError("ping-pong record not consumed within 30 s")
                msg = c.poll(0.1)
                now_ns = time.time_ns()
                if msg is None:
                    continue
                if msg.error() is not None:
                    raise RuntimeError(f"consume error: {msg.error()}")
                break
            if i >= warmup:
                sent = next(int.from_bytes(v, "big") for k, v in msg.headers() if k == SENT_HEADER)
                lat.record_ns(now_ns - sent)
        flush(p)
    finally:
        c.close()
    return {
        "mode": "ping-pong",
        "payload_bytes": size,
        **lat.summary(),
        "delivery_errors": dr.failed,
    }


def one_hop(
    bootstrap: str,
    rate: float,
    duration_s: float,
    size: int,
    warmup_s: float = 1.0,
    **producer_overrides: Any,
) -> dict[str, Any]:
    """Open-loop producer at ``rate`` records/s; a probe process times each consume."""
    topic = clients.uid(f"hop{int(rate)}")
    clients.create_topics(bootstrap, [topic])
    warm = int(rate * warmup_s)
    count = int(rate * duration_s)
    probe = Probe(ProbeSpec(bootstrap, (topic,), clients.PARTITIONS, expected=count))
    p = clients.producer(bootstrap, **producer_overrides)
    dr = DeliveryCounter()
    value = payload(size)

    def send(i: int) -> None:
        p.produce(topic, value, KEYS[i % len(KEYS)], headers=stamp(), on_delivery=dr)

    def idle() -> None:
        p.poll(0)

    paced(rate, warm, send, idle)
    probe.measure_from(time.time_ns())
    stats = paced(rate, count, send, idle)
    flush(p)
    lat, counters = probe.finish(drain_s=2.0)
    result = {
        "mode": "paced",
        "target_rate": rate,
        "payload_bytes": size,
        **stats.to_dict(),
        **lat.summary(),
        "received": counters["received"],
        "delivery_errors": dr.failed,
    }
    if producer_overrides:
        result["producer_overrides"] = dict(producer_overrides)
    return result
