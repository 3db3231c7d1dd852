"""A national multi-target tracker: one nation fuses its own sensors' detections into tracks.

Per sensor scan (:meth:`Tracker.scan`):

1. predict every live track to the scan time — an interacting-multiple-model (IMM)
   filter per track with two EKFs on the same ECEF state: a *boost* model (ballistic
   dynamics plus an estimated thrust along the velocity as a known input, and large
   white-acceleration noise for what that estimate misses) and a
   *ballistic* model (nearly noise-free free flight); mode probabilities mix them.
   In the atmosphere model both carry the body's drag scale as a 7th state (the
   ballistic-coefficient filter: :func:`tracking.ekf.propagate_many`), which every
   update on the way down corrects through its correlation with the kinematics;
2. gate detections against each track's predicted measurement (Mahalanobis distance
   under the innovation covariance, chi-square gate) and assign them by global
   nearest neighbour (``scipy.optimize.linear_sum_assignment`` on d² + ln|S|); what
   no track took then goes, in a second pass, to the tracks left without a detection
   through any model however unlikely (a coasting track whose next stage ignites; in
   vacuum only a climbing one, :meth:`Tracker._revivable`);
   a confirmed track whose detection another track could have taken about as well
   (:func:`tracking.ambiguity.ambiguous`: closely spaced objects inside one sensor's error) coasts
   through the scan instead, and that detection starts no track;
3. update the assigned tracks (both models, Joseph-form EKF; mode probabilities by
   the models' likelihoods — an infrared plume detection is itself evidence of
   thrust and weighs the boost model; a track climbing low keeps the boost model at
   ``low_climb_boost_floor`` or more); when other detections share a track's gate,
   the covariance also takes the spread of their innovations about the chosen one
   (``ekf.association_spread``), so that a track among closely spaced objects does
   not claim more than its detections can tell; a detection the radar flags as a blend
   of unresolved objects is gated and read with its resolution cell as added noise
   (:mod:`tracking.blends`), and a track it starts begins as wide;
4. start a tentative track from every unassigned detection: a radar detection is
   inverted to a position with a large velocity prior, except along the line of
   sight where a Doppler radar measured the range rate; an infrared detection (no
   range) to a point on the line of sight at a nominal boost altitude, with that
   altitude's uncertainty along the line of sight;
5. count M-of-N on tentative tracks over the scans whose coverage held them (a plume
   sensor's only for a track that thrusts), and confirm or drop them.

Each track keeps its newest updates' normalised innovations squared, which the caller
reads (:func:`tracking.plausibility.consistent`) before reporting it.

The tracker sees only (sensor, time, measurements): never a truth identifier. Ending
confirmed tracks (lost, impacted) is the caller's decision, since it depends on the
predicted impact the caller computes for its reports.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, cast

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

# chdtri(k, 1 - p) is chi2.ppf(p, k) without importing scipy.stats (0.7 s per process).
from scipy.special import chdtri

from measurement import models as measurement_models
from measurement.models import MeasurementKind, MeasurementModel
from tracking import ambiguity, ekf
from tracking.blends import Blends, Reading, read
from tracking.drag import DRAG_SPREAD
from tracking.plausibility import plausible
from tracking.priors import line_of_sight_prior, radial_velocity_prior
from trilink.air import height_rows
from trilink.geodesy import FloatArray, ecef_to_geodetic
from trilink.physics import DEFAULT_PHYSICS, Physics

BoolArray = NDArray[np.bool_]
BOOST, BALLISTIC = 0, 1
_BIG = ambiguity.UNGATED
MODE_FLOOR = 1e-15
GATE_MODE_PROBABILITY = 1e-3  # a model this unlikely does not widen the gate


class SensorLike(Protocol):
    """What the tracker needs of a sensor (``sim.sensors.Sensor`` satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> MeasurementModel: ...

    def covers(self, r: FloatArray, boosting: BoolArray | None = None) -> BoolArray: ...


class Stage(StrEnum):
    TENTATIVE = "TENTATIVE"
    CONFIRMED = "CONFIRMED"
    DROPPED = "DROPPED"


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Filter and track-management tuning (SI units)."""

    # m²/s³: thrust is unmodelled, ~140 m/s² of white acceleration per second. Narrower
    # (5,000), a track fed only by infrared angles lags its thrusting missile, and in a
    # ripple takes the next missile's plume; a distant radar that cannot see thrust
    # within a scan now sees it in its range rate, so the boost model no longer loses to
    # the ballistic one there (the reason it was narrowed).
    q_boost: float = 20000.0
    q_ballistic: float = 1e-7  # m²/s³: free flight is modelled exactly (J2, rotating frame)
    boost_end_rate: float = 1.0 / 40.0  # 1/s: mean boost phase ~40 s
    boost_start_rate: float = 0.0  # 1/s: no switch into boost by the prior: see _revive
    # The least probability of the boost model in a track that climbs below
    # ``low_climb_ceiling_m``: a missile there is still on its motor whatever the
    # likelihoods say. Over a new track's first scans free flight fits a boost as well
    # as thrust does; a filter sure of free flight leaves the boost model out of its gate
    # (``GATE_MODE_PROBABILITY``), falls behind its accelerating missile and loses it to
    # a second track (docs/score.md, "Stop 49"). A floor and not a switching rate: a
    # switch would re-seed the boost model from the lagging free-flight state at every
    # scan, where a floor leaves it its own. 0 turns it off.
    low_climb_boost_floor: float = 0.02
    low_climb_ceiling_m: float = 20_000.0
    ir_ballistic_likelihood: float = 0.01  # P(plume detection | not thrusting)
    gate_probability: float = 0.9995
    confirm_m: int = 3
    confirm_n: int = 5
    init_speed_sigma_low: float = 1500.0  # m/s, first detection below init_low_alt_m
    init_speed_sigma_high: float = 4500.0  # m/s, first detection higher up (mid-course)
    init_low_alt_m: float = 60_000.0
    ir_init_alt_m: float = 20_000.0
    ir_init_alt_sigma_m: float = 12_000.0
    ir_init_speed_sigma: float = 1500.0
    # Add to a track's covariance what choosing one of several detections in its gate
    # leaves uncertain (``ekf.association_spread``): closely spaced objects.
    association_spread: bool = True
    # Relinearisations of an update whose first linearisation was too coarse
    # (``ekf.iterate_update``; 0: the plain EKF).
    update_iterations: int = 3
    # Thrust as an estimated input of the boost model (see ``Tracker._estimate_thrust``):
    # the smoothing gain of the thrust seen at each update, and the largest thrust
    # acceleration believed (m/s²).
    thrust_gain: float = 0.5
    max_thrust: float = 150.0
    # A confirmed track whose detection another confirmed track could have taken about
    # as well (swapping the two costs less than this, in d² + ln|S| units: the swap is
    # at least exp(-threshold / 2) = 5% as likely) coasts through the scan instead of
    # taking it (``tracking.ambiguity``), unless it has gone ``ambiguity_hold_s`` without an
    # update (two scans of most sensors: a track must not starve). 0 turns it off.
    ambiguity_threshold: float = 6.0
    ambiguity_hold_s: float = 4.0
    # Estimate each body's drag as a scale of the nominal body's, a 7th state of every
    # filter (the field's ballistic-coefficient filter; atmosphere model only: see
    # ``tracking.ekf.propagate_many``). Against the scalar estimate it replaced, which
    # read the velocity each update corrected as the drag's whole miss, the held-out
    # set in the atmosphere passes 93/120 against 81 and a Scud-C ripple's raid count
    # is right in every seed (docs/score.md, "Stop 34").
    # - drag_sigma: the prior sigma of the scale (the nominal drag's spread);
    # - drag_floor: the error of the trackers' air itself, as a sigma of the scale: their
    #   exponential air is 15-26% thin at 5-20 km and 15-19% dense at 40-50 km against
    #   the standard atmosphere, so no one scale fits a whole descent;
    # - drag_drift: how fast the scale may change (variance per s: 0.4 over a 100 s
    #   descent), for the same reason;
    # - drag_bounds: the scales believed at all.
    estimate_drag: bool = True
    drag_sigma: float = DRAG_SPREAD
    drag_floor: float = 0.25
    drag_drift: float = 4e-3
    drag_bounds: tuple[float, float] = (0.2, 5.0)


@dataclass(slots=True)
class Track:
    """A local track. Mutable: owned and advanced by one :class:`Tracker`."""

    serial: int
    x: FloatArray  # (2, 6) per-model states (boost, ballistic); (2, 7) with the drag scale
    p: FloatArray  # (2, 6, 6) or (2, 7, 7)
    mu: FloatArray  # (2,) model probabilities
    epoch_us: int
    created_us: int
    last_update_us: int
    last_sensor: str
    stage: Stage = Stage.TENTATIVE
    track_id: str = ""
    hits: int = 1
    updates: int = 1
    opportunities: deque[bool] = field(default_factory=lambda: deque([True]))
    sensors: set[str] = field(default_factory=set)
    confirmed_us: int | None = None
    confirm_state: tuple[FloatArray, FloatArray, float] | None = None  # x, P, mu_boost
    thrust: float = 0.0  # m/s² along the velocity: the boost model's estimated input
    # Updates in a row after which the estimate could be a missile's (:func:`plausible`).
    plausible: int = 0
    # (d², measurement dimension) of its newest updates' detections under the model that
    # fitted each best: see :func:`consistent`.
    innovations: deque[tuple[float, int]] = field(
        default_factory=lambda: deque(maxlen=INNOVATION_MEMORY)
    )
    # Times of its first detection and newest updates (µs): see :func:`steady`.
    detected_us: deque[int] = field(default_factory=lambda: deque(maxlen=INNOVATION_MEMORY))
    # How much of the nominal body's drag the missile has, and that estimate's variance:
    # the combined drag state after the newest update; None without one.
    drag: float = 1.0
    drag_var: float | None = None

    @property
    def boost_probability(self) -> float:
        return float(self.mu[BOOST])

    @property
    def boosting(self) -> bool:
        return self.boost_probability > 0.5

    def estimate(self) -> tuple[FloatArray, FloatArray]:
        """Moment-matched state and covariance of the model mixture."""
        x, p = combine(self.x[None], self.p[None], self.mu[None])
        return x[0, 0:6], p[0, 0:6, 0:6]


@dataclass(slots=True)
class ScanResult:
    """What one scan changed: updated, newly confirmed and dropped tracks.

    ``rows`` is the detection row (index into the scan's ``z``) each updated track
    took and ``started`` the tracks initiated with their rows: a scorer that knows
    what caused each row can tell what each track followed.
    """

    updated: list[Track] = field(default_factory=list)
    x: FloatArray = field(default_factory=lambda: np.zeros((0, 6)))  # combined, per updated
    p: FloatArray = field(default_factory=lambda: np.zeros((0, 6, 6)))
    confirmed: list[Track] = field(default_factory=list)
    dropped: list[Track] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    started: list[tuple[Track, int]] = field(default_factory=list)


def combine(x: FloatArray, p: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-match stacked two-model estimates (n, 2, 6), (n, 2, 6, 6), (n, 2)."""
    xc = np.einsum("nj,njk->nk", mu, x)
    d = x - xc[:, None, :]
    pc = np.einsum("nj,njkl->nkl", mu, p) + np.einsum("nj,njk,njl->nkl", mu, d, d)
    return xc, pc


INNOVATION_MEMORY = 8
"""How many of a track's newest innovations it keeps for
:func:`tracking.plausibility.consistent`."""


def _mode_mean(mu: FloatArray, xs: FloatArray) -> FloatArray:
    # The kinematic state (n, 6) of each track's models (n, m, >= 6) weighted by ``mu``.
    return cast(FloatArray, np.einsum("nj,njk->nk", mu, xs[:, :, 0:6]))


def _climbing(x: FloatArray) -> BoolArray:
    # Whether each state (n, 6) moves away from the Earth's centre.
    return cast(BoolArray, np.einsum("ij,ij->i", x[:, 0:3], x[:, 3:6]) > 0.0)


def _climbing_below(x: FloatArray, ceiling_m: float) -> BoolArray:
    # Whether each state (n, 6) climbs below ``ceiling_m`` above the ellipsoid.
    return _climbing(x) & (height_rows(x[:, 0:3].T) < ceiling_m)


class Tracker:
    """Multi-target tracker for one nation's sensors (see the module docstring)."""

    def __init__(
        self,
        config: TrackerConfig,
        new_track_id: Callable[[], str],
        *,
        physics: Physics = DEFAULT_PHYSICS,
    ) -> None:
        self.config = config
        self._air = physics.air  # whether the filters fly the nominal drag
        self._drag = physics.air and self.config.estimate_drag  # and estimate the body
        self._dim = 7 if self._drag else 6  # the body's drag scale as a 7th state
        self._new_track_id = new_track_id
        self._serial = 0
        self.tracks: list[Track] = []
        self._gate = {d: float(chdtri(d, 1.0 - config.gate_probability)) for d in (2, 3, 4)}
        self._q_rows: FloatArray = np.zeros(0)
        # The drag error the trackers' air leaves once the body is estimated.
        self._air_noise = config.drag_floor**2 / DRAG_SPREAD**2

    @property
    def has_tentative(self) -> bool:
        return any(t.stage is Stage.TENTATIVE for t in self.tracks)

    def drop(self, track: Track) -> None:
        """Stop tracking (the caller decided the track is lost or impacted)."""
        track.stage = Stage.DROPPED
        self.tracks = [t for t in self.tracks if t is not track]

    # -- prediction ----------------------------------------------------------------
    def _transition(self, dt: FloatArray) -> FloatArray:
        c = self.config
        leave_boost = 1.0 - np.exp(-c.boost_end_rate * dt)
        enter_boost = 1.0 - np.exp(-c.boost_start_rate * dt)
        pi = np.empty((dt.size, 2, 2))
        pi[:, 0, 0] = 1.0 - leave_boost
        pi[:, 0, 1] = leave_boost
        pi[:, 1, 0] = enter_boost
        pi[:, 1, 1] = 1.0 - enter_boost
        return pi

    def predict(self, tracks: Sequence[Track], t_us: int) -> None:
        """IMM mixing and propagation of ``tracks`` to ``t_us`` (committed to the tracks)."""
        if tracks:
            self._predict(tracks, t_us)

    def _predict(
        self, tracks: Sequence[Track], t_us: int
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        # Returns the stacked predictions (n, 2, 6), (n, 2, 6, 6), (n, 2) so the scan
        # works on them without gathering the tracks' arrays again.
        n = len(tracks)
        dt = np.array([(t_us - tr.epoch_us) / 1e6 for tr in tracks])
        x = np.stack([tr.x for tr in tracks])
        p = np.stack([tr.p for tr in tracks])
        mu = np.stack([tr.mu for tr in tracks])
        pi = self._transition(dt)
        c = np.einsum("nij,ni->nj", pi, mu)
        w = pi * mu[:, :, None] / c[:, None, :]
        x0 = np.einsum("nij,nik->njk", w, x)
        spread = x[:, :, None, :] - x0[:, None, :, :]
        p0 = np.einsum("nij,nikl->njkl", w, p) + np.einsum("nij,nijk,nijl->njkl", w, spread, spread)
        thrust = np.zeros((n, 2))
        thrust[:, BOOST] = [tr.thrust for tr in tracks]
        d = self._dim
        xs, ps = ekf.propagate_many(
            x0.reshape(2 * n, d),
            p0.reshape(2 * n, d, d),
            np.repeat(dt, 2),
            self._q[: 2 * n],
            air=self._air,
            thrust=thrust.reshape(2 * n),
            # The body's drag is in the state: the noise left is the trackers' air's.
            drag_noise=np.full(2 * n, self._air_noise) if self._drag else None,
            body_drift=self.config.drag_drift,
        )
        xs = xs.reshape(n, 2, d)
        ps = ps.reshape(n, 2, d, d)
        for i, tr in enumerate(tracks):
            tr.x, tr.p, tr.mu, tr.epoch_us = xs[i], ps[i], c[i], t_us
        return xs, ps, c

    @property
    def _q(self) -> FloatArray:
        # Spectral densities of the (boost, ballistic) rows, long enough for every track.
        need = 2 * len(self.tracks)
        if self._q_rows.shape[0] < need:
            self._q_rows = np.tile([self.config.q_boost, self.config.q_ballistic], 2 * need)
        return self._q_rows

    # -- one scan ------------------------------------------------------------------
    def scan(
        self, sensor: SensorLike, t_us: int, z: FloatArray, blends: Blends | None = None
    ) -> ScanResult:
        """Process one scan of ``sensor`` at ``t_us`` with detections ``z`` (m, dim);
        ``blends``: which of them blend unresolved objects (:mod:`tracking.blends`)."""
        result = ScanResult()
        model = sensor.model
        z = np.asarray(z, dtype=float).reshape(-1, model.dim)
        tracks = list(self.tracks)
        if not len(z) and not self.has_tentative:
            return result
        assigned: dict[int, int] = {}
        held: dict[int, int] = {}
        if tracks:
            x, p, mu = self._predict(tracks, t_us)
            if len(z):
                d = self._dim
                xs, ps = x.reshape(-1, d), p.reshape(-1, d, d)
                pred = ekf.Predicted.of(model, xs, ps)
                nu = measurement_models.innovation(
                    model, z[None, :, :], pred.z_hat[:, None, :]
                )  # (2n, m, dim)
                reading = read(pred, nu, xs, ps, blends)
                assigned, cost = self._associate(model, reading.logdet, mu, reading.d2)
                held = self._hold_ambiguous(model.kind, tracks, t_us, cost, assigned)
                revivable = self._revivable(x, mu)
                assigned.update(self._revive(model, reading, mu, assigned, held, revivable))
                if assigned:
                    self._update(
                        sensor, t_us, tracks, assigned, x, p, mu, pred, z, nu, reading, blends,
                        result,
                    )  # fmt: skip
        self._count_opportunities(sensor, tracks, set(assigned), result)
        used = set(assigned.values()) | set(held.values())
        for j in range(len(z)):
            if j not in used:
                read_as = blends.model if blends is not None and blends.mask[j] else model
                result.started.append((self._initiate(sensor, t_us, z[j], read_as), j))
        return result

    def _revivable(self, x: FloatArray, mu: FloatArray) -> BoolArray:
        # Which tracks the second pass may give a detection their likely model does not
        # expect: a climbing one (a stage ignites, or it was judged coasting while it
        # thrust), and in the atmosphere a falling one too (the KN-23's pull-up, a
        # tumbling body's drag). In vacuum nothing changes a falling missile's path: a
        # detection far from its free flight is another object's, and the boost
        # model's wide gate took a battery's neighbours so (docs/score.md, "Stop 49").
        n = x.shape[0]
        if self._air:
            return np.ones(n, dtype=bool)
        return _climbing(_mode_mean(mu, x))

    def _revive(
        self,
        model: MeasurementModel,
        reading: Reading,
        mu: FloatArray,
        assigned: dict[int, int],
        held: dict[int, int],
        revivable: BoolArray,
    ) -> dict[int, int]:
        # A coasting track whose next stage ignites (or that was judged coasting while it
        # still thrust) leaves its ballistic gate: what no track took may go to the tracks
        # left without a detection through any model, however unlikely, instead of
        # starting a second track on the same missile. A second pass, so that an unlikely
        # model's wide gate never takes a detection a plausible one expects.
        rows = [
            i for i in range(mu.shape[0]) if i not in assigned and i not in held and revivable[i]
        ]
        d2 = reading.d2
        cols = sorted(set(range(d2.shape[1])) - set(assigned.values()) - set(held.values()))
        if not rows or not cols:
            return {}
        idx = np.array([[2 * i, 2 * i + 1] for i in rows]).reshape(-1)
        pairs = np.ix_(idx, np.array(cols))
        found, _ = self._associate(model, reading.logdet[pairs], mu[rows], d2[pairs], floor=0.0)
        return {rows[i]: cols[j] for i, j in found.items()}

    def _associate(
        self,
        model: MeasurementModel,
        logdet: FloatArray,
        mu: FloatArray,
        d2: FloatArray,
        floor: float = GATE_MODE_PROBABILITY,
    ) -> tuple[dict[int, int], FloatArray]:
        # Gate against each plausible model's prediction: a detection belongs to a track
        # if either model (boosting or coasting) expects it. The assignment cost is the best
        # model's -2 log(mu N(nu; 0, S)), constants dropped.
        n = mu.shape[0]
        mu = mu.reshape(2 * n)
        gated = (d2 < self._gate[model.dim]) & (mu >= floor)[:, None]
        if not gated.any():
            return {}, np.full((n, d2.shape[1]), _BIG)
        mode_cost = np.where(gated, d2 + (logdet - 2.0 * np.log(mu)[:, None]), _BIG)
        mode_cost = mode_cost.reshape(n, 2, -1)
        inside = cast(BoolArray, gated.reshape(n, 2, -1).any(axis=1))
        cost = mode_cost.min(axis=1)
        rows, cols = linear_sum_assignment(cost)
        found = {int(i): int(j) for i, j in zip(rows, cols, strict=True) if inside[i, j]}
        return found, cost

    def _hold_ambiguous(
        self,
        kind: MeasurementKind,
        tracks: list[Track],
        t_us: int,
        cost: FloatArray,
        assigned: dict[int, int],
    ) -> dict[int, int]:
        # The confirmed tracks whose detection is ambiguous coast (``tracking.ambiguity``),
        # if updated within ``ambiguity_hold_s``. Not on a radar's detection of a
        # boosting track: its thrust is only estimated, and a scan without an update
        # leaves it further from its missile at the next scan, which is then more
        # ambiguous still; a radar's range soon tells the objects apart anyway. A plume
        # sensor measures no range: a boosting track it feeds alone keeps a wrong
        # plume's pull until another sensor sees it.
        cfg = self.config
        if (
            cfg.ambiguity_threshold <= 0.0
            or not assigned
            or not ambiguity.contested(cost, assigned)
        ):
            return {}
        hold_us = cfg.ambiguity_hold_s * 1e6
        confirmed = [i for i, tr in enumerate(tracks) if tr.stage is Stage.CONFIRMED]
        may_hold = [
            i
            for i in confirmed
            if t_us - tracks[i].last_update_us < hold_us
            and (kind is MeasurementKind.IR or not tracks[i].boosting)
        ]
        return ambiguity.hold(cost, assigned, cfg.ambiguity_threshold, confirmed, may_hold)

    def _update(
        self,
        sensor: SensorLike,
        t_us: int,
        tracks: list[Track],
        assigned: dict[int, int],
        x: FloatArray,
        p: FloatArray,
        mu: FloatArray,
        pred: ekf.Predicted,
        z: FloatArray,
        nu: FloatArray,
        reading: Reading,
        blends: Blends | None,
        result: ScanResult,
    ) -> None:
        # The association already computed every innovation and its covariance: the
        # update reuses them for the assigned (track, detection) pairs, both models.
        idx = np.fromiter(assigned, dtype=np.intp, count=len(assigned))
        det = np.fromiter(assigned.values(), dtype=np.intp, count=len(assigned))
        n = len(idx)
        d = self._dim
        d2 = reading.d2
        rows = np.stack([2 * idx, 2 * idx + 1], axis=1).reshape(-1)
        cols = np.repeat(det, 2)
        xr, pr = x.reshape(-1, d)[rows], p.reshape(-1, d, d)[rows]
        pair_d2, pair_logdet = reading.pairs(rows, cols)
        up = self._kalman(
            sensor.model, xr, pr, pred.jac[rows], pred.s_inv[rows], nu[rows, cols], pair_d2,
            pair_logdet, z[cols],
        )  # fmt: skip
        if blends is not None and reading.blend is not None and blends.mask[cols].any():
            # Blends are read with the cell's noise: their pairs updated again so.
            b = np.flatnonzero(blends.mask[cols])
            wide = self._kalman(
                blends.model, xr[b], pr[b], pred.jac[rows[b]], reading.blend.s_inv[rows[b]],
                nu[rows[b], cols[b]], pair_d2[b], pair_logdet[b], z[cols[b]],
            )  # fmt: skip
            up.x[b], up.p[b] = wide.x, wide.p
            up.log_likelihood[b] = wide.log_likelihood
        p_new = up.p
        if self.config.association_spread:
            confirmed = np.repeat([tracks[i].stage is Stage.CONFIRMED for i in idx], 2)
            p_new = p_new + confirmed[:, None, None] * ekf.association_spread(
                p.reshape(-1, d, d)[rows],
                pred.jac[rows],
                pred.s_inv[rows],
                nu[rows],
                d2[rows],
                cols,
                self._gate[sensor.model.dim],
            )
        loglik = up.log_likelihood.reshape(n, 2)
        if sensor.model.kind is MeasurementKind.IR:
            loglik[:, BALLISTIC] += math.log(self.config.ir_ballistic_likelihood)
        logw = np.log(np.maximum(mu[idx], 1e-300)) + loglik
        logw -= logw.max(axis=1, keepdims=True)
        w = np.exp(logw)
        w /= w.sum(axis=1, keepdims=True)
        # Keep both models alive: a model at probability 0 could never come back.
        w = np.clip(w, MODE_FLOOR, 1.0)
        w /= w.sum(axis=1, keepdims=True)
        xs = up.x.reshape(n, 2, d)
        w = self._floor_boost(xs, w)
        ps = p_new.reshape(n, 2, d, d)
        updated = [tracks[i] for i in assigned]
        if self._drag:
            lo, hi = self.config.drag_bounds
            xs[:, :, 6] = np.clip(xs[:, :, 6], lo, hi)
        xc, pc = combine(xs, ps, w)
        if self._drag:
            for i, tr in enumerate(updated):
                tr.drag, tr.drag_var = float(xc[i, 6]), float(pc[i, 6, 6])
            xc, pc = xc[:, 0:6], pc[:, 0:6, 0:6]
        self._estimate_thrust(updated, t_us, x[idx, BALLISTIC, 3:6], xc[:, 3:6])
        missile_like = plausible(xc, pc, w[:, BOOST])
        fit = d2[rows, cols].reshape(n, 2).min(axis=1).tolist()
        dim = sensor.model.dim
        for i, tr in enumerate(updated):
            tr.innovations.append((fit[i], dim))
            tr.detected_us.append(t_us)
            tr.x, tr.p, tr.mu = xs[i], ps[i], w[i]
            tr.plausible = tr.plausible + 1 if missile_like[i] else 0
            tr.last_update_us = t_us
            tr.last_sensor = sensor.name
            tr.hits += 1
            tr.updates += 1
            tr.sensors.add(sensor.name)
        result.updated = updated
        result.rows = det.tolist()
        result.x, result.p = xc, pc

    def _kalman(
        self,
        model: MeasurementModel,
        x: FloatArray,
        p: FloatArray,
        jac: FloatArray,
        s_inv: FloatArray,
        nu: FloatArray,
        d2: FloatArray,
        logdet: FloatArray,
        z: FloatArray,
    ) -> ekf.Update:
        up = ekf.kalman_update_predicted(model, x, p, jac, s_inv, nu, d2, logdet)
        if self.config.update_iterations:
            up = ekf.iterate_update(model, x, p, z, up, self.config.update_iterations)
        return up

    def _floor_boost(self, xs: FloatArray, w: FloatArray) -> FloatArray:
        # See ``TrackerConfig.low_climb_boost_floor``.
        floor = self.config.low_climb_boost_floor
        if floor <= 0.0:
            return w
        low = _climbing_below(_mode_mean(w, xs), self.config.low_climb_ceiling_m)
        low &= w[:, BOOST] < floor
        if low.any():
            w = w.copy()
            w[low, BOOST] = floor
            w[low, BALLISTIC] = 1.0 - floor
        return w

    def _estimate_thrust(
        self, tracks: list[Track], t_us: int, v_coast: FloatArray, v_post: FloatArray
    ) -> None:
        # Input estimation for the boost model: a thrusting missile accelerates along its
        # velocity, which white noise alone follows with a lag (the estimate trails the
        # missile, and in a ripple the missile launched next, lower on the same path,
        # fits that lagging prediction better than its own). What gravity does not
        # explain of the velocity change since the last update (the updated estimate
        # against the free-flight model's prediction, along the velocity) is the
        # thrust seen; the boost model flies a smoothed average of it. A coasting
        # missile shows none: the estimate decays to zero.
        cfg = self.config
        if cfg.thrust_gain <= 0.0:
            return
        speed = np.maximum(np.linalg.norm(v_post, axis=1), 1.0)
        along = np.einsum("ij,ij->i", v_post - v_coast, v_post) / speed
        for k, tr in enumerate(tracks):
            since_s = (t_us - tr.last_update_us) / 1e6
            # Not on a new track's first updates: they settle its velocity, not thrust.
            if since_s > 0.0 and tr.updates >= cfg.confirm_m:
                seen = min(max(float(along[k]) / since_s, 0.0), cfg.max_thrust)
                tr.thrust += cfg.thrust_gain * (seen - tr.thrust)

    def drag_noise(self, track: Track) -> float:
        """How much of the nominal drag error's noise ``track``'s body estimate leaves."""
        cfg = self.config
        if track.drag_var is None:
            return 1.0
        return max(track.drag_var, cfg.drag_floor**2) / DRAG_SPREAD**2

    def _count_opportunities(
        self, sensor: SensorLike, tracks: list[Track], hit: set[int], result: ScanResult
    ) -> None:
        cfg = self.config
        tentative = [i for i, t in enumerate(tracks) if t.stage is Stage.TENTATIVE]
        if not tentative:
            return
        positions = np.stack([tracks[i].estimate()[0][0:3] for i in tentative])
        # A plume sensor owes a detection only to a track that thrusts: counting its
        # scans as misses of a coasting track would drop every track it cannot see.
        covered = sensor.covers(positions, np.array([tracks[i].boosting for i in tentative]))
        for k, i in enumerate(tentative):
            tr = tracks[i]
            if i not in hit and not covered[k]:
                continue
            tr.opportunities.append(i in hit)
            hits = sum(tr.opportunities)
            if hits >= cfg.confirm_m:
                tr.stage = Stage.CONFIRMED
                tr.track_id = self._new_track_id()
                tr.confirmed_us = tr.last_update_us
                xc, pc = tr.estimate()
                tr.confirm_state = (xc, pc, tr.boost_probability)
                result.confirmed.append(tr)
            elif hits + cfg.confirm_n - len(tr.opportunities) < cfg.confirm_m:
                self.drop(tr)
                result.dropped.append(tr)

    # -- initiation ----------------------------------------------------------------
    def _initiate(
        self, sensor: SensorLike, t_us: int, z: FloatArray, model: MeasurementModel
    ) -> Track:
        # ``model``: the sensor's, or the wider one its blends are read with.
        cfg = self.config
        if model.kind is MeasurementKind.RADAR:
            pos, pcov = measurement_models.radar_position(model, z[None, :])
            r, prr = pos[0], pcov[0]
            _, _, alt = ecef_to_geodetic(r)
            low = alt < cfg.init_low_alt_m
            speed_sigma = cfg.init_speed_sigma_low if low else cfg.init_speed_sigma_high
            v, pvv = radial_velocity_prior(model, r, z, speed_sigma)
            boost_prior = 0.5
        else:
            r, prr = line_of_sight_prior(model, z, cfg.ir_init_alt_m, cfg.ir_init_alt_sigma_m)
            v, pvv = np.zeros(3), np.eye(3) * cfg.ir_init_speed_sigma**2
            boost_prior = 0.9  # a plume is thrust
        x = np.concatenate([r, v, [1.0]])[: self._dim]
        p = np.zeros((self._dim, self._dim))
        p[0:3, 0:3] = prr
        p[3:6, 3:6] = pvv
        if self._drag:
            p[6, 6] = cfg.drag_sigma**2
        self._serial += 1
        track = Track(
            serial=self._serial,
            x=np.stack([x, x]),
            p=np.stack([p, p]),
            mu=np.array([boost_prior, 1.0 - boost_prior]),
            epoch_us=t_us,
            created_us=t_us,
            last_update_us=t_us,
            last_sensor=sensor.name,
            sensors={sensor.name},
        )
        track.detected_us.append(t_us)
        self.tracks.append(track)
        return track
