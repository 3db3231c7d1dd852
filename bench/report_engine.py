"""BENCHMARKS.md, sections 8 and 9: what verification costs the bridge, and how the
engine's cost per warning grows with the missiles in flight.

Results from before these sections existed render without them.
"""

from __future__ import annotations

from typing import Any

from bench.report_format import dig, error_of, num, table


def verification_section(results: dict[str, Any]) -> list[str]:
    """Section 8: the bridge with and without record verification, same signed warnings."""
    ver = results.get("verification")
    if ver is None:
        return []
    out = ["## 8. The bridge with and without record verification", ""]
    if error_of(ver):
        return [*out, f"error: {error_of(ver)}", ""]
    eng = ver.get("engine", {})
    out += [
        "Every warning carries its nation's signed label (`producers.labelling.Labeller`,"
        " keys from `trilink.security.init_keys`); the same records go through the bridge"
        " unprotected (the headers travel, nobody reads them) and protected"
        " (`bridge.protection.Protection`: every record verified before it is decoded), so"
        " the difference is what verification costs.",
        "",
    ]
    if error_of(eng):
        out += [f"engine error: {error_of(eng)}", ""]
    else:
        out += [
            f"**The engine alone** (`Engine.process`, no Kafka) on the {num(eng['rate'])}/s"
            f" salvo in batches of {eng['batch_size']}: its first"
            f" {num(eng['untimed_first_warnings'])} warnings (every track created) untimed,"
            f" the next {num(eng['warnings'])} timed on a fresh engine with and without"
            f" `verifier=protection.verifier()`, alternately; median of {eng['repeats']}.",
            "",
            *table(
                ["engine", "µs per warning", "CPU µs per warning", "warnings/s"],
                [
                    [
                        mode,
                        num(eng[key]["us_per_warning"], ",.1f"),
                        num(eng[key]["cpu_us_per_warning"], ",.1f"),
                        num(eng[key]["warnings_per_s"]),
                    ]
                    for mode, key in (("unprotected", "without"), ("verifying", "with"))
                ],
            ),
            "",
            f"With verification the engine carries **{num(eng['ratio'], '.1%')}** of its"
            f" unprotected rate; verification costs **{num(eng['verify_us_per_warning'], ',.1f')}"
            f" µs per warning** ({num(eng['verify_cpu_us_per_warning'], ',.1f')} µs of CPU).",
            "",
        ]
    svc = ver.get("service")
    if svc is None:
        out += ["The bridge service on the broker: not run in this profile.", ""]
    elif error_of(svc):
        out += [f"service error: {error_of(svc)}", ""]
    else:
        rows = []
        for mode, key in (("unprotected", "without"), ("protected", "with")):
            r = svc[key]
            rows.append(
                [
                    mode,
                    num(r.get("warnings")),
                    num(r.get("seconds"), ".2f"),
                    num(r.get("warnings_per_s")),
                    num(r.get("steady_warnings_per_s")),
                    num(r.get("cpu_utilisation"), ".2f"),
                    num(r.get("svc_alerts")),
                ]
            )
        out += [
            "**The bridge service on the broker**, as section 3 (transactional, one core):"
            " the same signed warnings preloaded for an unprotected and a protected bridge"
            " (which also labels and signs every alert it issues).",
            "",
            *table(
                [
                    "bridge",
                    "warnings",
                    "seconds",
                    "warnings/s",
                    "after the first 30%",
                    "CPU (cores)",
                    "alerts",
                ],
                rows,
            ),
            "",
            f"Protected/unprotected: **{num(svc['ratio'], '.1%')}**; protection costs"
            f" {num(svc['protection_us_per_warning'], ',.1f')} µs per warning drained.",
            "",
        ]
    return out


def scaling_section(results: dict[str, Any]) -> list[str]:
    """Section 9: engine cost per warning against missiles in flight (the curve, the verdict)."""
    sc = results.get("scaling")
    if sc is None:
        return []
    out = ["## 9. Engine cost per warning against missiles in flight", ""]
    if error_of(sc):
        return [*out, f"error: {error_of(sc)}", ""]
    points = sc["points"]
    out += [
        "A continuous stream keeps N missiles in flight (`bench.scaling`: launches from"
        " across North Korea every 390/N s, towards the east and south-east, each reported"
        f" for ~390 s); Korea and Japan report each track every {sc['report_interval_s']:g} s,"
        f" the US every {2 * sc['report_interval_s']:g} s, so the stream runs at 1.25 N"
        " warnings/s; the tracks in flight at the start begin reporting at random times"
        f" over its first {num(sc.get('stagger_s'), 'g')} s (the alert policy's longest"
        " interval between alerts is 10 s), so that their reports and alert cycles are"
        " spread in time as after hours of launches. The engine (no"
        " Kafka) takes it as the live bridge would: one batch per"
        f" {1000 * sc['batch_window_s']:g} ms poll window (at most {sc['max_batch']}), its"
        f" clock at the batch's time. After {num(points[0].get('warmup_s'), 'g')} s of event"
        f" time (untimed: every track created and alerted on), {sc['repeats']} consecutive"
        f" windows of {num(sc['window'])} warnings are timed; the cost is their median, in"
        " CPU time of the process (the machine is shared; wall time beside it).",
        "",
        *table(
            [
                "missiles in flight",
                "warnings/s",
                "open tracks",
                "mean batch",
                "alerts per 1,000",
                "CPU µs per warning",
                "wall µs per warning",
                "vs the first",
            ],
            [
                [
                    num(p["missiles"]),
                    num(p["nominal_rate"], ",.1f"),
                    num(p["open_tracks_at_end"]),
                    num(p["mean_batch"], ",.1f"),
                    num(p["alerts_per_1000_warnings"], ",.1f"),
                    num(p["cpu_us_per_warning"], ",.1f"),
                    num(p["wall_us_per_warning"], ",.1f"),
                    num(p["cpu_us_per_warning"] / points[0]["cpu_us_per_warning"], ".2f") + "x"
                    if points[0]["cpu_us_per_warning"]
                    else "–",
                ]
                for p in points
            ],
        ),
        "",
        "Curve (CPU µs per warning): "
        + " -> ".join(f"{p['missiles']:,}: {p['cpu_us_per_warning']:,.0f}" for p in points)
        + ".",
        "",
    ]
    top = points[-1]
    share = top["nominal_rate"] * top["cpu_us_per_warning"] / 1e6
    verify = dig(results, "verification", "engine", "verify_cpu_us_per_warning")
    line = (
        f"At {top['missiles']:,} missiles ({num(top['nominal_rate'])} warnings/s) the engine"
        f" alone needs {share:.0%} of one core"
    )
    if isinstance(verify, int | float):
        both = top["nominal_rate"] * (top["cpu_us_per_warning"] + verify) / 1e6
        line += f", {both:.0%} with verification (section 8: +{verify:,.0f} µs per warning)"
    out += [line + ".", ""]
    low, high = (p.get("alerts_per_1000_warnings") for p in (points[0], points[-1]))
    if isinstance(low, int | float) and isinstance(high, int | float) and high < 0.75 * low:
        out += [
            f"Caveat: the windows at {points[-1]['missiles']:,} missiles saw {high:g} alerts"
            f" per 1,000 warnings against {low:g} at {points[0]['missiles']:,}: they are short"
            " in event time and close to the warm-up, so fewer alert cycles fell in them than"
            " in steady state, and the cost there is understated (the full profile's longer"
            " warm-up and windows are the reference).",
            "",
        ]
    met = {True: "**met**", False: "**missed**", None: "not measured"}[sc.get("met")]
    out += [
        f"Target: cost at {points[-1]['missiles']:,} missiles <= {sc['target_growth']:g}x the"
        f" cost at {points[0]['missiles']:,}: {num(sc.get('growth'), '.2f')}x, {met}.",
        "",
    ]
    prof = sc.get("profile")
    if prof:
        out += [
            f"Where the time goes at {num(prof['missiles'])} missiles: one more window"
            f" ({num(prof['warnings'])} warnings) under cProfile (profiling slows Python"
            " down; the shares are what matters). Own time by area:",
            "",
            *table(
                ["area", "share of own time"],
                [[k, f"{v}%"] for k, v in prof["by_area_pct"].items() if v >= 0.5],
            ),
            "",
            "Top functions by own time:",
            "",
            *table(
                ["function", "calls", "own s", "share", "cumulative s"],
                [
                    [f["function"], num(f["calls"]), f["own_s"], f"{f['own_pct']}%", f["cum_s"]]
                    for f in prof["top_own_time"]
                ],
            ),
            "",
            "Cumulative time of the engine's steps:",
            "",
            *table(
                ["function", "calls", "cumulative s", "share"],
                [
                    [c["function"], num(c["calls"]), c["cum_s"], f"{c['cum_pct']}%"]
                    for c in prof["cumulative"]
                ],
            ),
            "",
        ]
    return out


def quick_lines(results: dict[str, Any]) -> list[str]:
    """One line per new figure, for the end of a run (``bench.run``)."""
    lines = []
    eng = dig(results, "verification", "engine") or {}
    if "ratio" in eng:
        lines.append(
            f"verification, engine alone: {num(eng['without']['warnings_per_s'])} -> "
            f"{num(eng['with']['warnings_per_s'])} warnings/s ({num(eng['ratio'], '.1%')}),"
            f" +{num(eng['verify_us_per_warning'], ',.1f')} µs per warning"
        )
    svc = dig(results, "verification", "service") or {}
    if "ratio" in svc:
        lines.append(
            f"verification, bridge on the broker: {num(svc['without']['warnings_per_s'])} -> "
            f"{num(svc['with']['warnings_per_s'])} warnings/s ({num(svc['ratio'], '.1%')}),"
            f" +{num(svc['protection_us_per_warning'], ',.1f')} µs per warning"
        )
    points = dig(results, "scaling", "points") or []
    if points:
        lines.append(
            "engine CPU µs per warning by missiles in flight: "
            + ", ".join(f"{p['missiles']:,}: {p['cpu_us_per_warning']:,.0f}" for p in points)
        )
    return lines
