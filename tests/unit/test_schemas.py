"""The .avsc files: documented, evolvable, and exactly the shape of model.to_dict()."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import SAMPLES, make_alert, make_warning
from trilink.errors import ConfigError
from trilink.model import RECORD_TYPES, Record
from trilink.schemas import SCHEMA_DIR, SchemaCatalog, default_catalog, fingerprint_of

CATALOG = default_catalog()
CURRENT = {name: CATALOG.current(name).schema for name in CATALOG.names()}

# Unit words a field's doc must mention, by the unit suffix of its name.
UNIT_WORDS = {
    "_us": "microseconds",
    "_m": "metres",
    "_mps": "metres per second",
    "_deg": "degrees",
    "_km": "kilometres",
}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict (schema, field, nested type) in a schema tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _fields(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for node in _walk(schema):
        if node.get("type") == "record":
            yield from node["fields"]


def _named_types(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in _walk(schema) if n.get("type") in ("record", "enum")}


# Records private to one service (the bridge's state snapshots) share schemas/ and the
# codec but not the domain model.
SERVICE_RECORDS = {
    "trilink.v1.BridgeTrackState",
    "trilink.v1.ClockDefinition",
    "trilink.v1.Heartbeat",
}


def test_catalog_has_every_model_record() -> None:
    assert set(CATALOG.names()) == set(RECORD_TYPES) | SERVICE_RECORDS
    for name in CATALOG.names():
        assert CATALOG.current(name).schema["namespace"] == "trilink.v1"


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_every_field_is_documented_with_its_unit(name: str) -> None:
    for f in _fields(CURRENT[name]):
        doc = f.get("doc", "")
        assert len(doc) > 10, f"{name}.{f['name']} has no doc"
        suffix = "_" + f["name"].rpartition("_")[2]
        if suffix in UNIT_WORDS:
            assert UNIT_WORDS[suffix] in doc, f"{name}.{f['name']} doc lacks its unit"


@pytest.mark.parametrize("name", sorted(CURRENT))
def test_times_are_timestamp_micros(name: str) -> None:
    for f in _fields(CURRENT[name]):
        if f["name"].endswith("_us"):
            assert f["type"] == {"type": "long", "logicalType": "timestamp-micros"}


@pytest.mark.parametrize("version", list(CATALOG), ids=lambda v: f"{v.name}.{v.version}")
def test_enums_default_to_unknown(version: Any) -> None:
    enums = [n for n in _walk(version.schema) if n.get("type") == "enum"]
    for enum in enums:
        assert enum.get("default") == "UNKNOWN" and "UNKNOWN" in enum["symbols"], enum["name"]


def test_vectors_and_covariance_document_their_lengths() -> None:
    for name in ("trilink.v1.MissileWarning", "trilink.v1.FusedAlert"):
        fields = {f["name"]: f for f in CURRENT[name]["fields"]}
        for key, length in (("position_m", "3"), ("velocity_mps", "3"), ("covariance", "21")):
            assert fields[key]["type"] == {"type": "array", "items": "double"}
            assert f"exactly {length} values" in fields[key]["doc"]


def test_shared_named_types_are_identical_wherever_written() -> None:
    seen: dict[str, dict[str, Any]] = {}
    for name, schema in CURRENT.items():
        for type_name, definition in _named_types(schema).items():
            if type_name in seen:
                assert definition == seen[type_name], f"{type_name} differs in {name}"
            seen[type_name] = definition
    assert {"Nation", "DataMode", "MissileClass", "GroundPoint", "Ellipse"} <= set(seen)


def _shape_matches(schema: Any, value: Any, named: dict[str, Any], where: str) -> None:
    """Assert a to_dict() value has exactly the shape ``schema`` describes."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):  # union: the value must fit one branch
        errors = []
        for branch in schema:
            try:
                _shape_matches(branch, value, named, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: fits no union branch: {errors}")
    kind = schema["type"] if isinstance(schema, dict) else schema
    if isinstance(kind, dict):
        _shape_matches(kind, value, named, where)
        return
    checks: dict[str, Callable[[Any], bool]] = {
        "null": lambda v: v is None,
        "boolean": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "double": lambda v: isinstance(v, float),
        "string": lambda v: isinstance(v, str),
        "bytes": lambda v: isinstance(v, bytes),
        "enum": lambda v: isinstance(v, str) and v in schema["symbols"],
    }
    if kind in checks:
        assert checks[kind](value), f"{where}: {value!r} is not {kind}"
    elif kind == "array":
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, item in enumerate(value):
            _shape_matches(schema["items"], item, named, f"{where}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{where}: not a dict"
        for key, item in value.items():
            _shape_matches(schema["values"], item, named, f"{where}[{key}]")
    elif kind == "record":
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        assert list(value) == [f["name"] for f in schema["fields"]], f"{where}: keys differ"
        for f in schema["fields"]:
            _shape_matches(f["type"], value[f["name"]], named, f"{where}.{f['name']}")
    else:
        raise AssertionError(f"{where}: unexpected schema type {kind}")


SHAPES = {
    **{k: make for k, make in SAMPLES.items()},
    "warning_without_points": lambda: make_warning(launch=None, impact=None),
    "alert_without_points": lambda: make_alert(launch=None, impact=None, contributors=()),
}


@pytest.mark.parametrize("make", SHAPES.values(), ids=SHAPES.keys())
def test_schema_matches_to_dict_exactly(make: Callable[[], Record]) -> None:
    record = make()
    schema = CURRENT[record.SCHEMA]
    _shape_matches(schema, record.to_dict(), _named_types(schema), record.SCHEMA)


@pytest.mark.parametrize("name", sorted(RECORD_TYPES))
def test_dataclass_defaults_are_avro_defaults(name: str) -> None:
    cls = RECORD_TYPES[name]
    sample = next(m() for m in SAMPLES.values() if name == m().SCHEMA)
    avro = {f["name"]: f for f in CURRENT[name]["fields"]}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        expected = dataclasses.replace(sample, **{f.name: default}).to_dict()[f.name]
        assert "default" in avro[f.name], f"{name}.{f.name} has no Avro default"
        assert avro[f.name]["default"] == expected, f"{name}.{f.name}"


def test_optional_points_default_to_null() -> None:
    for name in ("trilink.v1.MissileWarning", "trilink.v1.FusedAlert"):
        fields = {f["name"]: f for f in CURRENT[name]["fields"]}
        for key in ("launch", "impact"):
            assert fields[key]["type"][0] == "null" and fields[key]["default"] is None


def test_lookup_by_name_and_fingerprint() -> None:
    for version in CATALOG:
        assert CATALOG.by_fingerprint(version.fingerprint) is version
        assert CATALOG.version(version.name, version.version) is version
    warnings = CATALOG.history("trilink.v1.MissileWarning")
    assert [v.version for v in warnings] == list(range(1, len(warnings) + 1))
    assert warnings[-1] is CATALOG.current("trilink.v1.MissileWarning")
    assert CATALOG.by_fingerprint(b"\x00" * 8) is None
    with pytest.raises(ConfigError):
        CATALOG.current("trilink.v1.Nope")


def test_fingerprint_is_crc64_avro() -> None:
    # Test vector from the Avro specification's schema-tests: "int" -> 8247732601305521295.
    assert int.from_bytes(fingerprint_of('"int"'), "little") == 8247732601305521295
    current = CATALOG.current("trilink.v1.LaunchEvent")
    assert fingerprint_of(current.schema) == current.fingerprint
    assert current.fingerprint_int == int.from_bytes(current.fingerprint, "little")


def _copy_schemas(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    (root / "history").mkdir(parents=True)
    for path in SCHEMA_DIR.rglob("*.avsc"):
        target = root / path.relative_to(SCHEMA_DIR)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def test_load_from_another_directory(tmp_path: Path) -> None:
    root = _copy_schemas(tmp_path)
    assert SchemaCatalog.load(root).versions == CATALOG.versions


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "LaunchEvent.avsc").write_text("{", encoding="utf-8"), "cannot load"),
        (
            lambda root: (root / "Renamed.avsc").write_text(
                (root / "LaunchEvent.avsc").read_text(encoding="utf-8"), encoding="utf-8"
            ),
            "expected a record named Renamed",
        ),
        (
            lambda root: (root / "history" / "FusedAlert.1.avsc").unlink(),
            "versions 1..N",
        ),
        (
            lambda root: (root / "history" / "LaunchEvent.2.avsc").write_text(
                (root / "LaunchEvent.avsc").read_text(encoding="utf-8"), encoding="utf-8"
            ),
            "identical",
        ),
    ],
    ids=["bad-json", "wrong-name", "history-gap", "duplicate-version"],
)
def test_broken_schema_directories_fail_clearly(
    tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    root = _copy_schemas(tmp_path)
    damage(root)
    with pytest.raises(ConfigError, match=message):
        SchemaCatalog.load(root)


def test_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SchemaCatalog.load(tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"no \.avsc"):
        SchemaCatalog.load(tmp_path)


def test_schema_files_are_plain_json() -> None:
    for path in SCHEMA_DIR.rglob("*.avsc"):
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
