"""Where the bridge spends its time: cProfile of the bridge process draining a backlog.

Run apart from the throughput figures (profiling slows Python down by ~1.5-2x);
the shares, not the absolute times, are what matters here.
"""

from __future__ import annotations

import os
import pstats
import tempfile
from collections.abc import Sequence
from typing import Any

from bench.throughput import drain
from bench.workload import Outgoing

# Buckets for "what dominates", matched on the function's file path.
_AREAS: tuple[tuple[str, str], ...] = (
    ("bridge/engine.py", "engine orchestration"),
    ("bridge/association.py", "association (gating, GNN)"),
    ("bridge/fusion.py", "covariance intersection"),
    ("bridge/picture.py", "picture (fused estimate, impact)"),
    ("bridge/estimate.py", "estimates"),
    ("bridge/alerts.py", "alert policy"),
    ("bridge/validate.py", "validation"),
    ("bridge/tracks.py", "track bookkeeping"),
    ("bridge/state.py", "state snapshots"),
    ("tracking/", "propagation (tracking)"),
    ("trilink/codec.py", "codec"),
    ("trilink/model.py", "model to_dict/from_dict"),
    ("fastavro", "fastavro"),
    ("numpy", "numpy"),
    ("scipy", "scipy"),
    ("confluent_kafka", "confluent-kafka"),
)


def _area(filename: str, func: str) -> str:
    if filename == "~":
        # Built-ins: librdkafka calls block on the broker (poll, commit), others are Python's.
        return "confluent-kafka (C, incl. broker waits)" if "cimpl" in func else "builtins"
    for needle, name in _AREAS:
        if needle in filename:
            return name
    return "other"


def summarise(path: str, top: int = 15) -> dict[str, Any]:
    """Top functions by own time, and own time by area, as shares of the total."""
    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1e-9
    rows = []
    areas: dict[str, float] = {}
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        area = _area(filename, func)
        areas[area] = areas.get(area, 0.0) + tottime
        rows.append((tottime, cumtime, ncalls, f"{_short(filename)}:{line}({func})"))
    rows.sort(reverse=True)
    return {
        "total_s": round(total, 3),
        "top_own_time": [
            {
                "function": name,
                "calls": ncalls,
                "own_s": round(own, 3),
                "own_pct": round(100 * own / total, 1),
                "cum_s": round(cum, 3),
            }
            for own, cum, ncalls, name in rows[:top]
        ],
        "by_area_pct": {
            k: round(100 * v / total, 1) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])
        },
        "cumulative": _cumulative(raw, total),
    }


_KEY_FUNCTIONS = (
    ("engine.py", "process"),
    ("engine.py", "_admit"),
    ("engine.py", "_apply"),
    ("engine.py", "_refresh_and_alert"),
    ("engine.py", "_associate"),
    ("engine.py", "_snapshot"),
    ("service.py", "_records"),
    ("service.py", "_deliver"),
    ("service.py", "_deliver_transaction"),
    ("kafka/consume.py", "poll_batch"),
    ("codec.py", "decode"),
    ("codec.py", "encode"),
    ("codec.py", "encode_dict"),
)


def _cumulative(raw: dict[Any, Any], total: float) -> list[dict[str, Any]]:
    out = []
    for file_part, func in _KEY_FUNCTIONS:
        for (filename, line, name), (_cc, ncalls, _tt, cumtime, _callers) in raw.items():
            if name == func and filename.endswith(file_part):
                out.append(
                    {
                        "function": f"{_short(filename)}:{line}({name})",
                        "calls": ncalls,
                        "cum_s": round(cumtime, 3),
                        "cum_pct": round(100 * cumtime / total, 1),
                    }
                )
    return out


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profile_bridge(
    bootstrap: str, records: Sequence[Outgoing], *, core: int | None
) -> dict[str, Any]:
    """Drain ``records`` with the bridge under cProfile; summary of where time went."""
    fd, path = tempfile.mkstemp(suffix=".pstats")
    os.close(fd)
    try:
        run = drain(bootstrap, "bridge", records, transactional=True, core=core, cprofile_out=path)
        summary = summarise(path)
    finally:
        os.unlink(path)
    return {"warnings": len(records), "profiled_rate": run["warnings_per_s"], **summary}
