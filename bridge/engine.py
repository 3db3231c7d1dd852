"""The bridge's per-batch orchestration: pure, no I/O, clock injected.

``Engine.process(batch)`` takes raw Kafka records from the national warning topics
and returns what to publish: fused alerts, dead letters and state snapshots of
every system track the batch touched. Steps, each delegated to its own module:

1. admit   — decode (injected codec) and validate (``validate``); failures become
             dead letters, replays (sequence <= last applied) are dropped;
2. apply   — newest report per national track; LOST members leave their track;
3. break   — a member that drifted past the break threshold is detached;
4. associate — newcomers and detached members are gated and assigned jointly
             (``association``), creating system tracks for the rest;
5. refresh — pictures rebuilt, the expensive way only when due (``picture``,
             ``alerts.AlertPolicy.refresh_due``);
6. alert   — NEW / UPDATE / IMPACT / DROPPED per ``alerts`` and the event clock.

Event time is the newest ``reported_us`` seen on any input, so offline and
accelerated runs make the same decisions; the wall clock only stamps alerts and
judges the validation windows.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.alerts import US, AlertPolicy
from bridge.assigner import Candidate, Slot, plan
from bridge.association import Gate
from bridge.config import EngineConfig
from bridge.fusion import CovarianceIntersection
from bridge.picture import PictureBuilder
from bridge.state import BridgeTrackState, restore_track, snapshot_track
from bridge.tracks import (
    AlertMark,
    NationalTrack,
    SystemTrack,
    TrackKey,
    key_text,
    system_track_id,
)
from bridge.validate import Checked, Validator
from trilink.errors import DecodeError, ValidationError
from trilink.model import (
    AlertStatus,
    Contributor,
    DeadLetter,
    FusedAlert,
    MissileWarning,
    Nation,
    TrackStatus,
)

log = logging.getLogger(__name__)

Clock = Callable[[], int]


class Decoder(Protocol):
    """What the engine needs of ``trilink.codec.Codec``."""

    def decode(self, data: bytes | None, expected: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """One consumed record, as the engine sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """What one batch produced."""

    alerts: list[FusedAlert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    states: list[BridgeTrackState] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)
    accepted: int = 0
    replayed: int = 0

    @property
    def empty(self) -> bool:
        return not (self.alerts or self.dead_letters or self.states or self.tombstones)


@dataclass(slots=True)
class _Newcomer:
    member: NationalTrack
    created_us: int  # the observed time a system track it creates is named after
    previous: str = ""  # system track it was detached from


class Engine:
    """The fusion engine. Not thread-safe; one instance per bridge process."""

    def __init__(
        self,
        config: EngineConfig,
        decoder: Decoder,
        clock: Clock,
    ) -> None:
        self.config = config
        self.decoder = decoder
        self.clock = clock
        self.validator = Validator(config.validation)
        self.gate = Gate(config.gate)
        self.policy = AlertPolicy(config.alerts)
        self.builder = PictureBuilder(
            self.gate.propagator, CovarianceIntersection(config.fusion_criterion)
        )
        self.topic_nations: dict[str, Nation] = config.topics.all_warnings()
        self.tracks: dict[str, SystemTrack] = {}
        self.national: dict[TrackKey, NationalTrack] = {}
        self.event_us = 0
        self.published: dict[str, int] = {}  # highest version already on the alerts topic
        self.hints: dict[TrackKey, str] = {}  # published memberships newer than the state
        self.published_closed: dict[str, AlertStatus] = {}
        self._impacts: list[tuple[int, str]] = []
        self._reissue: list[str] = []
        self._scanned_us = 0

    # -- entry points -------------------------------------------------------------

    def process(self, batch: Sequence[Inbound]) -> Outcome:
        """Run one batch of raw records through the bridge."""
        now = self.clock()
        out = Outcome()
        admitted = [c for msg in batch if (c := self._admit(msg, now, out)) is not None]
        self._apply(admitted, now, out)
        return out

    def process_warnings(self, warnings: Iterable[tuple[str, MissileWarning]]) -> Outcome:
        """Run already-decoded (topic, warning) pairs (offline scoring, tests)."""
        now = self.clock()
        out = Outcome()
        admitted = []
        for offset, (topic, w) in enumerate(warnings):
            msg = Inbound(topic, 0, offset, w.track_id.encode(), None)
            checked = self._check(msg, w, now, out)
            if checked is not None:
                admitted.append(checked)
        self._apply(admitted, now, out)
        return out

    def tick(self, event_us: int) -> Outcome:
        """Advance event time without input (an idle service); closes what is due."""
        out = Outcome()
        if event_us > self.event_us:
            self.event_us = event_us
            touched: set[str] = set()
            self._close_due(self.clock(), out, touched)
            self._snapshot(touched, out)
        return out

    def restore(
        self, states: Iterable[BridgeTrackState], published: Mapping[str, FusedAlert]
    ) -> None:
        """Resume from snapshots (last per track wins) and the alerts already published.

        Versions continue above the highest published one. Memberships announced by
        alerts newer than the snapshot become hints, so replayed reports rebuild the
        same system tracks instead of inventing new ones.
        """
        for state in states:
            track, members = restore_track(state)
            self.tracks[track.track_id] = track
            self.event_us = max(self.event_us, state.event_us)
            for m in members:
                held = self.national.get(m.key)
                if held is None or m.last_sequence >= held.last_sequence:
                    if held is not None and held.system_track_id != m.system_track_id:
                        other = self.tracks.get(held.system_track_id)
                        if other is not None:
                            other.members.pop(m.key, None)
                    self.national[m.key] = m
                else:
                    track.members.pop(m.key, None)
            if track.picture is not None and track.picture.impact is not None:
                heapq.heappush(self._impacts, (track.picture.impact.time_us, track.track_id))
        for track_id, alert in published.items():
            self.published[track_id] = max(self.published.get(track_id, 0), alert.version)
            self.event_us = max(self.event_us, alert.newest_report_us)
            known = self.tracks.get(track_id)
            if known is not None and known.version >= alert.version:
                continue
            for c in alert.contributors:
                if (c.nation, c.track_id) not in self.national:
                    self.hints[(c.nation, c.track_id)] = track_id
            if alert.status in (AlertStatus.IMPACT, AlertStatus.DROPPED):
                self.published_closed[track_id] = alert.status
                if known is not None:
                    known.closed, known.closed_us = alert.status, alert.newest_report_us
        # A snapshot ahead of the alerts topic: its transaction was cut short after the
        # snapshot but before the alert reached the broker (visible on brokers that show
        # aborted output). That version was never published: issue it again.
        self._reissue = sorted(
            t.track_id
            for t in self.tracks.values()
            if t.last_alert is not None and t.version > self.published.get(t.track_id, 0)
        )
        self._scanned_us = self.event_us

    def resume(self) -> Outcome:
        """After ``restore``: the alerts a cut-short transaction lost (see ``restore``)."""
        out = Outcome()
        now = self.clock()
        for track_id in self._reissue:
            track = self.tracks[track_id]
            assert track.last_alert is not None
            track.notes.append("re-issued after restart")
            self._emit(track, track.last_alert.status, now, out, reissue=True)
            out.states.append(snapshot_track(track, self.event_us, now))
        self._reissue = []
        return out

    # -- 1. admit -------------------------------------------------------------------

    def _admit(self, msg: Inbound, now: int, out: Outcome) -> Checked | None:
        try:
            warning = self.decoder.decode(msg.value, MissileWarning)
        except DecodeError as exc:
            out.dead_letters.append(self._dead(msg, exc.error_type, exc.reason, now))
            return None
        except Exception as exc:  # a codec bug must not stop the bridge either
            log.exception("decoder failed on %s/%d@%d", msg.topic, msg.partition, msg.offset)
            out.dead_letters.append(self._dead(msg, "internal", repr(exc)[:200], now))
            return None
        if not isinstance(warning, MissileWarning):
            reason = f"expected MissileWarning, got {type(warning).__name__}"
            out.dead_letters.append(self._dead(msg, "unexpected-schema", reason, now))
            return None
        return self._check(msg, warning, now, out)

    def _check(self, msg: Inbound, w: MissileWarning, now: int, out: Outcome) -> Checked | None:
        nation = self.topic_nations.get(msg.topic)
        if nation is None:
            reason = f"topic {msg.topic} carries no national warnings"
            out.dead_letters.append(self._dead(msg, "unauthorised", reason, now))
            return None
        try:
            return self.validator(w, nation, now)
        except ValidationError as exc:
            out.dead_letters.append(self._dead(msg, exc.error_type, exc.reason, now))
            return None

    def _dead(self, msg: Inbound, error_type: str, reason: str, now: int) -> DeadLetter:
        log.info("dead letter %s/%d@%d: %s", msg.topic, msg.partition, msg.offset, reason)
        return DeadLetter(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            error_type=error_type,
            reason=reason,
            time_us=now,
            service=self.config.service,
            headers=dict(msg.headers),
        )

    # -- 2. apply ---------------------------------------------------------------------

    def _apply(self, admitted: list[Checked], now: int, out: Outcome) -> None:
        touched: set[str] = set()
        newcomers: list[_Newcomer] = []
        grouped: dict[TrackKey, list[Checked]] = defaultdict(list)
        for c in admitted:
            grouped[(c.warning.nation, c.warning.track_id)].append(c)
        for key in sorted(grouped):
            known = self.national.get(key)
            floor = known.last_sequence if known is not None else 0
            reports = sorted(
                (c for c in grouped[key] if c.warning.sequence > floor),
                key=lambda c: c.warning.sequence,
            )
            out.replayed += len(grouped[key]) - len(reports)
            out.accepted += len(reports)
            if not reports:
                continue
            self.event_us = max(self.event_us, max(c.warning.reported_us for c in reports))
            if known is None:
                member = NationalTrack.from_report(reports[0])
                for c in reports[1:]:
                    member.apply(c)
                if member.active:
                    newcomers.append(_Newcomer(member, member.first_observed_us))
                continue
            self._update_member(known, reports, touched, newcomers)
        newcomers.extend(self._breaks(touched))
        self._associate(newcomers, touched)
        for track_id in sorted(touched):
            self._refresh_and_alert(self.tracks[track_id], now, out)
        self._close_due(now, out, touched)
        self._snapshot(touched, out)

    def _update_member(
        self,
        member: NationalTrack,
        reports: list[Checked],
        touched: set[str],
        newcomers: list[_Newcomer],
    ) -> None:
        was_active = member.active
        for c in reports:
            member.apply(c)
        track = self.tracks.get(member.system_track_id)
        if track is None:  # its track was evicted long ago: start afresh
            if member.active:
                newcomers.append(_Newcomer(member, member.observed_us))
            return
        if track.closed is not None:
            return
        touched.add(track.track_id)
        track.dirty = track.fresh_data = True
        if was_active and not member.active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} lost")
        elif member.active and not was_active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} regained")

    # -- 3. break -----------------------------------------------------------------------

    def _breaks(self, touched: set[str]) -> list[_Newcomer]:
        """Detach, per touched track, the member that drifted furthest past the break gate."""
        detached = []
        for track_id in sorted(touched):
            track = self.tracks[track_id]
            active = track.active()
            if len(active) < 2 or track.picture is None or track.membership_changed:
                continue
            fused = track.picture.estimate
            every = round(self.config.gate.break_check_s * US)
            worst, worst_d2 = None, self.gate.break_threshold
            for m in active:
                if m.status is TrackStatus.IMPACTED or m.observed_us < m.checked_us + every:
                    continue  # checked recently enough; drift takes more than a report
                m.checked_us = m.observed_us
                d2 = self.gate.distance(m.estimate, fused)
                if d2 > worst_d2:
                    worst, worst_d2 = m, d2
            if worst is None:
                continue
            log.info("%s breaks from %s (d2=%.1f)", key_text(worst.key), track_id, worst_d2)
            track.remove(worst.key)
            detached.append(_Newcomer(worst, worst.observed_us, previous=track_id))
        return detached

    # -- 4. associate ---------------------------------------------------------------------

    def _associate(self, newcomers: list[_Newcomer], touched: set[str]) -> None:
        """Gate newcomers against open tracks; GNN per round, new tracks for the rest."""
        pending: list[_Newcomer] = []
        for n in newcomers:
            hinted = self.hints.pop(n.member.key, None)
            if hinted is not None and not n.previous:
                self._attach_hinted(n, hinted, touched)
            else:
                pending.append(n)
        window = round(self.config.alerts.revive_window_s * US)
        targets = [
            t
            for t in self.tracks.values()
            if t.closed is None
            or (t.closed is AlertStatus.DROPPED and self.event_us - t.closed_us <= window)
        ]
        slots = [
            Slot(t.track_id, t.gate_estimate(), t.nations(), (t.data_mode, t.scenario_id))
            for t in targets
        ]
        cands = [
            Candidate(
                n.member.estimate,
                n.member.nation,
                (n.member.data_mode, n.member.scenario_id),
                (n.created_us, n.member.nation.value, n.member.track_id),
                n.previous,
            )
            for n in pending
        ]
        for step in plan(cands, slots, self.gate):
            n = pending[step.candidate]
            if step.founds:
                targets.append(self._create(n, touched))
            else:
                self._join(n, targets[step.slot], touched)

    def _join(self, n: _Newcomer, track: SystemTrack, touched: set[str]) -> None:
        if track.closed is not None:
            track.closed = None
            track.notes.append("revived")
        track.add(n.member)
        self.national[n.member.key] = n.member
        if n.previous:
            track.notes.append(f"{key_text(n.member.key)} re-associated from {n.previous}")
            self._note_departure(n, track.track_id, touched)
        else:
            track.notes.append(f"{key_text(n.member.key)} joined")
        touched.add(track.track_id)

    def _create(self, n: _Newcomer, touched: set[str]) -> SystemTrack:
        m = n.member
        track_id = system_track_id(m.nation, m.track_id, n.created_us)
        suffix = 2
        while track_id in self.tracks:
            track_id = f"{system_track_id(m.nation, m.track_id, n.created_us)}-{suffix}"
            suffix += 1
        track = SystemTrack(
            track_id=track_id,
            data_mode=m.data_mode,
            scenario_id=m.scenario_id,
            created_us=n.created_us,
            first_detection_us=m.first_observed_us,
            first_detection_nation=m.nation,
        )
        self.tracks[track_id] = track
        track.add(m)
        self.national[m.key] = m
        if n.previous:
            track.notes.append(f"{key_text(m.key)} re-associated from {n.previous}")
            self._note_departure(n, track_id, touched)
        touched.add(track_id)
        return track

    def _attach_hinted(self, n: _Newcomer, track_id: str, touched: set[str]) -> None:
        """Put a replayed national track back where a published alert said it was."""
        track = self.tracks.get(track_id)
        m = n.member
        if track is None:
            track = SystemTrack(
                track_id, m.data_mode, m.scenario_id, n.created_us, m.first_observed_us, m.nation
            )
            track.closed = self.published_closed.get(track_id)
            track.closed_us = self.event_us
            self.tracks[track_id] = track
        if track.closed is AlertStatus.IMPACT:
            track.members[m.key] = m  # its later reports are ignored like the others'
            m.system_track_id = track_id
            self.national[m.key] = m
            return
        self._join(n, track, touched)

    def _note_departure(self, n: _Newcomer, new_id: str, touched: set[str]) -> None:
        old = self.tracks.get(n.previous)
        if old is not None:
            old.notes.append(f"{key_text(n.member.key)} re-associated to {new_id}")
            touched.add(old.track_id)

    # -- 5./6. refresh and alert ------------------------------------------------------------

    def _refresh(self, track: SystemTrack, *, full: bool) -> None:
        track.picture = self.builder.build(track, full=full)
        if full:
            track.refreshed_us = self.event_us
            track.dirty = False
            for m in track.members.values():
                m.impact_at_refresh = m.impact
        pic = track.picture
        if pic is not None and pic.impact is not None:
            heapq.heappush(self._impacts, (pic.impact.time_us, track.track_id))

    def _refresh_and_alert(self, track: SystemTrack, now: int, out: Outcome) -> None:
        if track.closed is not None:
            return
        active = track.active()
        if not active:
            self._close(track, AlertStatus.DROPPED, now, out, "all contributors lost")
            return
        impacted = all(m.status is TrackStatus.IMPACTED for m in active)
        if impacted and track.picture is not None:
            # Down already: the last in-flight prediction stands (the nations' final
            # reports do not re-predict either).
            self._close(track, AlertStatus.IMPACT, now, out, "contributors report impact")
            return
        self._refresh(track, full=impacted or self.policy.refresh_due(track, self.event_us))
        if impacted:
            self._close(track, AlertStatus.IMPACT, now, out, "contributors report impact")
            return
        if track.last_alert is None:
            self._emit(track, AlertStatus.NEW, now, out)
            return
        reason = self.policy.update_reason(track, self.event_us)
        if reason is not None:
            self._emit(track, AlertStatus.UPDATE, now, out)
        track.membership_changed = False

    def _close_due(self, now: int, out: Outcome, touched: set[str]) -> None:
        cfg = self.config.alerts
        horizon = self.event_us - round(cfg.impact_grace_s * US)
        while self._impacts and self._impacts[0][0] <= horizon:
            time_us, track_id = heapq.heappop(self._impacts)
            track = self.tracks.get(track_id)
            pic = None if track is None else track.picture
            if track is None or track.closed is not None or pic is None or pic.impact is None:
                continue
            if pic.impact.time_us != time_us:
                continue  # superseded by a newer prediction (already queued)
            if track.dirty:
                self._refresh(track, full=True)
                pic = track.picture
                if pic is not None and pic.impact is not None and pic.impact.time_us > horizon:
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
            if track.closed is None and self.event_us - track.newest_observed_us() > stale:
                self._close(track, AlertStatus.DROPPED, now, out, "no reports")
                touched.add(track.track_id)
            elif track.closed is not None and self.event_us - track.closed_us > retention:
                self._evict(track, out)
                touched.discard(track.track_id)

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
        members = track.active() or sorted(
            track.members.values(), key=lambda m: (m.first_observed_us, m.nation, m.track_id)
        )
        out.alerts.append(
            FusedAlert(
                system_track_id=track.track_id,
                version=track.version,
                status=status,
                contributors=tuple(
                    Contributor(m.nation, m.track_id, m.observed_us) for m in members
                ),
                first_detection_us=track.first_detection_us,
                first_detection_nation=track.first_detection_nation,
                state_time_us=pic.time_us,
                position_m=pic.state_wire[:3],  # type: ignore[arg-type]
                velocity_mps=pic.state_wire[3:],  # type: ignore[arg-type]
                covariance=pic.cov_wire,
                launch=pic.launch,
                impact=pic.impact,
                missile_class=pic.missile_class,
                alert_us=now,
                newest_report_us=pic.newest_report_us,
                data_mode=track.data_mode,
                note="; ".join(track.notes),
                scenario_id=track.scenario_id,
            )
        )
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

    def _snapshot(self, touched: set[str], out: Outcome) -> None:
        wall = self.clock()
        for track_id in sorted(touched):
            track = self.tracks.get(track_id)
            if track is not None:
                out.states.append(snapshot_track(track, self.event_us, wall))
