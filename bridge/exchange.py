"""Assignment revision: two system tracks exchange the members one nation has on them.

A national track joins its system track early, on a few scans: an infrared track
seconds after burnout, among closely spaced objects (a battery firing from
launchers a few hundred metres apart), fits several tracks about equally well and
the assignment takes one. Once the tracks settle the choice can be plainly wrong
and still pass the gate, so the break test (which detaches only a member far
outside its track) never revisits it: two system tracks each carry the other's
missile's data from one nation, a merge on both.

The exchange test is the global-nearest-neighbour assignment re-solved as time
tells the tracks apart, one pair of tracks at a time (a 2-opt move on the
assignment): a settled member ``a`` of nation N on track A and the member ``b`` of
N on a nearby track B are compared, on the full state, with what the *other*
members of each track say (the leave-one-out references of the break test). When
``a`` on B and ``b`` on A both gate and the exchanged pairing is
``GateConfig.ambiguity_ratio`` times likelier than the present one (the margin
by which association tells closely spaced objects apart), the two change places.
The gain is joint: in a cycle of three wrong members one exchange puts one right
and may leave the other about where it was (the next exchange or break test
takes it on). Tried and not kept: requiring each member to gain on its own. It
spared a good member taken along by a national track that had wandered onto a
neighbour's plume, but also blocked the first step of such cycles, and the
battery's GOSPA was worse.
The same margin keeps an exchange from being undone by noise.

The test starts as soon as a member has its first report: the wrong choice is
made then, and it must be undone before the break test, seeing the newcomer's
settled estimate far from the member that was right, detaches *that* member (with
two members the break test cannot tell which one is wrong). Like the break test,
it compares positions only while either member is within ``GateConfig.settle_s``
of its first observation (its velocity is not settled yet); across a boost the
propagator's boost noise widens every distance, which only makes an exchange less
likely. Only between tracks whose membership did not change in this batch, and
never a track's founder: a track stays with the missile its first alert named
(exchanging founders would hand both track numbers over to the other missile
mid-flight), and the members that joined it later are the ones put right.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import chdtri

from bridge.association import Gate
from bridge.estimate import Estimate
from bridge.fusion import CovarianceIntersection
from bridge.tracks import NationalTrack, SystemTrack, TrackKey, key_text
from trilink.constants import US
from trilink.model import TrackStatus

log = logging.getLogger(__name__)

# Straight-line pre-filter (as in ``bridge.assigner``): a track farther from a member
# than this many standard deviations of both positions, plus what gravity, drag or
# thrust do over the time between them, plus a margin, cannot gate with it.
_SIGMAS = 8.0
# A member that fits its track at this chi-square level is not tested for an exchange.
_SUSPECT = 0.99
_MARGIN_M = 2_000.0
_ACCEL_COAST = 15.0  # m/s²
_ACCEL_BOOST = 80.0  # m/s²


@dataclass(frozen=True, slots=True)
class _Near:
    """The open tracks' pictures as arrays, for the straight-line pre-filter."""

    t: np.ndarray
    pos: np.ndarray
    var: np.ndarray
    boosting: np.ndarray

    @classmethod
    def of(cls, pool: Sequence[SystemTrack]) -> _Near:
        pics = [t.picture for t in pool]
        return cls(
            np.array([p.time_us / US for p in pics if p is not None]),
            np.array([p.x[:3] for p in pics if p is not None]).reshape(-1, 3),
            np.array([float(np.trace(p.p[:3, :3])) for p in pics if p is not None]),
            np.array([p.boosting for p in pics if p is not None], dtype=bool),
        )

    def around(self, m: NationalTrack) -> list[int]:
        """Indices of the tracks a straight line from ``m`` does not rule out."""
        dt = self.t - m.observed_us / US
        miss = np.linalg.norm(self.pos - m.x[:3] - dt[:, None] * m.x[3:6], axis=1)
        sigma2 = self.var + float(np.trace(m.p[:3, :3])) + float(np.trace(m.p[3:, 3:])) * dt * dt
        accel = np.where(self.boosting | m.boosting, _ACCEL_BOOST, _ACCEL_COAST)
        reach = _SIGMAS * np.sqrt(sigma2) + 0.5 * accel * dt * dt + _MARGIN_M
        return np.flatnonzero(miss <= reach).tolist()


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
        # Due whenever the track has news since the member was last tested, whoever
        # brought it: another member's report can be what shows this one is on the
        # wrong track, and the break test acts on it in the same batch.
        due = [
            (t, m)
            for t in touched_tracks
            if _eligible(t) and not t.membership_changed
            for m in t.active()
            if m.status is not TrackStatus.IMPACTED
            and not t.founded_by(m)
            and _news(t) > m.swap_checked_us
        ]
        if not due:
            return 0
        pool: list[SystemTrack] = []
        near: _Near | None = None  # built when a member first passes the screen
        refs: dict[tuple[str, TrackKey], Estimate] = {}

        def reference(t: SystemTrack, m: NationalTrack) -> Estimate:
            key = (t.track_id, m.key)
            if key not in refs:
                refs[key] = self._reference(t, m)
            return refs[key]

        made = 0
        for track, a in due:
            a.swap_checked_us = _news(track)
            if track.membership_changed or a.system_track_id != track.track_id:
                continue  # exchanged earlier in this batch
            ref_a = reference(track, a)
            # The member that starts the test misfits its own track: beyond the
            # chi-square 99% point, and by at least half the margin (an exchange must
            # gain the margin, so one of the two misses its track by half of it).
            dof_a = 6 if _settled(a, settle) else 3
            if self.gate.distance(a.estimate, ref_a, dof_a) <= self._suspect[dof_a]:
                continue
            if near is None:
                pool = [t for t in tracks if _eligible(t)]
                near = _Near.of(pool)
            best: tuple[float, SystemTrack, NationalTrack] | None = None
            for k in near.around(a):
                other = pool[k]
                if other is track or other.membership_changed or not _same_realm(track, other):
                    continue
                b = _member_of(other, a)
                if b is None:
                    continue
                ref_b = reference(other, b)
                dof = 6 if _settled(a, settle) and _settled(b, settle) else 3
                a_on_b = self.gate.distance(a.estimate, ref_b, dof)
                limit = self.gate.threshold if dof == 6 else self.gate.threshold3
                if a_on_b > limit:
                    continue
                b_on_a = self.gate.distance(b.estimate, ref_a, dof)
                if b_on_a > limit:
                    continue
                present = self.gate.distance(a.estimate, ref_a, dof)
                present += self.gate.distance(b.estimate, ref_b, dof)
                gain = present - a_on_b - b_on_a
                if gain > self.gate.ambiguity and (best is None or gain > best[0]):
                    best = (gain, other, b)
            if best is not None:
                gain, other, b = best
                _exchange(track, a, other, b, gain)
                touched.update((track.track_id, other.track_id))
                made += 1
        return made

    def _reference(self, track: SystemTrack, m: NationalTrack) -> Estimate:
        """What the track's other active members say, fused."""
        others = [o for o in track.active() if o is not m]
        if len(others) == 1:
            return others[0].estimate
        t = max(o.observed_us for o in others)
        return self.fuse([self.gate.propagator.to(o.estimate, t) for o in others])


def _eligible(t: SystemTrack) -> bool:
    """Open, fused, with two or more members."""
    return t.closed is None and t.picture is not None and len(t.active()) >= 2


def _settled(m: NationalTrack, settle_us: int) -> bool:
    """Its velocity has settled: compared on the full state."""
    return m.observed_us - m.first_observed_us >= settle_us


def _news(t: SystemTrack) -> int:
    """When the track's newest report was published."""
    return max(m.reported_us for m in t.active())


def _same_realm(a: SystemTrack, b: SystemTrack) -> bool:
    return (a.data_mode, a.scenario_id) == (b.data_mode, b.scenario_id)


def _member_of(track: SystemTrack, like: NationalTrack) -> NationalTrack | None:
    """The one active member of ``like``'s nation on ``track``, still in flight and not
    its founder; else None."""
    same = [m for m in track.active() if m.nation is like.nation]
    if len(same) != 1 or same[0].status is TrackStatus.IMPACTED or track.founded_by(same[0]):
        return None
    return same[0]


def _exchange(
    a_track: SystemTrack, a: NationalTrack, b_track: SystemTrack, b: NationalTrack, gain: float
) -> None:
    log.info(
        "%s and %s exchange %s and %s (the exchange %.1f likelier in d²)",
        a_track.track_id,
        b_track.track_id,
        key_text(a.key),
        key_text(b.key),
        gain,
    )
    a_track.remove(a.key)
    b_track.remove(b.key)
    a_track.add(b)
    b_track.add(a)
    a_track.notes.append(f"{key_text(b.key)} re-associated from {b_track.track_id} (exchange)")
    b_track.notes.append(f"{key_text(a.key)} re-associated from {a_track.track_id} (exchange)")
