"""Step 5 of the engine's walk: what a system track's news is, and when its story ends.

``Lifecycle.advance`` turns a batch's changes into alerts — NEW with a new missile's
first picture, UPDATE when the policy (``alerts.AlertPolicy``) finds the picture
materially changed, IMPACT when every contributor reports impact (or every one that is
not silent, if one of those does), DROPPED when every contributor is lost (unless the
track coasts on a free-flight prediction) — states again the close of tracks a late
contributor joined, and then closes what event time made due (``close_due``): a
predicted impact whose deadline (impact + grace) passed — unless a contributor still
reports it airborne —, a track without reports for ``stale_s``; closed tracks past
their retention are evicted (a tombstone for their state). Both closes are judged at
the track's decision time (``TrackTable.decision_us``), held back for a contributor
whose feed runs behind: a slow producer's news is late, not lost.

Versions continue above anything already published (``TrackTable.published``), so
a restarted bridge never publishes a version twice; a restart's lost alerts are
issued again by ``resume``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bridge.admission import Outcome
from bridge.alerts import AlertPolicy, Assess, fused_alert
from bridge.config import AlertConfig
from bridge.schedule import ImpactSchedule
from bridge.table import Changes, TrackTable
from bridge.tracks import AlertMark, SystemTrack
from threat.alert import with_threat
from trilink.constants import US
from trilink.model import AlertStatus, TrackStatus


class Refresh(Protocol):
    """What closing needs of the picture step (``bridge.picture.Refresher``)."""

    def refresh(self, track: SystemTrack, *, full: bool) -> None: ...


@dataclass(slots=True)
class Lifecycle:
    """Alerts, closes and evicts the table's tracks; the IMPACT deadlines are on ``schedule``.

    ``refresher`` gives a track whose impact deadline passed with data not yet in its
    picture the full refresh it is owed before its IMPACT alert; ``assess`` fills an
    alert's threat (whom it warns: ``threat.alert.with_threat``).
    """

    config: AlertConfig
    policy: AlertPolicy
    table: TrackTable
    schedule: ImpactSchedule
    refresher: Refresh
    assess: Assess = with_threat
    _scanned_us: int = field(default=0, init=False)  # event time of the last stale sweep
    _reissue: list[str] = field(default_factory=list, init=False)

    def restored(self, reissue: list[str]) -> None:
        """After the table was loaded (``TrackTable.load``): the restored tracks' impact
        deadlines queued, the alerts ``resume`` is to issue again, and no stale sweep
        until a second of event time has passed."""
        for track in self.table.tracks.values():
            if track.picture is not None and track.picture.impact is not None:
                self.schedule.queue(track.track_id, track.picture.impact.time_us)
        self._reissue = reissue
        self._scanned_us = self.table.event_us

    # -- a batch's news ---------------------------------------------------------------

    def advance(self, changes: Changes, now: int, out: Outcome) -> None:
        """Alerts for the touched tracks (pictures already refreshed), the closes stated
        again for late contributors, then whatever event time closed."""
        for track_id in sorted(changes.touched):
            self._alert(self.table.tracks[track_id], now, out)
        for track_id in sorted(changes.late):  # closed: re-state the close, every contributor
            track = self.table.tracks[track_id]
            assert track.closed is not None
            self._emit(track, track.closed, now, out)
        self.close_due(now, out, changes.touched)

    def _alert(self, track: SystemTrack, now: int, out: Outcome) -> None:
        if track.closed is not None:
            return
        active = track.active()
        if not active:
            if track.folded_into:
                # One missile, two tracks: this one's members now fly on the other.
                why = f"merged into {track.folded_into}: one missile"
                self._close(track, AlertStatus.DROPPED, now, out, why)
                return
            if self._coasting(track):
                # Every sensor lost it (an IRBM flies beyond them all), but it coasts on
                # a known ballistic path: stay open and close with IMPACT at the
                # predicted time, rather than dropping a well-predicted threat.
                if track.membership_changed:
                    track.notes.append("all contributors lost; coasting to the predicted impact")
                    self._emit(track, AlertStatus.UPDATE, now, out)
                return
            self._close(track, AlertStatus.DROPPED, now, out, "all contributors lost")
            return
        if all(m.status is TrackStatus.IMPACTED for m in active):
            self._close(track, AlertStatus.IMPACT, now, out, "contributors report impact")
            return
        if self._impacted_where_seen(track):
            why = "contributors that saw it last report impact"
            self._close(track, AlertStatus.IMPACT, now, out, why)
            return
        if track.last_alert is None:
            self._emit(track, AlertStatus.NEW, now, out)
            return
        if self.policy.update_reason(track, self.table.event_us) is not None:
            self._emit(track, AlertStatus.UPDATE, now, out)
        track.membership_changed = False

    def _impacted_where_seen(self, track: SystemTrack) -> bool:
        """Some contributor reports impact and every other is silent (its nation's feed
        moved on without news of it: ``SystemTrack.live``). A tracker that lost the
        missile long before (Japan's radar loses a KN-25 a hundred seconds before it
        lands) says IMPACTED only at its own predicted impact, which its stale estimate
        may put many seconds late; the nations that saw the missile come down said so.
        """
        if not any(m.status is TrackStatus.IMPACTED for m in track.active()):
            return False  # the common case, without building the silence bounds
        live = track.live(self.table.silent_before())
        return bool(live) and all(m.status is TrackStatus.IMPACTED for m in live)

    def resume(self, now: int, out: Outcome) -> list[str]:
        """Issue again the alerts a cut-short transaction lost; the tracks re-issued."""
        reissued, self._reissue = self._reissue, []
        for track_id in reissued:
            track = self.table.tracks[track_id]
            assert track.last_alert is not None
            track.notes.append("re-issued after restart")
            self._emit(track, track.last_alert.status, now, out, reissue=True)
        return reissued

    # -- what event time closes -------------------------------------------------------

    def close_due(self, now: int, out: Outcome, touched: set[str]) -> None:
        """Close tracks whose impact deadline passed; once per second of event time,
        drop the stale and evict the long closed. Adds what it changed to ``touched``."""
        self._close_impacts(now, out, touched)
        if self.table.event_us - self._scanned_us < US:
            return
        self._scanned_us = self.table.event_us
        self._sweep(now, out, touched)

    def _close_impacts(self, now: int, out: Outcome, touched: set[str]) -> None:
        grace = round(self.config.impact_grace_s * US)
        horizon = self.table.event_us - grace
        for track_id in self.schedule.due(horizon):
            track = self.table.tracks.get(track_id)
            pic = None if track is None else track.picture
            if track is None or track.closed is not None or pic is None or pic.impact is None:
                continue
            if pic.impact.time_us > horizon:  # the prediction moved later: wait for it
                self.schedule.queue(track_id, pic.impact.time_us)
                continue
            decided = self.table.decision_us(track)
            if decided < self.table.event_us and pic.impact.time_us > decided - grace:
                # A contributor's feed runs behind: look again a second later.
                self.schedule.queue(track_id, horizon + US)
                continue
            if self._still_reported(track, decided):
                # A national tracker still sees it in flight: the prediction was early
                # (a manoeuvre, drag, a late-converging estimate). Look again later.
                self.schedule.queue(track_id, horizon + round(self.config.still_reporting_s * US))
                continue
            if track.dirty:
                self.refresher.refresh(track, full=True)
                pic = track.picture
                if pic is not None and pic.impact is not None and pic.impact.time_us > horizon:
                    self.schedule.queue(track_id, pic.impact.time_us)
                    touched.add(track_id)
                    continue
            self._close(track, AlertStatus.IMPACT, now, out, "predicted impact time passed")
            touched.add(track_id)

    def _still_reported(self, track: SystemTrack, decided: int) -> bool:
        """A contributor reported the missile airborne within ``still_reporting_s`` of
        ``decided`` (the track's decision time, ``TrackTable.decision_us``)."""
        since = decided - round(self.config.still_reporting_s * US)
        return any(
            m.status is not TrackStatus.IMPACTED and m.observed_us > since for m in track.active()
        )

    def _sweep(self, now: int, out: Outcome, touched: set[str]) -> None:
        event_us = self.table.event_us
        stale = round(self.config.stale_s * US)
        retention = round(self.config.closed_retention_s * US)
        for track in list(self.table.tracks.values()):
            if (
                track.closed is None
                and self.table.decision_us(track) - track.newest_observed_us() > stale
                and not self._coasting(track)
            ):
                self._close(track, AlertStatus.DROPPED, now, out, "no reports")
                touched.add(track.track_id)
            elif track.closed is not None and event_us - track.closed_us > retention:
                self.table.evict(track)
                out.tombstones.append(track.track_id)
                touched.discard(track.track_id)
        self.table.expire_held(stale)

    def _coasting(self, track: SystemTrack) -> bool:
        """A free-flight impact prediction still ahead: silence is no reason to drop it."""
        pic = track.picture
        return (
            pic is not None
            and not pic.boosting
            and pic.impact is not None
            # Until its IMPACT deadline (impact + grace) has fired, not just the impact:
            # otherwise the stale sweep could drop it in between.
            and pic.impact.time_us > self.table.event_us - round(self.config.impact_grace_s * US)
        )

    # -- alerts -----------------------------------------------------------------------

    def _close(
        self, track: SystemTrack, status: AlertStatus, now: int, out: Outcome, why: str
    ) -> None:
        track.notes.append(why)
        self._emit(track, status, now, out)
        track.closed, track.closed_us = status, self.table.event_us
        track.history.clear()  # only open tracks are compared at earlier times

    def _emit(
        self,
        track: SystemTrack,
        status: AlertStatus,
        now: int,
        out: Outcome,
        *,
        reissue: bool = False,
    ) -> None:
        pic = track.picture
        if pic is None:
            return
        floor = self.table.published.get(track.track_id, 0)
        if status is AlertStatus.NEW and floor > 0:
            status = AlertStatus.UPDATE  # its NEW is already out there
        if not reissue:
            track.version = max(track.version, floor) + 1
        out.alerts.append(fused_alert(track, pic, status, now, self.assess))
        track.last_alert = AlertMark(
            track.version,
            status,
            self.table.event_us,
            pic.impact,
            frozenset(m.key for m in track.active()),
            pic.missile_class,
            pic.time_us,
            tuple(float(v) for v in pic.x[:6]),
        )
        track.notes.clear()
        track.fresh_data = False
        track.membership_changed = False
