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
    rate: float, count: int, send: Callable[[int], None], idle: Callable[[], None]
) -> PaceStats:
    """Call ``send(i)`` for i in 0..count-1, record i at ``i / rate`` seconds after start.

    ``idle`` runs between bursts (e.g. ``producer.poll(0)`` to serve delivery reports).
    Sleeping rather than spinning leaves the CPU to the broker and the service under
    test; when a sleep overshoots, the records that fell due are sent in one burst.
    """
    interval = 1.0 / rate
    t0 = time.perf_counter()
    i = 0
    max_lag = 0.0
    while i < count:
        now = time.perf_counter()
        due = min(count, int((now - t0) * rate) + 1)
        if i < due:
            max_lag = max(max_lag, now - (t0 + i * interval))
            while i < due:
                send(i)
                i += 1
        idle()
        wait = t0 + i * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
    return PaceStats(count, time.perf_counter() - t0, max_lag * 1000.0)


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
