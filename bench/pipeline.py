"""Pipeline latency: a warning produced -> the fused alert it produced, consumed.

The bridge runs with its default configuration (alert policy included) in its own
process on one core. Warnings come from :mod:`bench.workload`: a live stream whose
``reported_us`` is the wall-clock time each warning is due, sent on that schedule.
Not every warning changes the common picture enough to be published (that is
the alert policy's job), so latency is measured for the warnings that produced an
alert: an alert's ``newest_report_us`` is the due time of the newest warning
behind it, and the probe takes (time the alert was consumed) - (that due time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message

from bench import clients
from bench.loadgen import DeliveryCounter, PaceStats, flush, paced
from bench.probe import Probe, ProbeSpec
from bench.services import ServiceProcess, ServiceSpec, bridge_config, fresh_topics
from bench.throughput import GroupProgress, pipeline_topics
from bench.workload import Outgoing, Stream, StreamShape
from trilink.codec import Codec
from trilink.config import Topics
from trilink.errors import DecodeError
from trilink.model import FusedAlert


def alert_origins() -> Callable[[Message], list[int]]:
    """Probe hook: the due time (ns) of the newest warning behind an alert."""
    codec = Codec()

    def origins(msg: Message) -> list[int]:
        try:
            _name, datum = codec.decode_dict(msg.value(), FusedAlert.SCHEMA)
        except DecodeError:
            return []
        return [int(datum["newest_report_us"]) * 1000]

    return origins


def run(
    bootstrap: str,
    rate: float,
    duration_s: float,
    *,
    warmup_s: float = 3.0,
    core: int | None,
    transactional: bool = True,
    continuous: bool = False,
    catch_up_s: float = 60.0,
    sample: Callable[[ServiceProcess, float], None] | None = None,
    **bridge_overrides: Any,
) -> dict[str, Any]:
    """Stream warnings at ``rate``/s for ``warmup_s + duration_s`` through a fresh bridge.

    ``continuous`` streams missiles launching and landing throughout instead of one
    salvo. After sending, the bridge gets ``catch_up_s`` to drain its backlog (a
    bridge that cannot keep up is stopped then: its latency counts the alerts that
    came out). ``sample(service, elapsed_s)`` is called about once a second while sending
    (the memory benchmark samples RSS with it).
    """
    topics = fresh_topics(f"pl{int(rate)}")
    pipeline_topics(bootstrap, topics)
    shape = StreamShape.for_rate(rate, continuous=continuous)
    stream = Stream(shape, warmup_s + duration_s, topics)
    config = bridge_config(topics, transactional=transactional, **bridge_overrides)
    svc = ServiceProcess(ServiceSpec("bridge", bootstrap, config, core))
    try:
        # The probe starts while the bridge boots (both are fresh interpreters).
        probe = Probe(ProbeSpec(bootstrap, (topics.alerts,), clients.PARTITIONS, origin="alert"))
        svc.wait_ready()
        records = stream.encode_live(Codec())
        anchor_us = records[0].due_us if records else time.time_ns() // 1000
        measure_from_us = anchor_us + round(warmup_s * 1e6)
        probe.measure_from(measure_from_us * 1000)
        sent = _send_live(bootstrap, records, topics, config.group, svc, measure_from_us, sample)
        caught_up = _wait_caught_up(sent.progress, timeout_s=catch_up_s)
        waited_s = time.monotonic() - sent.t_sent
        lat, counters = probe.finish(drain_s=1.0)
    finally:
        bridge_stats = svc.stop()
    measured_s = max(1e-9, sent.t_sent - sent.t_measure)
    max_lag, lag_at_end = sent.max_lag, sent.lag_at_end
    measured = [r.due_us for r in records if r.due_us >= measure_from_us]
    measured_span_s = (measured[-1] - measured[0]) / 1e6 if len(measured) > 1 else 0.0
    return {
        "target_rate": rate,
        "workload": shape.to_dict(),
        **sent.stats.to_dict(),
        "warnings_measured": len(measured),
        "measured_rate": round(len(measured) / measured_span_s, 1) if measured_span_s > 0 else None,
        **lat.summary(),
        "latency_of": "warnings that produced an alert (alert.newest_report_us = due time)",
        "alerts_received": counters["received"],
        "max_bridge_lag_warnings": max(max_lag, lag_at_end),
        "lag_at_end_of_send": lag_at_end,
        # Keeping up: the backlog never exceeded one second of input.
        "kept_up": max(max_lag, lag_at_end) <= rate,
        "caught_up_after_send_s": round(waited_s, 3) if caught_up else None,
        "bridge_cpu_utilisation": round(sent.cpu_measured_s / measured_s, 3),
        "transactional": transactional,
        "bridge_overrides": dict(bridge_overrides),
        **{f"bridge_{k}": v for k, v in bridge_stats.items() if k != "error"},
    }


@dataclass(frozen=True, slots=True)
class _Sent:
    """How the sending went: pacing, when it ended, the bridge's lag and CPU meanwhile."""

    stats: PaceStats
    progress: GroupProgress
    t_sent: float
    t_measure: float  # when the measured part began (monotonic)
    cpu_measured_s: float  # bridge CPU over the measured part
    max_lag: int
    lag_at_end: int


def _send_live(
    bootstrap: str,
    records: list[Outgoing],
    topics: Topics,
    group: str,
    svc: ServiceProcess,
    measure_from_us: int,
    sample: Callable[[ServiceProcess, float], None] | None,
) -> _Sent:
    """Produce ``records`` each at its due time, sampling the bridge once a second."""
    parts = [
        (t, p)
        for t in (topics.warnings_kor, topics.warnings_usa, topics.warnings_jpn)
        for p in range(clients.PARTITIONS)
    ]
    ends: dict[tuple[str, int], int] = dict.fromkeys(parts, 0)
    progress = GroupProgress(bootstrap, group, ends)
    counter = DeliveryCounter()

    def on_delivery(err: Any, msg: Message) -> None:
        counter(err, msg)
        if err is None:
            key = (str(msg.topic()), int(msg.partition() or 0))
            ends[key] = max(ends[key], int(msg.offset() or 0) + 1)

    p = clients.load_producer(bootstrap)
    sampler = _Sampler(svc, progress, measure_from_us, sample)
    sampler.start()

    def send(i: int) -> None:
        r = records[i]
        p.produce(r.topic, r.value, r.key, on_delivery=on_delivery)

    def idle() -> None:
        p.poll(0)

    stats = paced(lambda i: records[i].due_us * 1000, len(records), send, idle)
    flush(p)
    t_sent = time.monotonic()
    sampler.halt()
    return _Sent(
        stats=stats,
        progress=progress,
        t_sent=t_sent,
        t_measure=sampler.t_measure or t_sent,
        cpu_measured_s=svc.cpu_s() - (sampler.cpu_at_measure or 0.0),
        max_lag=sampler.max_lag,
        lag_at_end=progress.lag(),
    )


class _Sampler(threading.Thread):
    """Once a second, off the sending thread: the bridge's lag, CPU, and ``sample``."""

    def __init__(
        self,
        svc: ServiceProcess,
        progress: GroupProgress,
        measure_from_us: int,
        sample: Callable[[ServiceProcess, float], None] | None,
    ) -> None:
        super().__init__(daemon=True)
        self.svc = svc
        self.progress = progress
        self.measure_from_us = measure_from_us
        self.sample = sample
        self.max_lag = 0
        self.cpu_at_measure: float | None = None
        self.t_measure: float | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self._halt.wait(1.0):
            now = time.monotonic()
            if self.cpu_at_measure is None and time.time_ns() // 1000 >= self.measure_from_us:
                self.cpu_at_measure, self.t_measure = self.svc.cpu_s(), now
            if self.cpu_at_measure is not None:
                # Warnings delivered to the broker but not yet committed by the bridge.
                self.max_lag = max(self.max_lag, self.progress.lag())
            if self.sample is not None:
                self.sample(self.svc, now - t0)

    def halt(self) -> None:
        self._halt.set()
        self.join(10)


def _wait_caught_up(progress: GroupProgress, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if progress.lag() == 0:
            return True
        time.sleep(0.05)
    return False
