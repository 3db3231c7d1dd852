"""Open-loop load: records are sent on a fixed schedule whatever the broker does.

A closed loop (send, wait, send) slows down with the system it measures and hides
queueing; here record ``i`` is due at ``t0 + i / rate`` and the pacer reports how far
behind the schedule it ever fell, so a load generator that could not keep up is seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer


@dataclass(frozen=True, slots=True)
class PaceStats:
    """What a paced run achieved."""

    sent: int
    duration_s: float
    max_lag_ms: float

    @property
    def rate(self) -> float:
        return self.sent / self.duration_s if self.duration_s > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "duration_s": round(self.duration_s, 3),
            "achieved_rate": round(self.rate, 1),
            "max_schedule_lag_ms": round(self.max_lag_ms, 3),
        }


def paced(
    due_ns: Callable[[int], int], count: int, send: Callable[[int], None], idle: Callable[[], None]
) -> PaceStats:
    """Call ``send(i)`` for i in 0..count-1, each once the wall clock reaches ``due_ns(i)``.

    ``due_ns`` must not decrease. ``idle`` runs between bursts (e.g.
    ``producer.poll(0)`` to serve delivery reports). Sleeping rather than spinning
    leaves the CPU to the broker and the service under test; when a sleep
    overshoots, the records that fell due go out in one burst. Latencies are
    measured from ``due_ns(i)`` (the schedule), so a late send counts against the
    system, as it would for a real sender (no coordinated omission).
    """
    t0 = time.perf_counter()
    i = 0
    max_lag_ns = 0
    while i < count:
        now = time.time_ns()
        if due_ns(i) <= now:
            max_lag_ns = max(max_lag_ns, now - due_ns(i))
            while i < count and due_ns(i) <= now:
                send(i)
                i += 1
        idle()
        if i < count:
            wait_ns = due_ns(i) - time.time_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)
    return PaceStats(count, time.perf_counter() - t0, max_lag_ns / 1e6)


def every(rate: float, start_ns: int) -> Callable[[int], int]:
    """A fixed-rate schedule: record i is due at ``start_ns + i / rate``."""
    interval_ns = 1e9 / rate
    return lambda i: start_ns + round(i * interval_ns)


class DeliveryCounter:
    """Delivery callback for every produce: counts successes and keeps the first error."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.first_error: str | None = None

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        if self.first_error is None:
            self.first_error = f"{err} (topic={msg.topic()}, partition={msg.partition()})"


def flush(p: Producer, timeout_s: float = 30.0) -> None:
    remaining = p.flush(timeout_s)
    if remaining:
        raise RuntimeError(f"{remaining} records still undelivered after {timeout_s} s")
