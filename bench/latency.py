"""Latency recording with HdrHistogram at microsecond resolution."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

# 1 µs .. 60 s at 3 significant digits: covers a stalled run without clipping.
_LOWEST_US = 1
_HIGHEST_US = 60_000_000
_SIGNIFICANT = 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT)


@dataclass(slots=True)
class Latency:
    """A histogram of latencies in microseconds; values outside the range are clamped."""

    hist: HdrHistogram = field(default_factory=new_histogram)
    clamped: int = 0

    def record_us(self, value_us: float) -> None:
        v = int(value_us)
        if v < _LOWEST_US:
            # A receive "before" its send is clock granularity: count it as 1 µs.
            self.clamped += 1
            v = _LOWEST_US
        elif v > _HIGHEST_US:
            self.clamped += 1
            v = _HIGHEST_US
        self.hist.record_value(v)

    def record_ns(self, value_ns: int) -> None:
        self.record_us(value_ns / 1000.0)

    @property
    def count(self) -> int:
        return int(self.hist.get_total_count())

    def merge(self, other: Latency) -> None:
        self.hist.add(other.hist)
        self.clamped += other.clamped

    def encode(self) -> bytes:
        """Compressed form, to carry a histogram across a process boundary."""
        return bytes(self.hist.encode())

    @classmethod
    def decode(cls, data: bytes, clamped: int = 0) -> Latency:
        hist = new_histogram()
        if data:
            hist.decode_and_add(data)
        return cls(hist, clamped)

    def summary(self) -> dict[str, Any]:
        """count, p50, p99, p99.9, max and mean, in microseconds (None when empty)."""
        n = self.count
        if n == 0:
            return {
                "count": 0,
                "p50_us": None,
                "p99_us": None,
                "p999_us": None,
                "max_us": None,
                "mean_us": None,
            }
        h = self.hist
        return {
            "count": n,
            "p50_us": int(h.get_value_at_percentile(50.0)),
            "p99_us": int(h.get_value_at_percentile(99.0)),
            "p999_us": int(h.get_value_at_percentile(99.9)),
            "max_us": int(h.get_max_value()),
            "mean_us": round(float(h.get_mean_value()), 1),
        }


def difference(total: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentile-wise ``total - sum(parts)``: what one stage adds to a chain of hops.

    Percentiles do not subtract exactly (the tails need not line up); this is the
    usual approximation and it is labelled as such in the report.
    """
    out: dict[str, Any] = {}
    for key in ("p50_us", "p99_us", "p999_us", "max_us", "mean_us"):
        vals = [total.get(key)] + [p.get(key) for p in parts]
        nums = [float(v) for v in vals if isinstance(v, int | float) and not math.isnan(v)]
        if len(nums) != len(vals):
            out[key] = None
            continue
        out[key] = round(nums[0] - sum(nums[1:]), 1)
    return out
