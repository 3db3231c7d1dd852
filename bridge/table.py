"""The track table: every national and system track the engine knows, and the
operations that move national tracks between system tracks.

``TrackTable.apply`` is step 2 of the engine's walk: admitted reports update their
national tracks (replays, sequence at or below the last applied, are dropped), and
what that changed goes on down the walk as a ``Changes``: the system tracks touched
and the national tracks without one (``Newcomer``). The association step then
carries its decisions out through ``join`` / ``found`` / ``join_late`` /
``attach_hinted`` / ``hold``; the lifecycle retires tracks through ``evict``.
Every system track an operation changes is added to the batch's ``touched``.

Besides the tracks the table keeps what a restart rebuilds (``bridge.rebuild``):
the highest version already published per system track, the published
memberships newer than the state (*hints*) and the published closes; and event
time, the newest ``reported_us`` seen on any input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bridge.admission import Outcome
from bridge.config import AlertConfig, GateConfig
from bridge.rebuild import Rebuilt
from bridge.tracks import (
    NationalTrack,
    SilentBefore,
    SystemTrack,
    TrackKey,
    key_text,
    system_track_id,
)
from bridge.validate import Checked
from trilink.constants import US
from trilink.model import AlertStatus, Nation, TrackStatus


@dataclass(slots=True)
class Newcomer:
    """A national track without a system track (new, or detached by a break)."""

    member: NationalTrack
    created_us: int  # the observed time a system track it founds is named after
    previous: str = ""  # system track it was detached from
    # Held before as ambiguous between tracks the picture holds: a known missile, so
    # while it stays ambiguous it waits again, however long since its first report.
    known: bool = False
    # Held since its break and retried: the track it left may take it back (its own
    # missile's track, once its estimate fits it again); it is barred from that track
    # only in the batch of the break (``bridge.candidates.Candidate.rejoin``).
    retried: bool = False
    # Held before as its nation's track begun again in flight (``Step.reinitiated``): on
    # its retries it may wait so again (``bridge.candidates.Candidate.reinitiated``).
    reinitiated: bool = False
    # Held before and retried on reports with no newer observation (a track's closing
    # report repeats its last state): nothing new to judge it on, so it founds nothing
    # (``bridge.candidates.Candidate.stale``).
    stale: bool = False


@dataclass(slots=True)
class Changes:
    """What one batch changed, handed down the engine's walk."""

    touched: set[str] = field(default_factory=set)  # system tracks to refresh, alert, snapshot
    newcomers: list[Newcomer] = field(default_factory=list)
    # Closed tracks a late contributor joined: their close is stated again.
    late: set[str] = field(default_factory=set)
    # Members that reported again after a silence (system track id, member key).
    returned: list[tuple[str, TrackKey]] = field(default_factory=list)


@dataclass(slots=True)
class TrackTable:
    """System tracks by id, national tracks by (nation, track id), and their bookkeeping."""

    revive_window_us: int  # a DROPPED track may revive this long after its close
    silent_us: int  # a member this far behind its nation's feed is silent
    # A feed this far behind the event time, while the bridge is caught up (its clock
    # within this of the event time), has stopped: a dead producer, a cut link, a nation
    # whose only track coasts unseen. Its clock is then the event time less this, so its
    # members can fall silent. A feed read behind the others (a restart's backlog) is
    # not caught up, and silences nothing.
    feed_lag_us: int = 8_000_000
    tracks: dict[str, SystemTrack] = field(default_factory=dict)
    national: dict[TrackKey, NationalTrack] = field(default_factory=dict)
    # Newcomers held back from founding a track (in memory only; see ``bridge.associator``).
    held: dict[TrackKey, NationalTrack] = field(default_factory=dict)
    # Held members detached by a break: the system track each left (they stay detached).
    held_from: dict[TrackKey, str] = field(default_factory=dict)
    # Held newcomers that were ambiguous between known tracks (``Newcomer.known``).
    held_known: set[TrackKey] = field(default_factory=set)
    # Held newcomers begun in flight beside their nation's lost track
    # (``Newcomer.reinitiated``).
    held_reinitiated: set[TrackKey] = field(default_factory=set)
    published: dict[str, int] = field(default_factory=dict)  # highest version on the topic
    hints: dict[TrackKey, str] = field(default_factory=dict)  # published memberships
    published_closed: dict[str, AlertStatus] = field(default_factory=dict)
    event_us: int = 0
    # Newest observed time per nation's feed (derived: ``load`` recomputes it), the
    # clock silence is judged by, so a feed read behind the others silences nothing.
    nation_us: dict[Nation, int] = field(default_factory=dict)
    # Per nation, how late its newest report was read: the clock then less its
    # ``reported_us``. A producer behind an accelerated clock publishes late; a nation
    # with nothing to report publishes nothing (in memory only: empty after a restart).
    nation_late_us: dict[Nation, int] = field(default_factory=dict)
    now_us: int = 0  # the engine's clock at its last batch or tick
    rate: float = 1.0  # the clock's event seconds per wall second

    @classmethod
    def configured(cls, gate: GateConfig, alerts: AlertConfig) -> TrackTable:
        """An empty table with the windows of ``gate`` and ``alerts``."""
        return cls(
            round(alerts.revive_window_s * US),
            round(gate.silent_s * US),
            round(gate.feed_lag_s * US),
        )

    def load(self, r: Rebuilt) -> None:
        """Take the tables a previous bridge left (see ``bridge.rebuild``)."""
        self.tracks, self.national, self.event_us = r.tracks, r.national, r.event_us
        self.published, self.hints = r.published, r.hints
        self.published_closed = r.published_closed
        self.nation_us = {}
        self.nation_late_us = {}
        self.held = {}
        self.held_from = {}
        self.held_known = set()
        self.held_reinitiated = set()
        for m in self.national.values():
            self.nation_us[m.nation] = max(self.nation_us.get(m.nation, 0), m.observed_us)

    def _feed_floor(self) -> int | None:
        """The oldest a live feed's clock can be: the event time less the feed lag while
        the event time keeps pace with the clock, else None (each feed its own clock)."""
        # Only while the event time keeps pace with the clock can the clock tell a
        # stopped feed from one not fetched yet: behind a backlog, or ahead of it in a
        # replay of stamped data, every feed keeps its own clock.
        # The lag is a wall-clock allowance (a producer's scheduling and a fetch's wait
        # do not speed up with the session): at 60x, 8 s is 480 s of event time.
        lag = round(self.feed_lag_us * max(1.0, self.rate))
        return self.event_us - lag if abs(self.now_us - self.event_us) <= lag else None

    def silent_before(self) -> SilentBefore:
        """Per nation, the observed time before which a member's last report is silent."""
        floor = self._feed_floor() or 0
        return {nation: max(t, floor) - self.silent_us for nation, t in self.nation_us.items()}

    def decision_us(self, track: SystemTrack) -> int:
        """The event time to decide ``track``'s end at (its impact deadline, staleness).

        The table's event time, unless a nation still reporting the missile in flight
        has a feed that runs behind: its newest report more than ``silent_us`` behind
        the event time and, while the table keeps pace with the clock, read late
        (more than that, and more than a wall second, after its ``reported_us``).
        Then that feed's newest report, so a producer behind an accelerated clock has
        its news of the missile heard before the track is closed on it. A nation that
        is merely quiet (its last report came on time: its tracker coasts the missile
        unseen) holds nothing. Keeping pace, the hold is bounded by the feed lag (a
        feed that stops delays a close by that much, no more). Behind a backlog, or
        ahead of the clock in a replay, every feed keeps its own clock, as in
        ``silent_before``: a feed fetched behind the others holds its tracks until its
        news comes (its national tracker ends each one, impacted or lost).
        """
        floor = self._feed_floor()
        late = max(self.silent_us, round(US * max(1.0, self.rate)))
        at = self.event_us
        for m in track.active():
            feed = self.nation_us.get(m.nation, 0)
            if (
                m.status is not TrackStatus.IMPACTED
                and feed < self.event_us - self.silent_us
                and (floor is None or self.nation_late_us.get(m.nation, 0) > late)
            ):
                at = min(at, max(feed, floor or 0))
        return at

    def revivable(self, track: SystemTrack) -> bool:
        """Dropped recently enough that news of it reopens it (not merged into another)."""
        return (
            track.closed is AlertStatus.DROPPED
            and not track.folded_into
            and self.event_us - track.closed_us <= self.revive_window_us
        )

    # -- 2. apply -------------------------------------------------------------------------

    def apply(self, admitted: list[Checked], out: Outcome) -> Changes:
        """Admitted reports into their national tracks; counts accepted and replayed."""
        changes = Changes()
        grouped: dict[TrackKey, list[Checked]] = defaultdict(list)
        for c in admitted:
            grouped[(c.warning.nation, c.warning.track_id)].append(c)
        for key in sorted(grouped):
            known = self.national.get(key)
            base = known if known is not None else self.held.get(key)
            floor = base.last_sequence if base is not None else 0
            reports = sorted(
                (c for c in grouped[key] if c.warning.sequence > floor),
                key=lambda c: c.warning.sequence,
            )
            out.replayed += len(grouped[key]) - len(reports)
            out.accepted += len(reports)
            if not reports:
                continue
            reported = max(c.warning.reported_us for c in reports)
            self.event_us = max(self.event_us, reported)
            newest = max(c.warning.observed_us for c in reports)
            if newest >= self.nation_us.get(key[0], 0):
                self.nation_late_us[key[0]] = self.now_us - reported
            self.nation_us[key[0]] = max(self.nation_us.get(key[0], 0), newest)
            if known is None:
                held = self.held.pop(key, None)
                member = held or NationalTrack.from_report(reports[0])
                seen_us = member.observed_us
                if held is not None and newest - seen_us >= self.silent_us:
                    member.resumed_us = newest
                for c in reports if held is not None else reports[1:]:
                    member.apply(c)
                previous = self.held_from.pop(key, "")
                ambiguous = key in self.held_known
                self.held_known.discard(key)
                reinitiated = key in self.held_reinitiated
                self.held_reinitiated.discard(key)
                if member.active:
                    changes.newcomers.append(
                        Newcomer(
                            member,
                            member.first_observed_us,
                            previous,
                            ambiguous,
                            bool(previous),
                            reinitiated,
                            held is not None and member.observed_us <= seen_us,
                        )
                    )
                continue
            self._update_member(known, reports, changes)
        return changes

    def _update_member(self, member: NationalTrack, reports: list[Checked], ch: Changes) -> None:
        was_active, was_observed_us = member.active, member.observed_us
        for c in reports:
            member.apply(c)
        track = self.tracks.get(member.system_track_id)
        if track is None:  # its track was evicted long ago: start afresh
            if member.active:
                ch.newcomers.append(Newcomer(member, member.observed_us))
            return
        if track.closed is not None:
            if not (
                self.revivable(track) and member.active and member.observed_us > was_observed_us
            ):
                return
            # Dropped for want of reports that were only late (its nation's feed read
            # behind the others): a contributor's newer report revives it, as a
            # newcomer joining it would.
            track.closed = None
            track.membership_changed = True
            track.notes.append(f"revived: {key_text(member.key)} reports again")
        ch.touched.add(track.track_id)
        track.dirty = track.fresh_data = True
        if was_active and member.active and member.observed_us - was_observed_us >= self.silent_us:
            member.resumed_us = member.observed_us
            ch.returned.append((track.track_id, member.key))
        if was_active and not member.active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} lost")
        elif member.active and not was_active:
            track.membership_changed = True
            track.notes.append(f"{key_text(member.key)} regained")

    # -- carrying out association decisions -------------------------------------------

    def join(self, n: Newcomer, track: SystemTrack, touched: set[str]) -> None:
        """``n`` joins ``track`` (reviving it if it had been dropped)."""
        if track.closed is not None:
            track.closed = None
            track.notes.append("revived")
        track.add(n.member)
        self.national[n.member.key] = n.member
        if n.previous == track.track_id:
            track.notes.append(f"{key_text(n.member.key)} rejoined")
        elif n.previous:
            track.notes.append(f"{key_text(n.member.key)} re-associated from {n.previous}")
            self._note_departure(n, track.track_id, touched)
            old = self.tracks.get(n.previous)
            if old is not None and old.closed is None and not old.active():
                old.folded_into = track.track_id  # its last member: one missile, one track
        else:
            track.notes.append(f"{key_text(n.member.key)} joined")
        touched.add(track.track_id)

    def join_late(self, n: Newcomer, track: SystemTrack, touched: set[str]) -> None:
        """``n`` joins ``track``, closed since, as a late contributor; it stays closed.

        Its reports all began before the close but arrived after it (its nation's feed
        was read behind the others): the missile is the same, only the news is late.
        Its picture is left as it was; the lifecycle states the closing alert again so
        the contributor lists consumers read from final alerts are complete.
        """
        track.add(n.member)
        self.national[n.member.key] = n.member
        track.notes.append(f"{key_text(n.member.key)} joined late (its reports precede the close)")
        touched.add(track.track_id)

    def found(self, n: Newcomer, touched: set[str]) -> SystemTrack:
        """A new system track for ``n``, named after (nation, track id, ``n.created_us``)."""
        m = n.member
        base = system_track_id(m.nation, m.track_id, n.created_us)
        track_id, suffix = base, 2
        while track_id in self.tracks:
            track_id, suffix = f"{base}-{suffix}", suffix + 1
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

    def take_hint(self, key: TrackKey) -> str | None:
        """The system track a published alert put national track ``key`` on (used once)."""
        return self.hints.pop(key, None)

    def attach_hinted(self, n: Newcomer, track_id: str, touched: set[str]) -> None:
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
        self.join(n, track, touched)

    def hold(
        self,
        member: NationalTrack,
        previous: str = "",
        *,
        known: bool = False,
        reinitiated: bool = False,
    ) -> None:
        """Keep a newcomer back from founding a track; its next report retries it (still
        detached from ``previous``, if a break detached it; ``known``: held as ambiguous
        between tracks the picture holds, see ``Newcomer.known``; ``reinitiated``: see
        ``Newcomer.reinitiated``)."""
        self.held[member.key] = member
        if known:
            self.held_known.add(member.key)
        if reinitiated:
            self.held_reinitiated.add(member.key)
        # A member detached by a break is filed under no track while held: were it
        # left in ``national`` its next report would update it in place as a member
        # of the track it left, and it would never be retried.
        if self.national.get(member.key) is member:
            del self.national[member.key]
        if previous:
            self.held_from[member.key] = previous

    def note_left(self, n: Newcomer, touched: set[str]) -> None:
        """``n``, detached from its track, joins none for now: the track says so once, in
        the batch of the break, not again each time the held member is retried (a member
        held for a minute is one departure)."""
        old = self.tracks.get(n.previous)
        if old is not None and not n.retried:
            old.notes.append(f"{key_text(n.member.key)} left (it drifted off)")
            touched.add(old.track_id)

    def _note_departure(self, n: Newcomer, new_id: str, touched: set[str]) -> None:
        old = self.tracks.get(n.previous)
        if old is not None:
            old.notes.append(f"{key_text(n.member.key)} re-associated to {new_id}")
            touched.add(old.track_id)

    # -- retiring -------------------------------------------------------------------------

    def evict(self, track: SystemTrack) -> None:
        """Forget a closed track and those of its members still filed under it."""
        del self.tracks[track.track_id]
        for key, member in list(track.members.items()):
            if self.national.get(key) is member:
                del self.national[key]

    def expire_held(self, stale_us: int) -> None:
        """Forget held newcomers that stopped reporting while held."""
        for key, member in list(self.held.items()):
            if self.event_us - member.observed_us > stale_us:
                del self.held[key]
                self.held_from.pop(key, None)
                self.held_known.discard(key)
                self.held_reinitiated.discard(key)
