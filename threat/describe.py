"""Words for an assessment: the reference point and a Ministry-of-Defense-style sentence.

Japan's Ministry of Defense announces an impact as a distance and a compass point
from a well-known place ("about 150 km NW of Okushiri Island, inside Japan's EEZ").
The reference point is chosen as follows (:func:`reference`):

1. Impact within ``LOCAL_KM`` of a Japanese gazetteer point: the nearest Japanese
   point (the Ministry names Japanese places even for impacts nearer Korea or Russia).
2. Otherwise within ``LOCAL_KM`` of any gazetteer point: the nearest point.
3. A far-sea impact after the track crossed a nation's land: the *major* landmark
   nearest to where the track last left that land, the place the public has just
   heard the missile pass ("about 1,180 km E of Cape Erimo" after crossing Hokkaido).
4. Otherwise the nearest major landmark.
"""

from __future__ import annotations

import numpy as np

from threat.geodata import GeoData, Place
from threat.sphere import bearing_deg, distance_km
from threat.track import GroundTrack
from trilink.threat import ImpactZone

LOCAL_KM = 700.0
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
NAMES = {
    "JPN": "Japan",
    "KOR": "South Korea",
    "PRK": "North Korea",
    "CHN": "China",
    "RUS": "Russia",
    "TWN": "Taiwan",
    "USA": "the United States",
    "PHL": "the Philippines",
}


def compass(bearing: float) -> str:
    """Eight-point compass name of a bearing (degrees), as the Ministry uses."""
    return COMPASS[round((bearing % 360.0) / 45.0) % 8]


def about_km(km: float) -> str:
    """Distance as announced: to 10 km below 2,000 km, to 100 km beyond."""
    step = 10 if km < 2000 else 100
    return f"{max(step, round(km / step) * step):,}"


def possessive(nation: str) -> str:
    name = NAMES.get(nation, nation)
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def reference(
    data: GeoData, lat: float, lon: float, exit_point: tuple[float, float] | None
) -> Place:
    """The gazetteer point an impact at (lat, lon) is described from (rules above)."""
    d = distance_km(lat, lon, data.place_lat, data.place_lon)
    # argmin first, then its value: the first nearest, as min() then argmin() give it
    japanese = np.where(data.place_nation == "JPN", d, np.inf)
    i = int(japanese.argmin())
    if japanese[i] <= LOCAL_KM:
        return data.places[i]
    i = int(d.argmin())
    if d[i] <= LOCAL_KM:
        return data.places[i]
    if exit_point is not None:
        d = distance_km(exit_point[0], exit_point[1], data.place_lat, data.place_lon)
    return data.places[int(np.where(data.place_major, d, np.inf).argmin())]


def zone_phrase(zone: ImpactZone, zone_nation: str) -> str:
    """Where the impact is, said against Japan's EEZ as the Ministry does."""
    if zone is ImpactZone.LAND:
        return f"on {NAMES.get(zone_nation, zone_nation)}'s land".replace("s's", "s'")
    if zone_nation == "JPN":
        inside = "territorial waters" if zone is ImpactZone.TERRITORIAL_SEA else "EEZ"
        return f"inside Japan's {inside}"
    if zone is ImpactZone.HIGH_SEAS:
        return "outside Japan's EEZ (high seas)"
    if zone is ImpactZone.UNKNOWN:
        return "zone unknown"
    where = "territorial waters" if zone is ImpactZone.TERRITORIAL_SEA else "EEZ"
    return f"outside Japan's EEZ (in {possessive(zone_nation)} {where})"


def sentence(
    place: Place,
    km: float,
    bearing: float,
    zone: ImpactZone,
    zone_nation: str,
    overflown: list[str],
) -> str:
    """E.g. "passed over Hokkaido; about 1,180 km E of Cape Erimo, outside Japan's EEZ"."""
    where = f"about {about_km(km)} km {compass(bearing)} of {place.name}"
    text = f"{where}, {zone_phrase(zone, zone_nation)}"
    if overflown:
        text = f"passed over {', '.join(overflown)}; {text}"
    return text


def measure(place: Place, lat: float, lon: float) -> tuple[float, float]:
    """Distance (km) and bearing (degrees) from ``place`` to (lat, lon)."""
    km = float(distance_km(place.lat_deg, place.lon_deg, np.array(lat), np.array(lon)))
    return km, bearing_deg(place.lat_deg, place.lon_deg, lat, lon)


def last_exit(track: GroundTrack, inside: np.ndarray) -> tuple[float, float] | None:
    """Where the track last leaves land (the last inside sample), if it ever is inside."""
    idx = np.flatnonzero(inside)
    if not len(idx):
        return None
    i = int(idx[-1])
    return float(track.lat_deg[i]), float(track.lon_deg[i])
