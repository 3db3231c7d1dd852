"""Joint association of a batch's new national tracks: GNN rounds, new tracks for the rest.

Pure: candidates (new or detached national tracks) and slots (open system tracks)
in, a plan out — which candidate joins which slot, and which candidates found a
new system track, in the order the engine must carry them out. A slot created
from a candidate is gated like any other in later rounds, so a missile first
reported by two nations in the same batch becomes one system track.

Each round solves a global-nearest-neighbour assignment (``association.assign``)
over the candidates that gate with some slot; when none does, the earliest
remaining candidate founds a slot and the others are compared with it. A cheap
straight-line pre-filter spares the ballistic propagation for pairs hundreds of
kilometres apart, which is most pairs in a large salvo.

A candidate allowed to wait (``may_hold``) that would found a slot although it
gates with an existing open slot barred to it only by its own nation's member is
*held* instead: the engine retries it on its next report (see ``bridge.engine``).
Closed slots take only candidates whose national track began before the close.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bridge.association import Gate, assign
from bridge.estimate import Estimate
from trilink.constants import US
from trilink.model import Nation

_MARGIN_M = 5_000.0
_ACCEL_COAST = 15.0  # m/s²: gravity and drag the straight line ignores
_ACCEL_BOOST = 80.0  # m/s²: plus thrust


@dataclass(frozen=True, slots=True)
class Candidate:
    """A national track looking for its system track."""

    estimate: Estimate
    nation: Nation
    realm: Hashable  # only slots of the same realm (data mode, scenario) are eligible
    order: tuple[int, str, str]  # who founds a slot first: (time, nation, track id)
    exclude: str = ""  # a system track it may not join (the one it just broke from)
    begun_us: int = 0  # observed time its national track began
    may_hold: bool = False  # may wait instead of founding when only its nation blocks it
    late: bool = False  # first seen above the birth ceiling, or detached: a known missile


@dataclass(slots=True)
class Slot:
    """A system track as association sees it."""

    track_id: str  # "" for a slot founded in this plan
    estimate: Estimate | None
    nations: set[Nation]
    realm: Hashable
    # Event time it closed (None: open). Only a national track that began before then
    # may join it: data that arrived late, from a feed read behind the others.
    closed_us: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """Candidate ``candidate`` joins slot ``slot``; ``founds``: it creates that slot;
    ``held``: it founds nothing yet, as it gates with ``slot`` but that slot already
    has an active track of its nation; ``duplicate``: a late candidate joins a slot
    its nation is already on."""

    candidate: int
    slot: int
    founds: bool = False
    held: bool = False
    duplicate: bool = False  # joins although its nation is on the slot (late candidates)


@dataclass(slots=True)
class _Rows:
    """The pending candidates as arrays for the vectorised pre-filter."""

    t: np.ndarray
    pos: np.ndarray
    var: np.ndarray
    boosting: np.ndarray
    alive: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.alive = np.ones(len(self.t), dtype=bool)


def _rows(cands: Sequence[Candidate]) -> _Rows:
    est = [c.estimate for c in cands]
    return _Rows(
        np.array([e.time_us / US for e in est]),
        np.array([e.x[:3] for e in est]).reshape(-1, 3),
        np.array([float(np.trace(e.p[:3, :3])) for e in est]),
        np.array([e.boosting for e in est], dtype=bool),
    )


def _near(rows: _Rows, e: Estimate) -> np.ndarray:
    """Mask of the rows a straight-line extrapolation of ``e`` does not rule out."""
    dt = rows.t - e.time_us / US
    pred = e.x[:3] + np.outer(dt, e.x[3:6])
    miss = np.linalg.norm(rows.pos - pred, axis=1)
    sigma2 = rows.var + float(np.trace(e.p[:3, :3])) + float(np.trace(e.p[3:, 3:])) * dt * dt
    accel = np.where(rows.boosting | e.boosting, _ACCEL_BOOST, _ACCEL_COAST)
    tolerance = 8.0 * np.sqrt(sigma2) + 0.5 * accel * dt * dt + _MARGIN_M
    return rows.alive & (miss <= tolerance)


def plan(cands: Sequence[Candidate], slots: Sequence[Slot], gate: Gate) -> list[Step]:
    """Who joins what, and who founds what, in execution order."""
    slots = list(slots)
    rows = _rows(cands) if cands else None
    gated: dict[tuple[int, int], float] = {}  # (candidate, slot) -> d² within the gate
    blocked: dict[int, int] = {}  # candidate -> an open slot it gates with but its nation holds
    wide: dict[tuple[int, int], float] = {}  # late candidates: (candidate, slot) -> d², wide gate
    steps: list[Step] = []

    def eligible(i: int, j: int) -> bool:
        c, s = cands[i], slots[j]
        return (
            c.realm == s.realm
            and (not c.exclude or s.track_id != c.exclude)
            and (s.closed_us is None or c.begun_us < s.closed_us)
        )

    def allowed(i: int, j: int) -> bool:
        return eligible(i, j) and cands[i].nation not in slots[j].nations

    def score_slot(j: int) -> None:
        est = slots[j].estimate
        if est is None or rows is None:
            return
        for k in np.flatnonzero(_near(rows, est)).tolist():
            free = allowed(k, j)
            holdable = (
                not free
                and cands[k].may_hold
                and k not in blocked
                and slots[j].closed_us is None
                and slots[j].track_id != ""
                and eligible(k, j)
            )
            late = cands[k].late and eligible(k, j)
            if free or holdable or late:
                d2 = gate.distance(cands[k].estimate, est)
                if free and gate.admits(d2):
                    gated[(k, j)] = d2
                elif holdable and gate.admits(d2):
                    blocked[k] = j
                if late and gate.admits_late(d2):
                    wide[(k, j)] = d2

    def nearest_wide(i: int) -> tuple[int, bool] | None:
        # A slot without the candidate's nation first; else one with it (a duplicate).
        options = [(cands[i].nation in slots[j].nations, d2, j) for (k, j), d2 in wide.items()]
        options = [o for o, (k, _) in zip(options, wide, strict=True) if k == i]
        if not options:
            return None
        dup, _, j = min(options)
        return j, dup

    for j in range(len(slots)):
        score_slot(j)
    while rows is not None and rows.alive.any():
        if gated:
            ri = sorted({i for i, _ in gated})
            cj = sorted({j for _, j in gated})
            cost = np.full((len(ri), len(cj)), math.inf)
            for (i, j), d2 in gated.items():
                cost[ri.index(i), cj.index(j)] = d2
            pairs = assign(cost, gate.threshold)
            if not pairs:  # only on an exact tie with the gate: take the nearest pair
                flat = int(np.argmin(cost))
                pairs = [(flat // cost.shape[1], flat % cost.shape[1])]
            for r, col in pairs:
                i, j = ri[r], cj[col]
                steps.append(Step(i, j))
                rows.alive[i] = False
                slots[j].nations.add(cands[i].nation)
            gated = {(i, j): d2 for (i, j), d2 in gated.items() if rows.alive[i] and allowed(i, j)}
            continue
        founder = min(np.flatnonzero(rows.alive).tolist(), key=lambda k: cands[k].order)
        c = cands[founder]
        rows.alive[founder] = False
        near = nearest_wide(founder) if c.late else None
        if near is not None:
            j, dup = near
            steps.append(Step(founder, j, duplicate=dup))
            slots[j].nations.add(c.nation)
            continue
        if founder in blocked:  # ambiguous: its nation may be re-initiating a track there
            steps.append(Step(founder, blocked[founder], held=True))
            continue
        slots.append(Slot("", c.estimate, {c.nation}, c.realm))
        steps.append(Step(founder, len(slots) - 1, founds=True))
        score_slot(len(slots) - 1)
    return steps
