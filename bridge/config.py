"""The bridge's configuration: one frozen tree built by the CLI and passed down.

Thresholds are grouped by the component that uses them so each component can be
built (and unit-tested) from its own small config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from trilink.config import Topics, require_finite
from trilink.errors import ConfigError
from trilink.model import Nation
from trilink.physics import DEFAULT_PHYSICS, Physics

SERVICE_NAME = "bridge"


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Statistical association.

    ``gate_probability`` and ``break_probability`` are chi-square probabilities of
    the Mahalanobis distance (``dof`` = 6 for the full state, 3 for position only);
    the break threshold must be the larger so that associations are sticky.
    A member is tested against the break threshold at most every ``break_check_s``
    of its own observation time, and for an exchange (``bridge.exchange``) at most
    every ``break_check_s`` of its track's newest report time: evidence for either
    builds up over seconds, and testing on every batch made the cost per warning grow
    with the report rate. ``q_ballistic``/``q_boost`` are white-acceleration
    spectral densities (m²/s³) added when a state is propagated to a common time:
    small in free flight, large while the missile may still be thrusting (ballistic
    propagation ignores thrust).

    A member whose nation's feed has run ``silent_s`` of observed time past its last
    report is *silent* (a national track lost but not yet declared LOST). A feed
    ``feed_lag_s`` of wall time behind the event time (``feed_lag_s`` times the
    session's speed in event time) while the bridge is caught up has stopped (a dead
    producer): its clock is then the event time less that lag, so its members fall
    silent too. A silent member no
    longer bars its nation's new tracks from its system track, nor steers its gate
    estimate or (in boost) its picture. A new national track that gates with a
    system track but is barred from it only by its own nation's live member may be
    held (no track founded, no alert) for up to ``hold_s`` of its own observed time,
    in case that member falls silent: a national tracker re-initiating its track. Off
    by default (0): a hold delays the first alert on what may be a new missile (a
    second missile of one launcher, seconds behind the first), and the first fused
    alert must go out with the first national warning.

    Before a newcomer founds a track, positions decide whether it is one the picture
    holds (a new national track has not settled its velocity): it joins the nearest
    open track without its nation within the position gate (``gate_probability``, 3
    dof). Missiles are born at the ground: a national track first seen above
    ``birth_ceiling_m`` (a radar that could not see the boost, a track re-initiated in
    flight, a member detached by a break) is almost surely a missile the picture
    already holds; so is one first seen falling, its vertical speed below zero by more
    than ``falling_sigmas`` of its own sigma (no missile is born descending: a radar
    that lost a warhead in re-entry among its neighbours and re-acquired it low,
    ``raid-30-5-sites``; docs/score.md, "Stop 51"; 0: off). Such a *late* candidate uses
    the wider ``late_gate_probability``
    and may join beside its own nation's member (a duplicate track on one missile,
    fused by covariance intersection like any other member). A new national track's
    first covariance is often too small for its real error, and a second system
    track for one missile is the costlier mistake there. The late gate never exceeds
    the break threshold: a member admitted beyond it would break away at once. For
    its first ``settle_s`` of observed time a member's break test is on positions too.
    A detached member near no track is held, not founded on; retried, it may rejoin
    the track it left (within the gate again) but no closed track.

    A *late* candidate that gates with two or more open tracks of which none stands out — the
    best's likelihood is not ``ambiguity_ratio`` times the next one's (Gaussian
    likelihoods of equal normalisation: a Mahalanobis-distance margin of
    ``2 ln ambiguity_ratio``) — is *ambiguous*: closely spaced objects its estimate
    cannot yet tell apart (an infrared track of a tight salvo). Joining either would
    put one missile's national track on another's system track, so the decision is
    deferred: it neither joins nor founds, and is retried on its next report until
    its own data separate the tracks. A new track begun low may be the first on
    its missile, and its first alert must not wait (the first fused alert goes out
    with the first national warning): it is deferred only while *young* (within
    ``settle_s`` of its first observation; by its position alone too, since its
    velocity is not settled) and only when every track it cannot
    tell apart was already open before its batch (those missiles are alerted
    already; an infrared track's first reports on a battery fit every track of
    it). 1 turns the test off. A late candidate is judged by its position alone too
    while young, and waits as well when its position fits a track but its whole
    state is past that track's break threshold: a radar's first reports on a group
    it cannot resolve carry a velocity none of its missiles has (docs/score.md,
    "Stop 51"). A young late candidate in the late position gate of a track whose member
    of its own nation has not reported since the candidate began waits too: that
    nation's track of the missile begun again after a manoeuvre (the KN-23's pull-up
    threw the tracks of all three nations off at once; docs/score.md, "Stop 52").

    Comparing estimates means moving one to the other's time, ballistically: across
    a boost, ``q_boost`` covers the thrust left out only over short spans (the missed
    displacement grows as a t²/2, the added deviation as sqrt(q t³/3): with 50 m/s²
    of thrust and q = 2e4 they meet near 10 s). A newcomer older than a system track
    that was thrusting at the newcomer's time (a feed that arrives late) is compared
    with the track's estimate then (``SystemTrack.history``) when the track no longer
    thrusts or is more than ``boost_span_s`` newer; a member's break test is skipped
    (no verdict yet) in the same case.

    Whether an estimate thrusts is its nation's judgement, and a national tracker's
    first seconds on a missile in boost cannot make it (an interacting-multiple-model
    filter's boost probability starts at a prior and needs scans of acceleration to
    rise): Korea's first report of a Hwasong-11 climbing at 75 m/s² said "coasting",
    and the US track of it five seconds later, compared with that report moved
    ballistically, fell outside the gate and founded a second system track. Below
    ``thrust_ceiling_m`` a climbing estimate is moved as a thrusting one whatever its
    nation said (0: trust the nations). The flight model's short-range missiles burn
    out at 13-24 km (the battery's truth, measured by an ad-hoc script: docs/score.md,
    "Stop 29"; the KN-25 ripples 13-16 km, the KN-23 23 km, the multi-site raids' mixes
    14-24 km); above the ceiling a climbing
    estimate of a missile that has burnt out keeps its narrow ballistic gate, which a
    battery of launchers 300 m apart needs. Tried on the battery (10 seeds): the birth
    ceiling (35 km) as the ceiling cleared the surplus tracks of six runs and made three
    close-launchers runs worse (merges, an extra, a missed missile); 20 km cleared the
    same six and made none worse.

    Where the bridge overrides a nation's "coasting" so, and that nation never judged
    the track thrusting, its filter may have fitted free flight to a thrust for the
    whole life of the track: its estimate lags along the path by more than its
    covariance says (``estimate.Propagator.lagging``: a missed acceleration of
    ``missed_thrust_mps2`` as 1 sigma over the track's age; 0: off). 25 m/s² is the
    catalogue's first stages at ignition (7-50 m/s², half of them 15-25: the slow
    ones are the ones a filter misses longest), not a figure fitted to the battery.

    A contest (``bridge.associator``: a nation's new track displacing its incumbent)
    compares both with the others' word moved to their times. Where that move spans
    a thrust, it misses up to ``peak_thrust_mps2`` t²/2 along the path: when that is
    half the contenders' separation or more, the others' word may sit nearer the
    wrong one and no verdict is given (unless the separation itself is read across as
    much thrust: an incumbent silent for seconds in boost, begun again by its nation).
    A worst case, not a 1 sigma: the catalogue's motors end their burns at 60-160 m/s²
    (the KN-25 at 126), and a verdict removes a nation's track from its missile.
    """

    dof: int = 6
    gate_probability: float = 0.9999
    break_probability: float = 1.0 - 1e-15
    q_ballistic: float = 1.0
    q_boost: float = 2.0e4
    break_check_s: float = 1.0
    silent_s: float = 12.0
    feed_lag_s: float = 8.0
    boost_span_s: float = 8.0
    hold_s: float = 0.0
    birth_ceiling_m: float = 35_000.0
    falling_sigmas: float = 2.0
    thrust_ceiling_m: float = 20_000.0
    missed_thrust_mps2: float = 25.0
    peak_thrust_mps2: float = 150.0
    late_gate_probability: float = 1.0 - 1e-12
    settle_s: float = 20.0
    ambiguity_ratio: float = 100.0

    def __post_init__(self) -> None:
        require_finite(self)
        if self.silent_s <= 0.0 or self.hold_s < 0.0:
            raise ConfigError("silent time must be positive and hold time not negative")
        if self.feed_lag_s <= 0.0:
            raise ConfigError("feed lag must be positive")
        if self.dof not in (3, 6):
            raise ConfigError(f"gate dof must be 3 or 6, got {self.dof}")
        if not 0.0 < self.gate_probability < 1.0 or not 0.0 < self.break_probability < 1.0:
            raise ConfigError("gate and break probabilities must lie in (0, 1)")
        if self.break_probability <= self.gate_probability:
            raise ConfigError("break probability must exceed the gate probability")
        if not self.gate_probability <= self.late_gate_probability < 1.0:
            raise ConfigError("the late gate must lie between the gate and 1")
        if self.ambiguity_ratio < 1.0:
            raise ConfigError("ambiguity ratio must be at least 1")
        if self.settle_s < 0.0:
            raise ConfigError("settle time must not be negative")
        if self.birth_ceiling_m <= 0.0:
            raise ConfigError("birth ceiling must be positive")
        if self.falling_sigmas < 0.0:
            raise ConfigError("falling sigmas must not be negative")
        if self.thrust_ceiling_m < 0.0:
            raise ConfigError("thrust ceiling must not be negative")
        if not 0.0 <= self.missed_thrust_mps2 <= 200.0:
            raise ConfigError("missed thrust must be 0..200 m/s²")
        if not 0.0 <= self.peak_thrust_mps2 <= 500.0:
            raise ConfigError("peak thrust must be 0..500 m/s²")
        if self.break_check_s < 0.0:
            raise ConfigError("break check interval must not be negative")
        if self.q_ballistic < 0.0 or self.q_boost < 0.0:
            raise ConfigError("process noise densities must not be negative")


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """When a system track earns a new alert, and how often its impact is recomputed.

    An UPDATE goes out when the impact point moved more than ``update_km``, its
    ellipse semi-major axis shrank by more than ``shrink_fraction``, a contributor
    joined or left, the picture drifted more than ``drift_km`` from the last alert's
    state flown ballistically to its time (dead reckoning, as in DIS: a consumer
    extrapolates the last alert, and in boost that falls behind the thrusting
    missile within seconds), or ``max_interval_s`` of event time passed with new data.
    Half a kilometre is well under the few kilometres between missiles of a ripple, so
    an extrapolated alert never shows one missile where its neighbour flies, and above
    the fused position error in free flight (~0.1 km), so a steady track stays quiet.
    The fused impact (``ground_crossing``, ~0.3-1 ms) is recomputed for tracks with
    several contributors when a contributor's own prediction changed materially (at
    most every ``refresh_min_s``), and otherwise only every ``refresh_s`` while data
    flows — never per message.
    """

    update_km: float = 5.0
    drift_km: float = 0.5
    shrink_fraction: float = 0.25
    max_interval_s: float = 10.0
    refresh_s: float = 5.0
    refresh_min_s: float = 1.0
    impact_grace_s: float = 2.0
    # A contributor that reported the missile airborne this recently (event time)
    # holds the IMPACT close back: the predicted time passed, the missile did not.
    still_reporting_s: float = 10.0
    stale_s: float = 120.0
    revive_window_s: float = 300.0
    closed_retention_s: float = 900.0

    def __post_init__(self) -> None:
        require_finite(self)
        if self.update_km <= 0.0 or self.drift_km <= 0.0:
            raise ConfigError("update and drift distances must be positive")
        if not 0.0 < self.shrink_fraction < 1.0:
            raise ConfigError("shrink fraction must lie in (0, 1)")
        for name in ("max_interval_s", "refresh_s", "stale_s"):
            if getattr(self, name) <= 0.0:
                raise ConfigError(f"{name} must be positive")
        for name in (
            "refresh_min_s",
            "impact_grace_s",
            "still_reporting_s",
            "revive_window_s",
            "closed_retention_s",
        ):
            if getattr(self, name) < 0.0:
                raise ConfigError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    """What a national report must satisfy to be trusted (times against the wall clock).

    ``min_sigma`` bounds the conditional standard deviations of the covariance (its
    Cholesky diagonal, m or m/s) from below: a nearly singular covariance claims
    impossible certainty and would dominate any fusion.
    """

    future_s: float = 6 * 3600.0
    past_s: float = 7 * 86400.0
    max_speed_mps: float = 8000.0
    max_speed_slv_mps: float = 11200.0
    min_altitude_m: float = -20_000.0
    max_altitude_m: float = 10_000_000.0
    max_position_sigma_m: float = 2_000_000.0
    max_velocity_sigma_mps: float = 10_000.0
    min_sigma: float = 1e-3
    releasable_to: tuple[Nation, ...] = (Nation.USA, Nation.KOR, Nation.JPN)

    def __post_init__(self) -> None:
        require_finite(self)
        if self.future_s < 0.0 or self.past_s < 0.0:
            raise ConfigError("validation time windows must not be negative")
        if self.max_speed_mps <= 0.0 or self.max_speed_slv_mps < self.max_speed_mps:
            raise ConfigError("speed limits must be positive and the SLV limit the larger")
        if self.max_altitude_m <= self.min_altitude_m:
            raise ConfigError("altitude window is empty")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything the pure fusion engine needs (no I/O settings)."""

    topics: Topics = field(default_factory=Topics)
    gate: GateConfig = field(default_factory=GateConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    fusion_criterion: Literal["det", "trace", "fast"] = "det"
    service: str = SERVICE_NAME
    # (topic, nation) the engine reads, i.e. who may publish where; empty: the three
    # national warning topics of ``topics`` (one cluster). A bilateral system reads its
    # two publishers' topics and the other partner's released reports.
    inputs: tuple[tuple[str, Nation], ...] = ()
    # The flight model: the bridge flies track states forward as the trackers do.
    physics: Physics = DEFAULT_PHYSICS
    # A batch spanning more event time than this (a backlog read after an outage, a
    # restart or a flood) is walked in slices of it, oldest first, as if read on time:
    # a batch keeps only a national track's newest report, and a newcomer first seen
    # minutes ago must be associated where it was then, not where it ended.
    slice_s: float = 2.0

    def __post_init__(self) -> None:
        require_finite(self)
        if self.fusion_criterion not in ("det", "trace", "fast"):
            raise ConfigError(f"unknown fusion criterion {self.fusion_criterion!r}")
        if self.slice_s <= 0.0:
            raise ConfigError("slice_s must be positive")

    def input_topics(self) -> dict[str, Nation]:
        """Topic -> the nation allowed to publish there (the authorisation table)."""
        return dict(self.inputs) if self.inputs else self.topics.all_warnings()


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """The whole service: engine settings plus how it talks to Kafka."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    group: str = "trilink-bridge"
    transactional: bool = True
    transactional_id: str = "trilink-bridge"
    batch_size: int = 500
    poll_timeout_s: float = 0.05
    # The longest a batch's state snapshots wait to be committed (with the next
    # batch that has alerts or dead letters, or alone): ``bridge.snapshots``. Alerts
    # and dead letters never wait; 0 commits every batch's snapshots with it.
    commit_interval_s: float = 0.1
    # Behind (a backlog), how long a poll waits at most for a warning partition whose
    # records are at the broker but not fetched yet (``TimeMerge.idle_s``), so that
    # one nation's backlog is not handed out ahead of the others'.
    merge_idle_s: float = 2.0
    # With no input for a second, event time runs on at the session clock's rate (a
    # coasting track still closes at its impact), but not while a warning partition
    # has records at the broker still to fetch: at most this long per partition
    # (``TimeMerge.unfetched``, ``stall_s``).
    idle_advance: bool = True
    tick_hold_s: float = 10.0
    # Several instances may run: one is active, the others stand by and take over
    # when it dies (leadership of the one-partition ``bridge_leader`` topic).
    standby: bool = True
    # The session clock's speed (scenario seconds per wall second). Given, it is
    # agreed with the cluster (proposed if the session has none); None follows what
    # the session runs on. Idle event time runs on that clock, so a coasting track
    # still closes at its predicted impact.
    speed: float | None = None

    def __post_init__(self) -> None:
        require_finite(self)
        if self.speed is not None and not (math.isfinite(self.speed) and self.speed > 0.0):
            raise ConfigError(f"speed must be a positive number, got {self.speed}")
        if not self.group.strip():
            raise ConfigError("consumer group must not be empty")
        if self.transactional and not self.transactional_id.strip():
            raise ConfigError("transactional id must not be empty")
        if self.batch_size < 1:
            raise ConfigError("batch size must be at least 1")
        if self.poll_timeout_s <= 0.0:
            raise ConfigError("poll timeout must be positive")
        if not 0.0 <= self.commit_interval_s <= 60.0:
            raise ConfigError(
                f"commit interval must be between 0 and 60 s, got {self.commit_interval_s}"
            )
        if self.merge_idle_s < 0.0:
            raise ConfigError("merge idle wait must not be negative")
        if self.tick_hold_s < 0.0:
            raise ConfigError("tick hold must not be negative")

    @property
    def topics(self) -> Topics:
        return self.engine.topics
