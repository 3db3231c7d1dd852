"""BENCHMARKS.md, sections 1 and 2: latency, of one broker hop and of the whole pipeline."""

from __future__ import annotations

from typing import Any

from bench.report_format import error_of, ms, num, pcts, props, table


def broker_baseline_section(results: dict[str, Any]) -> list[str]:
    """Section 1: one broker hop, ping-pong and paced, and the linger sweep."""
    base = results.get("broker_baseline", {})
    settings = results["meta"]["client_settings"]
    out = [
        "## 1. Broker baseline: one hop, produce -> consume",
        "",
        "A record produced, then consumed by a probe in another process (so the two never",
        "share an interpreter lock). Ping-pong sends the next record once the previous one",
        "arrived; paced runs are open-loop: record *i* is due at *t0 + i/rate* and its",
        "latency counts from that due time, so a late sender counts against the system.",
        f"Records are {results['meta']['warning_bytes']} bytes (an encoded warning), keyed",
        "over 64 keys like track ids. Client settings are the pipeline's own",
        "(`trilink.kafka.producer_config` / `consumer_config`), except that the paced",
        "producers batch for 20 ms: Tansu's memory storage serves a partition ever more",
        "slowly as it fills with record batches (a partition holding ~6,000 single-record",
        "batches delivered ~10 records/s in a test), so with the default linger.ms=1 the",
        "broker itself falls behind at 1,000 records/s within seconds (sweep below), and",
        "runs at high rates are kept to seconds:",
        "",
        f"- paced load producers (section 1 and the pipeline's warnings):"
        f" `{props(settings['load_producer'])}`",
        f"- ping-pong producer (the pipeline's default, as the bridge's output):"
        f" `{props(settings['ping_pong_producer'])}`",
        f"- consumer: `{props(settings['probe_consumer'])}`",
        f"- {settings['partitions_per_topic']} partitions per topic;"
        f" {settings['probe_assignment']}",
        "",
    ]
    rows = []
    pp = base.get("ping_pong", {})
    if error_of(pp):
        rows.append(["ping-pong", "–", "–", f"error: {error_of(pp)}", "", "", "", ""])
    else:
        rows.append(["ping-pong", "–", "–", num(pp.get("count")), *pcts(pp)])
    for hop in base.get("paced", []):
        if error_of(hop):
            rows.append(
                [
                    f"paced {hop['target_rate']:g}/s",
                    "",
                    "",
                    f"error: {error_of(hop)}",
                    "",
                    "",
                    "",
                    "",
                ]
            )
            continue
        rows.append(
            [
                f"paced {hop['target_rate']:g}/s",
                num(hop.get("achieved_rate")),
                num(hop.get("max_schedule_lag_ms"), ".1f"),
                num(hop.get("count")),
                *pcts(hop),
            ]
        )
    out += table(
        ["mode", "achieved/s", "max send lag ms", "records", "p50", "p99", "p99.9", "max"], rows
    )
    out += _linger_sweep(base.get("linger_sweep", []))
    out += _transaction(base.get("transaction", {}))
    return [*out, ""]


def _transaction(txn: dict[str, Any]) -> list[str]:
    """The exactly-once step alone: the floor under the bridge-added latency."""
    if not txn:
        return []
    if error_of(txn):
        return ["", f"Transaction cycle: error: {error_of(txn)}"]
    commit = txn.get("commit", {})
    return [
        "",
        "The exactly-once step of a batch with an alert, alone on the broker"
        " (`bench.baseline.transaction`: begin -> one alert-sized and"
        f" {txn.get('states')} snapshot-sized records on two topics ->"
        " `send_offsets_to_transaction` for the input partitions read ->"
        " `commit_transaction`), the floor under what exactly-once adds to an alert:",
        "",
        *table(
            ["step", "cycles", "p50", "p99", "p99.9", "max"],
            [
                ["begin -> commit returned", num(txn.get("count")), *pcts(txn)],
                ["commit_transaction alone", num(commit.get("count")), *pcts(commit)],
            ],
        ),
    ]


def _linger_sweep(sweep: list[dict[str, Any]]) -> list[str]:
    """One hop at the same rate for each producer ``linger.ms``."""
    if not sweep:
        return []
    out = [
        "",
        "Producer `linger.ms` at the same rate: fewer, larger record batches keep Tansu's",
        "fetches fast for longer:",
        "",
    ]
    srows = []
    for s in sweep:
        if error_of(s):
            continue
        srows.append(
            [
                s.get("producer_overrides", {}).get("linger.ms"),
                f"{s['target_rate']:g}",
                num(s.get("count")),
                *pcts(s),
            ]
        )
    out += table(["linger.ms", "rate/s", "records", "p50", "p99", "p99.9", "max"], srows)
    return out


def pipeline_section(results: dict[str, Any]) -> list[str]:
    """Section 2: pipeline latency per rate, and what it is made of (bridge variants)."""
    pl = results.get("pipeline", {})
    bs = results["meta"]["bridge_settings"]
    out = [
        "## 2. Pipeline latency: warning produced -> fused alert consumed",
        "",
        "The bridge runs with its default configuration (`BridgeConfig()`: batch_size="
        f"{bs['batch_size']}, poll_timeout_s={bs['poll_timeout_s']}, commit_interval_s="
        f"{bs.get('commit_interval_s', '–')}, transactional="
        f"{bs['transactional']}, default alert policy) in its own process on one core. The",
        "workload is a salvo over North Korea seen by three nations with honest noise",
        "(`bench/workload.py`, truth from `tracking.propagate`): more missiles and faster",
        "national report rates at higher rates (10 missiles at 4 Hz for 100/s, 50 at 8 Hz",
        "for 1,000/s, 200 at 20 Hz for 10,000/s; the USA reports at half rate). Each",
        "warning's `reported_us` is its due time and it is sent at that time, so event time",
        "is wall time. The alert policy publishes only material changes, so **latency is",
        "measured for the warnings that produced an alert**: the alert's `newest_report_us`",
        "is the due time of the newest warning behind it. The first seconds (track",
        "creation) are warm-up and not counted. Bridge-added = pipeline - two broker hops",
        "from section 1, percentile by percentile: the paced hop at the same rate (it",
        "carries the warnings) plus the ping-pong hop (alerts are few, about one at a time).",
        "Percentiles do not subtract exactly, so this is an approximation; a negative",
        "figure means the hops' tail outweighs the pipeline's and gives no verdict.",
        "",
    ]
    rows = []
    for r in pl.get("runs", []):
        if error_of(r):
            rows.append([f"{r['target_rate']:g}", f"error: {error_of(r)}"] + [""] * 11)
            continue
        add = r.get("bridge_added", {})
        hops = r.get("two_hops", {})
        rows.append(
            [
                f"{r['target_rate']:g}",
                num(r.get("measured_rate")),
                num(r.get("count")),
                *pcts(r),
                ms(hops.get("p99_us")),
                ms(add.get("p50_us")),
                ms(add.get("p99_us")),
                num(r.get("max_bridge_lag_warnings")),
                {True: "yes", False: "**no**"}.get(r.get("kept_up"), "–"),
                num(r.get("bridge_cpu_utilisation"), ".2f"),
            ]
        )
    out += table(
        [
            "warnings/s",
            "measured/s",
            "alerts timed",
            "p50",
            "p99",
            "p99.9",
            "max",
            "2 hops p99",
            "bridge-added p50",
            "bridge-added p99",
            "max lag (warnings)",
            "kept up",
            "bridge CPU",
        ],
        rows,
    )
    out += _variants(pl)
    return [*out, ""]


def _variants(pl: dict[str, Any]) -> list[str]:
    """The 1,000/s run against the same run with bridge settings changed."""
    variants = pl.get("variants", [])
    if not variants:
        return []
    out = [
        "",
        "What the latency is made of: the same run at the same rate with bridge settings",
        "changed (the default row is the one above).",
        "",
    ]
    default = next((r for r in pl.get("runs", []) if r.get("target_rate") == 1000), None)
    vrows = []
    if default and not error_of(default):
        vrows.append(["default", *pcts(default), ms(default.get("bridge_added", {}).get("p99_us"))])
    for v in variants:
        if error_of(v):
            vrows.append([v["variant"], f"error: {error_of(v)}", "", "", "", ""])
            continue
        vrows.append([v["variant"], *pcts(v), ms(v.get("bridge_added", {}).get("p99_us"))])
    out += table(["bridge setting", "p50", "p99", "p99.9", "max", "bridge-added p99"], vrows)
    return out
