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
Closed slots take only candidates whose national track began before the close,
and never a detached one (its reports are current: the late-data exception is for a
feed read behind the others). A detached candidate may not rejoin the slot it broke
from in the batch of the break; held and retried, it may (its own missile's track,
once its estimate fits it again), unless its nation is on that slot again. A
late candidate joins a slot its own nation is on only if it is within the strict
position gate of that nation's member there (the nation's tracker split one missile);
a nation keeping two tracks apart sees two objects. But a young late candidate in the
late position gate of a slot whose member of its nation has not reported since the
candidate began is held (``Step.reinitiated``): that nation's track of the missile
lost in a manoeuvre and begun again more likely than a second object, whose own track
would go on reporting. It may wait so again on its retries, so it joins once the lost
member falls silent; if that member reports again (a second object after all) or once
it has settled, it is an ordinary newcomer, as it would have been on a retry. A
detached candidate joins beside its nation's member unless that member fits the slot's
other nations' members better (then the candidate is the one off its missile, and is
held).

A *late* candidate (first seen above the birth ceiling, or detached by a break: a
missile the picture already holds) that gates (or position-gates) with two or more slots
of which the best is not ``GateConfig.ambiguity_ratio`` times likelier than the next
is *ambiguous* and held too: closely spaced objects its estimate cannot tell apart
(see ``GateConfig``). It neither joins nor founds; its next report retries it. So is
one whose best track it may join is not that much likelier than a track its own
nation is on: the track left free to it is a choice by elimination, and its nation's
member there may be the one on the wrong object (Japan's tracks of a battery trade
objects; close-launchers joined a Japanese track to the one track Japan was not on,
beside its missile's). So is
a *young* candidate (within ``GateConfig.settle_s`` of its first observation) whose
gated slots are all tracks the picture already held, open, and about equally near
(by its whole state, or by position alone: a young track's velocity is not settled,
and in a ripple it may come of the missile ahead's detections):
an infrared track's first reports on a battery fired from launchers a few hundred
metres apart carry kilometres of error and fit every track of the battery. Those
missiles are in the picture already, so waiting delays no first alert; joining one
at random would put one missile's data on another's track. Such a young one is also held
when a track its own nation is on fits it about as well as the best it may join, as a
late one is: a US infrared track begun among a ripple's plumes fits its nation's tracks
of the missiles ahead as well as the one left free (ripple-kn25-sondok-10x3s in
vacuum). A candidate held so once
is *known* on its retries and waits again while still ambiguous, however old its
track by then: a nation that falls silent for half a minute (Japan's radar hand-over)
comes back with neither a late first report nor a young track. A known candidate is a
late one in every other respect too (a missile the picture holds): when its nation has
meanwhile put members on the tracks it hesitated between, it joins beside the one that
is the same object rather than found a second track for a missile (close-launchers:
a Japanese track held 40 s among a battery's tracks founded a seventh). Like a detached
candidate it founds nothing while it is still in the late position gate of an open
track (whatever nations are on it): gating with no track it may join, it is held again,
still known. Clear of every open track it founds: a missile only its nation sees (Japan
alone, the other feeds out, held a KN-25 for its whole flight otherwise).

A young candidate's whole state is trusted only where its position agrees: it is held
when its position names another track than its whole state does by the full margin, or
when its whole state is outside every track's gate while its position is inside one
(older tracks only past the break threshold). A radar's first scans of a ripple 3 s
apart hop from one missile to the next, and the velocity drawn from both fits a
neighbour's track (kwail-kaesong-kn23-kn25 in vacuum). A known candidate waits, as a
young one does, while its position fits two tracks about alike, however decisive its
whole state: a track that went back to boost after such a hop reports a vague state.

Distances favour a vague estimate, so an open track whose members have all fallen silent
(flown on from its last report, kilometres wide) is weighed by likelihood: where it is
``ambiguity_ratio`` times less likely for a candidate than the candidate's likeliest
option, by the measure the candidate is gated with, it is no option at all
(``_Planner.prune_unlikely``). Between tracks with live members the distances stand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bridge.association import Gate, assign
from bridge.candidates import Candidate, Slot, Step
from bridge.estimate import Estimate
from bridge.reach import Rows, in_reach
from trilink.constants import US


def _wide_distance(gate: Gate, c: Candidate, est: Estimate) -> float | None:
    """d² of a candidate to a slot in the gate it is tried in before it may found, or None.

    A new national track has not settled its velocity (a few scans, often of several
    close objects): positions decide whether it is one the picture holds - in the
    strict gate, or for one begun in flight (no launch there) in the wide one. A track
    detached by a break left its system track because it no longer follows that
    missile and may follow none (a sensor that cannot resolve a close group hands its
    track from one object to the next): it is tried on its whole state, strictly.
    """
    if c.detached:
        d2 = gate.distance(c.estimate, est)
        return d2 if gate.admits(d2) else None
    d2 = gate.distance(c.estimate, est, dof=3)
    return d2 if d2 <= (gate.late_threshold3 if c.late else gate.threshold3) else None


def _kin_of(gate: Gate, c: Candidate, slot: Slot) -> bool:
    """A new candidate whose nation is on ``slot`` may be that nation's second track of the
    slot's missile (a tracker that split or re-initiated it) only if it is within the
    strict position gate of its nation's member there: a nation that keeps two live
    tracks apart is more likely seeing two objects (a missile 4 s behind another on
    one trajectory is 6 km away, inside the wide gate of a coarse infrared track)
    than duplicating one, whatever order the feeds were read in."""
    kin = slot.kin.get(c.nation, ())
    if not kin:
        return True
    if c.detached:
        # Detached by a break: its nation's member may be the one on the wrong track,
        # and a detached member kept out waits unseen (the exchange sorts it out there).
        # Which of the two is the slot's missile, the other nations' members say: it
        # joins beside its nation's member unless that one fits them better (a track
        # that lost its missile in re-entry wanders among the battery's tracks).
        others = [e for n, es in slot.kin.items() if n is not c.nation for e in es]
        if not others:
            return True
        mine = min(gate.cost(c.estimate, o) for o in others)
        return mine <= min(gate.cost(k, o) for k in kin for o in others)
    return any(gate.distance(c.estimate, k, dof=3) <= gate.threshold3 for k in kin)


def _unrefreshed(c: Candidate, slot: Slot) -> bool:
    """Whether every member of ``c``'s nation on ``slot`` last reported on what it saw
    before ``c``'s national track began (none reported since: a track that was lost)."""
    kin = slot.kin.get(c.nation, ())
    return bool(kin) and all(k.time_us < c.begun_us for k in kin)


@dataclass
class _Planner:
    """One plan's working state; :func:`plan` is its entry point. Each candidate's
    options are scored once per slot (:meth:`score_slot`, again for a slot founded in
    the plan), then rounds of joint assignment alternate with one founding at a time."""

    cands: Sequence[Candidate]
    slots: list[Slot]
    gate: Gate
    rows: Rows | None = field(init=False)
    span_us: int = field(init=False)
    # (candidate, slot) -> d² within the gate.
    gated: dict[tuple[int, int], float] = field(default_factory=dict)
    # Candidate -> an open slot it gates with but its nation holds.
    blocked: dict[int, int] = field(default_factory=dict)
    # (candidate, slot) -> position d², before founding.
    wide: dict[tuple[int, int], float] = field(default_factory=dict)
    # Young late candidate -> open slots in its late position gate that its own nation is
    # on, where it is not that nation's second track on the slot's missile (not kin).
    crowd: dict[int, list[int]] = field(default_factory=dict)
    # Known candidates in the late position gate of some open track, whoever is on it.
    among: set[int] = field(default_factory=set)
    # Late, known or young candidate -> its least d² to an open track its own nation is
    # on, by its whole state; late or known ones by position too (``own3``).
    own: dict[int, float] = field(default_factory=dict)
    own3: dict[int, float] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    # (candidate, slot, dof) -> -2 ln likelihood of the pair, once computed.
    costs: dict[tuple[int, int, int], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = Rows.of([c.estimate for c in self.cands]) if self.cands else None
        self.span_us = round(self.gate.config.boost_span_s * US)

    def run(self) -> list[Step]:
        for j in range(len(self.slots)):
            self.score_slot(j)
        rows = self.rows
        while rows is not None and rows.alive.any():
            self.prune_unlikely(rows)
            self.defer_ambiguous(rows)
            if not rows.alive.any():
                break
            if self.gated:
                self.assign_round(rows)
            else:
                self.found_next(rows)
        return self.steps

    # -- who may go where ------------------------------------------------------------
    def eligible(self, i: int, j: int) -> bool:
        c, s = self.cands[i], self.slots[j]
        return (
            c.realm == s.realm
            and (
                not c.exclude or s.track_id != c.exclude or (c.rejoin and c.nation not in s.nations)
            )
            and (s.closed_us is None or (c.begun_us < s.closed_us and not c.detached))
        )

    def allowed(self, i: int, j: int) -> bool:
        return self.eligible(i, j) and self.cands[i].nation not in self.slots[j].nations

    def silent(self, j: int) -> bool:
        # An open track the picture held, whose members have all fallen silent.
        return self.known(j) and not self.slots[j].nations

    def known(self, j: int) -> bool:
        # A track the picture held before this plan, still open.
        return self.slots[j].track_id != "" and self.slots[j].closed_us is None

    # -- scoring ---------------------------------------------------------------------
    def score_slot(self, j: int) -> None:
        est = self.slots[j].estimate
        if est is None or self.rows is None:
            return
        for k in np.flatnonzero(in_reach(self.rows, est)).tolist():
            at = self.slots[j].estimate_at(self.cands[k].estimate.time_us, self.span_us)
            assert at is not None
            self.score_pair(k, j, at)

    def score_pair(self, k: int, j: int, at: Estimate) -> None:
        gate, c, slot = self.gate, self.cands[k], self.slots[j]
        free = self.allowed(k, j)
        holdable = (
            not free
            and c.may_hold
            and k not in self.blocked
            and slot.closed_us is None
            and slot.track_id != ""
            and self.eligible(k, j)
        )
        if free or holdable:
            d2 = gate.distance(c.estimate, at)
            if free and gate.admits(d2):
                self.gated[(k, j)] = d2
            elif holdable and gate.admits(d2):
                self.blocked[k] = j
        # A young one too: begun in a ripple's boost, where its nation's tracks of the
        # missiles ahead are, the track left free to it may be only the one left.
        if not free and (c.late or c.known or c.young) and self.eligible(k, j) and self.known(j):
            self.score_own(k, at)
        kin = c.late and self.eligible(k, j) and _kin_of(gate, c, slot)
        if kin or free:
            wide_d2 = _wide_distance(gate, c, at)
            if wide_d2 is not None:
                self.wide[(k, j)] = wide_d2
        elif (
            (c.late or c.reinitiated)
            and c.young
            and not c.detached
            and self.eligible(k, j)
            and self.known(j)
            and _unrefreshed(c, slot)
            and gate.distance(c.estimate, at, dof=3) <= gate.late_threshold3
        ):
            self.crowd.setdefault(k, []).append(j)
        if (
            c.known
            and not c.detached
            and k not in self.among
            and self.eligible(k, j)
            and self.known(j)
            and ((k, j) in self.wide or _wide_distance(gate, c, at) is not None)
        ):
            self.among.add(k)

    def score_own(self, k: int, at: Estimate) -> None:
        # Candidate ``k`` against a track the picture holds that its own nation is on.
        gate, c = self.gate, self.cands[k]
        d2 = gate.distance(c.estimate, at)
        if gate.admits(d2):
            self.own[k] = min(self.own.get(k, math.inf), d2)
        # Position rivals hold only late ones, before they may found; a detached
        # one is weighed on its whole state only.
        if (c.late or c.known) and not c.detached:
            d3 = gate.distance(c.estimate, at, dof=3)
            if d3 <= gate.late_threshold3:
                self.own3[k] = min(self.own3.get(k, math.inf), d3)

    # -- holding ---------------------------------------------------------------------
    def prune_unlikely(self, rows: Rows) -> None:
        # An open track whose members have all fallen silent, ``GateConfig.
        # ambiguity_ratio`` times less likely for a candidate than its likeliest option,
        # is no option for it, by the measure it is gated with: its whole state
        # (``gated``), or its position before it may found (``wide``; a detached one's
        # whole state). Flown on from a short track's last report, such a track is
        # vague, and distances alone favour a vague estimate: it sits within a small d²
        # of every candidate near it, and held them as ambiguous against their own
        # missile's track for two minutes (yonghung-three-launchers in vacuum). The
        # likelihood counts what the vagueness costs (d² + ln|S|). Between tracks with
        # live members the distances stand: a track that fits one of them a little
        # better by likelihood may still be the other's (a US infrared track of a
        # KN-25 ripple, hist-2024-05-29 in vacuum, is held so until it settles).
        if self.gate.ambiguity <= 0.0:  # the ambiguity test is off (ratio 1)
            return
        for table in (self.gated, self.wide):
            options: dict[int, list[int]] = {}
            for i, j in table:
                if rows.alive[i]:
                    options.setdefault(i, []).append(j)
            for i, js in options.items():
                if len(js) < 2 or not any(self.silent(j) for j in js):
                    continue  # nothing to prune: spare the propagations
                dof = 6 if table is self.gated or self.cands[i].detached else 3
                cost = {j: self.cost(i, j, dof) for j in js}
                best = min(cost.values())
                for j, cj in cost.items():
                    if cj - best >= self.gate.ambiguity and self.silent(j):
                        del table[(i, j)]

    def cost(self, i: int, j: int, dof: int) -> float:
        key = (i, j, dof)
        if key not in self.costs:
            c = self.cands[i]
            at = self.slots[j].estimate_at(c.estimate.time_us, self.span_us)
            cost = math.inf if at is None else self.gate.likelihood_cost(c.estimate, at, dof)
            self.costs[key] = cost
        return self.costs[key]

    def defer_ambiguous(self, rows: Rows) -> None:
        # Candidates whose gated slots include a second about as likely as the best:
        # held (retried on their next report) rather than guessed.
        best: dict[int, list[tuple[float, int]]] = {}
        for (i, j), d2 in self.gated.items():
            best.setdefault(i, []).append((d2, j))
        for i in sorted(best):
            options = sorted(best[i])
            c = self.cands[i]
            if not (c.late or c.known or (c.young and all(self.known(j) for _, j in options))):
                continue  # it may be the first track on its missile: no delay
            if self.ambiguous(i, options):
                self.steps.append(Step(i, options[0][1], held=True, ambiguous=True))
                rows.alive[i] = False
                for _, j in options:
                    del self.gated[(i, j)]

    def ambiguous(self, i: int, options: list[tuple[float, int]]) -> bool:
        # ``options``: (d², slot) of the slots candidate ``i`` gates with, best first.
        c, margin = self.cands[i], self.gate.ambiguity
        if len(options) > 1 and options[1][0] - options[0][0] < margin:
            return True
        if self.own.get(i, math.inf) - options[0][0] < margin:
            # It fits a track its own nation is on about as well as the best it may
            # join: that nation's member there may be its object (a swap or a split
            # between closely spaced objects), and the free track only the one left.
            return True
        if not (c.young or (c.known and not c.detached)):
            return False
        # Its velocity not settled yet, positions alone may not tell; begun in
        # flight too (a radar's first reports on a group it cannot resolve: the
        # velocity fits one of the group's tracks by chance). Held before as
        # ambiguous (known), the same: a track that took a neighbour's
        # detections and went back to boost reports a vague state that fits one
        # track by its velocity while its position sits between two.
        near = sorted(d2 for (k, j), d2 in self.wide.items() if k == i and self.known(j))
        if len(near) > 1 and near[1] - near[0] < margin:
            return True
        # Or its position names another track than its whole state does, by
        # the full margin: a velocity drawn from two objects' detections (a
        # radar's first scans of a ripple 3 s apart hop from one to the next)
        # fits a neighbour's track better than its own missile's.
        chosen = self.wide.get((i, options[0][1]), math.inf)
        return bool(near) and chosen - near[0] >= margin

    def nearest_wide(self, i: int) -> tuple[int, bool, bool] | None:
        # A slot without the candidate's nation first; else one with it (a duplicate).
        # Also whether a second slot of the same kind is about as near (ambiguous).
        c = self.cands[i]
        options = [
            (c.nation in self.slots[j].nations, d2, j) for (k, j), d2 in self.wide.items() if k == i
        ]
        if not c.late:  # only a candidate begun in flight may join its own nation
            options = [o for o in options if not o[0]]
        if not options:
            return None
        options.sort()
        dup, d2, j = options[0]
        rivals = [o[1] for o in options[1:] if o[0] == dup]
        if not dup:
            # A track its nation is on about as near (see ``ambiguous``).
            rivals.append((self.own if c.detached else self.own3).get(i, math.inf))
            rivals.sort()
        return j, dup, bool(rivals) and rivals[0] - d2 < self.gate.ambiguity

    def astray(self, i: int, j: int) -> bool:
        # Its position fits the slot but its whole state is past the slot's break
        # threshold: a new track whose velocity is not that missile's (begun on the
        # detections of several closely spaced objects). A missile the picture holds
        # loses no alert by waiting for the track's own data to settle it.
        c, gate = self.cands[i], self.gate
        if c.detached:
            return False
        at = self.slots[j].estimate_at(c.estimate.time_us, self.span_us)
        if at is None:
            return False
        d2 = gate.distance(c.estimate, at)
        # A young one's covariance still holds its velocity loosely: a whole state
        # outside even the gate is a velocity drawn from other objects' detections.
        return not gate.admits(d2) if c.young else gate.breaks(d2)

    # -- the rounds ------------------------------------------------------------------
    def assign_round(self, rows: Rows) -> None:
        ri = sorted({i for i, _ in self.gated})
        cj = sorted({j for _, j in self.gated})
        cost = np.full((len(ri), len(cj)), math.inf)
        for (i, j), d2 in self.gated.items():
            cost[ri.index(i), cj.index(j)] = d2
        pairs = assign(cost, self.gate.threshold)
        if not pairs:  # only on an exact tie with the gate: take the nearest pair
            flat = int(np.argmin(cost))
            pairs = [(flat // cost.shape[1], flat % cost.shape[1])]
        for r, col in pairs:
            i, j = ri[r], cj[col]
            self.steps.append(Step(i, j))
            rows.alive[i] = False
            self.slots[j].nations.add(self.cands[i].nation)
        self.gated = {
            (i, j): d2 for (i, j), d2 in self.gated.items() if rows.alive[i] and self.allowed(i, j)
        }

    def found_next(self, rows: Rows) -> None:
        # Nothing gates: the earliest remaining candidate joins by position, waits, or
        # founds a slot, which the others are then compared with.
        founder = min(np.flatnonzero(rows.alive).tolist(), key=lambda k: self.cands[k].order)
        c = self.cands[founder]
        rows.alive[founder] = False
        near = self.nearest_wide(founder)
        if near is not None:
            j, dup, ambiguous = near
            if (ambiguous or self.astray(founder, j)) and (c.late or c.known):
                self.steps.append(Step(founder, j, held=True, ambiguous=True))
                return
            self.steps.append(Step(founder, j, duplicate=dup))
            self.slots[j].nations.add(c.nation)
            return
        held = self.withheld(founder)
        if held is not None:
            self.steps.append(held)
            return
        self.slots.append(Slot("", c.estimate, {c.nation}, c.realm))
        self.steps.append(Step(founder, len(self.slots) - 1, founds=True))
        self.score_slot(len(self.slots) - 1)

    def withheld(self, founder: int) -> Step | None:
        """The hold of a candidate near no slot it may join, or None: it founds."""
        c = self.cands[founder]
        if founder in self.crowd:
            # Begun in flight (a missile the picture holds), young, in the position gate
            # of a track whose member of its own nation has not reported since it began:
            # that nation's track of the missile re-initiated (lost in a manoeuvre and
            # begun again) more likely than a second object, whose track would go on
            # reporting. Founding would give the missile a second track; retried on its
            # next report, it joins once the old member falls silent and no longer bars
            # it, and founds if the old member reports again, or once clear or settled.
            return Step(founder, self.crowd[founder][0], held=True, reinitiated=True)
        if c.detached or c.stale or (c.known and founder in self.among):
            # Detached by a break and near no track: a national track that lost its
            # missile (diverged) founds nothing; it is retried on its next report. So
            # is a known one still in the position gate of a track the picture holds:
            # it was ambiguous among such tracks, so its missile is likely one of theirs
            # (close-launchers: a Japanese track held among a battery's tracks gated
            # with none on one report and founded a seventh track for six missiles).
            # Clear of them all, whatever nations are on them, it founds: a missile
            # only its nation sees (Japan alone, the other feeds out, held a KN-25 for
            # its whole flight as a known missile near no track; docs/score.md,
            # "Stop 52"). A stale one founds nothing either: held on this very state, it
            # would found only because the tracks it waited beside have closed since
            # (a US track's IMPACTED report 36 s after its one held report founded a
            # track born closed; "Stop 53").
            return Step(founder, -1, held=True)
        if founder in self.blocked:  # ambiguous: its nation may be re-initiating a track there
            return Step(founder, self.blocked[founder], held=True)
        return None


def plan(cands: Sequence[Candidate], slots: Sequence[Slot], gate: Gate) -> list[Step]:
    """Who joins what, and who founds what, in execution order."""
    return _Planner(cands, list(slots), gate).run()
