"""Synthetic national warnings from ballistic truth plus honest noise.

For unit tests and benchmarks of the bridge without the full simulation: each
missile is a free-flight trajectory from a post-boost state
(``tracking.propagate``); each nation reports it at its own cadence from its own
first-detection delay, with Gaussian errors drawn from exactly the covariance it
reports (an honest tracker). Seeded; nothing here reads a clock.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tracking.propagate import (
    ground_crossing,
    propagate_state,
    state_from_geodetic,
    upper_triangle,
)
from trilink.config import Topics
from trilink.constants import US, FloatArray
from trilink.model import (
    DataMode,
    Ellipse,
    GroundPoint,
    MissileClass,
    MissileWarning,
    Nation,
    TrackStatus,
)


@dataclass(frozen=True, slots=True)
class SyntheticMissile:
    """A free-flight missile: its state at ``start_us`` and where it comes down."""

    name: str
    start_us: int
    state: FloatArray
    impact_us: int
    impact_lat_deg: float
    impact_lon_deg: float

    def truth(self, time_us: int) -> FloatArray:
        return propagate_state(self.state, (time_us - self.start_us) / US, max_step=2.0)

    def positions(self, times_us: FloatArray) -> FloatArray:
        """True positions (N, 3) at many times: cubic Hermite between 1 s samples."""
        table = _table(self)
        t = np.clip((np.asarray(times_us, dtype=float) - self.start_us) / US, 0.0, None)
        i = np.minimum(t.astype(int), len(table) - 2)
        u = (t - i)[:, None]
        a, b = table[i], table[i + 1]
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        return h00 * a[:, :3] + h10 * a[:, 3:] + h01 * b[:, :3] + h11 * b[:, 3:]


_TABLES: dict[int, FloatArray] = {}


def _table(m: SyntheticMissile) -> FloatArray:
    """The missile's state at every whole second of its flight (cached)."""
    key = id(m)
    if key not in _TABLES:
        n = int((m.impact_us - m.start_us) / US) + 2
        rows = [np.asarray(m.state, dtype=float)]
        for _ in range(n):
            rows.append(propagate_state(rows[-1], 1.0))
        _TABLES[key] = np.array(rows)
    return _TABLES[key]


def ballistic_missile(
    name: str,
    start_us: int,
    *,
    lat_deg: float = 39.0,
    lon_deg: float = 125.7,
    alt_m: float = 60_000.0,
    bearing_deg: float = 80.0,
    speed_mps: float = 2_500.0,
    elevation_deg: float = 40.0,
) -> SyntheticMissile:
    """A post-boost missile over ``lat/lon`` climbing at ``elevation`` towards ``bearing``."""
    b, e = math.radians(bearing_deg), math.radians(elevation_deg)
    v_enu = (
        speed_mps * math.cos(e) * math.sin(b),
        speed_mps * math.cos(e) * math.cos(b),
        speed_mps * math.sin(e),
    )
    x0 = state_from_geodetic(lat_deg, lon_deg, alt_m, v_enu)
    gc = ground_crossing(x0)
    if gc is None:
        raise ValueError(f"{name} does not come down")
    return SyntheticMissile(
        name, start_us, x0, start_us + round(gc.dt_s * US), gc.lat_deg, gc.lon_deg
    )


@dataclass(frozen=True, slots=True)
class NationModel:
    """How one nation sees missiles: delay to first report, cadence, accuracy."""

    nation: Nation
    delay_s: float = 0.0
    interval_s: float = 1.0
    pos_sigma_m: float = 300.0
    vel_sigma_mps: float = 15.0
    latency_s: float = 0.5
    stop_before_impact_s: float = 5.0
    impact_every: int = 0  # attach a national impact prediction every n-th report (0: never)
    track_for_s: float | None = None  # stop reporting this long after the first report
    final_status: TrackStatus | None = TrackStatus.IMPACTED  # last word on the track, if any


DEFAULT_NATIONS: tuple[NationModel, ...] = (
    NationModel(Nation.KOR, delay_s=0.0, pos_sigma_m=250.0, vel_sigma_mps=12.0),
    NationModel(Nation.USA, delay_s=3.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=2.0),
    NationModel(Nation.JPN, delay_s=60.0, pos_sigma_m=150.0, vel_sigma_mps=8.0),
)


@dataclass(frozen=True, slots=True)
class Report:
    """A synthetic warning with the missile it really is (for checking)."""

    topic: str
    warning: MissileWarning
    missile: str


@dataclass(slots=True)
class _Counter:
    n: dict[Nation, int] = field(default_factory=dict)

    def next(self, nation: Nation) -> int:
        self.n[nation] = self.n.get(nation, 0) + 1
        return self.n[nation]


def national_reports(
    missiles: Sequence[SyntheticMissile],
    nations: Sequence[NationModel] = DEFAULT_NATIONS,
    *,
    seed: int = 0,
    topics: Topics | None = None,
    scenario_id: str = "synthetic",
) -> list[Report]:
    """Every nation's warnings on every missile, in publication order."""
    rng = np.random.default_rng(seed)
    topics = topics or Topics()
    ids = _Counter()
    reports: list[Report] = []
    for missile in missiles:
        for model in nations:
            number = ids.next(model.nation)
            track_id = f"{model.nation.value}-{number:04d}"
            reports.extend(_track(missile, model, track_id, rng, topics, scenario_id))
    reports.sort(key=lambda r: (r.warning.reported_us, r.topic, r.warning.track_id))
    return reports


def _track(
    missile: SyntheticMissile,
    model: NationModel,
    track_id: str,
    rng: np.random.Generator,
    topics: Topics,
    scenario_id: str,
) -> list[Report]:
    sigmas = np.array([model.pos_sigma_m] * 3 + [model.vel_sigma_mps] * 3)
    p = np.diag(sigmas**2)
    cov = upper_triangle(p)
    t = missile.start_us + round(model.delay_s * US)
    end = missile.impact_us - round(model.stop_before_impact_s * US)
    if model.track_for_s is not None:
        end = min(end, t + round(model.track_for_s * US))
    out: list[Report] = []
    seq = 0
    while t <= end:
        seq += 1
        x = missile.truth(t) + rng.normal(0.0, sigmas)
        impact = None
        if model.impact_every and seq % model.impact_every == 1:
            gc = ground_crossing(x, p)
            if gc is not None:
                impact = GroundPoint(
                    gc.lat_deg,
                    gc.lon_deg,
                    t + round(gc.dt_s * US),
                    Ellipse(gc.semi_major_km, gc.semi_minor_km, gc.orientation_deg),
                )
        out.append(
            Report(
                topics.warnings(model.nation),
                _warning(model, track_id, seq, t, x, cov, impact, scenario_id, rng),
                missile.name,
            )
        )
        t += round(model.interval_s * US)
    if out and model.final_status is not None:
        last = out[-1].warning
        t_end = last.observed_us + 1
        if model.final_status is TrackStatus.IMPACTED:
            t_end = max(t_end, missile.impact_us)
        x = missile.truth(t_end) + rng.normal(0.0, sigmas)
        final = _warning(model, track_id, seq + 1, t_end, x, cov, None, scenario_id, rng)
        final = replace(final, status=model.final_status)
        out.append(Report(topics.warnings(model.nation), final, missile.name))
    return out


def _warning(
    model: NationModel,
    track_id: str,
    seq: int,
    t: int,
    x: FloatArray,
    cov: tuple[float, ...],
    impact: GroundPoint | None,
    scenario_id: str,
    rng: np.random.Generator,
) -> MissileWarning:
    return MissileWarning(
        message_id=str(uuid.UUID(int=int(rng.integers(0, 2**63)), version=4)),
        nation=model.nation,
        sensors=(f"{model.nation.value}-SENSOR",),
        track_id=track_id,
        sequence=seq,
        observed_us=t,
        reported_us=t + round(model.latency_s * US),
        data_mode=DataMode.SIMULATED,
        status=TrackStatus.INITIAL if seq == 1 else TrackStatus.UPDATE,
        missile_class=MissileClass.SRBM,
        boosting=False,
        position_m=(float(x[0]), float(x[1]), float(x[2])),
        velocity_mps=(float(x[3]), float(x[4]), float(x[5])),
        covariance=cov,
        launch=None,
        impact=impact,
        quality=10,
        scenario_id=scenario_id,
    )
