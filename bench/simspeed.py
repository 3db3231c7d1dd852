"""Simulation speed: simulated seconds per wall second for the ``salvo-20`` scenario.

The scenario's launches go through ``producers.national.simulate_all``: for each
nation its sensors (horizon, range, field of regard, noise) and its national
tracker run over the whole flight of every missile, as the producers do live.
Simulated time runs from the first launch to the last warning observed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from trilink.model import LaunchEvent


def scenario_launches(scenario: Any) -> list[LaunchEvent]:
    """The launch events of what ``load_scenario`` returns."""
    events = getattr(scenario, "launches", scenario)
    return list(events)


def run(scenario_name: str = "salvo-20", seed: int = 7, limit: int | None = None) -> dict[str, Any]:
    """Time ``simulate_all`` on the scenario (its first ``limit`` launches if given)."""
    from producers.national import simulate_all
    from producers.scenario_file import load_scenario

    launches: Sequence[LaunchEvent] = scenario_launches(load_scenario(scenario_name, seed))
    if limit is not None:
        launches = launches[:limit]
    t0 = time.perf_counter()
    warnings = simulate_all(launches)
    wall = time.perf_counter() - t0
    all_warnings = [w for ws in warnings.values() for w in ws]
    start = min(e.launch_time_us for e in launches)
    end = max((w.observed_us for w in all_warnings), default=start)
    simulated = (end - start) / 1e6
    return {
        "scenario": scenario_name,
        "seed": seed,
        "launches": len(launches),
        "warnings": len(all_warnings),
        "warnings_by_nation": {n.value: len(ws) for n, ws in warnings.items()},
        "simulated_s": round(simulated, 1),
        "wall_s": round(wall, 3),
        "speedup": round(simulated / wall, 1) if wall > 0 else None,
    }
