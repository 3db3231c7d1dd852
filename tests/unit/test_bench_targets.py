"""The benchmark's verdicts on issue 13's targets, from hand-made results."""

from __future__ import annotations

from typing import Any

from bench.suite import KEEP_UP_MIN_S, targets


def _keep_up(results: dict[str, Any]) -> dict[str, Any]:
    (row,) = [t for t in targets(results) if t["target"] == "bridge keeps up at 10,000 warnings/s"]
    return row


def _run(sent: int, kept_up: bool) -> dict[str, Any]:
    return {
        "pipeline": {
            "runs": [
                {
                    "target_rate": 10000,
                    "sent": sent,
                    "achieved_rate": 3000.0,
                    "max_bridge_lag_warnings": 6122 if kept_up else 15878,
                    "kept_up": kept_up,
                }
            ]
        }
    }


def test_a_run_too_short_to_fall_behind_gives_no_keep_up_verdict() -> None:
    # 3.5 s of input (the quick profile): only a bridge under 71% of the rate could fail.
    assert _keep_up(_run(35_000, True))["met"] is None
    long_enough = round(KEEP_UP_MIN_S * 10000)
    assert _keep_up(_run(long_enough, True))["met"] is True
    assert _keep_up(_run(long_enough, False))["met"] is False
    assert _keep_up({})["met"] is None  # not run at all


def test_the_keep_up_figure_is_the_largest_lag_in_seconds_of_input() -> None:
    long_enough = round(KEEP_UP_MIN_S * 10000)
    assert _keep_up(_run(long_enough, True))["figure"] == 0.61
    assert _keep_up(_run(long_enough, False))["figure"] == 1.59
