"""Alert policy: material changes, intervals, membership; and when to refresh."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.alerts import US, AlertPolicy, ground_distance_km, impact_change
from bridge.config import AlertConfig
from bridge.tracks import AlertMark, NationalTrack, Picture, SystemTrack
from tests.factories import T0_US, make_ground_point
from trilink.errors import ConfigError
from trilink.model import AlertStatus, DataMode, Ellipse, MissileClass, Nation, TrackStatus

POLICY = AlertPolicy(AlertConfig(update_km=5.0, shrink_fraction=0.25, max_interval_s=10.0))
HERE = make_ground_point(lat_deg=40.0, lon_deg=135.0, ellipse=Ellipse(20.0, 5.0, 90.0))


def _member(nation: Nation = Nation.KOR, impact: object = HERE) -> NationalTrack:
    return NationalTrack(
        nation=nation,
        track_id=f"{nation.value}-1",
        system_track_id="ST-1",
        first_observed_us=T0_US,
        last_sequence=1,
        observed_us=T0_US,
        reported_us=T0_US,
        x=np.zeros(6),
        p=np.eye(6),
        status=TrackStatus.UPDATE,
        boosting=False,
        saw_boost=False,
        missile_class=MissileClass.SRBM,
        quality=5,
        launch=None,
        impact=impact,  # type: ignore[arg-type]
        data_mode=DataMode.SIMULATED,
        scenario_id="",
    )


def _alerted_track(*members: NationalTrack, event_us: int = T0_US) -> SystemTrack:
    track = SystemTrack("ST-1", DataMode.SIMULATED, "", T0_US, T0_US, Nation.KOR)
    for m in members:
        track.add(m)
        m.impact_at_refresh = m.impact
    track.picture = Picture(T0_US, np.zeros(6), np.eye(6), False, HERE, None, MissileClass.SRBM, 0)
    track.last_alert = AlertMark(
        1, AlertStatus.NEW, event_us, HERE, frozenset(m.key for m in members), MissileClass.SRBM
    )
    track.membership_changed = track.dirty = track.fresh_data = False
    track.refreshed_us = event_us
    return track


def test_distance_on_the_sphere() -> None:
    a = make_ground_point(lat_deg=40.0, lon_deg=135.0)
    b = make_ground_point(lat_deg=41.0, lon_deg=135.0)
    assert ground_distance_km(a, b) == pytest.approx(111.2, abs=0.2)
    assert ground_distance_km(a, a) == 0.0


def test_impact_change_reasons() -> None:
    near = make_ground_point(lat_deg=40.01, lon_deg=135.0, ellipse=Ellipse(19.0, 5.0, 90.0))
    far = make_ground_point(lat_deg=40.1, lon_deg=135.0, ellipse=Ellipse(20.0, 5.0, 90.0))
    tight = make_ground_point(lat_deg=40.0, lon_deg=135.0, ellipse=Ellipse(10.0, 5.0, 90.0))
    assert impact_change(None, HERE, 5.0, 0.25) == "impact predicted"
    assert impact_change(HERE, None, 5.0, 0.25) is None
    assert impact_change(HERE, near, 5.0, 0.25) is None
    assert "moved" in (impact_change(HERE, far, 5.0, 0.25) or "")
    assert "shrank 50%" in (impact_change(HERE, tight, 5.0, 0.25) or "")


def test_no_news_no_alert() -> None:
    track = _alerted_track(_member())
    assert POLICY.update_reason(track, T0_US + 5 * US) is None


def test_membership_change_is_news() -> None:
    track = _alerted_track(_member())
    track.add(_member(Nation.JPN))
    assert POLICY.update_reason(track, T0_US + US) == "members changed"


def test_class_change_is_news() -> None:
    track = _alerted_track(_member())
    assert track.picture is not None
    track.picture.missile_class = MissileClass.MRBM
    assert POLICY.update_reason(track, T0_US + US) == "class MRBM"


def test_interval_only_with_new_data() -> None:
    track = _alerted_track(_member())
    assert POLICY.update_reason(track, T0_US + 11 * US) is None
    track.fresh_data = True
    assert POLICY.update_reason(track, T0_US + 9 * US) is None
    assert POLICY.update_reason(track, T0_US + 11 * US) == "interval"


def test_refresh_due() -> None:
    member = _member()
    track = _alerted_track(member)
    assert not POLICY.refresh_due(track, T0_US + 60 * US)  # nothing new
    track.dirty = True
    assert not POLICY.refresh_due(track, T0_US + 4 * US)  # nothing material
    assert POLICY.refresh_due(track, T0_US + 5 * US)  # refresh_s
    member.impact_at_refresh = HERE
    member.impact = make_ground_point(lat_deg=40.1, lon_deg=135.0, ellipse=HERE.ellipse)
    assert not POLICY.refresh_due(track, T0_US + US // 2)  # too soon after the last one
    assert POLICY.refresh_due(track, T0_US + US)  # a member moved materially
    track.membership_changed = True
    assert POLICY.refresh_due(track, T0_US)


def test_config_is_checked() -> None:
    with pytest.raises(ConfigError):
        AlertConfig(update_km=0.0)
    with pytest.raises(ConfigError):
        AlertConfig(shrink_fraction=1.5)
    with pytest.raises(ConfigError):
        AlertConfig(max_interval_s=0.0)


def _flying(t_us: int, x: np.ndarray) -> Picture:
    return Picture(t_us, x, np.eye(6), False, HERE, None, MissileClass.SRBM, t_us)


def test_a_picture_off_the_last_alerts_path_is_news() -> None:
    """Dead reckoning: the last alert flown ballistically is what a consumer shows; a
    picture that left that path by more than ``drift_km`` deserves an UPDATE, one on it
    does not, however far the missile flew meanwhile."""
    from tracking.propagate import propagate_state, state_from_geodetic

    start = state_from_geodetic(39.0, 127.0, 80_000.0, (1500.0, 0.0, 500.0))
    track = _alerted_track(_member())
    track.last_alert = AlertMark(
        1,
        AlertStatus.NEW,
        T0_US,
        HERE,
        frozenset(m.key for m in track.active()),
        MissileClass.SRBM,
        T0_US,
        tuple(float(v) for v in start),
    )
    later = T0_US + 8 * US
    on_path = propagate_state(start, 8.0)
    track.picture = _flying(later, on_path)
    assert POLICY.update_reason(track, later) is None
    thrusting = on_path.copy()
    thrusting[:3] += 1_600.0 * on_path[3:] / np.linalg.norm(on_path[3:])  # 50 m/s² for 8 s
    track.picture = _flying(later, thrusting)
    assert "drifted 1.6 km" in (POLICY.update_reason(track, later) or "")
    assert AlertPolicy(AlertConfig(drift_km=2.0)).update_reason(track, later) is None


def test_an_alert_without_a_state_never_drifts() -> None:
    """A mark restored from a snapshot written before alerts kept their state."""
    track = _alerted_track(_member())
    track.picture = _flying(T0_US + 8 * US, np.array([7e6, 0.0, 0.0, 0.0, 0.0, 0.0]))
    assert POLICY.update_reason(track, T0_US + 8 * US) is None
