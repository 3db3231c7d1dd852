"""The bridge's per-batch orchestration: pure, no I/O, clock injected.

``Engine.process(batch)`` takes raw Kafka records from the national warning topics
and returns what to publish: fused alerts, dead letters and state snapshots of
every system track the batch touched. Steps, each delegated to its own module:

1. admit   — decode (injected codec) and validate (``admission``, ``validate``);
             failures become dead letters, replays (sequence <= last applied) are dropped;
2. apply   — newest report per national track; LOST members leave their track;
3. break   — a member that drifted past the break threshold is detached;
4. associate — newcomers and detached members are gated and assigned jointly
             (``association``, ``assigner``), founding system tracks for the rest
             (``membership``). A newcomer barred from a track it gates with only by
             its own nation's live member is held a while instead (``GateConfig``:
             its nation may be re-initiating its track, the old one falling silent);
             one whose reports precede a closed track's close joins it late;
5. refresh — pictures rebuilt, the expensive way only when due (``picture``,
             ``alerts.AlertPolicy.refresh_due``);
6. alert   — NEW / UPDATE / IMPACT / DROPPED per ``alerts`` and the event clock
             (closing and emitting live in ``lifecycle``).

Event time is the newest ``reported_us`` seen on any input, so offline and
accelerated runs make the same decisions; the wall clock only stamps alerts and
judges the validation windows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from bridge.admission import Admission, Decoder, Inbound, Outcome
from bridge.alerts import US, AlertPolicy
from bridge.assigner import Candidate, Slot, plan
from bridge.association import Gate
from bridge.config import EngineConfig
from bridge.fusion import CovarianceIntersection
from bridge.lifecycle import Lifecycle
from bridge.membership import Newcomer, attach_hinted, found, join, join_late
from bridge.picture import PictureBuilder
from bridge.rebuild import rebuild
from bridge.state import BridgeTrackState, snapshot_track
from bridge.tracks import (
    NationalTrack,
    SilentBefore,
    SystemTrack,
    TrackKey,
    key_text,
)
from bridge.validate import Checked, Validator
from trilink.model import (
    AlertStatus,
    DeadLetter,
    FusedAlert,
    MissileWarning,
    Nation,
    TrackStatus,
)

log = logging.getLogger(__name__)

Clock = Callable[[], int]


class Engine(Lifecycle):
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
        self.admission = Admission(
            decoder, Validator(config.validation), config.topics.all_warnings(), config.service
        )
        self.gate = Gate(config.gate)
        self.policy = AlertPolicy(config.alerts)
        self.builder = PictureBuilder(
            self.gate.propagator, CovarianceIntersection(config.fusion_criterion)
        )
        self.tracks: dict[str, SystemTrack] = {}
        self.national: dict[TrackKey, NationalTrack] = {}
        self.event_us = 0
        self.published: dict[str, int] = {}  # highest version already on the alerts topic
        self.hints: dict[TrackKey, str] = {}  # published memberships newer than the state
        self.published_closed: dict[str, AlertStatus] = {}
        # Impact deadlines: at most one live heap entry per track (the earliest queued);
        # a popped entry re-queues the track if its prediction moved later since.
        self._impacts: list[tuple[int, str]] = []
        self._queued: dict[str, int] = {}
        self._reissue: list[str] = []
        self._scanned_us = 0
        # Newest observed time per nation's feed (derived: restore recomputes it), the
        # clock silence is judged by, so a feed read behind the others silences nothing.
        self._nation_us: dict[Nation, int] = {}
        # Newcomers held back from founding (in memory only; see ``_associate``).
        self._held: dict[TrackKey, NationalTrack] = {}

    # -- entry points -------------------------------------------------------------

    def process(self, batch: Sequence[Inbound]) -> Outcome:
        """Run one batch of raw records through the bridge."""
        now = self.clock()
        out = Outcome()
        admitted = []
        for msg in batch:
            verdict = self.admission.admit(msg, now)
            if isinstance(verdict, DeadLetter):
                out.dead_letters.append(verdict)
            else:
                admitted.append(verdict)
        self._apply(admitted, now, out)
        return out

    def process_warnings(self, warnings: Iterable[tuple[str, MissileWarning]]) -> Outcome:
        """Run already-decoded (topic, warning) pairs (offline scoring, tests)."""
        now = self.clock()
        out = Outcome()
        admitted = []
        for offset, (topic, w) in enumerate(warnings):
            msg = Inbound(topic, 0, offset, w.track_id.encode(), None)
            verdict = self.admission.check(msg, w, now)
            if isinstance(verdict, DeadLetter):
                out.dead_letters.append(verdict)
            else:
                admitted.append(verdict)
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

        See ``bridge.rebuild`` for how the two sources are reconciled.
        """
        r = rebuild(states, published)
        self.tracks, self.national, self.event_us = r.tracks, r.national, r.event_us
        self.published, self.hints = r.published, r.hints
        self.published_closed, self._reissue = r.published_closed, r.reissue
        for track in self.tracks.values():
            if track.picture is not None and track.picture.impact is not None:
                self._queue_impact(track.track_id, track.picture.impact.time_us)
        self._scanned_us = self.event_us
        self._nation_us = {}
        self._held = {}
        for m in self.national.values():
            self._nation_us[m.nation] = max(self._nation_us.get(m.nation, 0), m.observed_us)

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

    # -- 2. apply ---------------------------------------------------------------------

    def _apply(self, admitted: list[Checked], now: int, out: Outcome) -> None:
        touched: set[str] = set()
        newcomers: list[Newcomer] = []
        grouped: dict[TrackKey, list[Checked]] = defaultdict(list)
        for c in admitted:
            grouped[(c.warning.nation, c.warning.track_id)].append(c)
        for key in sorted(grouped):
            known = self.national.get(key)
            base = known if known is not None else self._held.get(key)
            floor = base.last_sequence if base is not None else 0
            reports = sorted(
                (c for c in grouped[key] if c.warning.sequence > floor),
                key=lambda c: c.warning.sequence,
            )
            out.replayed += len(grouped[key]) - len(reports)
            out.accepted += len(reports)
            if not reports:
                continue
            self.event_us = max(self.event_us, max(c.warning.reported_us for c in reports))
            newest = max(c.warning.observed_us for c in reports)
            self._nation_us[key[0]] = max(self._nation_us.get(key[0], 0), newest)
            if known is None:
                held = self._held.pop(key, None)
                member = held or NationalTrack.from_report(reports[0])
                for c in reports if held is not None else reports[1:]:
                    member.apply(c)
                if member.active:
                    newcomers.append(Newcomer(member, member.first_observed_us))
                continue
            self._update_member(known, reports, touched, newcomers)
        newcomers.extend(self._breaks(touched))
        late = self._associate(newcomers, touched)
        for track_id in sorted(touched):
            self._refresh_and_alert(self.tracks[track_id], now, out)
        for track_id in sorted(late):  # closed, so re-state the close with every contributor
            track = self.tracks[track_id]
            assert track.closed is not None
            self._emit(track, track.closed, now, out)
        self._close_due(now, out, touched)
        self._snapshot(touched, out)

    def _update_member(
        self,
        member: NationalTrack,
        reports: list[Checked],
        touched: set[str],
        newcomers: list[Newcomer],
    ) -> None:
        was_active, was_observed_us = member.active, member.observed_us
        for c in reports:
            member.apply(c)
        track = self.tracks.get(member.system_track_id)
        if track is None:  # its track was evicted long ago: start afresh
            if member.active:
                newcomers.append(Newcomer(member, member.observed_us))
            return
        if track.closed is not None:
            window = round(self.config.alerts.revive_window_s * US)
            if not (
                track.closed is AlertStatus.DROPPED
                and self.event_us - track.closed_us <= window
                and member.active
                and member.observed_us > was_observed_us
            ):
                return
            # Dropped for want of reports that were only late (its nation's feed read
            # behind the others): a contributor's newer report revives it, as a
            # newcomer joining it would.
            track.closed = None
            track.membership_changed = True
            track.notes.append(f"revived: {key_text(member.key)} reports again")
        touched.add(track.track_id)
        track.dirty = track.fresh_data = True
        if was_active and not member.active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} lost")
        elif member.active and not was_active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} regained")

    # -- 3. break -----------------------------------------------------------------------

    def _breaks(self, touched: set[str]) -> list[Newcomer]:
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
            detached.append(Newcomer(worst, worst.observed_us, previous=track_id))
        return detached

    # -- 4. associate ---------------------------------------------------------------------

    def _silent_before(self) -> SilentBefore:
        silent = round(self.config.gate.silent_s * US)
        return {nation: t - silent for nation, t in self._nation_us.items()}

    def _associate(self, newcomers: list[Newcomer], touched: set[str]) -> set[str]:
        """Gate newcomers against open tracks; GNN per round, new tracks for the rest.

        Closed tracks are targets too, but only for national tracks that began
        before the close: a feed read behind the others (a partition lagging)
        delivers reports of a missile whose track the others' newer reports have
        already closed; founding a second track for it would duplicate the missile.
        Such a newcomer joins late (``join_late``) and the closed track stays
        closed; the ids of those tracks are returned.

        A newcomer (not a detached member) that would found a track although it
        gates with an open one barred to it only by its nation's live member is
        held instead, for at most ``GateConfig.hold_s`` of its own observed time,
        and retried on each of its later reports: if that member has meanwhile
        fallen silent (its nation re-initiated its track) it joins, else it founds
        its own track once the hold is over. Holds live in memory only.
        """
        pending: list[Newcomer] = []
        for n in newcomers:
            hinted = self.hints.pop(n.member.key, None)
            if hinted is not None and not n.previous:
                closed = self.published_closed.get(hinted)
                attach_hinted(self.tracks, self.national, n, hinted, closed, self.event_us, touched)
            else:
                pending.append(n)
        if not pending:
            return set()
        window = round(self.config.alerts.revive_window_s * US)
        hold = round(self.config.gate.hold_s * US)
        silent_before = self._silent_before()
        targets = list(self.tracks.values())
        slots = []
        for t in targets:
            realm = (t.data_mode, t.scenario_id)
            revivable = t.closed is AlertStatus.DROPPED and self.event_us - t.closed_us <= window
            if t.closed is None or revivable:
                est, nations = t.gate_estimate(silent_before), t.nations(silent_before)
                slots.append(Slot(t.track_id, est, nations, realm))
            else:
                nations = {m.nation for m in t.members.values()}
                slots.append(Slot(t.track_id, t.gate_estimate(), nations, realm, t.closed_us))
        cands = [
            Candidate(
                n.member.estimate,
                n.member.nation,
                (n.member.data_mode, n.member.scenario_id),
                (n.created_us, n.member.nation.value, n.member.track_id),
                n.previous,
                n.member.first_observed_us,
                not n.previous and n.member.observed_us - n.member.first_observed_us <= hold,
            )
            for n in pending
        ]
        late: set[str] = set()
        for step in plan(cands, slots, self.gate):
            n = pending[step.candidate]
            if step.held:
                log.info(
                    "%s held: its nation is live on %s",
                    key_text(n.member.key),
                    targets[step.slot].track_id,
                )
                self._held[n.member.key] = n.member
            elif step.founds:
                targets.append(found(self.tracks, self.national, n, touched))
            elif step.slot < len(slots) and slots[step.slot].closed_us is not None:
                join_late(self.national, n, targets[step.slot], touched)
                late.add(targets[step.slot].track_id)
            else:
                join(self.tracks, self.national, n, targets[step.slot], touched)
        return late

    # -- 5./6. refresh and alert ------------------------------------------------------------

    def _refresh(self, track: SystemTrack, *, full: bool) -> None:
        track.picture = self.builder.build(track, full=full, silent_before=self._silent_before())
        if full:
            track.refreshed_us = self.event_us
            track.dirty = False
            for m in track.members.values():
                m.impact_at_refresh = m.impact
        pic = track.picture
        if pic is not None and pic.impact is not None:
            self._queue_impact(track.track_id, pic.impact.time_us)

    def _refresh_and_alert(self, track: SystemTrack, now: int, out: Outcome) -> None:
        if track.closed is not None:
            return
        active = track.active()
        if not active:
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
        impacted = all(m.status is TrackStatus.IMPACTED for m in active)
        # Down already: one last full refresh, so the IMPACT alert carries the best
        # of everything the nations predicted while it flew (a refresh may have been
        # skipped as immaterial since the last UPDATE).
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

    def _snapshot(self, touched: set[str], out: Outcome) -> None:
        wall = self.clock()
        for track_id in sorted(touched):
            track = self.tracks.get(track_id)
            if track is not None:
                out.states.append(snapshot_track(track, self.event_us, wall))
