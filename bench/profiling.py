"""Where the bridge spends its time, two ways, apart from the timed figures.

* ``profile_engine``: the pure engine in this process on the throughput data, in
  batches of the service's size: the unprofiled cost per warning while the salvo's
  tracks are created and afterwards (steady state), then cProfile of the steady part.
* ``profile_bridge``: cProfile of the whole bridge process draining a backlog from
  the broker, so the share spent waiting in librdkafka shows.

Profiling slows Python down by ~1.5-2x; the shares are what matters.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench.throughput import drain
from bench.workload import Outgoing
from bridge.config import BridgeConfig, EngineConfig
from bridge.engine import Engine, Inbound
from trilink.codec import Codec
from trilink.config import Topics

# Buckets for "what dominates", matched on the function's file path.
_AREAS: tuple[tuple[str, str], ...] = (
    ("bridge/engine.py", "engine orchestration"),
    ("bridge/table.py", "track table"),
    ("bridge/associator.py", "association (gating, GNN)"),
    ("bridge/lifecycle.py", "alert lifecycle"),
    ("bridge/schedule.py", "alert lifecycle"),
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
    ("sim/", "simulation model (sim)"),
    ("producers/", "national producer"),
    ("stonesoup", "stonesoup"),
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


def summarise(source: str | cProfile.Profile, top: int = 15) -> dict[str, Any]:
    """Top functions by own time, and own time by area, as shares of the total."""
    stats = pstats.Stats(source)
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
    ("admission.py", "admit_all"),
    ("table.py", "apply"),
    ("associator.py", "associate"),
    ("picture.py", "refresh_touched"),
    ("lifecycle.py", "advance"),
    ("state.py", "snapshot_tracks"),
    ("service.py", "_records"),
    ("service.py", "_deliver"),
    ("kafka/delivery.py", "_transaction"),
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


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", _ROOT, "lib/python3"):
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


def _run_engine(
    inbound: Sequence[Inbound], batch: int, split: int, profiler: cProfile.Profile | None
) -> tuple[float, float]:
    """Seconds spent on ``inbound[:split]`` and on the rest (the latter maybe profiled)."""
    engine = Engine(EngineConfig(topics=Topics()), Codec(), lambda: time.time_ns() // 1000)
    t0 = time.perf_counter()
    for i in range(0, split, batch):
        engine.process(inbound[i : min(i + batch, split)])
    t1 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for i in range(split, len(inbound), batch):
        engine.process(inbound[i : i + batch])
    if profiler is not None:
        profiler.disable()
    return t1 - t0, time.perf_counter() - t1


def engine_records(rate: float, steady: int, warm_s: float = 3.0) -> tuple[list[Outgoing], int]:
    """A salvo at ``rate``/s: its first ``warm_s`` (every track created) then ``steady`` more.

    Returns the records (addressed to the default ``Topics()``) and where steady state starts.
    """
    from bench.workload import Stream, StreamShape

    anchor = time.time_ns() // 1000
    stream = Stream(StreamShape.for_rate(rate), warm_s + 1.5 * steady / rate, Topics(), seed=5)
    records = stream.encode(Codec(), anchor)
    split = sum(1 for r in records if r.due_us < anchor + warm_s * 1e6)
    return records[: split + steady], split


def profile_engine(rate: float, steady: int) -> dict[str, Any]:
    """Per-warning engine cost while a salvo's tracks are created and after; steady hot spots."""
    records, split = engine_records(rate, steady)
    batch = BridgeConfig().batch_size
    inbound = [Inbound(r.topic, 0, i, r.key, r.value) for i, r in enumerate(records)]
    first_s, steady_s = _run_engine(inbound, batch, split, None)
    profiler = cProfile.Profile()
    _run_engine(inbound, batch, split, profiler)
    steady_n = len(inbound) - split
    return {
        "rate": rate,
        "warnings": len(inbound),
        "batch_size": batch,
        "creation_phase_warnings": split,
        "creation_phase_us_per_warning": round(1e6 * first_s / max(1, split), 1),
        "steady_us_per_warning": round(1e6 * steady_s / max(1, steady_n), 1),
        "steady_warnings_per_s": round(steady_n / steady_s, 1) if steady_s > 0 else None,
        **summarise(profiler),
    }


def codec_costs(records: Sequence[Outgoing], n: int = 3000) -> dict[str, float]:
    """Unprofiled µs per call of the codec steps every warning goes through."""
    from trilink.model import MissileWarning

    codec = Codec()
    values = [r.value for r in records[:n]]
    warnings = [codec.decode(v, MissileWarning) for v in values]
    schema = MissileWarning.SCHEMA

    def per_call(fn: Any, items: Sequence[Any]) -> float:
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        return round(1e6 * (time.perf_counter() - t0) / max(1, len(items)), 1)

    return {
        "decode_us": per_call(lambda v: codec.decode(v, MissileWarning), values),
        "decode_dict_us": per_call(lambda v: codec.decode_dict(v, schema), values),
        "from_dict_us": per_call(
            MissileWarning.from_dict, [codec.decode_dict(v, schema)[1] for v in values]
        ),
        "encode_us": per_call(codec.encode, warnings),
    }


def profile_simulation(launches: int = 3) -> dict[str, Any]:
    """cProfile of ``simulate_all`` on the first ``launches`` of salvo-20, in the flight
    model the simulation speed is judged in (``bench.simspeed.JUDGED_PHYSICS``)."""
    from bench.simspeed import JUDGED_PHYSICS, scenario_launches
    from producers.national import NationalConfig, simulate_all
    from producers.scenario_file import load_scenario
    from trilink.physics import Physics

    scenario = load_scenario("salvo-20", 7).with_physics(Physics.parse(JUDGED_PHYSICS))
    events = scenario_launches(scenario)[:launches]
    profiler = cProfile.Profile()
    profiler.enable()
    simulate_all(events, config=NationalConfig(physics=scenario.physics))
    profiler.disable()
    return {"launches": launches, "physics": JUDGED_PHYSICS, **summarise(profiler)}
