"""Broker baseline: one hop, produce -> consume, on the broker the pipeline uses.

The same run measures the hops the pipeline figures are corrected by, so "what the
bridge adds" compares like with like on a shared, noisy machine. Records are as
large as an encoded warning and travel as warnings do: over three topics (2:1:2,
as KOR:USA:JPN report in the workload) of the pipeline's partition count, keyed by
64 track-like keys, from one producer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Message, TopicPartition

from bench import clients
from bench.latency import Latency
from bench.loadgen import DeliveryCounter, every, flush, paced
from bench.probe import SENT_HEADER, Probe, ProbeSpec, stamp

KEYS = tuple(f"KOR-{k:04d}".encode() for k in range(64))


def payload(size: int) -> bytes:
    """Incompressible bytes, so a record costs the broker what a real one of that size does."""
    return os.urandom(size)


def _sent_ns(msg: Message) -> int:
    for item in msg.headers() or ():
        key, value = item[0], item[1]
        if key == SENT_HEADER and isinstance(value, bytes):
            return int.from_bytes(value, "big")
    raise RuntimeError("a record without its send time")


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
                lat.record_ns(now_ns - _sent_ns(msg))
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
    base = clients.uid(f"hop{int(rate)}")
    names = (f"{base}.kor", f"{base}.usa", f"{base}.jpn")
    clients.create_topics(bootstrap, names)
    topics = (names[0], names[0], names[1], names[2], names[2])
    warm = int(rate * warmup_s)
    count = int(rate * duration_s)
    probe = Probe(ProbeSpec(bootstrap, names, clients.PARTITIONS, expected=count))
    p = clients.load_producer(bootstrap, **producer_overrides)
    dr = DeliveryCounter()
    value = payload(size)

    def idle() -> None:
        p.poll(0)

    def sender(due: Callable[[int], int]) -> Callable[[int], None]:
        def send(i: int) -> None:
            key = KEYS[i % len(KEYS)]
            p.produce(topics[i % 5], value, key, headers=stamp(due(i)), on_delivery=dr)

        return send

    warm_due = every(rate, time.time_ns())
    paced(warm_due, warm, sender(warm_due), idle)
    start = warm_due(warm)
    probe.measure_from(start)
    due = every(rate, start)
    stats = paced(due, count, sender(due), idle)
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


def transaction(
    bootstrap: str, samples: int, size: int, states: int = 8, warmup: int = 20
) -> dict[str, Any]:
    """The exactly-once step the bridge takes for a batch with an alert, alone: read a
    few records from three input topics, then begin -> produce one alert-sized record
    and ``states`` snapshot-sized ones (two output topics) ->
    ``send_offsets_to_transaction`` (the input partitions read) -> ``commit_transaction``,
    timed from begin to commit's return, and the commit step alone. The floor under
    the bridge-added latency of exactly-once on this broker, with nothing else running.
    """
    base = clients.uid("txn")
    inputs = [f"{base}.in{i}" for i in range(3)]
    alerts, state = f"{base}.alerts", f"{base}.state"
    clients.create_topics(bootstrap, [*inputs, alerts, state])
    feed = clients.load_producer(bootstrap)
    value = payload(size)
    for i in range((warmup + samples) * 9):
        feed.produce(inputs[i % 3], value, KEYS[i % len(KEYS)])
        feed.poll(0)
    flush(feed)
    c = clients.consumer(bootstrap)
    clients.assign_from_start(c, inputs)
    p = clients.producer(bootstrap, **{"transactional.id": clients.uid("txn-id")})
    p.init_transactions(30.0)
    dr = DeliveryCounter()
    alert, snapshot = payload(2 * size), payload(4 * size)
    cycle, commit = Latency(), Latency()
    try:
        for i in range(warmup + samples):
            msgs = [m for m in c.consume(9, 5.0) if m.error() is None]
            if not msgs:
                raise RuntimeError("transaction baseline: no input within 5 s")
            positions = {
                (str(m.topic()), int(m.partition() or 0)): int(m.offset() or 0) + 1 for m in msgs
            }
            t0 = time.perf_counter_ns()
            p.begin_transaction()
            p.produce(alerts, alert, KEYS[i % len(KEYS)], on_delivery=dr)
            for k in range(states):
                p.produce(state, snapshot, KEYS[(i + k) % len(KEYS)], on_delivery=dr)
            p.send_offsets_to_transaction(
                [TopicPartition(t, q, o) for (t, q), o in positions.items()],
                c.consumer_group_metadata(),
                30.0,
            )
            t1 = time.perf_counter_ns()
            p.commit_transaction(30.0)
            t2 = time.perf_counter_ns()
            if i >= warmup:
                cycle.record_ns(t2 - t0)
                commit.record_ns(t2 - t1)
    finally:
        c.close()
    return {
        "mode": "transaction",
        "states": states,
        **cycle.summary(),
        "commit": commit.summary(),
        "delivery_errors": dr.failed,
    }
