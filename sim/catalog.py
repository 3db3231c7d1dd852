"""Catalogues of launch sites, missile types and historical launches.

Data lives in ``sim/data/*.json`` and is loaded once. Sites, missile keys and the
historical launch records are copied from the CNS North Korea Missile Test Database
(via nagix/nk-missile-tests, Apache-2.0; see ``sim/data/NOTICE``). The boost-phase
parameters of each missile (stages, burn times, ideal delta-v) are trilink's own
order-of-magnitude estimates from open-source reporting, chosen so that a solved
trajectory reproduces the publicly reported flight times; so are the ballistic
coefficients (``drag`` in missiles.json, per class, overridable per missile).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import CatalogError
from trilink.model import MissileClass

ATTRIBUTION = "CNS North Korea Missile Test Database via nagix/nk-missile-tests (Apache-2.0)"
_KST = dt.timezone(dt.timedelta(hours=9))
_G0 = 9.80665
# Dry structure of a stage per unit of its propellant (tanks, motor case, engine): the
# usual 0.08-0.15 of solid and liquid ballistic-missile stages. It sets how much mass
# each staging drops, hence the stack's ballistic coefficient and a spent stage's mass.
STRUCTURE_RATIO = 0.1
_DATA = Path(__file__).with_name("data")


def _load(name: str) -> dict[str, Any]:
    text = (_DATA / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def _choices(names: list[str]) -> str:
    return ", ".join(sorted(names))


@dataclass(frozen=True, slots=True)
class Site:
    """A launch site: catalogue key, display name and WGS-84 geodetic position."""

    key: str
    name: str
    lat_deg: float
    lon_deg: float


@dataclass(frozen=True, slots=True)
class Stage:
    """One rocket stage: constant mass flow for ``burn_s``, ideal ``dv_mps`` at full thrust.

    ``propellant_fraction`` is propellant mass over the stack mass at ignition; it
    shapes the thrust acceleration, which grows as the stage empties.
    """

    burn_s: float
    dv_mps: float
    propellant_fraction: float
    coast_s: float = 0.0  # unpowered gap before ignition: separation of the stage below

    @property
    def exhaust_mps(self) -> float:
        """Effective exhaust velocity giving ``dv_mps`` (Tsiolkovsky)."""
        return self.dv_mps / -math.log1p(-self.propellant_fraction)

    @property
    def initial_accel_mps2(self) -> float:
        """Thrust acceleration at ignition."""
        return self.exhaust_mps * self.propellant_fraction / self.burn_s


@dataclass(frozen=True, slots=True)
class Drag:
    """Ballistic coefficients β = m / (C_d A), kg/m², of a missile's flying bodies.

    ``boost`` is the whole stack at lift-off (it falls with the stack's mass);
    ``reentry`` the body that flies after burnout (warhead section or empty missile);
    ``stage`` a spent stage, tumbling. Ground truth only: trackers are never told.
    """

    boost: float
    reentry: float
    stage: float


NO_DRAG = Drag(math.inf, math.inf, math.inf)


@dataclass(frozen=True, slots=True)
class PullUp:
    """A terminal pull-up and glide (the KN-23 family): see :mod:`sim.manoeuvre`.

    Descending through ``trigger_m`` (or ``trigger_fraction`` of the apogee if lower),
    the body flies with lift ``lift_to_drag`` times its drag, smoothly capped at
    ``max_accel_mps2``, for ``duration_s``; then it dives ballistically.
    """

    trigger_m: float
    trigger_fraction: float
    duration_s: float
    lift_to_drag: float
    max_accel_mps2: float


@dataclass(frozen=True, slots=True)
class Missile:
    """A missile type and its boost profile.

    The pitch program is a vertical rise for ``vertical_s`` followed by a linear
    pitch-down to the commanded burnout pitch (see ``sim.boost``).
    """

    key: str
    name: str
    missile_class: MissileClass
    stages: tuple[Stage, ...]
    vertical_s: float
    range_km: tuple[float, float]
    propellant: str
    maneuver: str
    aliases: tuple[str, ...]
    drag: Drag = NO_DRAG
    pullup: PullUp | None = None

    def in_vacuum(self) -> Missile:
        """This missile as the vacuum flight model flies it: no drag, no pull-up, and
        no separation coasts (each stage lights as the one below burns out)."""
        stages = tuple(dataclasses.replace(s, coast_s=0.0) for s in self.stages)
        return dataclasses.replace(self, stages=stages, drag=NO_DRAG, pullup=None)

    @property
    def burn_s(self) -> float:
        """Total powered time, all stages."""
        return sum(s.burn_s for s in self.stages)

    @property
    def stage_starts(self) -> tuple[float, ...]:
        """Ignition time of each stage since lift-off (burns and separation coasts)."""
        starts, t = [], 0.0
        for stage in self.stages:
            t += stage.coast_s
            starts.append(t)
            t += stage.burn_s
        return tuple(starts)

    @property
    def boost_s(self) -> float:
        """Burnout of the last stage since lift-off: burns plus separation coasts."""
        return self.stage_starts[-1] + self.stages[-1].burn_s if self.stages else 0.0

    @property
    def dv_mps(self) -> float:
        """Total ideal delta-v at full thrust."""
        return sum(s.dv_mps for s in self.stages)

    @property
    def burnout_speed_mps(self) -> float:
        """Rough burnout speed at full thrust: ideal delta-v less typical gravity loss."""
        return self.dv_mps - 0.55 * _G0 * self.burn_s

    @property
    def stage_masses(self) -> tuple[float, ...]:
        """Mass of the stack at each stage's ignition, over the lift-off mass.

        A stage burns its propellant (``propellant_fraction`` of its ignition mass) and
        then drops its structure, ``STRUCTURE_RATIO`` of that propellant.
        """
        masses, m = [], 1.0
        for stage in self.stages:
            masses.append(m)
            m *= 1.0 - stage.propellant_fraction * (1.0 + STRUCTURE_RATIO)
        return tuple(masses)


@dataclass(frozen=True, slots=True)
class HistoricalLaunch:
    """One record of the CNS database (fields as published) plus a reported flight time.

    ``date``/``time_utc`` are UTC as in the source; ``date_kst`` is the local date that
    press reports use. ``flight_time_s`` is ``None`` when no public figure is known.
    """

    date: str
    time_utc: str | None
    series: int | None
    missile: str
    facility: str
    landing: str
    apogee_km: float
    range_km: float
    bearing_deg: float
    outcome: str
    description: str
    flight_time_s: float | None
    flight_time_source: str
    source: str

    @property
    def launch_time(self) -> dt.datetime | None:
        """Launch time as an aware UTC datetime, when the record gives one."""
        if self.time_utc is None:
            return None
        return dt.datetime.fromisoformat(f"{self.date}T{self.time_utc}:00+00:00")

    @property
    def date_kst(self) -> str:
        """Local (Korea Standard Time) date of the launch."""
        t = self.launch_time
        return self.date if t is None else t.astimezone(_KST).date().isoformat()

    @property
    def site(self) -> Site:
        """The launch site record."""
        return get_site(self.facility)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> HistoricalLaunch:
        time = str(r.get("time", "unknown"))
        return cls(
            date=r["date"],
            time_utc=None if "UTC" not in time else time.split()[0],
            series=None if r.get("series") is None else int(r["series"]),
            missile=r["missile"],
            facility=r["facility"],
            landing=r.get("landing", "unknown"),
            apogee_km=float(r["apogee"]),
            range_km=float(r["distance"]),
            bearing_deg=float(r["bearing"]),
            outcome=r.get("outcome", "unknown"),
            description=r.get("description", ""),
            flight_time_s=None if r.get("flight_time_s") is None else float(r["flight_time_s"]),
            flight_time_source=r.get("flight_time_source", ""),
            source=r.get("_source", ATTRIBUTION),
        )


@functools.cache
def _sites() -> dict[str, Site]:
    raw = _load("sites.json")["sites"]
    return {
        k: Site(k, v["name"], float(v["lat"]), float(v["lon"]))
        for k, v in raw.items()
        if k != "unknown"
    }


@functools.cache
def _site_aliases() -> dict[str, str]:
    aliases: dict[str, str] = _load("sites.json").get("aliases", {})
    return aliases


def _pair(values: list[float]) -> tuple[float, float]:
    low, high = values
    return float(low), float(high)


@functools.cache
def _missiles() -> tuple[dict[str, Missile], dict[str, str], dict[MissileClass, str]]:
    doc = _load("missiles.json")
    table: dict[str, Missile] = {}
    aliases: dict[str, str] = {}
    coast = float(doc["staging"]["coast_s"])
    for k, v in doc["missiles"].items():
        m = Missile(
            key=k,
            name=v["name"],
            missile_class=MissileClass(v["class"]),
            stages=tuple(
                Stage(
                    float(s["burn_s"]),
                    float(s["dv_mps"]),
                    float(s["propellant_fraction"]),
                    float(s.get("coast_s", coast)) if i else 0.0,
                )
                for i, s in enumerate(v.get("stages", ()))
            ),
            vertical_s=float(v.get("vertical_s", 0.0)),
            range_km=_pair(v.get("range_km", (0.0, 0.0))),
            propellant=v.get("propellant", "unknown"),
            maneuver=v.get("maneuver", "none"),
            aliases=tuple(v.get("aliases", ())),
        )
        table[k] = m
        aliases[_key(m.name)] = k
        for a in m.aliases:
            aliases[_key(a)] = k
    templates = {MissileClass(c): k for c, k in doc["class_templates"].items()}
    drag = doc["drag"]["classes"]
    p = doc["manoeuvres"]["pullup"]
    manoeuvres = {
        "pullup": PullUp(
            float(p["trigger_km"]) * 1e3,
            float(p["trigger_fraction"]),
            float(p["duration_s"]),
            float(p["lift_to_drag"]),
            float(p["max_g"]) * _G0,
        )
    }
    for k, m in table.items():
        d, v = drag[m.missile_class.value], doc["missiles"][k]
        beta = Drag(
            float(v.get("boost_beta_kg_m2", d["boost"])),
            float(v.get("reentry_beta_kg_m2", d["reentry"])),
            float(v.get("stage_beta_kg_m2", d["stage"])),
        )
        table[k] = dataclasses.replace(m, drag=beta, pullup=manoeuvres.get(m.maneuver))
    return table, aliases, templates


@functools.cache
def _historical() -> tuple[HistoricalLaunch, ...]:
    return tuple(HistoricalLaunch.from_record(r) for r in _load("historical.json")["launches"])


def sites() -> dict[str, Site]:
    """All launch sites by key."""
    return dict(_sites())


def missiles() -> dict[str, Missile]:
    """All missile types by key (the keys of the CNS ``missile.en.json``)."""
    return dict(_missiles()[0])


def get_site(name: str) -> Site:
    """Site by key (``sohae``), alias (``tongchang-ri``) or display name (case-insensitive)."""
    table = _sites()
    k = _key(name)
    k = _site_aliases().get(k, k)
    if k in table:
        return table[k]
    for site in table.values():
        if _key(site.name) == k:
            return site
    raise CatalogError(f"unknown site {name!r}; valid sites: {_choices(list(table))}")


def get_missile(key: str) -> Missile:
    """Missile by catalogue key, alias (``kn-23``) or class name (``ICBM`` → a typical type).

    ``unknown`` is a valid key without stages: the solver then picks a class template
    that can deliver the requested range and apogee.
    """
    table, aliases, templates = _missiles()
    k = _key(key)
    if k in table:
        return table[k]
    if k in aliases:
        return table[aliases[k]]
    for cls, template in templates.items():
        if k == cls.value.lower():
            return table[template]
    valid = [*table, *(c.value for c in templates)]
    raise CatalogError(f"unknown missile {key!r}; valid missiles: {_choices(valid)}")


def class_template(missile_class: MissileClass) -> Missile:
    """The representative missile type of a class (e.g. ICBM → hwasong-17)."""
    _, _, templates = _missiles()
    if missile_class not in templates:
        raise CatalogError(
            f"no template for class {missile_class.value}; valid: "
            f"{_choices([c.value for c in templates])}"
        )
    return get_missile(templates[missile_class])


def historical(date: str | None = None) -> list[HistoricalLaunch]:
    """Historical launches on ``date`` (``YYYY-MM-DD``, UTC or Korean local date), or all.

    Records come back in launch order (series number within a salvo).
    """
    every = _historical()
    if date is None:
        return list(every)
    found = [h for h in every if date in (h.date, h.date_kst)]
    if not found:
        dates = sorted({h.date for h in every})
        raise CatalogError(f"no historical launch on {date!r}; known UTC dates: {_choices(dates)}")
    return found
