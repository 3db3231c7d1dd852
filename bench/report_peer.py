"""BENCHMARKS.md section 10: trilink's engine against the Stone Soup peer."""

from __future__ import annotations

from typing import Any

from bench.peer import TARGET_SPEEDUP
from bench.report_format import error_of, num, table


def peer_section(results: dict[str, Any]) -> list[str]:
    """Section 10: cost per warning and GOSPA of both fusers on the same warnings."""
    peer = results.get("peer")
    if peer is None:
        return []
    out = ["## 10. trilink's engine against the Stone Soup peer", ""]
    if error_of(peer):
        return [*out, f"error: {error_of(peer)}", ""]
    rows = peer["scenarios"]
    out += [
        "Each scenario is simulated once (seed"
        f" {peer['seed']}); its national warnings are fused offline by trilink's engine and by"
        " the pipeline of Stone Soup's own parts (`evaluation.peer`: track-to-track feeder,"
        " Mahalanobis hypothesiser, `GNNWith2DAssignment`, `ChernoffUpdater`, time deleter),"
        " each fed one warning at a time at its publication time and timed alone (wall"
        f" clock, fastest of {peer['repeats']}). Both are timed on the same job, fusion and"
        " impact prediction: the peer makes no threat assessment, so trilink's alerts go"
        " without theirs (whom each alert warns, section 6); trilink's time with it, as the"
        " live bridge runs, is the column beside. Both pictures are scored the same way"
        " (`evaluation.scoring.score`; GOSPA: lower is better). One warning at a time is the"
        " engine's dearest regime: each report refreshes its track's picture and impact"
        " prediction, where the live bridge refreshes a track once per batch (section 9).",
        "",
        *table(
            [
                "scenario",
                "missiles",
                "warnings",
                "trilink µs/warning",
                "with threat assessment",
                "peer µs/warning",
                "speed-up",
                "trilink GOSPA",
                "peer GOSPA",
                "system tracks (trilink / peer)",
            ],
            [
                [
                    f"`{r['scenario']}`",
                    num(r["missiles"]),
                    num(r["warnings"]),
                    num(r["trilink_us_per_warning"], ",.0f"),
                    num(r.get("trilink_threat_us_per_warning"), ",.0f"),
                    num(r["peer_us_per_warning"], ",.0f"),
                    num(r["speedup"], ".1f") + "x",
                    num(r["trilink_gospa"], ".2f"),
                    num(r["peer_gospa"], ".2f"),
                    f"{r['trilink_tracks']} / {r['peer_tracks']}",
                ]
                for r in rows
            ],
        ),
        "",
    ]
    short = [r["scenario"] for r in rows if (r["speedup"] or 0) < TARGET_SPEEDUP]
    worse = [r["scenario"] for r in rows if r["trilink_gospa"] > r["peer_gospa"]]
    if short or worse:
        parts = []
        if short:
            parts.append(f"less than {TARGET_SPEEDUP:g}x faster on {', '.join(short)}")
        if worse:
            parts.append(f"a worse GOSPA than the peer's on {', '.join(worse)}")
        out += ["Target missed: " + "; ".join(parts) + ".", ""]
    return out
