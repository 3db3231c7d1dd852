"""GOSPA over time (Stone Soup) between the fused tracks and the missiles in flight.

Each alert's state is propagated ballistically along a regular grid while its
track is open; the truth is each missile's position on the same grid during its
flight. The metric is averaged over the grid.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.results import Gospa
from evaluation.truth import TruthPath
from tracking.propagate import propagate_state
from trilink.constants import US
from trilink.model import AlertStatus, FusedAlert

GOSPA_C_KM = 50.0
GOSPA_P = 1.0
GOSPA_STEP_S = 5.0

Grid = NDArray[np.int64]  # µs since the epoch


def _timestamp(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)


def gospa(
    truths: Sequence[TruthPath],
    alerts: Sequence[FusedAlert],
    *,
    c_km: float = GOSPA_C_KM,
    p: float = GOSPA_P,
    step_s: float = GOSPA_STEP_S,
    air: bool = False,
) -> Gospa:
    """Mean GOSPA (and its parts) between fused tracks and truth on a regular grid;
    ``air`` flies each alert's state to the grid through the nominal air."""
    from stonesoup.metricgenerator.ospametric import GOSPAMetric

    if not truths:
        return Gospa(c_km, p, step_s, 0, None)
    start = min(t.start_us for t in truths)
    end = max(t.end_us for t in truths)
    grid = np.arange(start, end + 1, round(step_s * US), dtype=np.int64)
    measured, measured_ids = _track_states(grid, alerts, air)
    truth_states, truth_ids = _truth_states(grid, truths)
    metric = GOSPAMetric(c=c_km, p=p)
    series = metric.compute_over_time(measured, measured_ids, truth_states, truth_ids).value
    parts = ("distance", "localisation", "missed", "false")
    means = {k: float(np.mean([m.value[k] for m in series])) for k in parts}
    return Gospa(
        c_km,
        p,
        step_s,
        len(series),
        round(means["distance"], 3),
        round(means["localisation"], 3),
        round(means["missed"], 3),
        round(means["false"], 3),
    )


def _track_states(
    grid: Grid, alerts: Sequence[FusedAlert], air: bool
) -> tuple[list[Any], list[str]]:
    """Every open track's state (km) at each grid time, from its newest alert by then."""
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import State

    by_track: dict[str, list[FusedAlert]] = defaultdict(list)
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        by_track[a.system_track_id].append(a)
    states: list[Any] = []
    ids: list[str] = []
    for tid, history in by_track.items():
        closed = next(
            (a.alert_us for a in history if a.status in (AlertStatus.IMPACT, AlertStatus.DROPPED)),
            None,
        )
        k = 0
        for t in grid:
            while k + 1 < len(history) and history[k + 1].alert_us <= t:
                k += 1
            a = history[k]
            if a.alert_us > t or (closed is not None and t >= closed):
                continue
            x = np.array((*a.position_m, *a.velocity_mps))
            dt_s = (int(t) - a.state_time_us) / US
            pos = propagate_state(x, dt_s, max_step=20.0, air=air)[:3] / 1000.0
            states.append(State(StateVector(pos), timestamp=_timestamp(int(t))))
            ids.append(tid)
    return states, ids


def _truth_states(grid: Grid, truths: Sequence[TruthPath]) -> tuple[list[Any], list[str]]:
    """Every missile's true position (km) at the grid times within its flight."""
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import State

    states: list[Any] = []
    ids: list[str] = []
    for truth in truths:
        times = grid[(grid >= truth.start_us) & (grid <= truth.end_us)]
        if times.size == 0:
            continue
        for t, pos in zip(times, truth.positions(times.astype(float)) / 1000.0, strict=True):
            states.append(State(StateVector(pos), timestamp=_timestamp(int(t))))
            ids.append(truth.name)
    return states, ids
