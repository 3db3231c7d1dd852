"""Maximum sustained throughput: the bridge against a no-op passthrough on the same data.

N warnings are preloaded into fresh input topics (bulk-produced in large batches,
not timed), then the service starts on one core and drains them. The clock runs
from the moment the service polls its input to the moment its group's committed
offsets reach the last preloaded record on every partition. Both services commit
their offsets together with their output (in the same transaction, or after a
flush), so at that moment the output is delivered too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from bench import clients
from bench.loadgen import DeliveryCounter, flush
from bench.services import Kind, ServiceProcess, ServiceSpec, bridge_config, fresh_topics
from bench.workload import Outgoing
from trilink.config import Topics
from trilink.kafka import ensure_topics

# Bulk loading is not what is measured: big batches, so the broker takes them quickly
# and the service under test later fetches many records per request.
_BULK = {"linger.ms": 50, "batch.size": 1_000_000, "batch.num.messages": 10_000}


def pipeline_topics(bootstrap: str, topics: Topics) -> None:
    names = [
        topics.warnings_kor,
        topics.warnings_usa,
        topics.warnings_jpn,
        topics.alerts,
        topics.dead_letter,
        topics.bridge_state,
    ]
    ensure_topics(clients.kafka(bootstrap), names, clients.PARTITIONS)


Headers = Sequence[tuple[str, bytes]]
Record = tuple[str, bytes, bytes, Headers | None]


def retarget(
    records: Sequence[Outgoing], topics: Topics, headers: Sequence[Headers] | None = None
) -> list[Record]:
    """The same records addressed to another set of topics (same nation -> same topic),
    each with its ``headers`` if given (the signed label of ``bench.verification``)."""
    by_suffix = {
        ".kor": topics.warnings_kor,
        ".usa": topics.warnings_usa,
        ".jpn": topics.warnings_jpn,
    }
    if headers is not None and len(headers) != len(records):
        raise ValueError(f"{len(headers)} header lists for {len(records)} records")
    return [
        (by_suffix[r.topic[-4:]], r.key, r.value, None if headers is None else headers[i])
        for i, r in enumerate(records)
    ]


def preload(bootstrap: str, records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """Produce ``records``; returns (topic, partition) -> offset after the last one."""
    ends: dict[tuple[str, int], int] = {}
    counter = DeliveryCounter()

    def on_delivery(err: Any, msg: Any) -> None:
        counter(err, msg)
        if err is None:
            key = (msg.topic(), msg.partition())
            ends[key] = max(ends.get(key, 0), msg.offset() + 1)

    p = clients.producer(bootstrap, **_BULK)
    for topic, key, value, headers in records:
        extra: list[tuple[str, str | bytes | None]] | None = None
        if headers is not None:
            extra = list(headers)
        while True:
            try:
                p.produce(topic, value, key, on_delivery=on_delivery, headers=extra)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    flush(p, 120.0)
    if counter.failed:
        raise RuntimeError(f"preload failed: {counter.first_error}")
    return ends


class GroupProgress:
    """Committed offsets of one consumer group, read with one long-lived admin client."""

    def __init__(self, bootstrap: str, group: str, ends: dict[tuple[str, int], int]) -> None:
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.group = group
        self.ends = ends
        self.parts = [TopicPartition(t, p) for t, p in sorted(ends)]

    def committed(self) -> dict[tuple[str, int], int]:
        request = [ConsumerGroupTopicPartitions(self.group, self.parts)]
        answer = self.admin.list_consumer_group_offsets(request, request_timeout=10)[self.group]
        return {
            (tp.topic, tp.partition): max(0, tp.offset) for tp in answer.result().topic_partitions
        }

    def lag(self) -> int:
        done = self.committed()
        return sum(max(0, end - done.get(key, 0)) for key, end in self.ends.items())


def drain(
    bootstrap: str,
    kind: Kind,
    records: Sequence[Outgoing],
    *,
    transactional: bool,
    core: int | None,
    timeout_s: float = 600.0,
    cprofile_out: str | None = None,
    headers: Sequence[Headers] | None = None,
    keys_dir: str | None = None,
) -> dict[str, Any]:
    """Preload ``records`` for a fresh ``kind`` service and time how fast it drains them.

    ``headers``: each record's Kafka headers (signed labels); ``keys_dir``: a bridge
    protected with the keys there (``bench.services.ServiceSpec``).
    """
    topics = fresh_topics(f"tp-{kind}")
    pipeline_topics(bootstrap, topics)
    ends = preload(bootstrap, retarget(records, topics, headers))
    config = bridge_config(topics, transactional=transactional)
    svc = ServiceProcess(ServiceSpec(kind, bootstrap, config, core, cprofile_out, keys_dir))
    try:
        t_ready = svc.wait_ready()
        cpu0 = svc.cpu_s()
        progress = GroupProgress(bootstrap, config.group, ends)
        deadline = time.monotonic() + timeout_s
        total = sum(ends.values())
        t_steady: float | None = None  # when 30% were drained: the salvo's tracks exist by then
        while (lag := progress.lag()) > 0:
            if t_steady is None and total - lag >= 0.3 * total:
                t_steady, done_at_steady = time.time(), total - lag
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not drain {len(records)} warnings in {timeout_s} s")
            time.sleep(0.02)
        t_done = time.time()
        cpu = svc.cpu_s() - cpu0
        rss = svc.rss()
    finally:
        stats = svc.stop()
    wall = t_done - t_ready
    steady = None
    if t_steady is not None and t_done > t_steady:
        steady = round((total - done_at_steady) / (t_done - t_steady), 1)
    output = clients.end_offsets(bootstrap, [topics.alerts])
    return {
        "service": kind,
        "warnings": len(records),
        "seconds": round(wall, 3),
        "warnings_per_s": round(len(records) / wall, 1),
        "steady_warnings_per_s": steady,
        "cpu_s": round(cpu, 3),
        "cpu_utilisation": round(cpu / wall, 3),
        "rss_mb": round(rss / 2**20, 1),
        "output_records_approx": output,
        "transactional": transactional,
        "protected": keys_dir is not None,
        "pinned_core": core,
        **{f"svc_{k}": v for k, v in stats.items() if k != "error"},
    }
