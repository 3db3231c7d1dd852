"""trilink's engine against the Stone Soup peer: the same warnings, cost and GOSPA side by side.

Each scenario is simulated once and both fusers replay its national warnings offline,
one by one at their publication times (``evaluation.peer.compare``): trilink's bridge
engine, and the pipeline of Stone Soup's own parts of issue 10 (track-to-track
feeder, Mahalanobis hypothesiser, ``GNNWith2DAssignment``, ``ChernoffUpdater``,
a time deleter). Each fuse is timed alone, wall clock, the fastest of ``repeats``
passes (the least disturbed on a shared machine); both pictures are scored the same
way (:func:`evaluation.scoring.score`).

Both are timed on the same job, fusion and impact prediction: trilink's alerts go
without their threat assessment (whom each warns), which the peer does not make;
trilink's time with it is reported beside.

Warnings fed one at a time are the dearest way to run the engine: every report
refreshes its system track's picture, impact prediction included, where the live
bridge at high rates refreshes a track once per batch (section 9's cost is per
warning in batches). The peer computes an impact point per update too.

The target (issue 13): trilink at least :data:`TARGET_SPEEDUP` times faster per
warning at a GOSPA no worse than the peer's, on every scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TARGET_SPEEDUP = 10.0


def run(scenarios: Sequence[str], seed: int = 0, repeats: int = 1) -> dict[str, Any]:
    """Both fusers on each of ``scenarios`` (built-in names, YAML files, catalogue dates)."""
    from evaluation.peer import compare

    rows: list[dict[str, Any]] = []
    for name in scenarios:
        c = compare(name, seed, repeats=repeats)
        ours, theirs = c.trilink.score, c.peer.score
        rows.append(
            {
                "scenario": name,
                "missiles": ours.missiles,
                "warnings": c.warnings,
                "trilink_us_per_warning": c.trilink_us_per_warning,
                "trilink_threat_us_per_warning": c.trilink_threat_us_per_warning,
                "peer_us_per_warning": c.peer_us_per_warning,
                "speedup": round(c.peer_us_per_warning / c.trilink_us_per_warning, 2)
                if c.trilink_us_per_warning > 0
                else None,
                "trilink_gospa": ours.gospa.mean,
                "peer_gospa": theirs.gospa.mean,
                "trilink_tracks": ours.system_tracks,
                "peer_tracks": theirs.system_tracks,
            }
        )
    speedups: list[float] = [r["speedup"] for r in rows if r["speedup"] is not None]
    return {
        "seed": seed,
        "repeats": repeats,
        "scenarios": rows,
        "min_speedup": min(speedups) if speedups else None,
        "gospa_no_worse": all(r["trilink_gospa"] <= r["peer_gospa"] for r in rows),
    }


def target(results: dict[str, Any]) -> tuple[float | None, bool | None]:
    """The decisive figure (the smallest speed-up over the scenarios) and the verdict:
    met when every scenario is at least 10x faster and no worse on GOSPA."""
    peer = results.get("peer") or {}
    if not peer.get("scenarios") or "error" in peer:
        return None, None
    low = peer.get("min_speedup")
    if low is None:
        return None, None
    return low, bool(low >= TARGET_SPEEDUP and peer.get("gospa_no_worse"))
