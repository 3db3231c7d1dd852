"""A missile's ground track: sub-points with times, and the corridor around it.

Built either from a simulated trajectory's samples or, for a fused alert, from the
few points the alert carries (launch point, the sub-point of the fused state,
impact point) joined by great circles. The second is an approximation: a ballistic
ground track bends by the Coriolis drift (tens of km for an IRBM) and the missile's
ground speed is not constant, so times along a leg are interpolated linearly in
distance (a few seconds off for the overflight of a coast).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from threat.sphere import destination, distance_km, distance_km_pairs, interpolate, unwrap_lon
from trilink.constants import FloatArray

STEP_KM = 10.0  # sample spacing: finer than the narrowest land the track can cross


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
        return cls(lat, lon, t, shapely.LineString(np.column_stack([lon, lat])))

    @classmethod
    def through(
        cls, points: Sequence[tuple[float, float, int]], step_km: float = STEP_KM
    ) -> GroundTrack:
        """Great-circle legs through ``(lat, lon, time_us)`` points, sampled every ``step_km``."""
        lats: list[FloatArray] = []
        lons: list[FloatArray] = []
        times: list[np.ndarray] = []
        for (la0, lo0, t0), (la1, lo1, t1) in itertools.pairwise(points):
            length = float(distance_km(la0, lo0, np.array(la1), np.array(lo1)))
            n = max(2, math.ceil(length / step_km) + 1)
            f = np.linspace(0.0, 1.0, n)
            lat, lon = interpolate(la0, lo0, la1, lo1, f)
            skip = 1 if lats else 0  # the joint is already the end of the previous leg
            lats.append(lat[skip:])
            lons.append(lon[skip:])
            times.append(np.round(t0 + f[skip:] * (t1 - t0)).astype(np.int64))
        if not lats:
            raise ValueError("a ground track needs two or more points")
        return cls.from_samples(np.concatenate(lats), np.concatenate(lons), np.concatenate(times))

    @property
    def start_us(self) -> int:
        return int(self.time_us[0])

    @property
    def end_us(self) -> int:
        return int(self.time_us[-1])

    def headings(self) -> FloatArray:
        """Local track direction at each sample (degrees from north), on the sphere."""
        lat, lon = np.radians(self.lat_deg), np.radians(self.lon_deg)
        i = np.arange(len(lat))
        a, b = np.maximum(i - 1, 0), np.minimum(i + 1, len(lat) - 1)
        dlon = lon[b] - lon[a]
        y = np.sin(dlon) * np.cos(lat[b])
        x = np.cos(lat[a]) * np.sin(lat[b]) - np.sin(lat[a]) * np.cos(lat[b]) * np.cos(dlon)
        result: FloatArray = np.degrees(np.arctan2(y, x))
        return result

    def along_km(self) -> FloatArray:
        """Ground distance along the track from its first sample (km)."""
        step = distance_km_pairs(
            self.lat_deg[:-1], self.lon_deg[:-1], self.lat_deg[1:], self.lon_deg[1:]
        )
        return np.concatenate([[0.0], np.cumsum(step)])

    def corridor(self, half_width_km: float | FloatArray) -> shapely.Polygon:
        """The band within ``half_width_km`` (one value, or one per sample) of the track,
        on either side (no end caps)."""
        heading = self.headings()
        left = destination(self.lat_deg, self.lon_deg, heading - 90.0, half_width_km)
        right = destination(self.lat_deg, self.lon_deg, heading + 90.0, half_width_km)
        base = self.lon_deg - np.mod(self.lon_deg, 360.0)  # keep the track's unwrapping
        ring = np.vstack(
            [
                np.column_stack([left[1] + base, left[0]]),
                np.column_stack([right[1] + base, right[0]])[::-1],
            ]
        )
        return shapely.make_valid(shapely.Polygon(ring)).buffer(0)

    def nearest_time_us(self, lat_deg: float, lon_deg: float) -> int:
        """Time at the sample closest to a point."""
        d = distance_km(lat_deg, lon_deg, self.lat_deg, self.lon_deg)
        return int(self.time_us[int(np.argmin(d))])
