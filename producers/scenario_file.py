"""Scenario files: YAML in the format of ``scenarios/*.yaml`` (see :mod:`producers.scenario`).

Everything in a file is checked before anything flies: unknown keys, non-numbers,
non-finite numbers, salvo sizes beyond any raid, malformed YAML, each refused
with one line that says where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from producers.errors import ScenarioError
from producers.scenario import (
    BUILTINS,
    DEFAULT_START_US,
    MAX_SALVO,
    LaunchSpec,
    Scenario,
    build,
    historical_scenario,
    historical_specs,
)
from trilink.errors import ConfigError
from trilink.physics import DEFAULT_PHYSICS, Physics
from trilink.timeutil import parse_iso


def _number(entry: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = entry.get(key, default)
    if value is None:
        raise ScenarioError(f"{where}: missing {key}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ScenarioError(f"{where}: {key} must be finite")
    return number


_CATALOGUE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_SCENARIO_KEYS = frozenset(
    {"scenario_id", "description", "seed", "start", "historical", "launches", "physics"}
)
_LAUNCH_KEYS = frozenset(
    {"site", "lat", "lon", "missile", "bearing_deg", "range_km", "apogee_km", "offset_s"}
    | {"count", "spacing_s"}
)


def _refuse_unknown(entry: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    # A misspelt key (``bearing`` for ``bearing_deg``) would otherwise fall back to a
    # default silently and fly another missile than the one written.
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _specs_from_entry(entry: Any, where: str) -> list[LaunchSpec]:
    if not isinstance(entry, Mapping):
        raise ScenarioError(f"{where}: a launch must be a mapping")
    _refuse_unknown(entry, _LAUNCH_KEYS, where)
    site = entry.get("site")
    lat = entry.get("lat")
    lon = entry.get("lon")
    if site is None and (lat is None or lon is None):
        raise ScenarioError(f"{where}: give a site or lat and lon")
    count_value = _number(entry, "count", where, 1)
    if count_value != int(count_value) or not 1 <= count_value <= MAX_SALVO:
        raise ScenarioError(f"{where}: count must be a whole number in 1..{MAX_SALVO}")
    count = int(count_value)
    base = LaunchSpec(
        site=str(site if site is not None else f"{lat},{lon}"),
        missile=str(entry.get("missile", "unknown")),
        bearing_deg=_number(entry, "bearing_deg", where),
        range_km=_number(entry, "range_km", where),
        apogee_km=_number(entry, "apogee_km", where),
        offset_s=_number(entry, "offset_s", where, 0.0),
        lat_deg=None if lat is None else _number(entry, "lat", where),
        lon_deg=None if lon is None else _number(entry, "lon", where),
    )
    spacing = _number(entry, "spacing_s", where, 0.0)
    return [replace(base, offset_s=base.offset_s + i * spacing) for i in range(count)]


def scenario_from_mapping(doc: Any, default_id: str, seed: int | None = None) -> Scenario:
    """Build a scenario from a parsed YAML document (see the module docstring)."""
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"{default_id}: a scenario file must be a mapping")
    _refuse_unknown(doc, _SCENARIO_KEYS, default_id)
    scenario_id = str(doc.get("scenario_id", default_id))
    specs: list[LaunchSpec] = []
    start_us: int | None = None
    if doc.get("historical") is not None:
        hist, start_us = historical_specs(str(doc["historical"]))
        specs.extend(hist)
    launches = doc.get("launches") or []
    if not isinstance(launches, list):
        raise ScenarioError(f"{scenario_id}: launches must be a list")
    for i, entry in enumerate(launches):
        specs.extend(_specs_from_entry(entry, f"{scenario_id} launch {i + 1}"))
    if doc.get("start") is not None:
        try:
            start_us = parse_iso(str(doc["start"]))
        except ValueError:
            raise ScenarioError(f"{scenario_id}: start {doc['start']!r} is not ISO-8601") from None
    chosen_seed = seed if seed is not None else int(doc.get("seed", 0))
    try:
        physics = Physics.parse(str(doc.get("physics", DEFAULT_PHYSICS.value)))
    except ConfigError as exc:
        raise ScenarioError(f"{scenario_id}: {exc}") from None
    scenario = build(
        scenario_id,
        specs,
        DEFAULT_START_US if start_us is None else start_us,
        chosen_seed,
        str(doc.get("description", "")),
    )
    return replace(scenario, physics=physics)


def load_scenario(name_or_path: str | Path, seed: int | None = None) -> Scenario:
    """A built-in scenario by name, a catalogue date (``2024-05-29``: that day's launches,
    ``producers.scenario.historical_scenario``) or a YAML scenario file; ``seed``
    overrides the file's."""
    text = str(name_or_path)
    if text in BUILTINS:
        return BUILTINS[text](0 if seed is None else seed)
    path = Path(text)
    if _CATALOGUE_DATE.fullmatch(text) and not path.exists():
        return historical_scenario(text, 0 if seed is None else seed)
    if not path.suffix and not path.exists():
        raise ScenarioError(
            f"unknown scenario {text!r}; built-ins: {', '.join(BUILTINS)} "
            "(or a catalogue date YYYY-MM-DD, or a YAML file)"
        )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {text}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        # PyYAML's message spans several lines with a caret diagram: keep the gist.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ScenarioError(f"scenario file {text} is not valid YAML: {problem}{where}") from exc
    return scenario_from_mapping(doc, path.stem, seed)
