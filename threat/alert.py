"""Assess a fused alert and fill its ``threat`` and ``threatened`` fields.

An alert carries no trajectory, only its launch point, the fused state at
``state_time_us`` and the predicted impact point: the ground track is taken as the
great circles launch → sub-point of the fused state → impact (see
:mod:`threat.track` for what that approximation costs).
"""

from __future__ import annotations

import dataclasses
import functools
import logging

from threat.assess import Assessor
from threat.sphere import subpoint
from threat.track import GroundTrack
from trilink.model import FusedAlert, Nation
from trilink.threat import ThreatAssessment

log = logging.getLogger(__name__)

ALERT_STEP_KM = 20.0  # legs are great circles: coarser samples lose nothing but time
_SHARING = {n.value: n for n in (Nation.USA, Nation.KOR, Nation.JPN)}


def alert_track(alert: FusedAlert) -> GroundTrack | None:
    """The approximate ground track of an alert, or None without an impact prediction."""
    impact = alert.impact
    if impact is None:
        return None
    points: list[tuple[float, float, int]] = []
    if alert.launch is not None and alert.launch.time_us < impact.time_us:
        points.append((alert.launch.lat_deg, alert.launch.lon_deg, alert.launch.time_us))
    lat, lon = subpoint(alert.position_m)
    if points and points[-1][2] < alert.state_time_us < impact.time_us:
        points.append((lat, lon, alert.state_time_us))
    elif not points:
        points.append((lat, lon, min(alert.state_time_us, impact.time_us - 1)))
    points.append((impact.lat_deg, impact.lon_deg, impact.time_us))
    return GroundTrack.through(points, step_km=ALERT_STEP_KM)


def threatened(assessment: ThreatAssessment) -> tuple[Nation, ...]:
    """The sharing nations the assessment names (land, waters, overflight, warning)."""
    return tuple(_SHARING[n] for n in assessment.nations if n in _SHARING)


@functools.cache
def default_assessor() -> Assessor:
    """One assessor per process (loading the data costs ~0.3 s, once)."""
    return Assessor()


def with_threat(alert: FusedAlert, assessor: Assessor | None = None) -> FusedAlert:
    """``alert`` with ``threat`` and ``threatened`` filled; unchanged without an impact.

    Never raises: an assessment that fails is logged and the alert goes out without
    it, since a missing threat description must not hold back a warning.
    """
    try:
        track = alert_track(alert)
        if track is None or alert.impact is None:
            return alert
        found = (assessor or default_assessor()).assess(track, alert.impact)
    except Exception:  # geometry libraries raise many types; the alert matters more
        log.exception("threat assessment of %s v%d failed", alert.system_track_id, alert.version)
        return alert
    return dataclasses.replace(alert, threat=found, threatened=threatened(found))
