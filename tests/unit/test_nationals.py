"""The national-tracker figures of the battery: counted from detection origins."""

from __future__ import annotations

from collections import Counter

from evaluation.nationals import NationalFigures, national_figures, total
from producers.origins import OriginCounts
from trilink.model import Nation

MISSILES = {"M1", "M2", "M3"}


def _origins() -> OriginCounts:
    return {
        # Korea: one clean track per missile on M1 and M2, and M1 begun again.
        (Nation.KOR, "KOR-1"): Counter({"M1": 40}),
        (Nation.KOR, "KOR-2"): Counter({"M2": 35, "M1": 2}),  # 5%: not a swap
        (Nation.KOR, "KOR-3"): Counter({"M1": 6}),
        # Japan: one track that wandered from M2 onto M3, and one on clutter only.
        (Nation.JPN, "JPN-1"): Counter({"M2": 10, "M3": 8}),
        (Nation.JPN, "JPN-2"): Counter({None: 4}),
    }


def test_each_nation_counts_its_tracks_missiles_surplus_and_swaps() -> None:
    figures = national_figures(_origins(), MISSILES)
    assert figures["KOR"] == NationalFigures(tracks=3, missiles=2, surplus=1, swaps=0)
    # The clutter track is surplus (it is no missile), the wandering one a swap.
    assert figures["JPN"] == NationalFigures(tracks=2, missiles=1, surplus=1, swaps=1)
    assert "USA" not in figures


def test_a_second_missile_at_the_merge_share_is_a_swap_and_below_it_is_not() -> None:
    at = {(Nation.USA, "U"): Counter({"M1": 80, "M2": 20})}
    below = {(Nation.USA, "U"): Counter({"M1": 81, "M2": 19})}
    assert national_figures(at, MISSILES)["USA"].swaps == 1
    assert national_figures(below, MISSILES)["USA"].swaps == 0


def test_totals_add_up_per_nation_over_runs() -> None:
    run = national_figures(_origins(), MISSILES)
    summed = total([run, run])
    assert summed["KOR"] == NationalFigures(tracks=6, missiles=4, surplus=2, swaps=0)
    assert summed["JPN"].swaps == 2
