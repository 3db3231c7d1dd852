"""The whole benchmark: every measurement of a profile, in one run on one broker."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import baseline, clients, memory, pipeline, simspeed, throughput
from bench.env import describe
from bench.latency import difference
from bench.profiles import Profile
from bench.services import Kind, pick_core
from bench.workload import Stream, StreamShape
from bridge.config import BridgeConfig
from trilink.codec import Codec
from trilink.config import Topics

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _guard(name: str, progress: Progress, fn: Callable[[], Any]) -> Any:
    """Run one measurement; a failure is recorded in the results rather than losing the run."""
    progress(f"{name} ...")
    t0 = time.monotonic()
    try:
        value = fn()
    except Exception as exc:
        log.exception("%s failed", name)
        progress(f"{name} FAILED: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    progress(f"{name} done in {time.monotonic() - t0:.1f} s")
    return value


def warning_size() -> int:
    """Bytes of a typical encoded warning (the baseline's payload size)."""
    records = Stream(StreamShape.for_rate(100), 1.0, Topics()).encode(Codec(), 0, limit=20)
    return round(sum(len(r.value) for r in records) / len(records))


def throughput_records(n: int) -> list[Any]:
    """``n`` warnings of the 10,000/s salvo (200 missiles, three nations), times now."""
    shape = StreamShape.for_rate(10_000)
    seconds = 3.0 + 1.5 * n / 10_000
    stream = Stream(shape, seconds, Topics(), seed=11)
    return stream.encode(Codec(), time.time_ns() // 1000, limit=n)


def run_suite(profile: Profile, bootstrap: str, broker: str, progress: Progress) -> dict[str, Any]:
    started = time.monotonic()
    core = pick_core()
    size = warning_size()
    defaults = BridgeConfig()
    results: dict[str, Any] = {
        "meta": {
            "profile": profile.name,
            "date_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "machine": describe(broker),
            "client_settings": clients.settings_for_report(bootstrap),
            "bridge_settings": {
                "batch_size": defaults.batch_size,
                "poll_timeout_s": defaults.poll_timeout_s,
                "transactional": defaults.transactional,
                "pinned_core": core,
            },
            "warning_bytes": size,
        }
    }

    # 1. Broker baseline.
    hops: dict[float, dict[str, Any]] = {}
    base: dict[str, Any] = {
        "ping_pong": _guard(
            "broker ping-pong",
            progress,
            lambda: baseline.ping_pong(bootstrap, profile.ping_pong_samples, size),
        ),
        "paced": [],
        "linger_sweep": [],
    }
    for rate, seconds in profile.hop_rates:
        hop = _guard(
            f"broker one hop at {rate:g}/s",
            progress,
            partial(baseline.one_hop, bootstrap, rate, seconds, size, profile.hop_warmup_s),
        )
        base["paced"].append({"target_rate": rate, **hop})
        hops[rate] = hop
    for linger in profile.linger_sweep:
        base["linger_sweep"].append(
            _guard(
                f"broker one hop at {profile.linger_rate:g}/s, linger.ms={linger}",
                progress,
                partial(
                    baseline.one_hop,
                    bootstrap,
                    profile.linger_rate,
                    profile.linger_s,
                    size,
                    profile.hop_warmup_s,
                    **{"linger.ms": linger},
                ),
            )
        )
    results["broker_baseline"] = base

    # 2. Pipeline latency, with the bridge-added share.
    runs = []
    for rate, seconds in profile.pipeline_rates:
        run = _guard(
            f"pipeline at {rate:g} warnings/s",
            progress,
            partial(
                pipeline.run,
                bootstrap,
                rate,
                seconds,
                warmup_s=profile.pipeline_warmup_s,
                core=core,
                catch_up_s=profile.catch_up_s,
            ),
        )
        _bridge_added(run, hops.get(rate), base["ping_pong"])
        runs.append({"target_rate": rate, **run})
    variants = []
    if profile.variant_s > 0:
        variant_settings: tuple[tuple[str, dict[str, Any]], ...] = (
            ("poll_timeout_s=0.001", {"poll_timeout_s": 0.001}),
            (
                "poll_timeout_s=0.001, transactional=False",
                {"poll_timeout_s": 0.001, "transactional": False},
            ),
        )
        for label, kwargs in variant_settings[: profile.variant_count]:
            run = _guard(
                f"pipeline at {profile.variant_rate:g}/s, {label}",
                progress,
                partial(
                    pipeline.run,
                    bootstrap,
                    profile.variant_rate,
                    profile.variant_s,
                    warmup_s=profile.pipeline_warmup_s,
                    core=core,
                    catch_up_s=profile.catch_up_s,
                    **kwargs,
                ),
            )
            _bridge_added(run, hops.get(profile.variant_rate), base["ping_pong"])
            variants.append({"variant": label, **run})
    results["pipeline"] = {"runs": runs, "variants": variants}

    # 3. Throughput, bridge against passthrough on the same data.
    records = throughput_records(profile.throughput_warnings)
    tp: dict[str, Any] = {}
    settings = [True, False] if profile.throughput_non_transactional else [True]
    for transactional in settings:
        pair: dict[str, Any] = {}
        kinds: tuple[Kind, ...] = ("passthrough", "bridge")
        for kind in kinds:
            pair[kind] = _guard(
                f"throughput: {kind}, {len(records)} warnings, transactional={transactional}",
                progress,
                partial(
                    throughput.drain,
                    bootstrap,
                    kind,
                    records,
                    transactional=transactional,
                    core=core,
                ),
            )
        b, p = pair["bridge"], pair["passthrough"]
        if "error" not in b and "error" not in p:
            pair["ratio"] = round(b["warnings_per_s"] / p["warnings_per_s"], 3)
        tp["transactional" if transactional else "non_transactional"] = pair
    results["throughput"] = tp

    # 4. Memory.
    results["memory"] = _guard(
        f"memory: {profile.memory_s:g} s at {profile.memory_rate:g}/s",
        progress,
        partial(
            memory.run, profile.memory_rate, profile.memory_s, profile.memory_warmup_s, core=core
        ),
    )

    # 5. Simulation speed.
    results["simulation"] = _guard(
        "simulation speed (salvo-20)",
        progress,
        lambda: simspeed.run("salvo-20", seed=7, limit=profile.sim_launches),
    )

    # Where the bridge's time goes.
    if profile.profile_warnings:
        from bench.profiling import (
            codec_costs,
            profile_bridge,
            profile_engine,
            profile_simulation,
        )

        sample = records[: profile.profile_warnings]
        prof: dict[str, Any] = {
            "codec": _guard("codec costs", progress, partial(codec_costs, records)),
            "engine": _guard(
                "cProfile of the engine",
                progress,
                partial(profile_engine, profile.engine_profile_rate, profile.profile_warnings),
            ),
        }
        if profile.service_profile:
            prof["service"] = _guard(
                "cProfile of the bridge service",
                progress,
                partial(profile_bridge, bootstrap, sample, core=core),
            )
        speed = _num(results["simulation"].get("speedup"))
        if speed is not None and speed < 1000:
            prof["simulation"] = _guard(
                "cProfile of the simulation", progress, partial(profile_simulation, 3)
            )
        results["profile"] = prof

    results["targets"] = targets(results)
    results["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


_PCTS = ("p50_us", "p99_us", "p999_us", "max_us", "mean_us")


def _bridge_added(
    run: dict[str, Any], hop: dict[str, Any] | None, ping_pong: dict[str, Any]
) -> None:
    """Pipeline minus its two broker hops, percentile by percentile.

    Hop 1 carries the warnings: the paced hop at the same rate over three topics.
    Hop 2 carries the alerts, a few per second per missile: one record at a time,
    the ping-pong hop.
    """
    if hop is None or "error" in run or "error" in hop or "error" in ping_pong:
        return
    run["two_hops"] = {
        k: None if hop.get(k) is None or ping_pong.get(k) is None else hop[k] + ping_pong[k]
        for k in _PCTS
    }
    run["bridge_added"] = difference(run, [hop, ping_pong])


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each met or missed with the figure that decides it."""
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, figure: float | None, unit: str, met: bool | None) -> None:
        out.append({"target": name, "goal": target, "figure": figure, "unit": unit, "met": met})

    run: dict[str, Any] = next(
        (r for r in results.get("pipeline", {}).get("runs", []) if r.get("target_rate") == 1000),
        {},
    )
    added = _num(run.get("bridge_added", {}).get("p99_us"))
    # A negative difference means the hops' tails outweigh the pipeline's: noise, no verdict.
    add(
        "bridge-added p99 latency at 1,000 warnings/s",
        "<= 2 ms",
        None if added is None else round(added / 1000, 2),
        "ms",
        None if added is None or added < 0 else added <= 2000,
    )
    pair = results.get("throughput", {}).get("transactional", {})
    ratio = _num(pair.get("ratio"))
    add(
        "bridge throughput vs passthrough",
        ">= 50%",
        None if ratio is None else round(100 * ratio, 1),
        "%",
        None if ratio is None else ratio >= 0.5,
    )
    rate = _num(pair.get("bridge", {}).get("warnings_per_s"))
    add(
        "bridge throughput on one core",
        ">= 20,000 warnings/s",
        rate,
        "warnings/s",
        None if rate is None else rate >= 20_000,
    )
    growth = _num(results.get("memory", {}).get("growth_after_warmup_pct"))
    add(
        "bridge RSS growth after warm-up",
        "< 10%",
        growth,
        "%",
        None if growth is None else growth < 10,
    )
    speed = _num(results.get("simulation", {}).get("speedup"))
    add(
        "simulation speed, salvo-20",
        ">= 1000x real time",
        speed,
        "x",
        None if speed is None else speed >= 1000,
    )
    return out
