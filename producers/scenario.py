"""Scenarios: named sets of launches, from built-ins, YAML files or historical records.

A :class:`Scenario` holds its launches as :class:`~trilink.model.LaunchEvent` s on a
common clock: ``start_us`` is the scenario start S (every event's
``scenario_start_us``) and each launch happens at S + its offset. :meth:`Scenario.at`
re-anchors the whole scenario (the injector uses ``now + lead``); offsets, ids
and seeds follow deterministically from (scenario id, start, seed), so the same
anchor and seed always give the same events.

Built-ins (:data:`BUILTINS`): ``sunan-srbm``, ``tight-salvo``, ``salvo-20``,
``2022-06-05``, ``2022-10-04``, ``demo``. Historical ones replay the catalogue's
records (``sim.catalog.historical``) with their real time-of-day offsets; by default
they are anchored at the real first launch time, and their scenario id is
``hist-<date>`` so a re-timed replay still says what it is.

YAML format (see ``scenarios/*.yaml``)::

    scenario_id: my-salvo          # default: the file name
    description: free text
    seed: 7                        # default 0; the command line's --seed wins
    start: 2026-05-01T00:00:00Z    # optional default anchor
    historical: 2022-10-04         # optional: include that day's launches
    launches:
      - site: sunan                # catalogue key, or give lat/lon (then any name)
        missile: kn-25             # catalogue key, alias, class name or unknown
        bearing_deg: 80
        range_km: 350
        apogee_km: 50
        offset_s: 0                # seconds after the scenario start
        count: 4                   # optional repeat ...
        spacing_s: 10              # ... this many seconds apart
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from producers.battery import disperse
from producers.errors import ScenarioError
from sim.errors import SimError
from trilink.model import DataMode, LaunchEvent, MissileClass
from trilink.physics import DEFAULT_PHYSICS, Physics
from trilink.timeutil import us_from_datetime

DEFAULT_START_US = 1_777_593_600_000_000  # 2026-05-01T00:00:00Z: synthetic scenarios' anchor
_ID_NAMESPACE = uuid.UUID("0c7d3f0e-2b7a-5c55-8d0a-6c61756e6368")


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """One launch of a scenario, relative to its start."""

    site: str
    missile: str
    bearing_deg: float
    range_km: float
    apogee_km: float
    offset_s: float = 0.0
    lat_deg: float | None = None
    lon_deg: float | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario's identity and its launch events on a common clock."""

    scenario_id: str
    start_us: int
    seed: int
    specs: tuple[LaunchSpec, ...]
    launches: tuple[LaunchEvent, ...]
    description: str = ""
    physics: Physics = DEFAULT_PHYSICS  # the flight model its missiles fly in

    def at(self, start_us: int) -> Scenario:
        """The same scenario re-anchored at ``start_us`` (new launch ids and times)."""
        return dataclasses.replace(
            build(self.scenario_id, self.specs, start_us, self.seed, self.description),
            physics=self.physics,
        )

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario with another seed."""
        return dataclasses.replace(
            build(self.scenario_id, self.specs, self.start_us, seed, self.description),
            physics=self.physics,
        )

    def with_physics(self, physics: Physics | None) -> Scenario:
        """The same scenario in another flight model (``None``: its own)."""
        return self if physics is None else dataclasses.replace(self, physics=physics)

    @property
    def end_offset_s(self) -> float:
        """Offset of the last launch (s)."""
        return max((s.offset_s for s in self.specs), default=0.0)


def _site_coordinates(spec: LaunchSpec) -> tuple[str, float, float]:
    if spec.lat_deg is not None and spec.lon_deg is not None:
        return spec.site, spec.lat_deg, spec.lon_deg
    from sim.catalog import get_site

    try:
        site = get_site(spec.site)
    except SimError as exc:
        raise ScenarioError(str(exc)) from exc
    return site.key, site.lat_deg, site.lon_deg


def _missile_class(spec: LaunchSpec, lat: float, lon: float) -> tuple[str, MissileClass]:
    """Catalogue key and class the flight model flies for ``spec`` (validates the shot)."""
    from sim.catalog import get_missile
    from sim.solve import solve_trajectory

    try:
        key = get_missile(spec.missile).key
        trajectory = solve_trajectory(
            lat, lon, spec.bearing_deg, spec.range_km, spec.apogee_km, key
        )
    except SimError as exc:
        raise ScenarioError(f"launch from {spec.site}: {exc}") from exc
    return key, trajectory.missile_class


def launch_id(scenario_id: str, start_us: int, seed: int, index: int) -> str:
    """``<scenario>-<nn>-<8 hex>``: readable, unique per (scenario, anchor, seed)."""
    tag = uuid.uuid5(_ID_NAMESPACE, f"{scenario_id}/{start_us}/{seed}").hex[:8]
    return f"{scenario_id}-{index + 1:02d}-{tag}"


def build(
    scenario_id: str,
    specs: Sequence[LaunchSpec],
    start_us: int,
    seed: int = 0,
    description: str = "",
    data_mode: DataMode = DataMode.SIMULATED,
) -> Scenario:
    """Launch events for ``specs`` anchored at ``start_us`` (each shot is validated)."""
    if not scenario_id.strip():
        raise ScenarioError("a scenario needs a non-empty scenario_id")
    if not specs:
        raise ScenarioError(f"scenario {scenario_id!r} has no launches")
    ordered = sorted(specs, key=lambda s: s.offset_s)
    for spec in ordered:
        if not math.isfinite(spec.offset_s) or spec.offset_s < 0.0:
            raise ScenarioError(f"launch offset must be >= 0 s, got {spec.offset_s}")
    # N launches from one site at one time fire as a battery (see producers.battery);
    # the scenario keeps the specs as given, so a new seed lays the battery out anew.
    where = {i: _site_coordinates(spec) for i, spec in enumerate(ordered)}
    flown = sorted(disperse(ordered, scenario_id, seed, where), key=lambda s: s.offset_s)
    events = []
    for i, spec in enumerate(flown):
        site, lat, lon = _site_coordinates(spec)
        missile, cls = _missile_class(spec, lat, lon)
        events.append(
            LaunchEvent(
                scenario_id=scenario_id,
                launch_id=launch_id(scenario_id, start_us, seed, i),
                site=site,
                site_lat_deg=lat,
                site_lon_deg=lon,
                launch_time_us=start_us + round(spec.offset_s * 1e6),
                missile=missile,
                missile_class=cls,
                bearing_deg=spec.bearing_deg,
                range_km=spec.range_km,
                apogee_km=spec.apogee_km,
                data_mode=data_mode,
                seed=seed,
                scenario_start_us=start_us,
            )
        )
    return Scenario(scenario_id, start_us, seed, tuple(ordered), tuple(events), description)


# -- historical ----------------------------------------------------------------------


def historical_specs(date: str) -> tuple[list[LaunchSpec], int]:
    """Launch specs of the catalogue's launches on ``date`` and the first launch time (us).

    Records without a time of day are placed midway between their neighbours.
    """
    from sim.catalog import historical

    try:
        records = historical(date)
    except SimError as exc:
        raise ScenarioError(str(exc)) from exc
    times: list[dt.datetime | None] = [r.launch_time for r in records]
    known = [t for t in times if t is not None]
    if not known:
        base = dt.datetime.fromisoformat(f"{records[0].date}T00:00:00+00:00")
        times = [base + dt.timedelta(minutes=5 * i) for i in range(len(records))]
    else:
        times = _fill_gaps(times)
    first = min(t for t in times if t is not None)
    specs = []
    for rec, t in zip(records, times, strict=True):
        assert t is not None
        specs.append(
            LaunchSpec(
                site=rec.facility,
                missile=rec.missile,
                bearing_deg=rec.bearing_deg,
                range_km=rec.range_km,
                apogee_km=rec.apogee_km,
                offset_s=(t - first).total_seconds(),
            )
        )
    return specs, us_from_datetime(first)


def _fill_gaps(times: list[dt.datetime | None]) -> list[dt.datetime | None]:
    filled = list(times)
    for i, t in enumerate(filled):
        if t is not None:
            continue
        before = next((filled[j] for j in range(i - 1, -1, -1) if filled[j] is not None), None)
        after = next((times[j] for j in range(i + 1, len(times)) if times[j] is not None), None)
        if before is not None and after is not None:
            filled[i] = before + (after - before) / 2
        elif before is not None:
            filled[i] = before + dt.timedelta(minutes=2)
        elif after is not None:
            filled[i] = after - dt.timedelta(minutes=2)
    return filled


def historical_scenario(date: str, seed: int = 0, start_us: int | None = None) -> Scenario:
    """Replay of the launches on ``date``: scenario id ``hist-<date>``."""
    specs, first_us = historical_specs(date)
    return build(
        f"hist-{date}",
        specs,
        first_us if start_us is None else start_us,
        seed,
        f"historical replay of {date} (CNS North Korea Missile Test Database)",
    )


# -- built-ins -----------------------------------------------------------------------


def _salvo(
    site: str, missile: str, bearing: float, range_km: float, apogee_km: float, count: int,
    spacing_s: float, offset_s: float = 0.0,
) -> list[LaunchSpec]:  # fmt: skip
    return [
        LaunchSpec(site, missile, bearing, range_km, apogee_km, offset_s + i * spacing_s)
        for i in range(count)
    ]


def _sunan_srbm(seed: int) -> Scenario:
    specs = [LaunchSpec("sunan", "hwasong-11a", 80.0, 400.0, 50.0)]
    return build(
        "sunan-srbm", specs, DEFAULT_START_US, seed, "one KN-23 from Sunan into the Sea of Japan"
    )


def _tight_salvo(seed: int) -> Scenario:
    specs = _salvo("sunan", "kn-25", 80.0, 350.0, 50.0, 4, 10.0)
    return build("tight-salvo", specs, DEFAULT_START_US, seed, "four KN-25 from Sunan, 10 s apart")


def _salvo_20(seed: int) -> Scenario:
    specs = [
        *_salvo("sunan", "kn-25", 80.0, 350.0, 50.0, 5, 12.0),
        *_salvo("sohae", "hwasong-11a", 76.0, 400.0, 50.0, 5, 12.0, offset_s=3.0),
        *_salvo("hungnam", "hwasong-11b", 70.0, 300.0, 45.0, 5, 12.0, offset_s=6.0),
        *_salvo("kaechon", "kn-25", 71.0, 380.0, 60.0, 5, 12.0, offset_s=9.0),
    ]
    return build(
        "salvo-20", specs, DEFAULT_START_US, seed, "20 SRBMs from four sites within a minute"
    )


def _demo(seed: int) -> Scenario:
    irbm, first_us = historical_specs("2022-10-04")
    specs = [
        *irbm,
        *_salvo("sunan", "kn-25", 80.0, 350.0, 50.0, 3, 20.0, offset_s=60.0),
    ]
    return build(
        "demo",
        specs,
        first_us,
        seed,
        "the 2022-10-04 IRBM over Japan, then three KN-25 from Sunan",
    )


BUILTINS: Mapping[str, Callable[[int], Scenario]] = {
    "sunan-srbm": _sunan_srbm,
    "tight-salvo": _tight_salvo,
    "salvo-20": _salvo_20,
    "2022-06-05": lambda seed: historical_scenario("2022-06-05", seed),
    "2022-10-04": lambda seed: historical_scenario("2022-10-04", seed),
    "demo": _demo,
}

MAX_SALVO = 1000
"""Most launches one YAML entry or one inject may ask for: far beyond any real raid."""
