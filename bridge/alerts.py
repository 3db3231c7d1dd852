"""Alert policy: when a system track's picture is worth a new alert, and when to refresh it.

NEW goes out with the first report of a new missile (no waiting for a second
nation). UPDATE when the predicted impact point moves more than ``update_km``, its
95% ellipse's semi-major axis shrinks by more than ``shrink_fraction``, the
class changes, a member joins or leaves, the picture drifts more than ``drift_km``
from the last alert's state dead-reckoned to its time, or ``max_interval_s`` of
event time passed with new data. IMPACT and DROPPED are decided by the engine (they close
the track). All times are event time: the newest report time the bridge has seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bridge.config import AlertConfig
from bridge.tracks import AlertMark, Picture, SystemTrack
from threat.alert import with_threat
from tracking.propagate import propagate_state
from trilink.constants import US
from trilink.geodesy import R_MEAN
from trilink.model import AlertStatus, Contributor, FusedAlert, GroundPoint

Assess = Callable[[FusedAlert], FusedAlert]
"""Fills an alert's threat: whom it warns (``threat.alert.with_threat``)."""


def ground_distance_km(a: GroundPoint, b: GroundPoint) -> float:
    """Great-circle distance on the mean sphere (plenty for a threshold in km)."""
    la1, la2 = math.radians(a.lat_deg), math.radians(b.lat_deg)
    dla = la2 - la1
    dlo = math.radians(b.lon_deg - a.lon_deg)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2.0 * R_MEAN * math.asin(min(1.0, math.sqrt(h))) / 1000.0


def impact_change(
    old: GroundPoint | None, new: GroundPoint | None, move_km: float, shrink: float
) -> str | None:
    """Why ``new`` differs materially from ``old`` (None if it does not)."""
    if new is None:
        return None
    if old is None:
        return "impact predicted"
    moved = ground_distance_km(old, new)
    if moved > move_km:
        return f"impact moved {moved:.1f} km"
    before, after = old.ellipse.semi_major_km, new.ellipse.semi_major_km
    if before > 0.0 and after < before * (1.0 - shrink):
        return f"impact ellipse shrank {100.0 * (1.0 - after / before):.0f}%"
    return None


def drift_km(last: AlertMark, pic: Picture) -> float:
    """How far the picture is from the last alert's state flown ballistically to its time."""
    if not last.state or pic.time_us == last.state_us:
        return 0.0
    x = propagate_state(np.asarray(last.state), (pic.time_us - last.state_us) / US, max_step=20.0)
    return float(math.dist(x[:3], pic.x[:3])) / 1000.0


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Decides refreshes and UPDATEs from an ``AlertConfig``."""

    config: AlertConfig = field(default_factory=AlertConfig)

    def refresh_due(self, track: SystemTrack, event_us: int) -> bool:
        """Whether the expensive (fused, ground-crossing) refresh should run now.

        Always on a membership change; otherwise only with new data, and then when a
        member's own impact prediction changed materially (half the alert thresholds)
        at most every ``refresh_min_s``, or anyway every ``refresh_s`` and when the
        maximum alert interval is up.
        """
        if track.membership_changed or track.picture is None:
            return True
        if not track.dirty:
            return False
        c = self.config
        since = event_us - track.refreshed_us
        if since >= c.refresh_s * US:
            return True
        last = track.last_alert
        if last is not None and event_us - last.event_us >= c.max_interval_s * US:
            return True
        if since < c.refresh_min_s * US:
            return False
        half_km, half_shrink = 0.5 * c.update_km, 0.5 * c.shrink_fraction
        return any(
            impact_change(m.impact_at_refresh, m.impact, half_km, half_shrink) is not None
            for m in track.active()
        )

    def update_reason(self, track: SystemTrack, event_us: int) -> str | None:
        """Why the current picture deserves an UPDATE (None: stay quiet)."""
        last, pic = track.last_alert, track.picture
        if last is None or pic is None:
            return None
        if track.membership_changed or frozenset(m.key for m in track.active()) != last.members:
            return "members changed"
        reason = impact_change(
            last.impact, pic.impact, self.config.update_km, self.config.shrink_fraction
        )
        if reason is not None:
            return reason
        if pic.missile_class is not last.missile_class:
            return f"class {pic.missile_class.value}"
        drift = drift_km(last, pic)
        if drift > self.config.drift_km:
            return f"drifted {drift:.1f} km from the last alert's track"
        if track.fresh_data and event_us - last.event_us >= self.config.max_interval_s * US:
            return "interval"
        return None


def fused_alert(
    track: SystemTrack,
    pic: Picture,
    status: AlertStatus,
    now_us: int,
    assess: Assess = with_threat,
) -> FusedAlert:
    """The alert a system track's picture makes (version and notes as they stand),
    with who it threatens filled in by ``assess`` (threat.alert.with_threat)."""
    members = track.active() or sorted(
        track.members.values(), key=lambda m: (m.first_observed_us, m.nation, m.track_id)
    )
    alert = FusedAlert(
        system_track_id=track.track_id,
        version=track.version,
        status=status,
        contributors=tuple(Contributor(m.nation, m.track_id, m.observed_us) for m in members),
        first_detection_us=track.first_detection_us,
        first_detection_nation=track.first_detection_nation,
        state_time_us=pic.time_us,
        position_m=(pic.state_wire[0], pic.state_wire[1], pic.state_wire[2]),
        velocity_mps=(pic.state_wire[3], pic.state_wire[4], pic.state_wire[5]),
        covariance=pic.cov_wire,
        launch=pic.launch,
        impact=pic.impact,
        missile_class=pic.missile_class,
        alert_us=now_us,
        newest_report_us=pic.newest_report_us,
        data_mode=track.data_mode,
        note="; ".join(track.notes),
        scenario_id=track.scenario_id,
    )
    return assess(alert)
