"""Closing system tracks: IMPACT deadlines, the stale sweep, eviction, and emitting alerts.

The second half of :class:`bridge.engine.Engine`, kept apart so each file reads as one
concern: the engine decides *what* changed; this decides when a track's story ends and
how an alert goes out (versions continue above anything already published).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from bridge.admission import Outcome
from bridge.alerts import US, fused_alert
from bridge.tracks import AlertMark, NationalTrack, SystemTrack, TrackKey
from trilink.model import AlertStatus

if TYPE_CHECKING:
    from bridge.config import EngineConfig


class Lifecycle:
    """Mixin of :class:`bridge.engine.Engine`; the attributes are the engine's."""

    config: EngineConfig
    tracks: dict[str, SystemTrack]
    national: dict[TrackKey, NationalTrack]
    event_us: int
    published: dict[str, int]
    _impacts: list[tuple[int, str]]
    _queued: dict[str, int]
    _scanned_us: int
    _held: dict[TrackKey, NationalTrack]

    def _refresh(self, track: SystemTrack, *, full: bool) -> None:
        raise NotImplementedError  # the engine's

    def _coasting(self, track: SystemTrack) -> bool:
        """A free-flight impact prediction still ahead: silence is no reason to drop it."""
        pic = track.picture
        return (
            pic is not None
            and not pic.boosting
            and pic.impact is not None
            # Until its IMPACT deadline (impact + grace) has fired, not just the impact:
            # otherwise the stale sweep could drop it in between.
            and pic.impact.time_us > self.event_us - round(self.config.alerts.impact_grace_s * US)
        )

    def _queue_impact(self, track_id: str, time_us: int) -> None:
        queued = self._queued.get(track_id)
        if queued is None or time_us < queued:
            self._queued[track_id] = time_us
            heapq.heappush(self._impacts, (time_us, track_id))

    def _close_due(self, now: int, out: Outcome, touched: set[str]) -> None:
        cfg = self.config.alerts
        horizon = self.event_us - round(cfg.impact_grace_s * US)
        while self._impacts and self._impacts[0][0] <= horizon:
            time_us, track_id = heapq.heappop(self._impacts)
            if self._queued.get(track_id) != time_us:
                continue  # superseded by an earlier deadline
            del self._queued[track_id]
            track = self.tracks.get(track_id)
            pic = None if track is None else track.picture
            if track is None or track.closed is not None or pic is None or pic.impact is None:
                continue
            if pic.impact.time_us > horizon:  # the prediction moved later: wait for it
                self._queue_impact(track_id, pic.impact.time_us)
                continue
            if track.dirty:
                self._refresh(track, full=True)
                pic = track.picture
                if pic is not None and pic.impact is not None and pic.impact.time_us > horizon:
                    self._queue_impact(track_id, pic.impact.time_us)
                    touched.add(track_id)
                    continue
            self._close(track, AlertStatus.IMPACT, now, out, "predicted impact time passed")
            touched.add(track_id)
        if self.event_us - self._scanned_us < US:
            return
        self._scanned_us = self.event_us
        stale = round(cfg.stale_s * US)
        retention = round(cfg.closed_retention_s * US)
        for track in list(self.tracks.values()):
            if (
                track.closed is None
                and self.event_us - track.newest_observed_us() > stale
                and not self._coasting(track)
            ):
                self._close(track, AlertStatus.DROPPED, now, out, "no reports")
                touched.add(track.track_id)
            elif track.closed is not None and self.event_us - track.closed_us > retention:
                self._evict(track, out)
                touched.discard(track.track_id)
        for key, member in list(self._held.items()):
            if self.event_us - member.observed_us > stale:  # stopped reporting while held
                del self._held[key]

    def _close(
        self, track: SystemTrack, status: AlertStatus, now: int, out: Outcome, why: str
    ) -> None:
        track.notes.append(why)
        self._emit(track, status, now, out)
        track.closed, track.closed_us = status, self.event_us

    def _evict(self, track: SystemTrack, out: Outcome) -> None:
        del self.tracks[track.track_id]
        for key, member in list(track.members.items()):
            if self.national.get(key) is member:
                del self.national[key]
        out.tombstones.append(track.track_id)

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
        floor = self.published.get(track.track_id, 0)
        if status is AlertStatus.NEW and floor > 0:
            status = AlertStatus.UPDATE  # its NEW is already out there
        if not reissue:
            track.version = max(track.version, floor) + 1
        out.alerts.append(fused_alert(track, pic, status, now))
        track.last_alert = AlertMark(
            track.version,
            status,
            self.event_us,
            pic.impact,
            frozenset(m.key for m in track.active()),
            pic.missile_class,
        )
        track.notes.clear()
        track.fresh_data = False
        track.membership_changed = False
