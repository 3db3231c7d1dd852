"""Step 3 of the engine's walk: who belongs to which system track.

First *exchanges* (``bridge.exchange``): two nearby tracks swap the members one
nation put on the wrong one of two closely spaced missiles. Then *breaks*: per
touched track, the member that drifted furthest past the
break threshold is detached and looks for a track again, like a new national
track. Then the newcomers: one that a published alert placed (a *hint*, after a
restart) goes back where it was; the rest are gated against the open tracks and
assigned jointly (``assigner.plan`` over ``association.Gate``), founding system
tracks for what gates with none. The plan is carried out on the track table.

Closed tracks are targets too, but only for national tracks that began before the
close: a feed read behind the others (a partition lagging) delivers reports of a
missile whose track the others' newer reports have already closed; founding a
second track for it would duplicate the missile. Such a newcomer joins late and
the closed track stays closed (the lifecycle states its close again). A detached
member is not such a newcomer: its reports are current, and near its end a radar
or infrared track drifting through re-entry joined a neighbour that had just
landed (a battery's next missile), carrying its last reports onto that track
(held-out raids in the atmosphere: ``scenarios/heldout/README.md``). For the same
reason a held detached member may rejoin the track it left: barred from it for
good, its only way back into the picture was a neighbour's track.

A newcomer (not a detached member) that would found a track although it gates
with an open one barred to it only by its nation's live member is held instead,
for at most ``GateConfig.hold_s`` of its own observed time, and retried on each of
its later reports: if that member has meanwhile fallen silent (its nation
re-initiated its track) it joins, else it founds its own track once the hold is
over. Holds live in memory only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from bridge.assigner import plan
from bridge.association import Gate
from bridge.candidates import Candidate, Slot, Step, thrusting_then
from bridge.estimate import Estimate, falling
from bridge.exchange import Exchange
from bridge.fusion import CovarianceIntersection
from bridge.reach import Rows, reached
from bridge.returns import Returns
from bridge.table import Changes, Newcomer, TrackTable
from bridge.tracks import NationalTrack, SilentBefore, SystemTrack, key_text
from bridge.validate import altitude_m
from trilink.constants import US
from trilink.model import Nation, TrackStatus

log = logging.getLogger(__name__)
# Straight-line pre-filter of the fold test: farther than this (plus gravity over the
# time between the estimates), no national track's covariance makes two tracks one.
_FOLD_REACH_M = 30_000.0
# How far one member may pull a track's picture from what its other members say: a
# pre-filter's slack, generous (members that far apart break), so that it only spares work.
_PICTURE_SLACK_M = 50_000.0


@dataclass(frozen=True, slots=True)
class Associator:
    """Breaks and joint association over ``gate``, carried out on ``table``."""

    gate: Gate
    table: TrackTable
    # Leave-one-out references for the break test: the fast weights are plenty there.
    fuse: CovarianceIntersection = field(default_factory=lambda: CovarianceIntersection("fast"))
    exchange: Exchange = field(init=False)
    returns: Returns = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exchange", Exchange(self.gate, self.fuse))
        object.__setattr__(self, "returns", Returns(self.gate, self.table))

    def associate(self, changes: Changes) -> None:
        """Detach drifted members, then place every newcomer; fills ``changes.late``."""
        changes.newcomers.extend(self.returns.run(changes.returned))
        touched = [self.table.tracks[t] for t in sorted(changes.touched)]
        self.exchange.run(touched, self.table.tracks.values(), changes.touched)
        changes.newcomers.extend(self._breaks(changes.touched))
        pending = self._attach_hinted(changes.newcomers, changes.touched)
        pending.extend(self._contests(pending, changes.touched))
        if pending:
            changes.late |= self._assign(pending, changes.touched)

    def _breaks(self, touched: set[str]) -> list[Newcomer]:
        """Detach, per touched track, the member that drifted furthest past the break gate."""
        detached = []
        every = round(self.gate.config.break_check_s * US)
        settle = round(self.gate.config.settle_s * US)
        span = round(self.gate.config.boost_span_s * US)
        older: list[SystemTrack] | None = None  # open tracks, built once a lone member is due
        for track_id in sorted(touched):
            track = self.table.tracks[track_id]
            active = track.active()
            if track.picture is None or track.membership_changed:
                continue
            if len(track.members) == 1 and active and track.founded_by(active[0]):
                m = active[0]
                if self._fold_due(m, every, settle):
                    if older is None:
                        older = [t for t in self.table.tracks.values() if t.closed is None]
                    folded = self._fold(track, m, older)
                    if folded is not None:
                        detached.append(folded)
                continue
            if len(active) < 2:
                continue
            worst, worst_excess = None, 1.0
            for m in active:
                if m.status is TrackStatus.IMPACTED or m.observed_us < m.checked_us + every:
                    continue  # checked recently enough; drift takes more than a report
                m.checked_us = m.observed_us
                reference = self._without(track, active, m)
                if thrusting_then(track.history, reference, m.observed_us, span):
                    continue  # moved back across a boost it does not model: no verdict
                if m.observed_us - m.first_observed_us < settle:
                    # Its velocity is not settled yet (it joined on positions): so too here.
                    d2 = self.gate.distance(m.estimate, reference, dof=3)
                    excess = d2 / self.gate.break_threshold3
                else:
                    excess = self.gate.distance(m.estimate, reference) / self.gate.break_threshold
                if excess > worst_excess:
                    worst, worst_excess = m, excess
            if worst is None:
                continue
            log.info(
                "%s breaks from %s (%.1fx the break distance)",
                key_text(worst.key),
                track_id,
                worst_excess,
            )
            track.remove(worst.key)
            detached.append(Newcomer(worst, worst.observed_us, previous=track_id))
        return detached

    def _contests(self, pending: list[Newcomer], touched: set[str]) -> list[Newcomer]:
        """Detach the members that new national tracks of their nation displace.

        A nation whose track took a neighbour's detections (an infrared track on a
        ripple, handed from one plume to the next) starts a new track on the missile
        it left, while the old one still sits on that missile's system track: the
        newcomer is barred from it by its own nation and would found a second track.
        The system track's other nations settle which of the two is the missile's:
        when the newcomer is inside the strict gate of what they say and
        ``GateConfig.ambiguity_ratio`` times likelier there than the incumbent
        (Gaussian likelihoods, ``Gate.cost``: a vague incumbent that has wandered
        still gates, but it is not likely), the incumbent is detached (placed by the
        assigner like a member that broke away) and the newcomer is free to join. An
        incumbent within ``GateConfig.settle_s`` of its first observation needs no
        margin, only to be the less likely of the two: an infrared track seconds old
        that wandered off its plume in boost still fits loosely, and the newcomer
        would otherwise found a second track for the missile; the displaced one waits
        until it has settled (``_hold_unsettled``). On the battery this cleared the
        surplus tracks of four 2024-05-29 runs and changed no other.
        Open tracks with one live member of the newcomer's nation and at least one of
        another nation only, and no verdict where comparing them moves a state across
        more of a boost than the ballistic model covers (``_across_boost``).
        """
        fresh = [n for n in pending if not n.previous]
        if not fresh:
            return []
        board = _Board.of(self.table.tracks.values(), self.table.silent_before(), self._reference)
        detached: list[Newcomer] = []
        for n in fresh:
            best = self._displaced(n.member, board)
            if best is None:
                continue
            track, old = best
            log.info(
                "%s leaves %s: %s fits it and it does not",
                key_text(old.key),
                track.track_id,
                key_text(n.member.key),
            )
            track.remove(old.key)
            board.forget(track)
            touched.add(track.track_id)
            detached.append(Newcomer(old, old.observed_us, previous=track.track_id))
        return detached

    def _displaced(
        self, new: NationalTrack, board: _Board
    ) -> tuple[SystemTrack, NationalTrack] | None:
        """The track whose member of ``new``'s nation ``new`` displaces (``_contests``),
        with that member; None if it displaces none."""
        settle = round(self.gate.config.settle_s * US)
        best: tuple[float, str, SystemTrack, NationalTrack] | None = None
        for track in board.near(new.estimate):
            if track.realm != new.realm:
                continue
            live = board.live(track)
            mine = [m for m in live if m.nation is new.nation]
            if len(mine) != 1 or len(mine) == len(live) or mine[0].status is TrackStatus.IMPACTED:
                continue
            reference = board.reference(track, new.nation)
            if self._across_boost(track, reference, (new.estimate, mine[0].estimate)):
                continue
            dt = (new.estimate.time_us - reference.time_us) / US
            miss = float(
                np.linalg.norm(new.estimate.x[:3] - reference.x[:3] - dt * reference.x[3:6])
            )
            if miss > _FOLD_REACH_M + 20.0 * dt * dt:
                continue
            d_new = self.gate.distance(new.estimate, reference)
            if not self.gate.admits(d_new):
                continue
            gain = self.gate.cost(mine[0].estimate, reference) - self.gate.cost(
                new.estimate, reference
            )
            unsettled = mine[0].observed_us - mine[0].first_observed_us < settle
            if gain < (0.0 if unsettled else self.gate.ambiguity):
                continue
            if best is None or (d_new, track.track_id) < best[:2]:
                best = (d_new, track.track_id, track, mine[0])
        return None if best is None else (best[2], best[3])

    def _across_boost(
        self, track: SystemTrack, reference: Estimate, contenders: tuple[Estimate, Estimate]
    ) -> bool:
        """Whether comparing ``contenders`` (the newcomer, then the incumbent) with
        ``reference`` moves a state across more of a boost than the ballistic model
        covers (``GateConfig.boost_span_s``), or across enough of one to blur the two
        (``_blurred``): then no verdict. A feed read late brings one nation's tracks
        seconds older than the others': the others' word moved back without the thrust
        it has flown since sits behind their missile, and a report still judged
        coasting moved forward falls behind its own - on a ripple, onto the next
        missile's path."""
        span = round(self.gate.config.boost_span_s * US)
        may_thrust = self.gate.propagator.may_thrust
        for e in contenders:
            if abs(reference.time_us - e.time_us) > span and (
                may_thrust(reference) or may_thrust(e)
            ):
                return True
        then = min(e.time_us for e in contenders)
        if thrusting_then(track.history, reference, then, span) is not None:
            return True
        return self._blurred(reference, *contenders)

    def _blurred(self, reference: Estimate, new: Estimate, old: Estimate) -> bool:
        """Whether ``reference``, moved to the newcomer's time across a thrust, may miss
        by half the contenders' separation or more: a thrust of ``peak_thrust_mps2``
        over the move's t seconds displaces it t²/2 times that along the path, where
        the newcomer of a neighbouring missile can fit it better than the incumbent of
        its own. A Korean feed read 10 s late on a ripple 4 s apart: the others' word
        moved back 8 s, out of its boost, sat 2 km from both missiles and a newcomer
        of the next missile displaced Korea's track of this one (docs/score.md,
        "Stop 54"). The separation is read by moving the older contender to the
        newer's time; where that move may blur it as much (an incumbent silent for
        seconds in boost: its nation began its track again), the two are not known
        to be apart and the contest decides as before."""
        peak = self.gate.config.peak_thrust_mps2
        may_thrust = self.gate.propagator.may_thrust
        if peak <= 0.0 or not (may_thrust(reference) or may_thrust(new)):
            return False
        early, late = sorted((new, old), key=lambda e: e.time_us)
        apart = float(
            np.linalg.norm(self.gate.propagator.to(early, late.time_us).x[:3] - late.x[:3])
        )
        if may_thrust(early) and peak * ((late.time_us - early.time_us) / US) ** 2 >= apart:
            return False
        dt = abs(reference.time_us - new.time_us) / US
        return peak * dt * dt >= apart

    def _reference(self, members: list[NationalTrack]) -> Estimate:
        """The fused estimate of ``members`` at the newest of their times."""
        return self.fuse.at_newest([m.estimate for m in members], self.gate.propagator)

    def _fold_due(self, m: NationalTrack, every: int, settle: int) -> bool:
        """A lone member is tested for a duplicate track at the break test's pace, once
        settled and in free flight (ballistic comparisons are exact there)."""
        return (
            m.status is not TrackStatus.IMPACTED
            and not m.boosting
            and m.observed_us >= m.checked_us + every
            and m.observed_us - m.first_observed_us >= settle
        )

    def _fold(
        self, track: SystemTrack, m: NationalTrack, open_tracks: list[SystemTrack]
    ) -> Newcomer | None:
        """Detach ``m``, the only member of ``track``, if ``track`` duplicates an older one.

        Two system tracks can follow one missile: a newcomer that founded its own while
        a wrong member of its nation sat on the right one (an infrared track that took
        a neighbour's plume and has since broken away), or a nation that reported first
        on a track it could not tell from its neighbours. Nothing else brings them
        together: a member stays where it joined until it breaks away, and a lone member
        cannot break from itself. So a settled member in free flight that founded its
        track and is its only member (a tentative track no other nation stayed on) is
        compared,
        like a break, with the open tracks near it: when the nearest gates (the strict
        gate, full state), is older, in free flight and without a live member of its
        nation, and no second track (whoever holds it) is about as near (the ambiguity
        margin), it is detached and placed by the assigner like any detached
        member; the emptied track closes as merged into the one it joined
        (``TrackTable.join``). Only towards older tracks, so duplicates fold into the
        track whose alerts came first and two lone tracks never swap.
        """
        m.checked_us = m.observed_us
        silent_before = self.table.silent_before()
        x = m.estimate.x
        options: list[tuple[float, bool, str]] = []  # d², a track it may join, track id
        for other in open_tracks:
            if other is track or other.realm != track.realm:
                continue
            est = other.gate_estimate(silent_before)
            if est is None or not other.active():
                continue
            dt = (m.estimate.time_us - est.time_us) / US
            miss = float(np.linalg.norm(x[:3] - est.x[:3] - dt * est.x[3:6]))
            if miss > _FOLD_REACH_M + 20.0 * dt * dt:  # gravity over dt, generously
                continue
            d2 = self.gate.distance(m.estimate, est)
            if not self.gate.admits(d2):
                continue
            joinable = (
                not est.boosting
                and (other.created_us, other.track_id) < (track.created_us, track.track_id)
                and m.nation not in other.nations(silent_before)
            )
            options.append((d2, joinable, other.track_id))
        options.sort()
        # Closely spaced objects: a second track about as near, whoever holds it, and the
        # member cannot tell which is its missile's.
        if not options or not options[0][1]:
            return None
        if len(options) > 1 and options[1][0] - options[0][0] < self.gate.ambiguity:
            return None
        log.info("%s leaves %s: it duplicates %s", key_text(m.key), track.track_id, options[0][2])
        track.remove(m.key)
        return Newcomer(m, m.observed_us, previous=track.track_id)

    def _without(
        self, track: SystemTrack, active: list[NationalTrack], m: NationalTrack
    ) -> Estimate:
        """What the track's other members say, to test ``m`` against.

        Against the fused picture, an over-confident member that drifted (a national
        track that lost its missile but not its small covariance) pulls the picture
        to itself, and the members that are right break away instead; left out of the
        comparison it stands out. With two members there is no third opinion: the
        picture (weighted to the more precise) is the reference, as before.
        """
        assert track.picture is not None
        others = [o for o in active if o is not m]
        if len(others) < 2:
            return track.picture.estimate
        return self._reference(others)

    def _attach_hinted(self, newcomers: list[Newcomer], touched: set[str]) -> list[Newcomer]:
        """Put hinted newcomers back on their published tracks; the others remain."""
        pending = []
        for n in newcomers:
            hinted = self.table.take_hint(n.member.key)
            if hinted is not None and not n.previous:
                self.table.attach_hinted(n, hinted, touched)
            else:
                pending.append(n)
        return pending

    def _assign(self, pending: list[Newcomer], touched: set[str]) -> set[str]:
        """Plan and carry out; the closed tracks joined late."""
        pending = self._hold_unsettled(pending, touched)
        silent_before = self.table.silent_before()
        candidates = self._candidates(pending)
        reachable = self._within_reach(candidates, silent_before)
        targets = [t for t, _ in reachable]
        slots = [self._slot(t, est, silent_before) for t, est in reachable]
        late: set[str] = set()
        for step in plan(candidates, slots, self.gate):
            n = pending[step.candidate]
            if step.held:
                if step.ambiguous:
                    log.info(
                        "%s held: as near %s as another track",
                        key_text(n.member.key),
                        targets[step.slot].track_id if step.slot < len(targets) else "a new track",
                    )
                    self.table.hold(n.member, n.previous, known=True)
                    if n.previous:
                        self.table.note_left(n, touched)
                    continue
                if step.slot < 0:
                    why = "no newer observation" if n.stale else "a known missile"
                    if n.previous:
                        why = f"detached from {n.previous}"
                    log.info("%s held: %s, near no track", key_text(n.member.key), why)
                    self.table.hold(n.member, n.previous, known=n.known)
                    if n.previous:
                        self.table.note_left(n, touched)
                    continue
                log.info(
                    "%s held: its nation is %s on %s",
                    key_text(n.member.key),
                    "silent since it began" if step.reinitiated else "live",
                    targets[step.slot].track_id,
                )
                self.table.hold(n.member, reinitiated=step.reinitiated)
            elif step.founds:
                targets.append(self.table.found(n, touched))
            elif _closed_slot(step, slots):
                self.table.join_late(n, targets[step.slot], touched)
                late.add(targets[step.slot].track_id)
            else:
                if step.duplicate:
                    log.info(
                        "%s joins %s beside its nation's other track there",
                        key_text(n.member.key),
                        targets[step.slot].track_id,
                    )
                self.table.join(n, targets[step.slot], touched)
        return late

    def _hold_unsettled(self, pending: list[Newcomer], touched: set[str]) -> list[Newcomer]:
        """Hold the detached members whose velocity has not settled; return the rest.

        A national track that left its system track within ``GateConfig.settle_s`` of
        its first observation was wrong about its missile within seconds of starting:
        an infrared track among a battery's plumes, handed from one to the next. Placed
        again at once it joins whichever track its unsettled estimate is nearest and
        leaves that one too, and every track it passes through carries a second
        missile's data. It joins nothing until it has settled (its missile is alerted
        already: holding it delays no first alert), then it is placed like any
        detached member. So too a member or held newcomer that reported again after a
        silence (``NationalTrack.resumed_us``, see ``bridge.returns``): settled counts from
        its return.
        """
        settle = round(self.gate.config.settle_s * US)
        rest = []
        for n in pending:
            m = n.member
            since = m.observed_us - max(m.first_observed_us, m.resumed_us)
            if (n.previous or m.resumed_us) and since < settle:
                why = f"detached from {n.previous}" if n.previous else "back from a silence"
                log.info("%s held: %s while unsettled", key_text(m.key), why)
                self.table.hold(m, n.previous, known=n.known)
                self.table.note_left(n, touched)
            else:
                rest.append(n)
        return rest

    def _within_reach(
        self, candidates: list[Candidate], silent_before: SilentBefore
    ) -> list[tuple[SystemTrack, Estimate]]:
        """The tracks some candidate may reach (``reach.reached``), in table order, with
        the estimate each is compared by: at a thousand tracks, building every slot for a
        few newcomers cost a quarter of the engine's time, and a slot no candidate
        reaches (or without an estimate) takes no part in a plan."""
        if not candidates:
            return []
        found = [(t, self._slot_estimate(t, silent_before)) for t in self.table.tracks.values()]
        held = [(t, e) for t, e in found if e is not None]
        if not held:
            return []
        mask = reached(Rows.of([c.estimate for c in candidates]), Rows.of([e for _, e in held]))
        return [pair for pair, hit in zip(held, mask.tolist(), strict=True) if hit]

    def _slot_estimate(self, t: SystemTrack, silent_before: SilentBefore) -> Estimate | None:
        """What a newcomer is compared with: an open (or revivable) track's live members,
        a closed one's last picture (None: nothing)."""
        if t.closed is None or self.table.revivable(t):
            return t.gate_estimate(silent_before)
        return t.gate_estimate()

    def _slot(self, t: SystemTrack, est: Estimate, silent_before: SilentBefore) -> Slot:
        """A system track as a target, compared by ``est`` (``_slot_estimate``): open (or
        revivable) ones by their live members, closed ones by every member and the time
        they closed."""
        realm = t.realm
        if t.closed is None or self.table.revivable(t):
            live = t.live(silent_before)
            nations = {m.nation for m in live}
            return Slot(t.track_id, est, nations, realm, history=t.history, kin=_kin(live))
        members = list(t.members.values())
        nations = {m.nation for m in members}
        return Slot(t.track_id, est, nations, realm, t.closed_us, kin=_kin(members))

    def _begun_in_flight(self, n: Newcomer) -> bool:
        """Its national track began in flight: above the birth ceiling, or falling
        (judged on its first report: a held newcomer retried later is no longer judged
        so)."""
        if n.member.observed_us != n.member.first_observed_us:
            return False
        x = n.member.estimate.x
        if altitude_m(float(x[0]), float(x[1]), float(x[2])) > self.gate.config.birth_ceiling_m:
            return True
        return falling(n.member.estimate, self.gate.config.falling_sigmas)

    def _candidates(self, pending: list[Newcomer]) -> list[Candidate]:
        hold = round(self.gate.config.hold_s * US)
        settle = round(self.gate.config.settle_s * US)
        return [
            Candidate(
                n.member.estimate,
                n.member.nation,
                n.member.realm,
                (n.created_us, n.member.nation.value, n.member.track_id),
                n.previous,
                n.member.first_observed_us,
                hold > 0
                and not n.previous
                and n.member.observed_us - n.member.first_observed_us <= hold,
                bool(n.previous) or n.known or self._begun_in_flight(n),
                n.member.observed_us - n.member.first_observed_us < settle,
                n.known,
                n.retried,
                n.reinitiated,
                n.stale,
            )
            for n in pending
        ]


@dataclass
class _Board:
    """What one round of contests reads of the open tracks, computed once and
    forgotten for a track that loses a member: its live members, and what its other
    nations say for a newcomer of a nation (a salvo's first seconds bring dozens of
    newcomers against dozens of tracks)."""

    silent_before: SilentBefore
    fuse: Callable[[list[NationalTrack]], Estimate]
    tracks: list[SystemTrack]
    rows: Rows  # the tracks' pictures, for ``near``
    _live: dict[str, list[NationalTrack]] = field(default_factory=dict)
    _references: dict[tuple[str, Nation], Estimate] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        tracks: Iterable[SystemTrack],
        silent_before: SilentBefore,
        fuse: Callable[[list[NationalTrack]], Estimate],
    ) -> _Board:
        """The open tracks with a picture."""
        held = [t for t in tracks if t.closed is None and t.picture is not None]
        rows = Rows.of([t.picture.estimate for t in held if t.picture is not None])
        return cls(silent_before, fuse, held, rows)

    def near(self, e: Estimate) -> list[SystemTrack]:
        """The tracks whose picture, moved in a straight line to ``e``'s time, is within
        the contest's reach of ``e`` plus ``_PICTURE_SLACK_M`` (what one member may
        pull a picture from what the others say): the others' fused estimate, dear
        at a thousand tracks, is built only for these."""
        if not self.tracks:
            return []
        dt = e.time_us / US - self.rows.t
        pred = self.rows.pos + dt[:, None] * self.rows.vel
        miss = np.linalg.norm(e.x[:3] - pred, axis=1)
        keep = miss <= _FOLD_REACH_M + _PICTURE_SLACK_M + 20.0 * dt * dt
        return [self.tracks[k] for k in np.flatnonzero(keep).tolist()]

    def live(self, track: SystemTrack) -> list[NationalTrack]:
        found = self._live.get(track.track_id)
        if found is None:
            found = self._live[track.track_id] = track.live(self.silent_before)
        return found

    def reference(self, track: SystemTrack, nation: Nation) -> Estimate:
        key = (track.track_id, nation)
        found = self._references.get(key)
        if found is None:
            others = [m for m in self.live(track) if m.nation is not nation]
            found = self._references[key] = self.fuse(others)
        return found

    def forget(self, track: SystemTrack) -> None:
        self._live.pop(track.track_id, None)
        for nation in Nation:
            self._references.pop((track.track_id, nation), None)


def _kin(members: list[NationalTrack]) -> dict[Nation, list[Estimate]]:
    kin: dict[Nation, list[Estimate]] = {}
    for m in members:
        kin.setdefault(m.nation, []).append(m.estimate)
    return kin


def _closed_slot(step: Step, slots: list[Slot]) -> bool:
    """The step joins a slot that stood for a closed track when the plan was made."""
    return step.slot < len(slots) and slots[step.slot].closed_us is not None
