"""Assignment revision: two system tracks exchange the members one nation has on them,
or a nation's second member on a track moves to its missile's.

A national track joins its system track early, on a few scans: an infrared track
seconds after burnout, among closely spaced objects (a battery firing from
launchers a few hundred metres apart), fits several tracks about equally well and
the assignment takes one. Once the tracks settle the choice can be plainly wrong
and still pass the gate, so the break test (which detaches only a member far
outside its track) never revisits it: two system tracks each carry the other's
missile's data from one nation, a merge on both.

The exchange test is the global-nearest-neighbour assignment re-solved as time
tells the tracks apart, one pair of tracks at a time (a 2-opt move on the
assignment): a member ``a`` of nation N on track A that misfits it (beyond the
chi-square 99% point) and the member ``b`` of N on a nearby track B are compared
with what the *other* members of each track say (the leave-one-out references of
the break test). When ``a`` on B and ``b`` on A both gate and the exchanged pairing
is ``GateConfig.ambiguity_ratio`` times likelier than the present one (the margin
by which association tells closely spaced objects apart), the two change places.
The same margin keeps an exchange from being undone by noise.

A *move* is the same test with no member of N on B: ``a`` goes to B alone when it
joined A after another member of N (a nation does not keep two live tracks on one
missile, so one of them is on the wrong track, and the later join is the suspect: the
earlier member misfits too once the later one pulls the picture) and B is
``ambiguity_ratio`` times likelier for it. That is how a salvo's tracks come apart
after a feed was read behind the others: the US track of the missile 4 s behind
joined the one ahead, beside its US track, before Korea's report of its own missile
founded a track. Any member moves the same way once its velocity has settled
(``GateConfig.settle_s`` after its first observation): a radar's tracks of two
closely spaced missiles swap objects when the two merge in its resolution cell and
come apart, and the swapped track, well known in velocity, fits its new missile's
track far better than its own (the break test, sticky by design, detached it tens of
seconds later); it may have joined before its nation's right track did. An unsettled
member moves only as the later of two: an infrared track wandering among a ripple's
plumes in boost would be chased from track to track, carrying each plume's detections
onto another's (tried: on the 2024-05-29 salvo three runs gained a merge, against two
extras gone on the ICBM ripple).

A move *beside* its nation's member on B (that member fits B and not A, so no
exchange) is a settled member's last resort: it joins B as its nation's second track
of that missile (fused by covariance intersection like any member) when it fails its
own track's association gate, is within the strict position gate of its nation's
member on B (one object, as for a late candidate in ``bridge.assigner``), and B is
``ambiguity_ratio`` times likelier for it than any other track it gates with. A
battery's swapped Japanese track otherwise stayed on its old missile's track until the
break test, pulling that track's impact prediction (close-launchers: fused impact RMS
0.149 km against the US's 0.084 km before, 0.079 after).

The gain is joint: in a cycle of three wrong members one exchange puts one right
and may leave the other about where it was (the next exchange or break test
takes it on). Tried and not kept: requiring each member to gain on its own. It
spared a good member taken along by a national track that had wandered onto a
neighbour's plume, but also blocked the first step of such cycles, and the
battery's GOSPA was worse.

The test starts as soon as a member has its first report and is repeated at most
every ``GateConfig.break_check_s`` of its track's news (on every batch, its cost per
warning grew with the report rate: half the engine's time at 20 reports/s per track,
and the battery's records stayed the same but for one GOSPA in the third decimal,
close-launchers seed 1). The wrong choice is made then, and it must be undone before
the break test, seeing the newcomer's settled estimate far from the member that was
right, detaches *that* member (with two members the break test cannot tell which one
is wrong). Like the break test, it compares positions only while either member is
within ``GateConfig.settle_s`` of its first observation (its velocity is not settled
yet); across a boost the propagator's boost noise widens every distance, which only
makes an exchange less likely. Only between tracks whose membership did not change
in this batch, and never a track's founder: a track stays with the missile its first
alert named (exchanging founders would hand both track numbers over to the other
missile mid-flight), and the members that joined it later are the ones put right.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import chdtri

from bridge.association import Gate
from bridge.estimate import Estimate
from bridge.fusion import CovarianceIntersection
from bridge.reach import Rows, in_reach
from bridge.tracks import NationalTrack, SystemTrack, TrackKey, key_text
from trilink.constants import US
from trilink.model import TrackStatus

log = logging.getLogger(__name__)

# A member that fits its track at this chi-square level is not tested for an exchange.
_SUSPECT = 0.99


@dataclass(frozen=True, slots=True)
class Exchange:
    """Exchanges of same-nation members between nearby system tracks (module docstring)."""

    gate: Gate
    fuse: CovarianceIntersection
    _suspect: dict[int, float] = field(init=False)  # dof -> d² that starts a test

    def __post_init__(self) -> None:
        half = self.gate.ambiguity / 2.0
        suspect = {k: max(float(chdtri(k, 1.0 - _SUSPECT)), half) for k in (3, 6)}
        object.__setattr__(self, "_suspect", suspect)

    def run(
        self,
        touched_tracks: Sequence[SystemTrack],
        tracks: Iterable[SystemTrack],
        touched: set[str],
    ) -> int:
        """Test the due members of ``touched_tracks``; carry out the exchanges.

        ``tracks`` are all system tracks (read only when a member is due). Returns
        how many exchanges were made; both tracks of each are added to ``touched``.
        """
        settle = round(self.gate.config.settle_s * US)
        every = round(self.gate.config.break_check_s * US)
        # Due when the track has news since the member was last tested, whoever
        # brought it (another member's report can be what shows this one is on the
        # wrong track, and the break test acts on it in the same batch), at most
        # every ``break_check_s`` of news: its first test is at once.
        news = {t.track_id: _news(t) for t in touched_tracks if _eligible(t)}
        due = [
            (t, m)
            for t in touched_tracks
            if t.track_id in news and not t.membership_changed
            for m in t.active()
            if m.status is not TrackStatus.IMPACTED
            and not t.founded_by(m)
            and _due(news[t.track_id], m.swap_checked_us, every)
        ]
        if not due:
            return 0
        screen = _Screen(self, tracks)
        made = 0
        for track, a in due:
            # An exchange earlier in this batch may have changed the track's members.
            a.swap_checked_us = _news(track) if track.membership_changed else news[track.track_id]
            if track.membership_changed or a.system_track_id != track.track_id:
                continue  # exchanged earlier in this batch
            move = self._move(screen, track, a, settle)
            if move is not None:
                gain, other, b = move
                _exchange(track, a, other, b, gain)
                touched.update((track.track_id, other.track_id))
                made += 1
        return made

    def _move(
        self, screen: _Screen, track: SystemTrack, a: NationalTrack, settle: int
    ) -> tuple[float, SystemTrack, NationalTrack | None] | None:
        """Where ``a`` goes (the gain, the track, the member it changes places with),
        or None: an exchange or move if one gains the margin, else a move beside."""
        ref_a = screen.reference(track, a)
        # The member that starts the test misfits its own track: beyond the
        # chi-square 99% point, and by at least half the margin (an exchange must
        # gain the margin, so one of the two misses its track by half of it).
        dof_a = 6 if _settled(a, settle) else 3
        misfit = {dof_a: self.gate.distance(a.estimate, ref_a, dof_a)}
        if misfit[dof_a] <= self._suspect[dof_a]:
            return None
        pool, rows = screen.targets()
        mates = [m for m in track.active() if m.nation is a.nation]
        doubled = len(mates) > 1 and mates[0] is not a  # the later of its nation's
        movable = doubled or _settled(a, settle)
        best: tuple[float, SystemTrack, NationalTrack | None] | None = None
        # A settled member's best track among those its nation already holds with a
        # member the exchange cannot take (it fits only its own track).
        beside: tuple[float, SystemTrack] | None = None
        gains: list[float] = []  # of every track it gates with, for the beside move
        for k in np.flatnonzero(in_reach(rows, a.estimate)).tolist():
            other = pool[k]
            if other is track or other.membership_changed or track.realm != other.realm:
                continue
            kin = [m for m in other.active() if m.nation is a.nation]
            b = _partner(other, kin)
            if kin and (b is None or not _eligible(other)):
                continue  # a swap needs a member of the nation and a second opinion
            if not kin and not movable:
                continue  # a lone member moves only once settled (module docstring)
            ref_b = screen.reference(other, b) if b is not None else _picture(other)
            dof = 6 if _settled(a, settle) and (b is None or _settled(b, settle)) else 3
            a_on_b = self.gate.distance(a.estimate, ref_b, dof)
            limit = self.gate.threshold if dof == 6 else self.gate.threshold3
            if a_on_b > limit:
                continue
            if dof not in misfit:
                misfit[dof] = self.gate.distance(a.estimate, ref_a, dof)
            gain = misfit[dof] - a_on_b
            gains.append(gain)
            if b is not None:
                b_on_a = self.gate.distance(b.estimate, ref_a, dof)
                if b_on_a > limit:
                    top = max(self.gate.ambiguity, beside[0] if beside else 0.0)
                    if dof == 6 and gain > top and self._one_object(a, kin):
                        beside = (gain, other)
                    continue
                gain += self.gate.distance(b.estimate, ref_b, dof) - b_on_a
            if gain > self.gate.ambiguity and (best is None or gain > best[0]):
                best = (gain, other, b)
        if best is not None:
            return best
        if (
            beside is not None
            and misfit[6] > self.gate.threshold
            and _runner_up(gains) <= beside[0] - self.gate.ambiguity
        ):
            # Its nation's track there is one object, and this member another track
            # of it: it joins as a duplicate, fused like any member.
            return beside[0], beside[1], None
        return None

    def _one_object(self, a: NationalTrack, kin: list[NationalTrack]) -> bool:
        """``a`` is within the strict position gate of one of its nation's ``kin``."""
        return any(
            self.gate.distance(a.estimate, m.estimate, 3) <= self.gate.threshold3 for m in kin
        )

    def _reference(self, track: SystemTrack, m: NationalTrack) -> Estimate:
        """What the track's other active members say, fused."""
        others = [o.estimate for o in track.active() if o is not m]
        return self.fuse.at_newest(others, self.gate.propagator)


class _Screen:
    """What one run of the test shares across members: the tracks a member may go to
    (with their pictures, built when a member first passes the screen) and the
    leave-one-out references already computed."""

    def __init__(self, exchange: Exchange, tracks: Iterable[SystemTrack]) -> None:
        self._exchange = exchange
        self._tracks = tracks
        self._pool: list[SystemTrack] = []
        self._rows: Rows | None = None
        self._refs: dict[tuple[str, TrackKey], Estimate] = {}

    def targets(self) -> tuple[list[SystemTrack], Rows]:
        if self._rows is None:
            self._pool = [t for t in self._tracks if _target(t)]
            pictures = [t.picture.estimate for t in self._pool if t.picture is not None]
            self._rows = Rows.of(pictures)
        return self._pool, self._rows

    def reference(self, t: SystemTrack, m: NationalTrack) -> Estimate:
        key = (t.track_id, m.key)
        if key not in self._refs:
            self._refs[key] = self._exchange._reference(t, m)
        return self._refs[key]


def _runner_up(gains: list[float]) -> float:
    """The second largest of ``gains`` (minus infinity with fewer than two)."""
    return sorted(gains)[-2] if len(gains) > 1 else -math.inf


def _eligible(t: SystemTrack) -> bool:
    """Open, fused, with two or more members."""
    return t.closed is None and t.picture is not None and len(t.active()) >= 2


def _target(t: SystemTrack) -> bool:
    """Open and fused: a track a member may move to (one member is enough)."""
    return t.closed is None and t.picture is not None and bool(t.active())


def _picture(t: SystemTrack) -> Estimate:
    assert t.picture is not None
    return t.picture.estimate


def _settled(m: NationalTrack, settle_us: int) -> bool:
    """Its velocity has settled: compared on the full state."""
    return m.observed_us - m.first_observed_us >= settle_us


def _due(news: int, checked: int, every: int) -> bool:
    """News since the last test (at ``checked``, 0 before the first), ``every`` µs of it."""
    return news > checked and news >= checked + every


def _news(t: SystemTrack) -> int:
    """When the track's newest report was published."""
    return max(m.reported_us for m in t.active())


def _partner(track: SystemTrack, kin: list[NationalTrack]) -> NationalTrack | None:
    """Of ``kin`` (the active members of one nation on ``track``), the one member if it
    is alone, still in flight and not the track's founder; else None."""
    if len(kin) != 1 or kin[0].status is TrackStatus.IMPACTED or track.founded_by(kin[0]):
        return None
    return kin[0]


def _exchange(
    a_track: SystemTrack,
    a: NationalTrack,
    b_track: SystemTrack,
    b: NationalTrack | None,
    gain: float,
) -> None:
    """``a`` moves to ``b_track``; ``b`` (if any) to ``a_track``."""
    if b is None:
        log.info(
            "%s moves from %s to %s (%.1f likelier in d²)",
            key_text(a.key),
            a_track.track_id,
            b_track.track_id,
            gain,
        )
    else:
        log.info(
            "%s and %s exchange %s and %s (the exchange %.1f likelier in d²)",
            a_track.track_id,
            b_track.track_id,
            key_text(a.key),
            key_text(b.key),
            gain,
        )
        b_track.remove(b.key)
        a_track.add(b)
        a_track.notes.append(f"{key_text(b.key)} re-associated from {b_track.track_id} (exchange)")
        b_track.notes.append(f"{key_text(b.key)} re-associated to {a_track.track_id} (exchange)")
    a_track.remove(a.key)
    b_track.add(a)
    b_track.notes.append(f"{key_text(a.key)} re-associated from {a_track.track_id} (exchange)")
    a_track.notes.append(f"{key_text(a.key)} re-associated to {b_track.track_id} (exchange)")
