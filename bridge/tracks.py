"""The bridge's memory: national tracks and the system tracks they feed.

These are the mutable records the engine updates; every decision about them
(association, fusion, alerts) lives in its own module. A ``NationalTrack`` holds
the latest trusted report of one (nation, local track id); a ``SystemTrack`` is
one missile of the common picture with its current members, its last fused
picture and the bookkeeping the alert policy needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.estimate import Estimate
from bridge.validate import Checked
from trilink.constants import US, FloatArray
from trilink.model import (
    AlertStatus,
    DataMode,
    GroundPoint,
    MissileClass,
    Nation,
    TrackStatus,
)

TrackKey = tuple[Nation, str]
# Per nation, the observed time before which a member's last report makes it silent.
SilentBefore = Mapping[Nation, int]


def key_text(key: TrackKey) -> str:
    """``KOR/KOR-0003``: how notes and logs name a national track."""
    return f"{key[0].value}/{key[1]}"


def system_track_id(nation: Nation, track_id: str, observed_us: int) -> str:
    """Deterministic id of the system track a national report creates."""
    digest = hashlib.sha1(f"{nation.value}/{track_id}/{observed_us}".encode()).hexdigest()
    return f"ST-{digest[:10]}"


@dataclass(slots=True)
class NationalTrack:
    """The latest trusted state of one nation's local track."""

    nation: Nation
    track_id: str
    system_track_id: str
    first_observed_us: int
    last_sequence: int
    observed_us: int
    reported_us: int
    x: FloatArray
    p: FloatArray
    status: TrackStatus
    boosting: bool
    saw_boost: bool
    missile_class: MissileClass
    quality: int
    launch: GroundPoint | None
    impact: GroundPoint | None
    data_mode: DataMode
    scenario_id: str
    # The national impact estimate as it was at the system track's last refresh:
    # comparing against it tells whether this contributor changed materially since.
    impact_at_refresh: GroundPoint | None = None
    # The state and covariance as they came on the wire (what snapshots and alerts
    # carry): converting the arrays back on every snapshot would cost more than fusing.
    state_wire: tuple[float, ...] = ()
    cov_wire: tuple[float, ...] = ()
    checked_us: int = 0  # observed time of the state last tested against the break gate
    # Observed time it reported again after a silence (0: never silent): its state is
    # young again from there (``bridge.returns``).
    resumed_us: int = 0
    swap_checked_us: int = 0  # its track's newest report when last tested for an exchange
    # The newest report's label classification (alerts are classified at their
    # highest contributor's); not in snapshots: the next report restores it.
    classification: str = ""
    # ``estimate`` as last built, with what it was built from (see there).
    _built: tuple[tuple[int, int, bool, bool, int, int], Estimate] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_report(cls, c: Checked, system_track_id: str = "") -> NationalTrack:
        w = c.warning
        return cls(
            nation=w.nation,
            track_id=w.track_id,
            system_track_id=system_track_id,
            first_observed_us=w.observed_us,
            last_sequence=w.sequence,
            observed_us=w.observed_us,
            reported_us=w.reported_us,
            x=c.x,
            p=c.p,
            status=w.status,
            boosting=w.boosting,
            saw_boost=w.boosting,
            missile_class=w.missile_class,
            quality=w.quality,
            launch=w.launch,
            impact=w.impact,
            data_mode=w.data_mode,
            scenario_id=w.scenario_id,
            state_wire=(*w.position_m, *w.velocity_mps),
            cov_wire=w.covariance,
            classification=c.classification,
        )

    @property
    def key(self) -> TrackKey:
        return (self.nation, self.track_id)

    @property
    def realm(self) -> tuple[DataMode, str]:
        """Where it may be associated: its data mode and scenario."""
        return (self.data_mode, self.scenario_id)

    @property
    def active(self) -> bool:
        """Still reporting a live missile (LOST tracks have left their system track)."""
        return self.status is not TrackStatus.LOST

    @property
    def estimate(self) -> Estimate:
        """The track's state as an estimate; one object until the state changes, so that
        what is computed from it (``Propagator.to``) is computed once."""
        # Keyed on the arrays' ids: the estimate built holds them, so no new array can
        # take an old one's id while it is kept.
        key = (
            self.observed_us,
            self.first_observed_us,
            self.boosting,
            self.saw_boost,
            id(self.x),
            id(self.p),
        )
        built = self._built
        if built is not None and built[0] == key:
            return built[1]
        coast_s = 0.0 if self.saw_boost else (self.observed_us - self.first_observed_us) / US
        est = Estimate(self.observed_us, self.x, self.p, self.boosting, coast_s)
        self._built = (key, est)
        return est

    def apply(self, c: Checked) -> None:
        """Take a newer report of this track (sequence already checked by the caller)."""
        w = c.warning
        self.last_sequence = w.sequence
        self.first_observed_us = min(self.first_observed_us, w.observed_us)
        if w.observed_us >= self.observed_us:
            self.observed_us = w.observed_us
            self.x, self.p = c.x, c.p
            self.state_wire = (*w.position_m, *w.velocity_mps)
            self.cov_wire = w.covariance
            self.boosting = w.boosting
        self.reported_us = max(self.reported_us, w.reported_us)
        self.status = w.status
        self.saw_boost = self.saw_boost or w.boosting
        self.missile_class = w.missile_class
        self.quality = w.quality
        self.classification = c.classification or self.classification
        self.launch = w.launch if w.launch is not None else self.launch
        self.impact = w.impact if w.impact is not None else self.impact


@dataclass(slots=True)
class Picture:
    """What an alert of a system track shows: the fused state and what follows from it."""

    time_us: int
    x: FloatArray
    p: FloatArray
    boosting: bool
    impact: GroundPoint | None
    launch: GroundPoint | None
    missile_class: MissileClass
    newest_report_us: int
    # Where the launch estimate came from ("KOR/KOR-0001 (saw boost)", "back-propagated", ...).
    launch_source: str = ""
    state_wire: tuple[float, ...] = ()
    cov_wire: tuple[float, ...] = ()

    @property
    def estimate(self) -> Estimate:
        return Estimate(self.time_us, self.x, self.p, self.boosting)


HISTORY_US = 60 * US
HISTORY_STEP_US = US


@dataclass(slots=True)
class AlertMark:
    """What the last alert of a system track said, for deciding whether to say more."""

    version: int
    status: AlertStatus
    event_us: int
    impact: GroundPoint | None
    members: frozenset[TrackKey]
    missile_class: MissileClass
    # The state it published (time, ECEF position and velocity): what a consumer extrapolates.
    state_us: int = 0
    state: tuple[float, ...] = ()


@dataclass(slots=True)
class SystemTrack:
    """One missile of the common picture."""

    track_id: str
    data_mode: DataMode
    scenario_id: str
    created_us: int
    first_detection_us: int
    first_detection_nation: Nation
    members: dict[TrackKey, NationalTrack] = field(default_factory=dict)
    version: int = 0
    picture: Picture | None = None
    refreshed_us: int = 0
    last_alert: AlertMark | None = None
    closed: AlertStatus | None = None
    closed_us: int = 0
    notes: list[str] = field(default_factory=list)
    membership_changed: bool = False
    dirty: bool = False  # data arrived since the last refresh
    fresh_data: bool = False  # data arrived since the last alert
    # The track its last member left to join (``Associator._fold``): the lifecycle
    # closes it in that batch, for good (a duplicate is never revived).
    folded_into: str = ""
    # Earlier gate estimates (in memory only), for newcomers from a feed that arrives
    # late: see ``remember``.
    history: list[Estimate] = field(default_factory=list)

    @property
    def realm(self) -> tuple[DataMode, str]:
        """Which national tracks it may take: its data mode and scenario."""
        return (self.data_mode, self.scenario_id)

    def remember(self, estimate: Estimate | None) -> None:
        """Keep ``estimate`` (a gate estimate just refreshed) among the earlier ones.

        A feed that arrives seconds after the others (a slower link, a backlog) brings
        a new national track whose estimate is seconds older than the picture. Moved
        back to it, a picture taken after burnout has lost the thrust it flew on and
        sits kilometres off the missile's boost path: the newcomer would found a second
        track or join a neighbour. Compared with the picture as it stood then, it does
        not. One estimate per ``HISTORY_STEP_US`` over the last ``HISTORY_US``.
        """
        if estimate is None:
            return
        h = self.history
        # The last entry is the newest until it lies a step past the one before it.
        if len(h) > 1 and h[-1].time_us - h[-2].time_us < HISTORY_STEP_US:
            h[-1] = estimate
        else:
            h.append(estimate)
        while h and h[0].time_us < estimate.time_us - HISTORY_US:
            h.pop(0)

    def active(self) -> list[NationalTrack]:
        """Members still reporting, in the order they joined (deterministic from the input)."""
        return [m for m in self.members.values() if m.active]

    def live(self, silent_before: SilentBefore) -> list[NationalTrack]:
        """Active members that are not *silent*.

        A member is silent when its nation's feed has moved on past
        ``silent_before[nation]`` without a report of it: a national tracker that
        lost the missile and has not said so yet (LOST may come much later). It
        still counts as active for the track's lifecycle, but it neither bars a
        new track of its nation (which may be that nation's re-initiated track of
        this missile) nor steers the gate and the picture with a stale estimate.
        """
        return [
            m
            for m in self.members.values()
            if m.active and m.observed_us >= silent_before.get(m.nation, m.observed_us)
        ]

    def contributing(
        self, memory_us: int, silent_before: SilentBefore | None = None
    ) -> list[NationalTrack]:
        """Members whose last estimate still informs the picture.

        Live members, plus members LOST within ``memory_us`` of the newest
        observation in free flight: a radar that lost a coasting missile below its
        horizon still knew its ballistic path, and that knowledge only ages (the
        propagated covariance grows). Dropping it would let the picture fall back
        to the least precise nation that happens to report last. Silent members
        are left out while any member is live: a tracker that lost the missile
        without saying so may have lost it in boost, whatever its last report
        claimed, and propagated without thrust it would drag the picture off the
        missile. With no live member, every active one counts as before. A lost
        member whose nation has a live member here was superseded by that one (its
        nation re-initiated its track) and is left out too.
        """
        newest = self.newest_observed_us()
        live_members = self.live(silent_before or {})
        live = {id(m) for m in live_members}
        superseded = {m.nation for m in live_members}
        return [
            m
            for m in self.members.values()
            if id(m) in live
            or (not live and m.active)
            or (
                not m.active
                and m.nation not in superseded
                and not m.boosting
                and newest - m.observed_us <= memory_us
            )
        ]

    def nations(self, silent_before: SilentBefore | None = None) -> set[Nation]:
        """Nations with a live member: a second track of theirs may not join."""
        return {m.nation for m in self.live(silent_before or {})}

    def newest_observed_us(self) -> int:
        return max((m.observed_us for m in self.members.values()), default=self.created_us)

    def gate_estimate(self, silent_before: SilentBefore | None = None) -> Estimate | None:
        """The freshest estimate to compare a newcomer with."""
        live = self.live(silent_before or {})
        if len(live) == 1:
            return live[0].estimate
        return None if self.picture is None else self.picture.estimate

    def founded_by(self, m: NationalTrack) -> bool:
        """``m`` founded this track with its first report (a track is named after that time)."""
        return self.created_us == m.first_observed_us and self.first_detection_nation is m.nation

    def add(self, member: NationalTrack) -> None:
        member.system_track_id = self.track_id
        self.members[member.key] = member
        if member.first_observed_us < self.first_detection_us:
            self.first_detection_us = member.first_observed_us
            self.first_detection_nation = member.nation
        self.membership_changed = True
        self.dirty = self.fresh_data = True

    def remove(self, key: TrackKey) -> NationalTrack:
        member = self.members.pop(key)
        self.membership_changed = True
        self.dirty = True
        return member


def _member_order(m: NationalTrack) -> tuple[int, str, str]:
    return (m.first_observed_us, m.nation.value, m.track_id)
