"""The schema catalog: every ``.avsc`` under ``schemas/`` parsed once, by name and fingerprint.

Layout of the directory::

    schemas/<Name>.avsc               current version of record trilink.v1.<Name>
    schemas/history/<Name>.<N>.avsc   earlier versions 1..N (current = highest + 1)

Each file is self-contained (shared named types such as ``Nation`` are written out
in full wherever they are used) so a file can be registered with a Confluent
Schema Registry on its own. Each version carries the CRC-64-AVRO fingerprint of
its Parsing Canonical Form, the 8 bytes of the Avro single-object header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

from trilink.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
_HISTORY_NAME = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\.(?P<version>[1-9][0-9]*)\.avsc$")


def strip_logical_types(node: Any) -> Any:
    """A copy of a schema without ``logicalType``: timestamps then read back as plain ints.

    The codec works in int microseconds throughout; letting fastavro build aware
    datetimes only to convert them straight back costs more than the rest of a
    decode. The Parsing Canonical Form ignores logical types, so the fingerprint
    is unchanged.
    """
    if isinstance(node, dict):
        return {k: strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [strip_logical_types(v) for v in node]
    return node


def fingerprint_of(schema: Mapping[str, Any] | str) -> bytes:
    """CRC-64-AVRO fingerprint (8 bytes, little-endian as in the single-object header).

    ``schema`` is a schema dict or its JSON text; it is parsed to find its
    Parsing Canonical Form first.
    """
    as_dict = json.loads(schema) if isinstance(schema, str) else dict(schema)
    canonical = to_parsing_canonical_form(parse_schema(as_dict, _write_hint=False))
    return bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO"))


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of one record schema, parsed and fingerprinted.

    ``parsed`` is the fastavro form used for reading and writing (logical types
    removed: timestamps are int microseconds); ``schema`` is the file as written,
    docs and all, for registries and humans.
    """

    name: str
    version: int
    schema: Mapping[str, Any] = field(repr=False)
    canonical: str = field(repr=False)
    fingerprint: bytes = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    path: Path | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_schema(
        cls, schema: Mapping[str, Any], version: int, path: Path | None = None
    ) -> SchemaVersion:
        """Parse and fingerprint one schema (any valid Avro record schema)."""
        as_dict = dict(schema)
        canonical = to_parsing_canonical_form(parse_schema(as_dict, _write_hint=False))
        name = json.loads(canonical).get("name") if canonical.startswith("{") else None
        if not isinstance(name, str):
            raise ConfigError(f"schema {path or '<inline>'} is not a named record")
        return cls(
            name=name,
            version=version,
            schema=as_dict,
            canonical=canonical,
            fingerprint=bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO")),
            parsed=parse_schema(strip_logical_types(as_dict)),
            path=path,
        )

    @property
    def fingerprint_int(self) -> int:
        """The fingerprint as the unsigned 64-bit integer the Avro spec prints."""
        return int.from_bytes(self.fingerprint, "little")

    @property
    def schema_json(self) -> str:
        """The full schema as compact JSON (what a Schema Registry is sent)."""
        return json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class SchemaCatalog:
    """All known versions of all record schemas; build with :meth:`load`."""

    versions: tuple[SchemaVersion, ...]
    _current: Mapping[str, SchemaVersion] = field(init=False, repr=False, compare=False)
    _by_fp: Mapping[bytes, SchemaVersion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        current: dict[str, SchemaVersion] = {}
        by_fp: dict[bytes, SchemaVersion] = {}
        for v in self.versions:
            if v.fingerprint in by_fp:
                other = by_fp[v.fingerprint]
                raise ConfigError(
                    f"{v.name} v{v.version} is identical to {other.name} v{other.version}"
                )
            by_fp[v.fingerprint] = v
            if v.name not in current or v.version > current[v.name].version:
                current[v.name] = v
        object.__setattr__(self, "_current", current)
        object.__setattr__(self, "_by_fp", by_fp)

    @classmethod
    def load(cls, directory: Path | str | None = None) -> SchemaCatalog:
        """Parse every schema under ``directory`` (default: the repository's ``schemas/``)."""
        root = Path(directory) if directory is not None else SCHEMA_DIR
        if not root.is_dir():
            raise ConfigError(f"schema directory {root} does not exist")
        versions: list[SchemaVersion] = []
        for path in sorted(root.glob("*.avsc")):
            history = _history_of(root / "history", path.stem)
            for number, hist_path in enumerate(history, start=1):
                versions.append(_load_file(hist_path, number, path.stem))
            versions.append(_load_file(path, len(history) + 1, path.stem))
        if not versions:
            raise ConfigError(f"no .avsc schemas in {root}")
        return cls(tuple(versions))

    def names(self) -> tuple[str, ...]:
        """Full names of every record schema, sorted."""
        return tuple(sorted(self._current))

    def current(self, name: str) -> SchemaVersion:
        """Newest version of ``name`` (full name, e.g. ``trilink.v1.MissileWarning``)."""
        try:
            return self._current[name]
        except KeyError:
            raise ConfigError(f"unknown schema {name!r}") from None

    def history(self, name: str) -> tuple[SchemaVersion, ...]:
        """Every version of ``name``, oldest first (the last is the current one)."""
        self.current(name)
        return tuple(sorted((v for v in self.versions if v.name == name), key=_version_key))

    def version(self, name: str, number: int) -> SchemaVersion:
        """Version ``number`` (1-based) of ``name``."""
        for v in self.history(name):
            if v.version == number:
                return v
        raise ConfigError(f"schema {name!r} has no version {number}")

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion | None:
        """The version with this 8-byte fingerprint, or None."""
        return self._by_fp.get(fingerprint)

    def __iter__(self) -> Iterator[SchemaVersion]:
        return iter(self.versions)


def _version_key(v: SchemaVersion) -> int:
    return v.version


def _history_of(history_dir: Path, stem: str) -> list[Path]:
    if not history_dir.is_dir():
        return []
    found: dict[int, Path] = {}
    for path in history_dir.glob(f"{stem}.*.avsc"):
        match = _HISTORY_NAME.match(path.name)
        if match and match["name"] == stem:
            found[int(match["version"])] = path
    if sorted(found) != list(range(1, len(found) + 1)):
        raise ConfigError(f"history of {stem} must be versions 1..N, found {sorted(found)}")
    return [found[n] for n in sorted(found)]


def _load_file(path: Path, version: int, stem: str) -> SchemaVersion:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        loaded = SchemaVersion.from_schema(schema, version, path)
    except ConfigError:
        raise
    except Exception as exc:  # fastavro raises many types on a bad schema
        raise ConfigError(f"cannot load schema {path}: {exc}") from exc
    if loaded.name.rpartition(".")[2] != stem:
        raise ConfigError(f"{path} defines {loaded.name}, expected a record named {stem}")
    return loaded


@cache
def default_catalog() -> SchemaCatalog:
    """The repository's catalog, parsed once per process."""
    return SchemaCatalog.load()
