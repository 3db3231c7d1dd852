"""How well each nation's own tracker keeps one track per missile, by detection origin.

The bridge can only be as good as the national tracks it fuses: a nation that
starts two tracks on one missile, or lets one track wander onto a neighbour, hands
the bridge a join/found decision it may get wrong. From the origin counts of the
simulation (``producers.origins``), per nation:

* ``tracks``: confirmed national tracks;
* ``missiles``: missiles that are the majority origin of at least one of them;
* ``surplus``: tracks beyond one per such missile (re-initiations, splits), plus
  tracks whose majority is no missile;
* ``swaps``: tracks holding at least :data:`~evaluation.origin.MERGE_SHARE` of their
  detections from a second missile (a track that wandered between two).

``trilink battery`` sums these over every run (its "national trackers" table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from evaluation.origin import MERGE_SHARE
from producers.origins import OriginCounts, majority


@dataclass(frozen=True, slots=True)
class NationalFigures:
    """One nation's tracks against the missiles behind them (summable over runs)."""

    tracks: int = 0
    missiles: int = 0
    surplus: int = 0
    swaps: int = 0

    def __add__(self, other: NationalFigures) -> NationalFigures:
        return NationalFigures(
            self.tracks + other.tracks,
            self.missiles + other.missiles,
            self.surplus + other.surplus,
            self.swaps + other.swaps,
        )


def _swapped(counts: Counter[str | None], missiles: Collection[str]) -> bool:
    ranked = [(m, n) for m, n in counts.most_common() if m in missiles]
    total = sum(counts.values())
    return len(ranked) > 1 and total > 0 and ranked[1][1] >= MERGE_SHARE * total


def national_figures(
    origins: OriginCounts, missiles: Collection[str]
) -> dict[str, NationalFigures]:
    """Nation code -> its :class:`NationalFigures` in one run."""
    heads: dict[str, Counter[str]] = {}
    junk: Counter[str] = Counter()
    swaps: Counter[str] = Counter()
    for (nation, _track), counts in origins.items():
        code = nation.value
        heads.setdefault(code, Counter())
        missile = majority(counts)
        if missile is None or missile not in missiles:
            junk[code] += 1
            continue
        heads[code][missile] += 1
        swaps[code] += _swapped(counts, missiles)
    return {
        code: NationalFigures(
            tracks=sum(per.values()) + junk[code],
            missiles=len(per),
            surplus=sum(per.values()) - len(per) + junk[code],
            swaps=swaps[code],
        )
        for code, per in heads.items()
    }


def total(figures: Iterable[Mapping[str, NationalFigures]]) -> dict[str, NationalFigures]:
    """Per nation, the sum over runs."""
    out: dict[str, NationalFigures] = {}
    for run in figures:
        for code, f in run.items():
            out[code] = out.get(code, NationalFigures()) + f
    return out
