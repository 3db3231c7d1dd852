"""A realistic warning stream for the bridge: many missiles, three nations, honest noise.

Each missile is a free-flight trajectory (``evaluation.synthetic.ballistic_missile``, on
``tracking.propagate``: WGS-84, J2, Earth rotation); each nation reports each missile
at its own cadence with Gaussian errors drawn from the covariance it reports, as
``evaluation.synthetic`` does, but the truth is stepped incrementally along each track
(one RK4 step per report instead of a propagation from launch) so a stream of
hundreds of thousands of warnings is generated in seconds.

The cadence is chosen so the stream *is* the target rate in real time: with ``m``
missiles in flight and a report interval ``i`` (USA at ``2i``) the rate is
``2.5 m / i`` warnings/s. Times are relative to an anchor fixed just before sending,
so ``reported_us`` is the wall-clock time a warning is due: the bridge sees a live
stream (event time = wall time) and an alert's ``newest_report_us`` tells the probe
when the newest warning behind it was due to be sent.
"""

from __future__ import annotations

import heapq
import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from evaluation.synthetic import SyntheticMissile, ballistic_missile
from tracking.propagate import propagate_state, upper_triangle
from trilink.codec import Codec
from trilink.config import Topics
from trilink.constants import US
from trilink.model import MissileWarning, Nation


@dataclass(frozen=True, slots=True)
class NationCadence:
    nation: Nation
    delay_s: float  # first report after launch
    interval_factor: float  # report interval = factor * base interval
    pos_sigma_m: float
    vel_sigma_mps: float
    latency_s: float  # observed -> reported


# Korea first and often, the US satellites coarser and every other beat, Japan later but
# the most precise: the shape of the real arrangement, compressed so that all three
# report within the warm-up.
NATIONS: tuple[NationCadence, ...] = (
    NationCadence(Nation.KOR, 0.0, 1.0, 250.0, 12.0, 0.3),
    NationCadence(Nation.USA, 0.3, 2.0, 900.0, 40.0, 0.5),
    NationCadence(Nation.JPN, 1.0, 1.0, 150.0, 8.0, 0.3),
)
_REPORTS_PER_INTERVAL = sum(1.0 / n.interval_factor for n in NATIONS)  # 2.5
# How long a missile is reported on (its flight minus the last seconds), roughly.
_REPORTING_S = 390.0


@dataclass(frozen=True, slots=True)
class StreamShape:
    """How many missiles fly at once, how often each nation reports them."""

    missiles: int
    interval_s: float
    launch_spacing_s: float  # between consecutive launches
    continuous: bool = False  # missiles keep launching (and landing) throughout

    def launch_times_s(self, duration_s: float) -> list[float]:
        """Launch times relative to the anchor.

        A salvo launches ``missiles`` in the first seconds. A continuous stream starts
        in steady state: launches reach back one flight time before the anchor, so
        ``missiles`` are already in flight at every phase when sending begins.
        """
        if not self.continuous:
            return [k * self.launch_spacing_s for k in range(self.missiles)]
        first = -_REPORTING_S
        count = math.floor((duration_s - first) / self.launch_spacing_s) + 1
        return [first + k * self.launch_spacing_s for k in range(count)]

    @classmethod
    def for_rate(cls, rate: float, *, continuous: bool = False) -> StreamShape:
        """A salvo (all launched within 1 s) or a continuous launch stream at ``rate``/s.

        More missiles at higher rates, capped at 200 in flight so national tracks
        report at 20 Hz at most at 10,000 warnings/s.
        """
        in_flight = int(min(200, max(10, rate / 20)))
        interval = _REPORTS_PER_INTERVAL * in_flight / rate
        if continuous:
            return cls(in_flight, interval, _REPORTING_S / in_flight, continuous=True)
        return cls(in_flight, interval, 1.0 / in_flight)

    def to_dict(self) -> dict[str, float]:
        return {
            "missiles_in_flight": self.missiles,
            "report_interval_s": round(self.interval_s, 4),
            "launch_spacing_s": round(self.launch_spacing_s, 3),
            "continuous": self.continuous,
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One encoded warning and when (wall clock, µs) it is due."""

    due_us: int
    topic: str
    key: bytes
    value: bytes


def _missile(k: int, launch_us: int, rng: np.random.Generator) -> SyntheticMissile:
    # Launch sites spread over North Korea, bearings east to south-east, varied lofts.
    return ballistic_missile(
        f"M{k:04d}",
        launch_us,
        lat_deg=float(rng.uniform(38.5, 40.5)),
        lon_deg=float(rng.uniform(124.8, 128.5)),
        bearing_deg=float(rng.uniform(60.0, 130.0)),
        speed_mps=float(rng.uniform(2200.0, 2800.0)),
        elevation_deg=float(rng.uniform(35.0, 50.0)),
    )


def _track(
    missile: SyntheticMissile,
    cad: NationCadence,
    track_id: str,
    interval_s: float,
    end_rel_us: int,
    rng: np.random.Generator,
    first_us: int | None = None,
) -> Iterator[tuple[int, dict[str, object]]]:
    """(reported_us relative to the anchor, Avro datum with relative times) in time order.

    ``first_us``: when the track first reports, relative to the anchor (default: its
    nation's delay after launch, or at the anchor if that was before it).
    """
    step_s = interval_s * cad.interval_factor
    sigmas = np.array([cad.pos_sigma_m] * 3 + [cad.vel_sigma_mps] * 3)
    cov = list(upper_triangle(np.diag(sigmas**2)))
    # Tracks of missiles launched before the anchor begin mid-flight at the anchor.
    if first_us is None:
        first_us = max(0, missile.start_us + round(cad.delay_s * US))
    last_us = min(end_rel_us, missile.impact_us - 5 * US)
    if first_us > last_us:
        return
    x = missile.truth(first_us)
    t = first_us
    seq = 0
    latency = round(cad.latency_s * US)
    while t <= last_us:
        seq += 1
        z = x + rng.normal(0.0, sigmas)
        datum: dict[str, object] = {
            "message_id": str(uuid.UUID(int=int(rng.integers(0, 2**63)), version=4)),
            "nation": cad.nation.value,
            "sensors": [f"{cad.nation.value}-SENSOR"],
            "track_id": track_id,
            "sequence": seq,
            "observed_us": t,
            "reported_us": t + latency,
            "data_mode": "SIMULATED",
            "status": "INITIAL" if seq == 1 else "UPDATE",
            "missile_class": "SRBM",
            "boosting": False,
            "position_m": [float(z[0]), float(z[1]), float(z[2])],
            "velocity_mps": [float(z[3]), float(z[4]), float(z[5])],
            "covariance": cov,
            "launch": None,
            "impact": None,
            "quality": 10,
            "releasable_to": ["USA", "KOR", "JPN"],
            "classification": "UNCLASSIFIED//EXERCISE",
            "scenario_id": "bench",
        }
        yield t + latency, datum
        x = propagate_state(x, step_s, max_step=2.0)
        t += round(step_s * US)


class Stream:
    """Warnings of a :class:`StreamShape` over ``duration_s``, in the order they are due.

    ``stagger_s``: a track already in flight at the anchor first reports at a random
    time within its interval or the first ``stagger_s``, whichever is longer, not at
    the anchor. A continuous stream then starts with its reports (and the engine's
    alert cycles, which start with a track) spread over time as they will go on,
    rather than in one burst per interval.
    """

    def __init__(
        self,
        shape: StreamShape,
        duration_s: float,
        topics: Topics,
        seed: int = 7,
        *,
        stagger_s: float = 0.0,
    ) -> None:
        self.shape = shape
        self.duration_s = duration_s
        self.topics = topics
        self.seed = seed
        self.stagger_s = stagger_s

    def data(self) -> Iterator[tuple[int, dict[str, object]]]:
        rng = np.random.default_rng(self.seed)
        end_us = round(self.duration_s * US)
        tracks = []
        for k, launch_s in enumerate(self.shape.launch_times_s(self.duration_s)):
            launch_us = round(launch_s * US)
            missile = _missile(k, launch_us, rng)
            if self.stagger_s > 0 and launch_us < 0 < missile.impact_us:
                # In flight at the anchor: its tracks start from its state there, not
                # each from its launch (three propagations over the flight so far).
                missile = replace(missile, start_us=0, state=missile.truth(0))
            for cad in NATIONS:
                track_id = f"{cad.nation.value}-{k + 1:05d}"
                first = None
                if self.stagger_s > 0:
                    step_us = round(self.shape.interval_s * cad.interval_factor * US)
                    phase = int(rng.integers(0, max(step_us, round(self.stagger_s * US))))
                    if launch_us + round(cad.delay_s * US) < 0:
                        first = phase
                tracks.append(
                    _track(missile, cad, track_id, self.shape.interval_s, end_us, rng, first)
                )
        """(reported_us relative to the anchor, Avro datum with relative times), due order."""
        # Streams are merged lazily: memory stays at one pending report per track.
        yield from heapq.merge(*tracks, key=lambda item: item[0])

    def encode(self, codec: Codec, anchor_us: int, limit: int | None = None) -> list[Outgoing]:
        """Encoded warnings with every time shifted by ``anchor_us``."""
        out: list[Outgoing] = []
        schema = MissileWarning.SCHEMA
        for rel_us, datum in self.data():
            if limit is not None and len(out) >= limit:
                break
            datum["observed_us"] = int(datum["observed_us"]) + anchor_us  # type: ignore[call-overload]
            datum["reported_us"] = rel_us + anchor_us
            nation = Nation(str(datum["nation"]))
            out.append(
                Outgoing(
                    rel_us + anchor_us,
                    self.topics.warnings(nation),
                    str(datum["track_id"]).encode(),
                    codec.encode_dict(schema, datum),
                )
            )
        return out

    def encode_live(self, codec: Codec, margin_s: float = 0.5) -> list[Outgoing]:
        """Encode against an anchor far enough ahead that encoding finishes before it.

        A small sample times the encoder; the anchor is now + 1.5x the estimate +
        ``margin_s``. The caller sends each warning at its ``due_us``.
        """
        sample = 2000
        t0 = time.perf_counter()
        self.encode(codec, 0, limit=sample)
        per = (time.perf_counter() - t0) / sample
        expected = self.expected_count()
        anchor = time.time_ns() // 1000 + round((1.5 * per * expected + margin_s) * US)
        return self.encode(codec, anchor)

    def expected_count(self) -> int:
        """Roughly how many warnings the stream holds (the nominal rate times duration)."""
        rate = _REPORTS_PER_INTERVAL * self.shape.missiles / self.shape.interval_s
        return int(rate * self.duration_s)
