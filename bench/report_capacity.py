"""BENCHMARKS.md, sections 3 to 5 and the profile: how much the services carry, and at what cost."""

from __future__ import annotations

from typing import Any

from bench.report_format import error_of, num, table


def throughput_section(results: dict[str, Any]) -> list[str]:
    """Section 3: bridge and passthrough draining the same preloaded warnings."""
    tp = results.get("throughput", {})
    out = [
        "## 3. Throughput: maximum sustained warnings/s on one core",
        "",
        "N warnings of the 10,000/s salvo are preloaded into fresh input topics; the service",
        "starts in its own process pinned to one core and drains them. Time runs from the",
        "service's first poll to the moment its group's committed offsets (committed with",
        "the output, in the same transaction) reach the last record on every partition.",
        "The passthrough (`bench/passthrough.py`) does decode -> encode -> produce with the",
        "bridge's consumer, producer, batch size, poll timeout, framing and transactions.",
        "The verdicts use the whole drain (salvo start included); the rate after the first",
        "30% (once the salvo's tracks exist) is shown beside it.",
        "",
    ]
    rows = []
    for mode, pair in tp.items():
        for kind in ("passthrough", "bridge"):
            r = pair.get(kind, {})
            if error_of(r):
                rows.append([kind, mode, f"error: {error_of(r)}", "", "", "", "", "", ""])
                continue
            rows.append(
                [
                    kind,
                    mode.replace("_", "-"),
                    num(r.get("warnings")),
                    num(r.get("seconds"), ".2f"),
                    num(r.get("warnings_per_s")),
                    num(r.get("steady_warnings_per_s")),
                    num(r.get("cpu_utilisation"), ".2f"),
                    num(r.get("rss_mb"), ".0f"),
                    num(pair.get("ratio"), ".1%") if kind == "bridge" else "",
                ]
            )
    out += table(
        [
            "service",
            "mode",
            "warnings",
            "seconds",
            "warnings/s",
            "after the first 30%",
            "CPU (cores)",
            "RSS MB",
            "bridge/passthrough",
        ],
        rows,
    )
    return [*out, ""]


def memory_section(results: dict[str, Any]) -> list[str]:
    """Section 4: the bridge engine's RSS over a long run."""
    mem = results.get("memory", {})
    out = ["## 4. Memory: bridge RSS over a long run", ""]
    if error_of(mem):
        return [*out, f"error: {error_of(mem)}", ""]
    out += [
        f"{mem['duration_s']:g} s at {mem['rate']:g} warnings/s on a continuous stream (missiles",
        "launching and landing throughout, so system tracks are created, closed, retained and",
        f"evicted {mem.get('closed_retention_s', 900):g} s after closing, a fifth of the run, so",
        "the table reaches its steady state). Tansu's memory storage cannot carry that rate",
        "for minutes (section 1), so this run",
        "drives the bridge's engine without Kafka, in its own process on one core, in real",
        "time: every 10 ms the warnings that fell due are processed (at most a service batch",
        "at a time, as the bridge's consumer), alerts encoded when issued and state",
        "snapshots taken and encoded when the service would commit them (`bridge.outbox`).",
        "RSS (psutil) every second;",
        f"growth is RSS at the end against RSS at {mem['warmup_s']:g} s.",
        "",
        *table(
            [
                "RSS start",
                f"RSS at {mem['warmup_s']:g} s",
                "RSS end",
                "RSS max",
                "growth after warm-up",
                "warnings",
                "achieved/s",
                "alerts",
                "tracks held at end",
                "engine CPU",
            ],
            [
                [
                    f"{mem['rss_start_mb']} MB",
                    f"{mem['rss_after_warmup_mb']} MB",
                    f"{mem['rss_end_mb']} MB",
                    f"{mem['rss_max_mb']} MB",
                    f"{mem['growth_after_warmup_pct']}%",
                    num(mem.get("consumed")),
                    num(mem.get("achieved_rate")),
                    num(mem.get("alerts")),
                    num(mem.get("tracks_held_at_end")),
                    num(mem.get("engine_cpu_share"), ".2f"),
                ]
            ],
        ),
    ]
    samples = mem.get("samples", [])
    if len(samples) > 10:
        step = max(1, len(samples) // 10)
        picked = samples[::step]
        out += [
            "",
            "RSS over time: "
            + ", ".join(f"{t:g} s {r:.1f} MB" for t, r in picked)
            + f", {samples[-1][0]:g} s {samples[-1][1]:.1f} MB.",
        ]
    return [*out, ""]


def simulation_section(results: dict[str, Any]) -> list[str]:
    """Section 5: simulated seconds per wall second."""
    sim = results.get("simulation", {})
    out = ["## 5. Simulation speed", ""]
    if error_of(sim):
        return [*out, f"error: {error_of(sim)}", ""]
    runs = sim.get("runs") or {sim.get("physics", "vacuum"): sim}
    out += [
        f"`{sim['scenario']}` ({sim['launches']} launches, seed {sim['seed']}) through",
        "`producers.national.simulate_all`: every nation's sensors and national tracker over",
        "the whole flight of every missile, once in each flight model (a cold run: the",
        "trajectory solutions of the missile classes are part of it). Simulated time runs",
        "from the first launch to the last warning observed. The target is judged with",
        f"the physics on (**{sim.get('physics', 'vacuum')}**: drag, staging coasts, the KN-23's",
        "pull-up), as issue 13 asks; vacuum is beside it.",
        "",
        *table(
            ["physics", "launches", "warnings", "simulated s", "wall s", "simulated s per wall s"],
            [
                [
                    physics,
                    r["launches"],
                    num(r["warnings"]),
                    r["simulated_s"],
                    r["wall_s"],
                    f"{r['speedup']:,}",
                ]
                for physics, r in runs.items()
            ],
        ),
    ]
    return [*out, ""]


def threat_section(results: dict[str, Any]) -> list[str]:
    """Section 6: what assessing who an alert threatens costs (``threat.alert.with_threat``)."""
    t = results.get("threat", {})
    out = ["## 6. Threat assessment per alert", ""]
    if error_of(t):
        return [*out, f"error: {error_of(t)}", ""]
    rows = [
        ["cost (fastest of each alert's passes)", t],
        ["  with an overflight", t["with_overflight"]],
        ["  without", t["without_overflight"]],
        ["raw (every pass, as the hot path saw it)", t["raw"]],
        ["thread CPU time (fastest pass)", t["cpu"]],
    ]
    out += [
        f"`threat.alert.with_threat` (overflight, impact zone, warning list, description),"
        f" which the bridge runs on every alert it publishes, timed on the"
        f" {num(t['alerts'])} alerts the engine issues offline for"
        f" {', '.join(f'`{n}`' for n in t['scenarios'])} (seed {t['seed']}), {t['repeats']}"
        f" passes in publication order after an untimed one. An alert's cost is its fastest"
        f" pass: the machine is shared, and a pass the thread was preempted in measures the"
        f" scheduler. Ground tracks of {t['track_samples']['median']} samples (median) to"
        f" {t['track_samples']['max']} (one every 20 km). The target is decided on the p99:"
        f" every alert pays its cost on the hot path, and a median would hide the dearest"
        f" (long tracks over land).",
        "",
        *table(
            ["", "alerts", "median µs", "p99 µs", "max µs"],
            [
                [label, *(num(d.get(k)) for k in ("n", "median_us", "p99_us", "max_us"))]
                for label, d in rows
            ],
        ),
    ]
    return [*out, ""]


def security_section(results: dict[str, Any]) -> list[str]:
    """Section 7: what labelling, signing and verifying a warning costs (``trilink.security``)."""
    sec = results.get("security")
    if sec is None:  # results from before the section existed
        return []
    out = ["## 7. Record signing and verification per warning", ""]
    if error_of(sec):
        return [*out, f"error: {error_of(sec)}", ""]
    out += [
        f"`Signer.headers` (STANAG 4774-style label, message id, Ed25519 signature), which a"
        f" producer pays per warning, and `security_headers` + `Verifier.verify` (trust"
        f" lookup, Ed25519 verification, label parsing, replay guard), which the bridge pays"
        f" per record read, timed one at a time on {num(sec['records'])} encoded warnings of"
        f" the salvo ({sec['value_bytes']} bytes median; the headers add"
        f" {sec['header_bytes']} bytes).",
        "",
        *table(
            ["", "median µs", "p99 µs"],
            [
                ["sign", num(sec["sign_median_us"], ",.1f"), num(sec["sign_p99_us"], ",.1f")],
                [
                    "verify",
                    num(sec["verify_median_us"], ",.1f"),
                    num(sec["verify_p99_us"], ",.1f"),
                ],
            ],
        ),
    ]
    return [*out, ""]


def _areas(prof: dict[str, Any]) -> list[str]:
    return table(
        ["area", "share of own time"],
        [[k, f"{v}%"] for k, v in prof["by_area_pct"].items() if v >= 0.5],
    )


def _cumulative(prof: dict[str, Any]) -> list[str]:
    return table(
        ["function", "calls", "cumulative s", "share"],
        [
            [c["function"], num(c["calls"]), c["cum_s"], f"{c['cum_pct']}%"]
            for c in prof["cumulative"]
        ],
    )


def profile_section(results: dict[str, Any]) -> list[str]:
    """Where the bridge's time goes: cProfile of the engine and the service."""
    prof = results.get("profile")
    if not prof:
        return []
    out = ["## Where the bridge's time goes (cProfile)", ""]
    eng = prof.get("engine", {})
    if error_of(eng):
        out += [f"engine profile error: {error_of(eng)}", ""]
    elif eng:
        out += [
            f"**The engine alone** (`bridge.engine.Engine.process`, no Kafka) on the"
            f" {eng['rate']:,.0f}/s salvo in batches of {eng['batch_size']}:"
            f" {eng['creation_phase_us_per_warning']} µs per warning over its first 3 s"
            f" ({eng['creation_phase_warnings']:,} warnings, every track being created),"
            f" **{eng['steady_us_per_warning']} µs per warning over the next"
            f" {eng['warnings'] - eng['creation_phase_warnings']:,}** (steady state,"
            f" {num(eng['steady_warnings_per_s'])} warnings/s), both unprofiled. Own time of the"
            " steady part by area:",
            "",
            *_areas(eng),
            "",
            "Cumulative time of the engine's steps (steady part, profiled):",
            "",
            *_cumulative(eng),
            "",
            "Top functions by own time:",
            "",
            *table(
                ["function", "calls", "own s", "share"],
                [
                    [f["function"], num(f["calls"]), f["own_s"], f"{f['own_pct']}%"]
                    for f in eng["top_own_time"]
                ],
            ),
            "",
        ]
    svc = prof.get("service", {})
    if error_of(svc):
        out += [f"service profile error: {error_of(svc)}", ""]
    elif svc:
        out += [
            f"**The bridge service** draining {svc['warnings']:,} preloaded warnings from the"
            f" broker under cProfile (main thread; {num(svc['profiled_rate'])} warnings/s while"
            " profiled), salvo start included. Own time by area (time blocked in librdkafka,"
            " e.g. `consume` waiting for a batch or `commit_transaction`, counts under"
            " confluent-kafka):",
            "",
            *_areas(svc),
            "",
            *_cumulative(svc),
            "",
        ]
    return out
