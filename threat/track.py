"""A missile's ground track: sub-points with times, and the corridor around it.

Built either from a simulated trajectory's samples or, for a fused alert, from the
few points the alert carries (launch point, the sub-point of the fused state,
impact point) joined by great circles. The second is an approximation: a ballistic
ground track bends by the Coriolis drift (tens of km for an IRBM) and the missile's
ground speed is not constant, so times along a leg are interpolated linearly in
distance (a few seconds off for the overflight of a coast).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from threat.sphere import (
    R_KM,
    destination_from,
    haversine_km,
    interpolate_legs,
    leg_samples,
    unwrap_lon,
)
from trilink.constants import FloatArray

STEP_KM = 10.0  # sample spacing: finer than the narrowest land the track can cross


@functools.lru_cache(maxsize=1024)
def _fractions(n: int) -> FloatArray:
    """``np.linspace(0, 1, n)``, shared (read-only): legs of one length recur."""
    f: FloatArray = np.linspace(0.0, 1.0, n)
    f.flags.writeable = False
    return f


@functools.lru_cache(maxsize=1024)
def _neighbours(n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``n`` samples, the one before and the one after (itself at the ends)."""
    i = np.arange(n)
    a, b = np.maximum(i - 1, 0), np.minimum(i + 1, n - 1)
    a.flags.writeable = b.flags.writeable = False
    return a, b


def xy_coords(x: FloatArray, y: FloatArray) -> FloatArray:
    """Coordinates (n, 2) for shapely: what np.column_stack gives, at a third of its cost."""
    xy = np.empty((len(x), 2))
    xy[:, 0], xy[:, 1] = x, y
    return xy


@dataclass(frozen=True)
class GroundTrack:
    """Sub-points (degrees, longitudes continuous from [0, 360)) and times (µs since epoch)."""

    lat_deg: FloatArray
    lon_deg: FloatArray
    time_us: np.ndarray
    line: shapely.LineString = field(repr=False, compare=False)

    @classmethod
    def from_samples(
        cls,
        lat_deg: Sequence[float] | FloatArray,
        lon_deg: Sequence[float] | FloatArray,
        time_us: Sequence[int] | np.ndarray,
    ) -> GroundTrack:
        """A track from ordered samples (at least two)."""
        lat = np.asarray(lat_deg, dtype=float)
        lon = unwrap_lon(np.asarray(lon_deg, dtype=float))
        t = np.asarray(time_us, dtype=np.int64)
        if len(lat) < 2 or not len(lat) == len(lon) == len(t):
            raise ValueError("a ground track needs two or more samples with matching lengths")
        return cls(lat, lon, t, shapely.linestrings(xy_coords(lon, lat)))

    @classmethod
    def through(
        cls, points: Sequence[tuple[float, float, int]], step_km: float = STEP_KM
    ) -> GroundTrack:
        """Great-circle legs through ``(lat, lon, time_us)`` points, sampled every ``step_km``."""
        if len(points) < 2:
            raise ValueError("a ground track needs two or more points")
        fractions = [
            _fractions(n)[0 if i == 0 else 1 :] for i, n in enumerate(leg_samples(points, step_km))
        ]  # a joint is the end of the previous leg, and sampled once
        lat = np.array([p[0] for p in points], dtype=float)
        lon = np.array([p[1] for p in points], dtype=float)
        sample_lat, sample_lon = interpolate_legs(lat, lon, fractions)
        # Times linear in distance along each leg: t0 + f (t1 - t0), rounded to µs.
        counts = [len(f) for f in fractions]
        t0 = np.repeat(np.array([a[2] for a in points[:-1]], dtype=float), counts)
        dt = np.array([b[2] - a[2] for a, b in itertools.pairwise(points)], dtype=float)
        times = np.round(t0 + np.concatenate(fractions) * np.repeat(dt, counts)).astype(np.int64)
        return cls.from_samples(sample_lat, sample_lon, times)

    @property
    def start_us(self) -> int:
        return int(self.time_us[0])

    @property
    def end_us(self) -> int:
        return int(self.time_us[-1])

    @functools.cached_property
    def _trig(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Latitudes in radians, their cosines and sines, longitudes in radians: what
        the headings, the distances and the corridor all start from, computed once."""
        p = np.radians(self.lat_deg)
        return p, np.cos(p), np.sin(p), np.radians(self.lon_deg)

    def headings(self) -> FloatArray:
        """Local track direction at each sample (degrees from north), on the sphere."""
        return self._headings

    @functools.cached_property
    def _headings(self) -> FloatArray:
        # Cached (read-only): the assessment needs them for the corridor and its end.
        _, cos_p, sin_p, lon = self._trig
        a, b = _neighbours(len(lon))
        dlon = lon[b] - lon[a]
        cos_b = cos_p[b]
        y = np.sin(dlon) * cos_b
        x = cos_p[a] * sin_p[b] - sin_p[a] * cos_b * np.cos(dlon)
        result: FloatArray = np.degrees(np.arctan2(y, x))
        result.flags.writeable = False
        return result

    def along_km(self) -> FloatArray:
        """Ground distance along the track from its first sample (km)."""
        p, cos_p, _, _ = self._trig
        lon = self.lon_deg
        # distance_km_pairs from each sample to the next, from the cached cosines
        step = haversine_km(p[1:] - p[:-1], np.radians(lon[1:] - lon[:-1]), cos_p[:-1] * cos_p[1:])
        return np.concatenate([[0.0], np.cumsum(step)])

    def corridor(self, half_width_km: float | FloatArray) -> shapely.Geometry:
        """The band within ``half_width_km`` (one value, or one per sample) of the track,
        on either side (no end caps)."""
        n = len(self.lat_deg)
        # The ring in one call: the left edge's points in track order, then the right
        # edge's in reverse; each point is computed as destination() computes it.
        ring = np.concatenate([np.arange(n), np.arange(n - 1, -1, -1)])
        _, cos_p, sin_p, lon = self._trig
        heading = self.headings()
        bearing = np.radians(np.concatenate([heading - 90.0, (heading + 90.0)[::-1]]))
        d = np.asarray(half_width_km, dtype=float) / R_KM
        sin_d, cos_d = np.sin(d), np.cos(d)
        if d.ndim:
            sin_d, cos_d = sin_d[ring], cos_d[ring]
        edge_lat, edge_lon = destination_from(
            sin_p[ring], cos_p[ring], lon[ring], bearing, sin_d, cos_d
        )
        base = self.lon_deg - np.mod(self.lon_deg, 360.0)  # keep the track's unwrapping
        # Functions rather than the geometry classes' methods: the same GEOS calls
        # without their argument checks (buffer's method defaults to 16 segments).
        poly = shapely.polygons(xy_coords(edge_lon + base[ring], edge_lat))
        if shapely.is_valid(poly):
            # The usual case: make_valid() returns a valid ring unchanged and buffer(0)
            # draws the same area again, here the very same coordinates (~15 µs saved,
            # ~45 µs for an IRBM's corridor).
            return poly
        # Too wide for a bend of the track: the edges cross. Keep the area they enclose.
        return shapely.buffer(shapely.make_valid(poly), 0.0, quad_segs=16)

    def nearest_time_us(self, lat_deg: float, lon_deg: float) -> int:
        """Time at the sample closest to a point."""
        return self.nearest_times_us([lat_deg], [lon_deg])[0]

    def nearest_times_us(self, lat_deg: Sequence[float], lon_deg: Sequence[float]) -> list[int]:
        """Times at the samples closest to each point: :func:`distance_km` from every
        point at once (the same values), from the cached radians and cosines."""
        if not len(lat_deg):
            return []
        p, cos_p, _, _ = self._trig
        start = [math.radians(x) for x in lat_deg]  # as distance_km takes its one point
        p1 = np.array(start)[:, None]
        cos1 = np.array([math.cos(x) for x in start])[:, None]
        dlon = np.radians(self.lon_deg - np.asarray(lon_deg, dtype=float)[:, None])
        d = haversine_km(p - p1, dlon, cos1 * cos_p)
        return self.time_us[d.argmin(axis=1)].tolist()
