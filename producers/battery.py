"""Salvo dispersion: launches a record gives as "N at one time" fire as a battery.

A scenario entry with ``count`` > 1 and no spacing, or a historical series with one
time and one site for many missiles (the 2024-05-29 salvo: 18 KN-25 at one minute),
would otherwise put N missiles on the same point at the same instant. A real
battery's launchers stand a few hundred metres apart and fire a few seconds apart,
and that is what the sensors must resolve. So each such group is laid out
deterministically from (scenario id, seed, group): launchers on a line across the
firing bearing, ``SPACING_M`` apart with up to ``JITTER_M`` of jitter each way,
centred on the site; the first fires at the given time, each next one
``GAP_S`` later (uniform). The same scenario and seed always give the same layout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from trilink.geodesy import great_circle

if TYPE_CHECKING:
    from producers.scenario import LaunchSpec

SPACING_M = 250.0
JITTER_M = 60.0
GAP_S = (2.0, 5.0)


def _group_key(spec: LaunchSpec) -> tuple[object, ...]:
    return (spec.site, spec.lat_deg, spec.lon_deg, spec.offset_s)


def _step(lat: float, lon: float, bearing_deg: float, signed_m: float) -> tuple[float, float]:
    """Move ``signed_m`` along ``bearing_deg`` (backwards if negative)."""
    if signed_m < 0.0:
        return great_circle(lat, lon, (bearing_deg + 180.0) % 360.0, -signed_m)
    return great_circle(lat, lon, bearing_deg % 360.0, signed_m) if signed_m > 0.0 else (lat, lon)


def _rng(scenario_id: str, seed: int, key: tuple[object, ...]) -> np.random.Generator:
    # hashlib, not hash(): the layout must not change between processes
    digest = hashlib.sha256(f"{scenario_id}/{seed}/{key!r}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def disperse(
    specs: Sequence[LaunchSpec],
    scenario_id: str,
    seed: int,
    coordinates: dict[int, tuple[str, float, float]],
) -> list[LaunchSpec]:
    """``specs`` with every simultaneous same-site group spread out as a battery.

    ``coordinates`` gives each spec's (site key, lat, lon) by index (resolved from the
    site catalogue by the caller). Single launches come back unchanged.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault(_group_key(spec), []).append(i)
    out = list(specs)
    for key, members in groups.items():
        if len(members) < 2:
            continue
        rng = _rng(scenario_id, seed, key)
        n = len(members)
        across = (np.arange(n) - (n - 1) / 2.0) * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, n)
        along = rng.uniform(-JITTER_M, JITTER_M, n)
        delays = np.concatenate([[0.0], np.cumsum(rng.uniform(*GAP_S, n - 1))])
        for j, i in enumerate(members):
            spec = out[i]
            site, lat, lon = coordinates[i]
            lat, lon = _step(lat, lon, spec.bearing_deg + 90.0, float(across[j]))
            lat, lon = _step(lat, lon, spec.bearing_deg, float(along[j]))
            offset = spec.offset_s + float(delays[j])
            out[i] = replace(spec, site=site, lat_deg=lat, lon_deg=lon, offset_s=offset)
    return out
