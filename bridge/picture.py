"""Step 4 of the engine's walk: from a system track's members to its picture (fused
state, impact, launch, class); ``Refresher`` rebuilds the pictures of the touched
tracks and queues their impact deadlines.

The expensive parts — covariance intersection (~0.3 ms) and a ground crossing
(~0.3 ms) — run only in a *full* refresh, which the policy allows sparingly
(``alerts.AlertPolicy.refresh_due``).
A track with a single active member needs neither: its picture is that member's
own state and the nation's own impact prediction, which costs nothing.

Launch point: the launch estimate of the earliest member that saw the boost
(a nation that watched the missile rise knows where it came from far better than
a ballistic back-propagation, which ignores thrust); failing that the most
precise national launch estimate; failing that a ballistic back-propagation of
the fused state to the ground, computed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bridge.alerts import AlertPolicy
from bridge.estimate import Estimate, Propagator
from bridge.fusion import CovarianceIntersection
from bridge.schedule import ImpactSchedule
from bridge.table import TrackTable
from bridge.tracks import NationalTrack, Picture, SilentBefore, SystemTrack, key_text
from tracking.impact import crossing
from tracking.propagate import upper_triangle
from trilink.model import Ellipse, GroundPoint, MissileClass, TrackStatus

BACK_PROPAGATED = "back-propagated (ballistic)"


def crossing_point(
    est: Estimate, *, backwards: bool = False, air: bool = False
) -> GroundPoint | None:
    """Where the ballistic trajectory of ``est`` meets the ground, with its 95% ellipse
    (``air``: through the nominal air)."""
    # The national trackers' fast search (Hermite root and a Newton polish instead of a
    # bisection): the same crossing as ``ground_crossing`` to metres, at a fraction of it.
    gc = crossing(est.x, est.p, backwards=backwards, air=air)
    if gc is None:
        return None
    return GroundPoint(
        gc.lat_deg,
        gc.lon_deg,
        est.time_us + round(gc.dt_s * 1e6),
        Ellipse(gc.semi_major_km, gc.semi_minor_km, gc.orientation_deg),
    )


def sharpest(points: Sequence[GroundPoint | None]) -> GroundPoint | None:
    """The estimate with the smallest ellipse."""
    present = [p for p in points if p is not None]
    return min(present, key=lambda p: p.ellipse.semi_major_km, default=None)


def vote_class(members: Sequence[NationalTrack]) -> MissileClass:
    """Quality-weighted vote of the members' classes; ties go to the most confident member."""
    weights: dict[MissileClass, float] = defaultdict(float)
    for m in members:
        if m.missile_class is not MissileClass.UNKNOWN:
            weights[m.missile_class] += max(m.quality, 0) + 1.0
    if not weights:
        return MissileClass.UNKNOWN
    top = max(weights.values())
    leaders = {c for c, w in weights.items() if w == top}
    if len(leaders) == 1:
        return next(iter(leaders))
    best = max((m for m in members if m.missile_class in leaders), key=lambda m: m.quality)
    return best.missile_class


@dataclass(frozen=True, slots=True)
class PictureBuilder:
    """Builds pictures; ``full`` allows the expensive steps."""

    propagator: Propagator = field(default_factory=Propagator)
    fuse: CovarianceIntersection = field(default_factory=CovarianceIntersection)
    lost_memory_us: int = 600_000_000

    def build(
        self, track: SystemTrack, *, full: bool, silent_before: SilentBefore | None = None
    ) -> Picture | None:
        """The new picture of ``track``, or its current one when nothing cheap changed.

        Silent members (see ``SystemTrack.live``) in boost are left out of it.
        """
        if not track.active():
            return track.picture
        active = track.contributing(self.lost_memory_us, silent_before)
        previous = track.picture
        if not active:  # every member silent in boost: nothing better than what it showed
            return previous
        if len(active) == 1:
            est = active[0].estimate
            wire = (active[0].state_wire, active[0].cov_wire)
        elif full:
            est = self.fuse.at_newest([m.estimate for m in active], self.propagator)
            wire = (tuple(float(v) for v in est.x), upper_triangle(est.p))
        else:
            return previous
        # A silent member's last impact prediction in free flight still holds (where a
        # ballistic missile comes down does not change because nobody watches it), so
        # it stays on offer beside the live members' (its state does not: see
        # ``SystemTrack.contributing``).
        live = {id(m) for m in active}
        coasting = [m for m in track.active() if id(m) not in live and not m.boosting]
        impact = self._impact(est, active, coasting, previous, full)
        launch, source = self._launch(est, track, previous, full)
        return Picture(
            time_us=est.time_us,
            x=est.x,
            p=est.p,
            boosting=est.boosting,
            impact=impact,
            launch=launch,
            missile_class=vote_class(active),
            newest_report_us=max(m.reported_us for m in active),
            launch_source=source,
            state_wire=wire[0],
            cov_wire=wire[1],
        )

    def _impact(
        self,
        est: Estimate,
        active: Sequence[NationalTrack],
        coasting: Sequence[NationalTrack],
        previous: Picture | None,
        full: bool,
    ) -> GroundPoint | None:
        national = sharpest([m.impact for m in (*active, *coasting)])
        kept = previous.impact if previous is not None else None
        if est.boosting:  # still thrusting: a ballistic prediction would fall short
            return national or kept
        if len(active) == 1 and active[0].impact is not None:
            return national  # its own, unless a silent member's is sharper
        if full:
            # CI never claims more than the data supports, so when one nation's own
            # prediction is sharper than the fused one, that nation's is the best
            # estimate on offer. On (or under) the ground already: the last stands.
            return sharpest([crossing_point(est, air=self.propagator.air), national]) or kept
        return kept or national

    def _launch(
        self, est: Estimate, track: SystemTrack, previous: Picture | None, full: bool
    ) -> tuple[GroundPoint | None, str]:
        members = sorted(
            track.members.values(), key=lambda m: (m.first_observed_us, m.nation, m.track_id)
        )
        for m in members:
            if m.saw_boost and m.launch is not None:
                return m.launch, f"{key_text(m.key)} (saw boost)"
        candidates = [m for m in members if m.launch is not None]
        if candidates:
            m = min(candidates, key=lambda m: m.launch.ellipse.semi_major_km if m.launch else 0.0)
            return m.launch, f"{key_text(m.key)} (national estimate)"
        if previous is not None and previous.launch is not None:
            return previous.launch, previous.launch_source
        if full and not est.boosting:
            return crossing_point(est, backwards=True), BACK_PROPAGATED
        return None, ""


@dataclass(frozen=True, slots=True)
class Refresher:
    """Rebuilds pictures of the table's tracks, the expensive way only when the policy
    says so, and queues each predicted impact on the schedule."""

    builder: PictureBuilder
    policy: AlertPolicy
    table: TrackTable
    schedule: ImpactSchedule

    def refresh_touched(self, touched: set[str]) -> None:
        """New pictures for the open touched tracks that still have active members."""
        for track_id in sorted(touched):
            track = self.table.tracks[track_id]
            active = track.active()
            if track.closed is not None or not active:
                continue  # closed pictures stay as they closed; the lifecycle sees to the rest
            # Down already: one last full refresh, so the IMPACT alert carries the best
            # of everything the nations predicted while it flew (a refresh may have been
            # skipped as immaterial since the last UPDATE).
            impacted = all(m.status is TrackStatus.IMPACTED for m in active)
            full = impacted or self.policy.refresh_due(track, self.table.event_us)
            self.refresh(track, full=full)

    def refresh(self, track: SystemTrack, *, full: bool) -> None:
        """A new picture for ``track``; a full one marks the track refreshed."""
        silent_before = self.table.silent_before()
        track.picture = self.builder.build(track, full=full, silent_before=silent_before)
        track.remember(track.gate_estimate(silent_before))
        if full:
            track.refreshed_us = self.table.event_us
            track.dirty = False
            for m in track.members.values():
                m.impact_at_refresh = m.impact
        pic = track.picture
        if pic is not None and pic.impact is not None:
            self.schedule.queue(track.track_id, pic.impact.time_us)
