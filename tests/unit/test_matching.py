"""The one truth matcher: gated one-to-one assignment, and the nearest rule the score uses."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from evaluation.matching import INFEASIBLE, assign, cost_matrix


def _table(rows: list[list[float]]) -> tuple[list[int], list[int], Callable[[int, int], float]]:
    tracks = list(range(len(rows)))
    truths = list(range(len(rows[0]) if rows else 0))
    return tracks, truths, lambda t, u: rows[t][u]


def test_one_to_one_takes_the_cheapest_total_not_each_track_its_nearest() -> None:
    tracks, truths, cost = _table([[1.0, 2.0], [1.5, 10.0]])
    assert assign(tracks, truths, cost) == {0: 1, 1: 0}  # 3.5 beats 1 + 10
    assert assign(tracks, truths, cost, one_to_one=False) == {0: 0, 1: 0}


def test_pairs_beyond_the_gate_are_never_made() -> None:
    tracks, truths, cost = _table([[INFEASIBLE, 5.0], [INFEASIBLE, 1.0], [math.nan, 7.0]])
    assert assign(tracks, truths, cost) == {1: 1}
    assert assign(tracks, truths, cost, gate=5.0, one_to_one=False) == {1: 1}
    assert assign(tracks, truths, cost, one_to_one=False) == {0: 1, 1: 1, 2: 1}


def test_the_most_pairs_within_the_gate_come_first() -> None:
    # Track 0's cheap pair would leave track 1 with nothing: two dearer pairs win.
    tracks, truths, cost = _table([[1.0, 100.0], [50.0, INFEASIBLE]])
    assert assign(tracks, truths, cost) == {0: 1, 1: 0}


def test_ties_go_to_the_first_truth_and_nothing_matches_nothing() -> None:
    tracks, truths, cost = _table([[3.0, 3.0]])
    assert assign(tracks, truths, cost, one_to_one=False) == {0: 0}
    assert assign([], [1, 2], lambda t, u: 0.0) == {}
    assert assign([1, 2], [], lambda t, u: 0.0) == {}
    assert cost_matrix([], [1, 2], lambda t, u: 0.0).shape == (0, 2)


@pytest.mark.parametrize("seed", range(20))
def test_gated_assignment_is_the_plain_one_with_a_big_cost_beyond_the_gate(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0.0, 1000.0, size=(rng.integers(1, 7), rng.integers(1, 7)))
    rows[rng.random(rows.shape) < 0.4] = INFEASIBLE
    tracks, truths, cost = _table(rows.tolist())
    big = np.where(np.isfinite(rows), rows, 1e9)
    r, c = linear_sum_assignment(big)
    expected = {int(i): int(j) for i, j in zip(r, c, strict=True) if big[i, j] < 1e9}
    assert assign(tracks, truths, cost) == expected
