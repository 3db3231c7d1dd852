"""One nation's picture, stepped deterministically in simulation time.

:class:`NationalSimulation` is what both ``trilink simulate`` (offline, as fast as
it goes) and ``trilink producer`` (online, on the scenario clock) run, so the same
launches and seeds give byte-identical warnings either way:

* :meth:`~NationalSimulation.add_launch` flies the launch (``sim.solve``, cached) and
  draws every detection each of the nation's sensors will make of it, vectorised
  over the sensor's scan grid (anchored at the scenario start, seeded per
  (seed, nation, sensor, launch));
* :meth:`~NationalSimulation.advance` processes the sensor scans up to a time in
  time order: each scan's returns are resolved (``sim.resolution``: objects inside
  one resolution cell give one blended detection) and go through the nation's
  :class:`~tracking.tracker.Tracker`; it decides track
  ends (IMPACTED once the predicted impact time passes, LOST after a coast without
  detections) and returns the warnings whose ``reported_us`` has come.

Each scenario (id and start) is its own theatre with its own tracker: an exercise
is a separate world, and a warning must carry its scenario id. Track ids
(``KOR-1f0c9a2e-0001``...) are the nation, the scenario's tag (:func:`scenario_tag`) and
a number counted per theatre in the order tracks are confirmed: they depend only on the
scenario's launches, not on what else the process ran before, so a producer restarted
mid-scenario that replays the scenario gives its tracks the ids it gave them before
(``producers.resume``), and two scenarios never share a track id (the bridge keys
national tracks by (nation, track id)).

Reporting: a confirmed track reports INITIAL at confirmation (or later, once its
velocity is known, its estimate is a missile's and its newest detections fit it:
``NationalSimulation._observable``),
then UPDATE on the first measurement at least ``report_period_s`` after the previous
report, then once LOST or IMPACTED. ``observed_us`` is the time of the track's last
measurement; ``reported_us`` adds the reporting sensor's latency and the national
processing latency (for a track end, the end decision time plus processing latency),
held back if needed so that a track's reports go out in sequence order.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from measurement.models import MeasurementKind
from producers.origins import OriginCounts, OriginRecorder, OriginTimes
from producers.report import (
    Climb,
    Snapshot,
    WarningContext,
    back_propagated_launch,
    build_warning,
    impact_point,
)
from sim.resolution import Echo, resolve
from sim.sensors import Sensor, Trajectory, observe, seed_sequence, sensors_of
from tracking.blends import Blends
from tracking.plausibility import consistent, steady
from tracking.tracker import ScanResult, Stage, Track, Tracker, TrackerConfig
from trilink.constants import NATIONS, FloatArray
from trilink.model import (
    DataMode,
    GroundPoint,
    LaunchEvent,
    MissileWarning,
    Nation,
    TrackStatus,
)
from trilink.physics import DEFAULT_PHYSICS, Physics

log = logging.getLogger(__name__)

END_OF_TIME_US = 2**62
TrajectorySolver = Callable[[LaunchEvent], Trajectory]


def scenario_tag(scenario_id: str, start_us: int) -> str:
    """Eight hex digits naming a scenario (id and start) in its track ids.

    32 bits: two of a hundred scenarios on one topic share a tag with a chance of
    about one in a million (then their tracks would share ids).
    """
    return hashlib.sha1(f"{scenario_id}/{start_us}".encode()).hexdigest()[:8]


def _track_ids(nation: Nation, scenario_id: str, start_us: int) -> Callable[[], str]:
    """The track-id factory of one theatre: ``KOR-<tag>-0001``, ``KOR-<tag>-0002``, ..."""
    prefix = f"{nation.value}-{scenario_tag(scenario_id, start_us)}"
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers):04d}"


def solve_launch(event: LaunchEvent, physics: Physics = DEFAULT_PHYSICS) -> Trajectory:
    """Ground-truth trajectory of a launch event (``sim.solve.solve_trajectory``, cached)
    in the flight model ``physics``."""
    from sim.solve import solve_trajectory  # the solver pulls in scipy's integrators

    return solve_trajectory(
        event.site_lat_deg,
        event.site_lon_deg,
        event.bearing_deg,
        event.range_km,
        event.apogee_km,
        event.missile,
        physics,
    )


@dataclass(frozen=True, slots=True)
class NationalConfig:
    """Reporting and track-ending policy of a nation (seconds)."""

    report_period_s: float = 5.0
    coast_timeout_s: float = 45.0
    coast_to_impact_s: float = 120.0
    processing_latency_s: float = 0.5
    launch_refresh_s: float = 30.0
    boost_hold_s: float = 6.0  # a track judged thrusting this recently reports boosting
    # A confirmed track is first reported once its velocity is known to this (m/s, RMS
    # over the axes): about what a radar's track knows when it is confirmed (Korea's
    # and Japan's tracks, 200-280 m/s), so every first report meets the radar's bar;
    # see ``_observable``.
    report_velocity_sigma_mps: float = 250.0
    # ... and once its estimate could have been a missile's (climbing while it thrusts)
    # over its last updates, up to this many (``tracking.plausibility.plausible``).
    report_plausible_updates: int = 4
    # ... and once the detections of its last updates, up to this many, fit it as one
    # object's would, at this probability (``tracking.plausibility.consistent``; 0: no test).
    report_consistent_updates: int = 3
    report_consistent_probability: float = 0.99
    # ... with none of those updates more than this after the detection before it: a
    # track that coasted earns its first report again (``tracking.plausibility.steady``).
    report_max_gap_s: float = 5.0
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    classification: str = "UNCLASSIFIED//EXERCISE"
    releasable_to: tuple[Nation, ...] = (Nation.USA, Nation.KOR, Nation.JPN)
    physics: Physics = DEFAULT_PHYSICS  # the flight model: the truth's and the trackers'


@dataclass(slots=True)
class _Book:
    """Reporting state of one confirmed track."""

    track: Track
    snapshot: Snapshot
    latency_us: int
    sequence: int = 0
    last_report_us: int = 0
    last_reported_us: int = 0
    impact: GroundPoint | None = None
    launch: GroundPoint | None = None
    launch_at_us: int | None = None
    early: bool = False
    climb: Climb | None = None


@dataclass(slots=True)
class _Theatre:
    """One scenario as one nation sees it."""

    order: int
    scenario_id: str
    anchor_us: int
    data_mode: DataMode
    tracker: Tracker
    end_us: int = 0
    # sensor index -> scan time -> each object's return, resolved when the scan is processed
    detections: dict[int, dict[int, list[Echo]]] = field(default_factory=dict)
    next_scan: dict[int, int] = field(default_factory=dict)  # sensor index -> queued scan
    books: dict[int, _Book] = field(default_factory=dict)
    thrust_seen_us: dict[int, int] = field(default_factory=dict)  # track serial -> time


class NationalSimulation:
    """Deterministic simulation of one nation's sensors, tracker and reports."""

    def __init__(
        self,
        nation: Nation,
        *,
        sensors: Sequence[Sensor] | None = None,
        config: NationalConfig | None = None,
        solver: TrajectorySolver | None = None,
        record_origins: bool = False,
    ) -> None:
        self.nation = nation
        self.sensors = tuple(sensors) if sensors is not None else sensors_of(nation)
        self.config = config or NationalConfig()
        physics = self.config.physics
        self._solver = solver or functools.partial(solve_launch, physics=physics)
        self._theatres: dict[tuple[str, int], _Theatre] = {}
        self._by_order: dict[int, _Theatre] = {}
        self._orders = itertools.count()
        self._events: list[tuple[int, int, int]] = []  # (time, theatre order, sensor index)
        self._pending: list[tuple[int, int, MissileWarning]] = []
        self._emitted = itertools.count()
        self._processing_us = round(self.config.processing_latency_s * 1e6)
        self.clock_us = 0
        self.scans_processed = 0
        # The scorer's side output (``producers.origins``): off in the producer service.
        self._origins = OriginRecorder() if record_origins else None

    # -- input ---------------------------------------------------------------------
    def add_launch(self, event: LaunchEvent) -> None:
        """Fly ``event`` and queue every detection the nation's sensors will make of it.

        Detections at or before the simulation clock are too late to use and dropped.
        Raises ``sim.errors.SimError`` if the launch cannot be flown.
        """
        trajectory = self._solver(event)
        theatre = self._theatre(event)
        for index, sensor in enumerate(self.sensors):
            names = (self.nation.value, sensor.name, event.launch_id)
            rng = np.random.default_rng(seed_sequence(event.seed, *names))
            amplitude = np.random.default_rng(seed_sequence(event.seed, *names, "amplitude"))
            det = observe(
                sensor, trajectory, event.launch_time_us, theatre.anchor_us, rng, amplitude
            )
            scans = theatre.detections.setdefault(index, {})
            late = 0
            for k, t in enumerate(det.times_us.tolist()):
                if t <= self.clock_us:
                    late += 1
                    continue
                echo = Echo(det.truth[k], det.noise[k], float(det.amplitude[k]), event.launch_id)
                scans.setdefault(t, []).append(echo)
            if late:
                log.warning(
                    "%s: %d detections of %s by %s came too late",
                    self.nation,
                    late,
                    event.launch_id,
                    sensor.name,
                )
        end = event.launch_time_us + round(trajectory.flight_time_s * 1e6)
        end += round((self.config.coast_timeout_s + self.config.report_period_s) * 1e6)
        theatre.end_us = max(theatre.end_us, end)
        self._schedule(theatre, max(event.launch_time_us, self.clock_us + 1))

    def _theatre(self, event: LaunchEvent) -> _Theatre:
        anchor = event.scenario_start_us or event.launch_time_us
        theatre = self._theatres.get((event.scenario_id, anchor))
        if theatre is None:
            order = next(self._orders)
            theatre = _Theatre(
                order=order,
                scenario_id=event.scenario_id,
                anchor_us=anchor,
                data_mode=event.data_mode,
                tracker=Tracker(
                    self.config.tracker,
                    _track_ids(self.nation, event.scenario_id, anchor),
                    physics=self.config.physics,
                ),
            )
            self._theatres[(event.scenario_id, anchor)] = theatre
            self._by_order[order] = theatre
        return theatre

    def _schedule(self, theatre: _Theatre, from_us: int) -> None:
        # Launches may arrive out of time order: a sensor already queued for a later
        # scan gets an earlier one, and the later heap entry goes stale.
        for index, sensor in enumerate(self.sensors):
            times = sensor.scan_times_us(theatre.anchor_us, from_us, theatre.end_us)
            if not times.size:
                continue
            first = int(times[0])
            queued = theatre.next_scan.get(index)
            if queued is None or first < queued:
                heapq.heappush(self._events, (first, theatre.order, index))
                theatre.next_scan[index] = first

    # -- stepping ------------------------------------------------------------------
    def advance(self, until_us: int) -> list[MissileWarning]:
        """Process everything up to ``until_us``; return warnings reported by then, in order."""
        while self._events and self._events[0][0] <= until_us:
            t, order, index = heapq.heappop(self._events)
            theatre = self._by_order.get(order)
            if theatre is None or theatre.next_scan.get(index) != t:
                continue  # superseded by an earlier scan of the same sensor
            sensor = self.sensors[index]
            self._end_tracks(theatre, t)
            echoes = theatre.detections.get(index, {}).pop(t, None)
            if echoes is not None or theatre.tracker.has_tentative:
                rows = resolve(sensor.resolution, echoes) if echoes else []
                z = np.stack([d.z for d in rows]) if rows else np.zeros((0, sensor.model.dim))
                if self._origins is not None:
                    for d in rows:
                        self._origins.queue(order, index, t, d.origin)
                # A radar flags its blends (monopulse): an infrared sensor's are read as
                # point sources (docs/score.md, "Stop 53").
                mask = np.array([d.merged > 1 for d in rows], dtype=bool)
                radar = sensor.kind is MeasurementKind.RADAR
                blends = Blends(mask, sensor.blend_model) if radar and mask.any() else None
                result = theatre.tracker.scan(sensor, t, z, blends)
                self.scans_processed += 1
                if self._origins is not None:
                    self._origins.scan(order, index, t, result)
                self._after_scan(theatre, sensor, t, result)
            nxt = t + sensor.revisit_us
            if nxt <= theatre.end_us:
                heapq.heappush(self._events, (nxt, order, index))
                theatre.next_scan[index] = nxt
            else:
                del theatre.next_scan[index]
            self.clock_us = max(self.clock_us, t)
        self.clock_us = max(self.clock_us, until_us)
        for theatre in list(self._theatres.values()):
            self._end_tracks(theatre, until_us)
            if not theatre.next_scan and not theatre.tracker.tracks:
                del self._theatres[(theatre.scenario_id, theatre.anchor_us)]
                del self._by_order[theatre.order]
        out: list[MissileWarning] = []
        while self._pending and self._pending[0][0] <= until_us:
            out.append(heapq.heappop(self._pending)[2])
        return out

    def finish(self) -> list[MissileWarning]:
        """Run every queued launch to its end and return the remaining warnings."""
        return self.advance(END_OF_TIME_US)

    def origins(self) -> OriginCounts:
        """Per confirmed track, its detections' origins; empty unless ``record_origins``."""
        return {} if self._origins is None else self._origins.counts(self.nation)

    def origin_times(self) -> OriginTimes:
        """Per confirmed track, when it took a detection of what; empty unless
        ``record_origins``."""
        return {} if self._origins is None else self._origins.times(self.nation)

    @property
    def idle(self) -> bool:
        """Nothing queued: no launch in flight, no track alive, no warning unsent."""
        return not self._events and not self._pending and not self._theatres

    # -- reporting -----------------------------------------------------------------
    def _after_scan(self, theatre: _Theatre, sensor: Sensor, t: int, result: ScanResult) -> None:
        confirmed = {id(tr) for tr in result.confirmed}
        for tr, xc, pc in zip(result.updated, result.x, result.p, strict=True):
            if tr.stage is not Stage.CONFIRMED:
                continue
            if tr.boosting:
                theatre.thrust_seen_us[tr.serial] = t
            seen = theatre.thrust_seen_us.get(tr.serial)
            hold = round(self.config.boost_hold_s * 1e6)
            snap = Snapshot(
                t,
                xc,
                pc,
                tr.boost_probability,
                seen is not None and t - seen <= hold,
                tr.drag,
                theatre.tracker.drag_noise(tr),
            )
            book = theatre.books.get(tr.serial)
            if book is None and not self._observable(tr, pc):
                continue
            if book is None or id(tr) in confirmed:
                book = _Book(tr, snap, sensor.latency_us)
                theatre.books[tr.serial] = book
                book.climb = Climb.start(snap)
                if book.climb is not None:
                    book.launch, book.early = book.climb.launch(), True
                self._report(theatre, book, TrackStatus.INITIAL)
                continue
            book.snapshot = snap
            book.latency_us = sensor.latency_us
            if book.climb is not None:
                book.climb.add(snap)
            period = round(self.config.report_period_s * 1e6)
            if t - book.last_report_us >= period:
                self._report(theatre, book, TrackStatus.UPDATE)

    def _observable(self, track: Track, p: FloatArray) -> bool:
        # A track confirmed on infrared lines of sight alone knows where its plume is
        # but hardly where it goes (a velocity of +-1 km/s): reported so, it fits any
        # missile of a salvo nearby, and seconds later it may be on another plume. It is
        # first reported once its own data have fixed its velocity as well as a radar's
        # track at confirmation (a radar's track meets it then or a scan later; stereo
        # infrared takes several more scans).
        # Nor before its estimate has been a missile's (``tracking.plausibility.plausible``)
        # over its last few updates, or all of them for a track that has had fewer: a
        # track carried by a ripple's blended plumes swings in and out of that, and its
        # first report would join it to whichever missile it was near (docs/score.md,
        # "Stop 31": the half sigma keeps a radar track whose vertical speed is not
        # yet known from being held).
        if track.plausible < min(self.config.report_plausible_updates, track.updates - 1):
            return False
        # Nor while its newest detections fit it worse than one object's would: a track
        # that hopped from one missile's detections to another's (``consistent``).
        cfg = self.config
        if not consistent(track, cfg.report_consistent_updates, cfg.report_consistent_probability):
            return False
        if not steady(track, cfg.report_consistent_updates, round(cfg.report_max_gap_s * 1e6)):
            return False
        limit = self.config.report_velocity_sigma_mps
        return float(np.trace(p[3:6, 3:6])) <= 3.0 * limit * limit

    def _report(self, theatre: _Theatre, book: _Book, status: TrackStatus) -> None:
        snap = book.snapshot
        book.impact = impact_point(snap, air=self.config.physics.air)
        refresh = round(self.config.launch_refresh_s * 1e6)
        stale = book.launch_at_us is None or snap.observed_us - book.launch_at_us >= refresh
        if book.climb is not None:
            book.launch = book.climb.launch()
        elif not book.early and not snap.boosting and stale:
            book.launch = back_propagated_launch(snap)
            book.launch_at_us = snap.observed_us
        book.last_report_us = snap.observed_us
        reported = snap.observed_us + book.latency_us + self._processing_us
        self._emit(theatre, book, status, reported)

    def _emit(self, theatre: _Theatre, book: _Book, status: TrackStatus, reported: int) -> None:
        # A track's reports leave in sequence order even when a slow sensor (SBIRS)
        # made the previous one: a report never overtakes the one before it.
        reported = max(reported, book.last_reported_us)
        book.last_reported_us = reported
        book.sequence += 1
        ctx = WarningContext(
            self.nation,
            theatre.scenario_id,
            theatre.data_mode,
            self.config.classification,
            self.config.releasable_to,
        )
        warning = build_warning(
            ctx,
            track_id=book.track.track_id,
            sequence=book.sequence,
            status=status,
            snap=book.snapshot,
            reported_us=reported,
            sensors=tuple(sorted(book.track.sensors)),
            launch=book.launch,
            impact=book.impact,
        )
        heapq.heappush(self._pending, (reported, next(self._emitted), warning))

    def _deadline(self, book: _Book) -> tuple[int, TrackStatus]:
        last = book.track.last_update_us
        impact = book.impact
        if (
            impact is not None
            and not book.snapshot.boosting
            and impact.time_us - last <= round(self.config.coast_to_impact_s * 1e6)
        ):
            return max(impact.time_us, last), TrackStatus.IMPACTED
        return last + round(self.config.coast_timeout_s * 1e6), TrackStatus.LOST

    def _end_tracks(self, theatre: _Theatre, t: int) -> None:
        self._drop_unreported(theatre, t)
        if not theatre.books:
            return
        due = []
        for serial, book in theatre.books.items():
            when, status = self._deadline(book)
            if when <= t:
                due.append((when, book.track.track_id, serial, status))
        for when, _, serial, status in sorted(due):
            book = theatre.books.pop(serial)
            theatre.thrust_seen_us.pop(serial, None)
            theatre.tracker.drop(book.track)
            self._emit(theatre, book, status, when + self._processing_us)

    def _drop_unreported(self, theatre: _Theatre, t: int) -> None:
        # A confirmed track whose velocity never became known was never reported, so no
        # deadline ends it: it ends silently once it has coasted as long as a lost one.
        timeout = round(self.config.coast_timeout_s * 1e6)
        for tr in theatre.tracker.tracks:
            if (
                tr.stage is Stage.CONFIRMED
                and tr.serial not in theatre.books
                and t - tr.last_update_us >= timeout
            ):
                theatre.tracker.drop(tr)


def simulate_nation(
    launches: Iterable[LaunchEvent],
    nation: Nation,
    *,
    config: NationalConfig | None = None,
    sensors: Sequence[Sensor] | None = None,
    solver: TrajectorySolver | None = None,
    origins: OriginCounts | None = None,
    origin_times: OriginTimes | None = None,
) -> list[MissileWarning]:
    """Every warning ``nation`` publishes for ``launches``, in reporting order; the
    detection origins of its tracks are added to ``origins`` (counts) and
    ``origin_times`` (in time order) if given."""
    recording = origins is not None or origin_times is not None
    sim = NationalSimulation(
        nation, sensors=sensors, config=config, solver=solver, record_origins=recording
    )
    for event in sorted(launches, key=lambda e: (e.launch_time_us, e.launch_id)):
        sim.add_launch(event)
    warnings = sim.finish()
    if origins is not None:
        origins.update(sim.origins())
    if origin_times is not None:
        origin_times.update(sim.origin_times())
    return warnings


def simulate_all(
    launches: Iterable[LaunchEvent],
    *,
    config: NationalConfig | None = None,
    solver: TrajectorySolver | None = None,
    origins: OriginCounts | None = None,
    origin_times: OriginTimes | None = None,
) -> dict[Nation, list[MissileWarning]]:
    """Warnings of the three nations for the same launches; ``origins`` and
    ``origin_times``, if given, get the detection origins of every national track (the
    scorer's side output, never a warning)."""
    events = list(launches)
    return {
        n: simulate_nation(
            events, n, config=config, solver=solver, origins=origins, origin_times=origin_times
        )
        for n in NATIONS
    }
