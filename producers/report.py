"""Turning a national track into the MissileWarning a nation publishes.

Launch point: a track confirmed low in the boost phase (it saw the missile rise)
takes the ground point under its first confirmed position, with the launch time
from a fit of its climb from rest (:class:`Climb`) and an ellipse widened by the horizontal drift a
missile may have made by then; any other track back-propagates its state
ballistically to the ground (:func:`tracking.impact.crossing`, backwards) once
it no longer boosts — biased for the powered part of the flight, as every ballistic
launch-point estimate is. Impact point: forward ballistic propagation of the state
with its covariance, mapped to a 95% ground ellipse; while the missile still boosts
this is the instantaneous impact point, which moves out as thrust continues.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import numpy as np

from tracking.classify import classify
from tracking.impact import crossing
from tracking.propagate import CHI2_2D_95, GroundCrossing
from trilink.geodesy import FloatArray, ecef_to_geodetic, enu_rotation
from trilink.model import (
    DataMode,
    Ellipse,
    GroundPoint,
    MissileWarning,
    Nation,
    TrackStatus,
)

MESSAGE_NAMESPACE = uuid.UUID("5b0e6a53-4c1f-5d8e-9a51-7472696c696e")
MAX_CLIMB_S = 120.0
BOOST_ALLOWANCE_M = 20_000.0
EARLY_LAUNCH_ALT_M = 30_000.0
MAX_CLIMB_SAMPLES = 64
CLIMB_WINDOW_S = 12.0
MIN_CLIMB_SPAN_S = 2.0
# Net vertical acceleration of a ballistic missile's climb (m/s^2): a heavy liquid
# ICBM lifts off at ~0.3 g net, a light solid SRBM pulls up to ~8 g.
MIN_CLIMB_ACCEL = 3.0
MAX_CLIMB_ACCEL = 80.0
_MIN_SEMI_KM = 0.001
_IU = np.triu_indices(6)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A track's combined estimate at its last measurement."""

    observed_us: int
    x: FloatArray
    p: FloatArray
    boost_probability: float
    thrust_seen_recently: bool = False  # judged thrusting within NationalConfig.boost_hold_s
    drag: float = 1.0  # the track's body: this much of the nominal body's drag
    drag_noise: float = 1.0  # its uncertainty (``Tracker.drag_noise``)

    @property
    def boosting(self) -> bool:
        """Possibly still thrusting: judged so now, or a moment ago.

        While the thrust is small against the noise (a radar that sees it only across
        its line of sight, a scan a second after the last), the IMM's mode flickers
        between scans; what the track reports must not, or every consumer would
        propagate a thrusting missile as if it coasted.
        """
        return self.boost_probability > 0.5 or self.thrust_seen_recently


def message_id(nation: Nation, track_id: str, sequence: int, scenario_id: str) -> str:
    """Deterministic message id: uuid5 of nation/track/sequence/scenario."""
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{nation.value}/{track_id}/{sequence}/{scenario_id}"))


def quality(p: FloatArray) -> int:
    """0–15 from the position uncertainty: 15 at <= 100 m RMS, two steps per halving."""
    trace = float(p[0, 0]) + float(p[1, 1]) + float(p[2, 2])
    sigma = math.sqrt(max(trace / 3.0, 1e-6))
    return min(max(round(15.0 - 2.0 * math.log2(max(sigma, 1.0) / 100.0)), 0), 15)


def _ellipse(cov_en: FloatArray) -> Ellipse:
    vals, vecs = np.linalg.eigh(0.5 * (cov_en + cov_en.T))
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    k = math.sqrt(CHI2_2D_95)
    return Ellipse(
        max(k * math.sqrt(vals[1]) / 1000.0, _MIN_SEMI_KM),
        max(k * math.sqrt(vals[0]) / 1000.0, _MIN_SEMI_KM),
        math.degrees(math.atan2(major[0], major[1])) % 180.0,
    )


def _point(found: GroundCrossing, observed_us: int) -> GroundPoint:
    return GroundPoint(
        found.lat_deg,
        found.lon_deg,
        observed_us + round(found.dt_s * 1e6),
        Ellipse(
            max(found.semi_major_km, _MIN_SEMI_KM),
            max(found.semi_minor_km, _MIN_SEMI_KM),
            found.orientation_deg,
        ),
    )


def impact_point(snap: Snapshot, *, air: bool = False) -> GroundPoint | None:
    """Forward ballistic impact estimate with its 95% ellipse (None if it never comes down);
    ``air`` flies the drag of the track's body (``Snapshot.drag``), as the trackers do
    in the atmosphere model."""
    found = crossing(snap.x, snap.p, air=snap.drag if air else 0.0, drag_noise=snap.drag_noise)
    return None if found is None else _point(found, snap.observed_us)


def back_propagated_launch(snap: Snapshot) -> GroundPoint | None:
    """Ballistic back-propagation of the state to the ground.

    The ellipse adds ``BOOST_ALLOWANCE_M`` (1 sigma, each horizontal axis) to the
    propagated covariance: back-propagation ignores the thrust, which moves the
    estimate 2–40 km off the true site for the catalogue's missiles.
    """
    found = crossing(snap.x, snap.p, backwards=True)
    if found is None:
        return None
    point = _point(found, snap.observed_us)
    k2 = CHI2_2D_95 * (BOOST_ALLOWANCE_M / 1000.0) ** 2
    ell = point.ellipse
    widened = Ellipse(
        math.sqrt(ell.semi_major_km**2 + k2),
        math.sqrt(ell.semi_minor_km**2 + k2),
        ell.orientation_deg,
    )
    return GroundPoint(point.lat_deg, point.lon_deg, point.time_us, widened)


def _climb(snap: Snapshot) -> tuple[float, float, float, float] | None:
    """(altitude m, upward speed m/s, lat, lon) of a position seen climbing low, else None."""
    lat, lon, alt = ecef_to_geodetic(snap.x[0:3])
    v_up = float(enu_rotation(lat, lon)[2] @ snap.x[3:6])
    if alt > EARLY_LAUNCH_ALT_M or v_up <= 0.0:
        return None
    return max(alt, 0.0), v_up, lat, lon


def early_launch(snap: Snapshot) -> GroundPoint | None:
    """Launch point under a position seen climbing low in the boost phase, else None.

    Launch time from a constant-acceleration climb from rest, ``t = 2 h / v_up``, kept
    within what a ballistic missile's vertical acceleration allows (``MIN_CLIMB_ACCEL``
    to ``MAX_CLIMB_ACCEL``): at confirmation the velocity is barely settled.
    """
    seen = _climb(snap)
    if seen is None:
        return None
    alt, v_up, lat, lon = seen
    lo, hi = (math.sqrt(2.0 * alt / a) for a in (MAX_CLIMB_ACCEL, MIN_CLIMB_ACCEL))
    climb_s = min(max(2.0 * alt / max(v_up, 1.0), lo), hi, MAX_CLIMB_S)
    return _under(snap, lat, lon, alt, snap.observed_us - round(climb_s * 1e6))


def _under(snap: Snapshot, lat: float, lon: float, alt: float, time_us: int) -> GroundPoint:
    enu = enu_rotation(lat, lon)
    cov = enu[0:2] @ snap.p[0:3, 0:3] @ enu[0:2].T
    # A missile pitches over as it climbs; allow a drift of half its height either way.
    cov += np.eye(2) * (0.5 * alt) ** 2
    return GroundPoint(lat, lon, time_us, _ellipse(cov))


@dataclass(slots=True)
class Climb:
    """A track's positions seen climbing low in the boost phase, for its launch estimate.

    One snapshot's ``2 h / v_up`` rests on a velocity the tracker has barely settled
    at confirmation: tens of seconds off in a noisy case. Over the snapshots of the
    first seconds, the climb from rest (``h = a t^2 / 2``, so ``sqrt(h)`` grows linearly
    with time) fits the launch time by least squares: within a few seconds over the
    first 30 km of the catalogue's boosts on true positions; a motor whose thrust
    grows as it burns its mass bends the line, so late sights read a later launch.
    The ground point stays under the first (lowest) position.
    """

    first: Snapshot
    times_s: list[float]
    roots: list[float]
    first_point: GroundPoint  # under the first sight, from its single-snapshot climb
    estimate: GroundPoint  # refitted as samples come (the first point's until it can be)

    @classmethod
    def start(cls, snap: Snapshot) -> Climb | None:
        """A climb from a track's first confirmed snapshot, if it was seen low and rising."""
        seen = _climb(snap)
        first = early_launch(snap)
        if seen is None or first is None:
            return None
        return cls(snap, [0.0], [math.sqrt(seen[0])], first, first)

    def add(self, snap: Snapshot) -> None:
        """Take a later snapshot if it is still low and rising in the boost."""
        after_s = (snap.observed_us - self.first.observed_us) / 1e6
        if len(self.times_s) >= MAX_CLIMB_SAMPLES or after_s > CLIMB_WINDOW_S:
            return
        seen = _climb(snap) if snap.boosting else None
        if seen is not None:
            self.times_s.append(after_s)
            self.roots.append(math.sqrt(seen[0]))
            self._fit()

    def launch(self) -> GroundPoint:
        """The launch point and time from the climb seen so far."""
        return self.estimate

    def _fit(self) -> None:
        first, t = self.first_point, np.asarray(self.times_s)
        self.estimate = first
        if len(t) < 3 or float(t[-1]) < MIN_CLIMB_SPAN_S:
            return
        slope, intercept = np.polyfit(t, np.asarray(self.roots), 1)
        if slope <= 0.0:
            return
        # Before the first sight, and not longer before it than any boost climbs.
        before_s = min(max(intercept / slope, 0.0), MAX_CLIMB_S)
        time_us = self.first.observed_us - round(before_s * 1e6)
        self.estimate = GroundPoint(first.lat_deg, first.lon_deg, time_us, first.ellipse)


@dataclass(frozen=True, slots=True)
class WarningContext:
    """The fields of a warning that come from the nation and scenario, not the track."""

    nation: Nation
    scenario_id: str
    data_mode: DataMode
    classification: str
    releasable_to: tuple[Nation, ...]


def build_warning(
    ctx: WarningContext,
    *,
    track_id: str,
    sequence: int,
    status: TrackStatus,
    snap: Snapshot,
    reported_us: int,
    sensors: tuple[str, ...],
    launch: GroundPoint | None,
    impact: GroundPoint | None,
) -> MissileWarning:
    """Assemble one warning from a track snapshot and its ground-point estimates."""
    return MissileWarning(
        message_id=message_id(ctx.nation, track_id, sequence, ctx.scenario_id),
        nation=ctx.nation,
        sensors=sensors,
        track_id=track_id,
        sequence=sequence,
        observed_us=snap.observed_us,
        reported_us=reported_us,
        data_mode=ctx.data_mode,
        status=status,
        missile_class=classify(snap.x, snap.boosting),
        boosting=snap.boosting,
        position_m=(float(snap.x[0]), float(snap.x[1]), float(snap.x[2])),
        velocity_mps=(float(snap.x[3]), float(snap.x[4]), float(snap.x[5])),
        covariance=tuple(snap.p[_IU].tolist()),  # upper_triangle, without per-item floats
        launch=launch,
        impact=impact,
        quality=quality(snap.p),
        releasable_to=ctx.releasable_to,
        classification=ctx.classification,
        scenario_id=ctx.scenario_id,
    )
