"""Memory: the bridge's resident set over a long run at a steady rate.

The bridge runs as in the latency benchmark (its own process, one core, default
configuration) on a continuous stream: missiles keep launching and landing, so
system tracks are created, closed and retained as in a long watch. RSS is sampled
once a second; growth is RSS at the end against RSS at the end of the warm-up.
"""

from __future__ import annotations

from typing import Any

from bench import pipeline
from bench.services import ServiceProcess


def run(
    bootstrap: str, rate: float, duration_s: float, warmup_s: float, *, core: int | None
) -> dict[str, Any]:
    samples: list[tuple[float, int]] = []

    def sample(svc: ServiceProcess, elapsed_s: float) -> None:
        samples.append((round(elapsed_s, 1), svc.rss()))

    # The pipeline's own warm-up is short; memory is judged after ``warmup_s``.
    result = pipeline.run(
        bootstrap, rate, duration_s, warmup_s=2.0, core=core, continuous=True, sample=sample
    )
    if not samples:
        raise RuntimeError("no RSS samples were taken")
    after_warmup = [rss for t, rss in samples if t >= warmup_s] or [samples[-1][1]]
    at_warmup, at_end = after_warmup[0], samples[-1][1]
    mb = 2**20
    return {
        "rate": rate,
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "rss_start_mb": round(samples[0][1] / mb, 1),
        "rss_after_warmup_mb": round(at_warmup / mb, 1),
        "rss_end_mb": round(at_end / mb, 1),
        "rss_max_mb": round(max(r for _, r in samples) / mb, 1),
        "growth_after_warmup_pct": round(100.0 * (at_end - at_warmup) / at_warmup, 2),
        "samples": [(t, round(r / mb, 2)) for t, r in samples],
        "pipeline": {
            k: result[k]
            for k in (
                "sent",
                "achieved_rate",
                "p50_us",
                "p99_us",
                "max_bridge_lag_warnings",
                "bridge_cpu_utilisation",
                "bridge_alerts",
            )
        },
    }
