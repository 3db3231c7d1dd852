"""A system track's earlier estimates, and which one a late newcomer is compared with."""

from __future__ import annotations

import itertools

import numpy as np

from bridge.candidates import Slot, thrusting_then
from bridge.estimate import Estimate
from bridge.tracks import HISTORY_US, SystemTrack
from trilink.constants import US
from trilink.model import DataMode, Nation

T0 = 1_777_593_600 * US
SPAN = 8 * US


def _est(t_s: float, boosting: bool) -> Estimate:
    return Estimate(T0 + round(t_s * US), np.zeros(6), np.eye(6), boosting)


def test_one_estimate_a_second_over_the_last_minute() -> None:
    track = SystemTrack("ST-1", DataMode.SIMULATED, "", T0, T0, Nation.KOR)
    for i in range(400):  # a refresh every 0.25 s for 100 s
        track.remember(_est(i * 0.25, boosting=i < 120))
    times = [e.time_us for e in track.history]
    assert times[-1] == T0 + round(99.75 * US)  # the newest is always kept
    assert times[-1] - times[0] <= HISTORY_US
    assert all(b - a >= US for a, b in itertools.pairwise(times[:-1]))
    assert len(times) <= HISTORY_US // US + 2


def test_a_newcomer_from_the_boost_meets_the_track_as_it_was() -> None:
    history = [_est(t, boosting=t < 30) for t in range(0, 60)]
    coasting_now = _est(60, boosting=False)
    assert thrusting_then(history, coasting_now, T0 + 20 * US, SPAN) is history[20]
    # After the boost, or within a second of the newest: the newest, moved back.
    assert thrusting_then(history, coasting_now, T0 + 45 * US, SPAN) is None
    assert thrusting_then(history, coasting_now, T0 + round(59.5 * US), SPAN) is None


def test_while_still_thrusting_only_a_long_span_uses_the_past() -> None:
    history = [_est(t, boosting=True) for t in range(0, 40)]
    boosting_now = _est(40, boosting=True)
    assert thrusting_then(history, boosting_now, T0 + 35 * US, SPAN) is None  # 5 s: q covers it
    assert thrusting_then(history, boosting_now, T0 + 20 * US, SPAN) is history[20]


def test_a_slot_gives_its_newest_unless_its_history_holds_the_boost() -> None:
    newest = _est(60, boosting=False)
    slot = Slot("ST-1", newest, {Nation.KOR}, "realm")
    assert slot.estimate_at(T0, SPAN) is newest
    slot = Slot("ST-1", newest, {Nation.KOR}, "realm", history=[_est(0, boosting=True)])
    assert slot.estimate_at(T0, SPAN) is slot.history[0]
