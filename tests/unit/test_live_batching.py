"""The picture does not depend on how the live bridge happens to batch its input.

Offline scoring feeds the engine one warning at a time at its publication time; a live
bridge takes whatever has arrived when it polls, after network delays that differ per
record. The same warnings fused in live-like batches must give the same outcome: every
missile one system track, no merge, no extra track, no miss.
"""

from __future__ import annotations

import random
from functools import cache

import pytest

from bridge.config import EngineConfig
from bridge.engine import Engine
from evaluation.results import Score
from evaluation.scoring import DRAIN_US, Simulated, arrivals, run_offline, score, simulate_scenario
from trilink.codec import Codec
from trilink.model import FusedAlert


@cache
def _salvo() -> Simulated:
    # Four missiles launched seconds apart on neighbouring paths: where a batch that
    # holds two nations' reports of two missiles at once could pair them wrongly.
    return simulate_scenario("tight-salvo", 3)


def _score(run: Simulated, alerts: list[FusedAlert]) -> Score:
    return score(run.truths, run.warnings, alerts, run.origins, run.physics, run.origin_times)


def _fuse_in_batches(run: Simulated, window_us: int, jitter_us: int) -> list[FusedAlert]:
    """Each record arrives up to ``jitter_us`` after its publication; every ``window_us``
    after the first waiting record, the engine takes all that has arrived, its clock at
    the window's end (as ``bridge.service`` polls)."""
    config = EngineConfig(physics=run.physics)
    rng = random.Random(window_us + jitter_us)
    arrived = sorted(
        (
            (t + rng.randint(0, jitter_us), topic, w)
            for t, topic, w in arrivals(run.warnings, config.topics)
        ),
        key=lambda a: a[0],
    )
    now = [0]
    engine = Engine(config, Codec(), lambda: now[0])
    alerts: list[FusedAlert] = []
    i = 0
    while i < len(arrived):
        now[0] = arrived[i][0] + window_us
        batch = []
        while i < len(arrived) and arrived[i][0] <= now[0]:
            batch.append((arrived[i][1], arrived[i][2]))
            i += 1
        alerts.extend(engine.process_warnings(batch).alerts)
    now[0] = arrived[-1][0] + DRAIN_US
    alerts.extend(engine.tick(now[0]).alerts)
    return alerts


@pytest.mark.parametrize(("window_ms", "jitter_ms"), [(100, 50), (500, 300)])
def test_live_batches_give_the_offline_outcome(window_ms: int, jitter_ms: int) -> None:
    run = _salvo()
    offline = _score(run, run_offline(run.warnings, EngineConfig(physics=run.physics))[0])
    live = _score(run, _fuse_in_batches(run, window_ms * 1000, jitter_ms * 1000))
    assert offline.system_tracks == offline.missiles  # the offline picture is right
    outcome = ("system_tracks", "merged", "extra_tracks", "missed")
    assert {k: getattr(live, k) for k in outcome} == {k: getattr(offline, k) for k in outcome}
