"""The trilateral sensor network: where each nation's sensors are and what they can see.

Sensors are read from ``sim/data/sensors.json``. Positions are approximate public
locations; every performance figure (range, noise, revisit, detection probability,
latency) is a notional order-of-magnitude value chosen for a plausible picture, not
an official one. Sources for the locations:

* ROK Green Pine (EL/M-2080) radars: press reports of the two sites in North
  Chungcheong (near Cheongju/Jincheon) and South Jeolla (Boseong) — e.g. Yonhap,
  2012-12; 38 North, "South Korea's Missile Defense" (2017).
* ROK Sejong-the-Great-class (KDX-III) Aegis destroyer with AN/SPY-1D: a notional
  East Sea station west of Ulleungdo.
* US AN/TPY-2 forward-based radars at the Shariki communications site (Tsugaru,
  Aomori, 2006) and the Kyogamisaki communications site (Kyotango, Kyoto, 2014);
  the THAAD battery at Seongju (Gyeongsangbuk-do, 2017). US DoD / MDA releases.
  Sectors are ±60° around a boresight toward the Korean peninsula.
* US SBIRS GEO infrared satellites: slot longitudes are not published; two notional
  geostationary slots (100°E, 150°E) give stereo coverage of the peninsula.
* Japan J/FPS-5 radars at Shimokoshiki (Kagoshima), Sado (Niigata), Ominato
  (Aomori) and Yozadake (Okinawa): JASDF / Japan MOD white papers.
* Japan Kongo/Maya-class Aegis destroyer with AN/SPY-1D(V): a notional Sea of Japan
  station west of the Noto peninsula.

Visibility of a radar: slant range within ``max_range_km``, azimuth inside the field
of regard, and elevation above ``min_el_deg`` in the 4/3-Earth model (straight-line
geometry over a sphere of 4/3 the local Earth radius, the standard stand-in for
tropospheric refraction), so a low missile far away is under the horizon. An
infrared sensor sees a target only while it boosts (the plume), only above the
cloud tops (``min_target_alt_km``), and only from the side of the Earth it faces.

Resolution: each sensor has a resolution cell (``range_res_m`` and ``angle_res_rad``:
a radar's range resolution and beamwidth, an infrared sensor's pixel), notional values
consistent with its class (an X-band AN/TPY-2 resolves 15 m in range and 0.01 rad; an
L-band Green Pine 75 m and 0.025 rad; a SBIRS pixel spans ~4 km at geostationary
range). Objects inside one cell give one blended detection (``sim.resolution``).

Measurements are generated for a whole trajectory at once (numpy, vectorised over
scan times), each with its own RNG seeded by (seed, nation, sensor, launch), so
adding or removing one launch or sensor never changes another's draws.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from measurement.models import (
    MeasurementKind,
    MeasurementModel,
    blended,
    measure,
    measure_geometry,
)
from sim.errors import SimError
from sim.resolution import Resolution
from trilink.geodesy import E2 as WGS84_E2
from trilink.geodesy import A as WGS84_A
from trilink.geodesy import B as WGS84_B
from trilink.geodesy import FloatArray, enu_rotation, geodetic_to_ecef
from trilink.model import Nation

EFFECTIVE_EARTH = 4.0 / 3.0
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


class Trajectory(Protocol):
    """What the sensors need of a flight (``sim.flight.Trajectory`` satisfies it)."""

    @property
    def flight_time_s(self) -> float: ...

    def state_at(self, t_s: Any) -> tuple[FloatArray, FloatArray]: ...

    def boosting(self, t_s: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Sensor:
    """One sensor: where it is, what it covers, how often and how well it measures.

    Angles are degrees in the table; ``sigma`` holds the 1-sigma measurement noise
    per component (radar: range m, azimuth rad, elevation rad and, for a
    pulse-Doppler radar, range rate m/s; infrared: two line-of-sight angles rad).
    """

    name: str
    nation: Nation
    kind: MeasurementKind
    platform: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    max_range_km: float
    revisit_s: float
    sigma: tuple[float, ...]
    pd: float
    latency_s: float
    phase_s: float = 0.0
    boresight_deg: float = 0.0
    half_width_deg: float = 180.0
    min_el_deg: float = 0.5
    max_el_deg: float = 90.0
    min_target_alt_km: float = 0.0
    boost_only: bool = False
    aim_lat_deg: float = 0.0
    aim_lon_deg: float = 0.0
    # Resolution cell (see ``sim.resolution``): range resolution (radar) and beamwidth
    # or pixel (radians). 0 resolves everything.
    range_res_m: float = 0.0
    angle_res_rad: float = 0.0
    model: MeasurementModel = field(init=False, repr=False, compare=False)
    # How its blended detections are read (``measurement.models.blended``).
    blend_model: MeasurementModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.revisit_s <= 0.0 or not 0.0 < self.pd <= 1.0:
            raise SimError(f"sensor {self.name}: revisit must be > 0 and pd in (0, 1]")
        origin = geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m)
        if self.kind is MeasurementKind.RADAR:
            rotation = enu_rotation(self.lat_deg, self.lon_deg)
        else:
            aim = geodetic_to_ecef(self.aim_lat_deg, self.aim_lon_deg, 0.0)
            bore = (aim - origin) / np.linalg.norm(aim - origin)
            e1 = np.cross([0.0, 0.0, 1.0], bore)
            e1 /= np.linalg.norm(e1)
            rotation = np.stack([e1, np.cross(bore, e1), bore])
        model = MeasurementModel(self.kind, origin, rotation, tuple(self.sigma))
        object.__setattr__(self, "model", model)
        object.__setattr__(
            self, "blend_model", blended(model, self.range_res_m, self.angle_res_rad)
        )

    @property
    def resolution(self) -> Resolution:
        return Resolution(self.kind, self.range_res_m, self.angle_res_rad)

    @property
    def revisit_us(self) -> int:
        return round(self.revisit_s * 1e6)

    @property
    def latency_us(self) -> int:
        return round(self.latency_s * 1e6)

    def covers(self, r: FloatArray, boosting: BoolArray | None = None) -> BoolArray:
        """Which ECEF positions ``r`` (n, 3) this sensor can see (bool (n,)).

        ``boosting`` matters to infrared sensors only; ``None`` means "assume it
        might be" (a tracker asking whether it should have had a detection).
        """
        r = np.atleast_2d(np.asarray(r, dtype=float))
        alt = heights(r)
        z = measure_geometry(self.model, r)
        if self.kind is MeasurementKind.IR:
            ok = alt >= self.min_target_alt_km * 1000.0
            off_axis = np.hypot(np.tan(z[:, 0]), np.tan(z[:, 1]))
            ok &= off_axis <= math.tan(math.radians(self.half_width_deg))
            # The target must face the satellite: the ray must not pass behind the limb.
            ok &= np.einsum("ij,ij->i", r - self.model.origin, r) < 0.0
            if boosting is not None:
                ok &= np.asarray(boosting, dtype=bool)
            return ok
        ok = z[:, 0] <= self.max_range_km * 1000.0
        if self.half_width_deg < 180.0:
            off = (np.degrees(z[:, 1]) - self.boresight_deg + 180.0) % 360.0 - 180.0
            ok &= np.abs(off) <= self.half_width_deg
        ok &= np.degrees(z[:, 2]) <= self.max_el_deg
        ok &= self.effective_elevation_deg(r, alt) >= self.min_el_deg
        return ok

    def effective_elevation_deg(self, r: FloatArray, alt_m: FloatArray) -> FloatArray:
        """Elevation of ``r`` above the 4/3-Earth horizon of this sensor (degrees)."""
        origin = self.model.origin
        r_local = float(np.linalg.norm(origin)) - self.alt_m
        cos_theta = (r @ origin) / (np.linalg.norm(r, axis=1) * np.linalg.norm(origin))
        theta = np.arccos(np.clip(cos_theta, -1.0, 1.0)) / EFFECTIVE_EARTH
        re = EFFECTIVE_EARTH * r_local
        far = re + alt_m
        elev = np.arctan2(far * np.cos(theta) - (re + self.alt_m), far * np.sin(theta))
        result: FloatArray = np.degrees(elev)
        return result

    def scan_times_us(self, anchor_us: int, start_us: int, end_us: int) -> IntArray:
        """Scan times of this sensor in [start, end], on its grid anchored at ``anchor_us``."""
        step = self.revisit_us
        zero = anchor_us + round(self.phase_s * 1e6)
        first = -((zero - start_us) // step)  # ceil((start - zero) / step)
        last = (end_us - zero) // step
        if last < first:
            return np.zeros(0, dtype=np.int64)
        return zero + np.arange(first, last + 1, dtype=np.int64) * step


def heights(r: FloatArray) -> FloatArray:
    """Heights (m) above the WGS-84 ellipsoid of ECEF positions ``r`` (n, 3).

    Bowring's closed form: within a centimetre below 1,000 km, several times cheaper
    than pymap3d's iteration on the small arrays a scan asks about.
    """
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    p = np.hypot(x, y)
    th = np.arctan2(z * WGS84_A, p * WGS84_B)
    ep2 = WGS84_E2 / (1.0 - WGS84_E2)
    lat = np.arctan2(z + ep2 * WGS84_B * np.sin(th) ** 3, p - WGS84_E2 * WGS84_A * np.cos(th) ** 3)
    sl, cl = np.sin(lat), np.cos(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sl * sl)
    polar = np.abs(cl) <= 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(polar, np.abs(z) / np.abs(sl) - n * (1.0 - WGS84_E2), p / cl - n)
    result: FloatArray = h
    return result


@dataclass(frozen=True, slots=True)
class Detections:
    """One sensor's detections of one launch: scan times and noisy measurements.

    ``z`` is ``truth + noise``: what the sensor measures of this object alone. A scan
    that holds other objects in the same resolution cell reports their blend instead
    (``sim.resolution``), hence the parts and each return's ``amplitude``.
    """

    sensor: Sensor
    times_us: IntArray  # (k,) sim time of each scan with a detection
    truth: FloatArray  # (k, dim)
    noise: FloatArray  # (k, dim)
    amplitude: FloatArray  # (k,)

    @property
    def z(self) -> FloatArray:
        """(k, dim) measurements of this object alone."""
        z: FloatArray = self.truth + self.noise
        return z


def seed_sequence(seed: int, *names: str) -> np.random.SeedSequence:
    """A SeedSequence from a seed and stable hashes of names (never Python's ``hash``)."""
    return np.random.SeedSequence([seed & 0xFFFFFFFF, *(zlib.crc32(n.encode()) for n in names)])


def observe(
    sensor: Sensor,
    trajectory: Trajectory,
    launch_us: int,
    anchor_us: int,
    rng: np.random.Generator,
    amplitude_rng: np.random.Generator | None = None,
) -> Detections:
    """Detections of one trajectory by one sensor over its whole flight (vectorised).

    ``amplitude_rng`` draws each return's fluctuating amplitude (exponential power,
    Swerling I/II), from a stream of its own so that the noise draws do not depend on
    it; without it every return has amplitude 1.
    """
    end_us = launch_us + round(trajectory.flight_time_s * 1e6)
    times = sensor.scan_times_us(anchor_us, launch_us + 1, end_us)
    dim = sensor.model.dim
    if times.size == 0:
        empty = np.zeros((0, dim))
        return Detections(sensor, times, empty, empty, np.zeros(0))
    t_s = (times - launch_us) / 1e6
    r, v = trajectory.state_at(t_s)
    r = np.asarray(r, dtype=float).reshape(-1, 3)
    v = np.asarray(v, dtype=float).reshape(-1, 3)
    boosting = np.asarray(trajectory.boosting(t_s), dtype=bool).reshape(-1)
    if boosting.size == 1 and times.size > 1:
        boosting = np.full(times.size, bool(boosting[0]))
    # Draw every random number up front so visibility never shifts the stream.
    hits = rng.random(times.size) < sensor.pd
    noise = rng.standard_normal((times.size, dim)) * np.asarray(sensor.sigma)
    amplitude = np.ones(times.size)
    if amplitude_rng is not None:
        amplitude = amplitude_rng.exponential(size=times.size)
    seen = hits & sensor.covers(r, boosting if sensor.boost_only else None)
    truth = measure(sensor.model, r[seen], v[seen])
    return Detections(sensor, times[seen], truth, noise[seen], amplitude[seen])


def _sensor_from_record(d: dict[str, Any]) -> Sensor:
    return Sensor(
        name=d["name"],
        nation=Nation(d["nation"]),
        kind=MeasurementKind(d["kind"]),
        platform=d.get("platform", ""),
        lat_deg=float(d["lat"]),
        lon_deg=float(d["lon"]),
        alt_m=float(d.get("alt_m", 0.0)),
        max_range_km=float(d["max_range_km"]),
        revisit_s=float(d["revisit_s"]),
        sigma=tuple(float(s) for s in d["sigma"]),
        pd=float(d["pd"]),
        latency_s=float(d["latency_s"]),
        phase_s=float(d.get("phase_s", 0.0)),
        boresight_deg=float(d.get("boresight_deg", 0.0)),
        half_width_deg=float(d.get("half_width_deg", 180.0)),
        min_el_deg=float(d.get("min_el_deg", 0.5)),
        max_el_deg=float(d.get("max_el_deg", 90.0)),
        min_target_alt_km=float(d.get("min_target_alt_km", 0.0)),
        boost_only=bool(d.get("boost_only", False)),
        aim_lat_deg=float(d.get("aim_lat", 0.0)),
        aim_lon_deg=float(d.get("aim_lon", 0.0)),
        range_res_m=float(d.get("range_res_m", 0.0)),
        angle_res_rad=float(d.get("angle_res_rad", 0.0)),
    )


@functools.cache
def all_sensors() -> tuple[Sensor, ...]:
    """Every sensor of the table, in table order."""
    text = resources.files("sim").joinpath("data", "sensors.json").read_text(encoding="utf-8")
    return tuple(_sensor_from_record(d) for d in json.loads(text)["sensors"])


def sensors_of(nation: Nation, table: Sequence[Sensor] | None = None) -> tuple[Sensor, ...]:
    """The sensors a nation owns."""
    return tuple(s for s in (table or all_sensors()) if s.nation is nation)


def get_sensor(name: str) -> Sensor:
    """A sensor by name; the error lists the valid names."""
    for s in all_sensors():
        if s.name == name:
            return s
    valid = ", ".join(s.name for s in all_sensors())
    raise SimError(f"unknown sensor {name!r}; valid sensors: {valid}")
