"""Simulation speed: simulated seconds per wall second for the ``salvo-20`` scenario.

The scenario's launches go through ``producers.national.simulate_all``: for each
nation its sensors (horizon, range, field of regard, noise) and its national
tracker run over the whole flight of every missile, as the producers do live.
Simulated time runs from the first launch to the last warning observed.

Issue 13 asks for the speed *with the new physics on* (drag, staging, the KN-23's
manoeuvre): :func:`run_both` times the scenario in the atmosphere flight model, whose
figure the target is judged on, and in vacuum beside it.
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


def run(
    scenario_name: str = "salvo-20",
    seed: int = 7,
    limit: int | None = None,
    physics: str | None = None,
) -> dict[str, Any]:
    """Time ``simulate_all`` on the scenario (its first ``limit`` launches if given), in
    the flight model ``physics`` (None: the scenario's own)."""
    from producers.national import NationalConfig, simulate_all
    from producers.scenario_file import load_scenario
    from trilink.physics import Physics

    scenario = load_scenario(scenario_name, seed)
    if physics is not None:
        scenario = scenario.with_physics(Physics.parse(physics))
    launches: Sequence[LaunchEvent] = scenario_launches(scenario)
    if limit is not None:
        launches = launches[:limit]
    config = NationalConfig(physics=scenario.physics)
    t0 = time.perf_counter()
    warnings = simulate_all(launches, config=config)
    wall = time.perf_counter() - t0
    all_warnings = [w for ws in warnings.values() for w in ws]
    start = min(e.launch_time_us for e in launches)
    end = max((w.observed_us for w in all_warnings), default=start)
    simulated = (end - start) / 1e6
    return {
        "scenario": scenario_name,
        "seed": seed,
        "physics": scenario.physics.value,
        "launches": len(launches),
        "warnings": len(all_warnings),
        "warnings_by_nation": {n.value: len(ws) for n, ws in warnings.items()},
        "simulated_s": round(simulated, 1),
        "wall_s": round(wall, 3),
        "speedup": round(simulated / wall, 1) if wall > 0 else None,
    }


JUDGED_PHYSICS = "atmosphere"
"""The flight model the 1000x target is judged in: issue 13 asks for the new physics on."""


def run_both(
    scenario_name: str = "salvo-20", seed: int = 7, limit: int | None = None
) -> dict[str, Any]:
    """:func:`run` in vacuum and in the atmosphere; the top-level figures (``speedup``
    and the rest) are the atmosphere's, the one the target is judged on."""
    runs = {p: run(scenario_name, seed, limit, p) for p in ("vacuum", JUDGED_PHYSICS)}
    return {**runs[JUDGED_PHYSICS], "runs": runs}
