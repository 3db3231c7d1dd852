"""Avro encoding of trilink records: the only place (with ``schemas``) that touches fastavro.

Two framings, both recognised on decode whichever one a codec writes:

* **single-object** (the default; Avro spec): ``C3 01`` + the 8-byte little-endian
  CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form + body.
  Fingerprints are looked up in the local :class:`~trilink.schemas.SchemaCatalog`.
* **Confluent**: ``00`` + 4-byte big-endian schema id + body; ids come from a
  :class:`~trilink.registry.SchemaIdResolver` (a real Schema Registry, or an
  explicit id table).

A body written with any known version of a schema is resolved (writer -> reader)
to the current version, so a consumer always sees the newest shape. Bytes that
are not a valid record raise :class:`~trilink.errors.DecodeError` with a one-line
``reason`` and an ``error_type`` (``framing``, ``unknown-schema``,
``unexpected-schema``, ``avro``, ``record``); nothing else escapes. The one
exception is a registry that cannot be reached: that is an infrastructure fault,
not bad bytes, and raises :class:`~trilink.registry.RegistryError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from io import BytesIO
from typing import Any, ClassVar, Protocol, Self, TypeVar, overload

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

from trilink.config import KafkaConfig
from trilink.errors import ConfigError, DecodeError, TrilinkError
from trilink.model import RECORD_TYPES, Record
from trilink.registry import SchemaIdResolver, SchemaRegistryClient
from trilink.schemas import SchemaCatalog, SchemaVersion, default_catalog, strip_logical_types
from trilink.union_tags import Tags, tag_unions, union_tags

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
_SO_HEADER = 10
_CF_HEADER = 5

# Avro has no fixed-length arrays; the schemas document these lengths and the
# codec enforces them so a decoded record never carries a truncated state vector.
_FIXED_LENGTHS: Mapping[str, int] = {"position_m": 3, "velocity_mps": 3, "covariance": 21}


class AvroRecord(Protocol):
    """What the codec needs of a record class: its schema's full name and a dict form.

    The domain records (:data:`~trilink.model.RECORD_TYPES`) qualify, and so do a
    service's private records (the bridge's state snapshots), which decode only
    when asked for by type.
    """

    SCHEMA: ClassVar[str]

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self: ...


R = TypeVar("R", bound=AvroRecord)


class Framing(StrEnum):
    """How a record's bytes are framed on the wire."""

    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


class EncodeError(TrilinkError):
    """A record that does not fit its schema (a programming error, not bad input)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to read a body written with one writer schema."""

    name: str
    writer: Any
    reader: Any | None  # None: the writer is the current version, no resolution needed
    label: str


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_lengths(name: str, datum: Mapping[str, Any]) -> str | None:
    for key, length in _FIXED_LENGTHS.items():
        value = datum.get(key)
        if value is not None and len(value) != length:
            return f"{name}.{key} has {len(value)} values, expected {length}"
    return None


@dataclass(frozen=True)
class Codec:
    """Encode records to bytes and back. Build once, share freely (thread-safe reads).

    ``framing`` is what :meth:`encode` writes; :meth:`decode` accepts both. The
    Confluent framing needs ``ids``; without it, Confluent-framed input is
    rejected as ``unknown-schema``.
    """

    catalog: SchemaCatalog = field(default_factory=default_catalog)
    framing: Framing = Framing.SINGLE_OBJECT
    ids: SchemaIdResolver | None = None
    _by_fp: dict[bytes, _Plan] = field(init=False, repr=False, compare=False)
    _by_id: dict[int, _Plan] = field(init=False, repr=False, compare=False)
    _unknown_ids: set[int] = field(init=False, repr=False, compare=False)
    _headers: dict[bytes, bytes] = field(init=False, repr=False, compare=False)
    _unions: Mapping[bytes, Tags] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.framing is Framing.CONFLUENT and self.ids is None:
            raise ConfigError("the Confluent framing needs a schema registry (ids)")
        plans = {}
        for v in self.catalog:
            current = self.catalog.current(v.name)
            reader = None if current is v else current.parsed
            plans[v.fingerprint] = _Plan(v.name, v.parsed, reader, f"{v.name} v{v.version}")
        object.__setattr__(self, "_by_fp", plans)
        object.__setattr__(self, "_by_id", {})
        object.__setattr__(self, "_unknown_ids", set())
        object.__setattr__(self, "_headers", {})
        object.__setattr__(
            self, "_unions", {v.fingerprint: union_tags(v.schema) for v in self.catalog}
        )

    # -- encoding ---------------------------------------------------------------

    def encode(self, record: AvroRecord) -> bytes:
        """Bytes of ``record`` (current schema version, this codec's framing)."""
        return self.encode_dict(record.SCHEMA, record.to_dict())

    def encode_dict(self, schema: str | SchemaVersion, datum: Mapping[str, Any]) -> bytes:
        """Bytes of an Avro datum for ``schema`` (a full name, or a specific version).

        Writing an older :class:`SchemaVersion` is how tests play an old producer.
        """
        version = self.catalog.current(schema) if isinstance(schema, str) else schema
        problem = _check_lengths(version.name, datum)
        if problem is not None:
            raise EncodeError(problem)
        tags = self._unions.get(version.fingerprint)
        if tags is None:  # a version from outside the catalog
            tags = union_tags(version.schema)
        # Each union's branch told to the writer, not guessed by validating (see
        # ``trilink.union_tags``).
        datum = tag_unions(datum, tags)
        buf = BytesIO()
        buf.write(self._header(version))
        try:
            schemaless_writer(buf, version.parsed, datum)
        except Exception as exc:  # fastavro raises TypeError/ValueError/KeyError...
            raise EncodeError(f"{version.name} does not fit: {_one_line(exc)}") from exc
        return buf.getvalue()

    def _header(self, version: SchemaVersion) -> bytes:
        header = self._headers.get(version.fingerprint)
        if header is None:
            if self.framing is Framing.SINGLE_OBJECT:
                header = SINGLE_OBJECT_MAGIC + version.fingerprint
            else:
                assert self.ids is not None  # checked in __post_init__
                schema_id = self.ids.register(version.name, version.schema_json)
                header = CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")
                known = self._by_fp.get(version.fingerprint)
                if known is not None:  # our own writes decode without a registry round trip
                    self._by_id.setdefault(schema_id, known)
            self._headers[version.fingerprint] = header
        return header

    # -- decoding ---------------------------------------------------------------

    @overload
    def decode(self, data: bytes | None, expected: None = None) -> Record: ...

    @overload
    def decode(self, data: bytes | None, expected: type[R]) -> R: ...

    def decode(self, data: bytes | None, expected: type[Any] | None = None) -> Any:
        """The record in ``data``, in its current schema version.

        With ``expected``, a record of another type is rejected
        (``unexpected-schema``) before its body is read; ``expected`` may be any
        :class:`AvroRecord` class, a service-private one too.
        """
        name, datum = self.decode_dict(data, None if expected is None else expected.SCHEMA)
        record_type: type[Any] | None = RECORD_TYPES.get(name) if expected is None else expected
        if record_type is None:  # a service-private schema is read only when asked for by type
            raise DecodeError(f"{name} is not a domain record", error_type="unexpected-schema")
        try:
            return record_type.from_dict(datum)
        except Exception as exc:  # a datum the model refuses is bad input too
            raise DecodeError(
                f"{name} is not a valid record: {_one_line(exc)}", error_type="record"
            ) from exc

    def decode_dict(
        self,
        data: bytes | None,
        expected: str | None = None,
        *,
        reader: SchemaVersion | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """(schema full name, Avro datum) of ``data``, in the current version.

        ``reader`` reads as that version instead: how a consumer built against an
        older schema sees the data (new enum symbols become the enum's default).
        """
        plan, start = self._plan_for(data)
        if expected is not None and plan.name != expected:
            raise DecodeError(
                f"expected {expected}, got {plan.name}", error_type="unexpected-schema"
            )
        reader_schema = plan.reader
        if reader is not None:
            if reader.name != plan.name:
                raise DecodeError(
                    f"cannot read {plan.name} as {reader.name}", error_type="unexpected-schema"
                )
            reader_schema = None if reader.parsed is plan.writer else reader.parsed
        assert data is not None  # _plan_for rejects None
        buf = BytesIO(data)
        buf.seek(start)
        try:
            datum = schemaless_reader(buf, plan.writer, reader_schema)
        except Exception as exc:  # EOFError, ValueError, IndexError, UnicodeDecodeError...
            raise DecodeError(
                f"{plan.label} body does not parse: {_one_line(exc)}", error_type="avro"
            ) from exc
        extra = len(data) - buf.tell()
        if extra:
            raise DecodeError(
                f"{extra} trailing bytes after the {plan.label} body", error_type="avro"
            )
        if not isinstance(datum, dict):
            raise DecodeError(f"{plan.label} body is not a record", error_type="avro")
        problem = _check_lengths(plan.name, datum)
        if problem is not None:
            raise DecodeError(problem, error_type="record")
        return plan.name, datum

    def schema_name(self, data: bytes | None) -> str:
        """Full name of the schema ``data`` was written with, reading only the header."""
        return self._plan_for(data)[0].name

    def _plan_for(self, data: bytes | None) -> tuple[_Plan, int]:
        if not data:
            raise DecodeError(
                "empty value" if data is not None else "null value", error_type="framing"
            )
        first = data[0]
        if first == SINGLE_OBJECT_MAGIC[0]:
            if data[1:2] != SINGLE_OBJECT_MAGIC[1:]:
                raise DecodeError("bad single-object magic (expected C3 01)", error_type="framing")
            if len(data) < _SO_HEADER:
                raise DecodeError(
                    f"truncated single-object header ({len(data)} bytes)", error_type="framing"
                )
            fp = data[2:_SO_HEADER]
            plan = self._by_fp.get(fp)
            if plan is None:
                raise DecodeError(
                    f"unknown schema fingerprint {fp.hex()}", error_type="unknown-schema"
                )
            return plan, _SO_HEADER
        if first == CONFLUENT_MAGIC[0]:
            if len(data) < _CF_HEADER:
                raise DecodeError(
                    f"truncated Confluent header ({len(data)} bytes)", error_type="framing"
                )
            schema_id = int.from_bytes(data[1:_CF_HEADER], "big")
            plan = self._by_id.get(schema_id) or self._resolve_id(schema_id)
            return plan, _CF_HEADER
        raise DecodeError(
            f"unknown framing: first byte 0x{first:02x} (want C3 01 or 00)", error_type="framing"
        )

    def _resolve_id(self, schema_id: int) -> _Plan:
        if self.ids is None:
            raise DecodeError(
                f"Confluent-framed record (schema id {schema_id}) but no schema registry",
                error_type="unknown-schema",
            )
        if schema_id in self._unknown_ids:
            raise DecodeError(f"unknown schema id {schema_id}", error_type="unknown-schema")
        text = self.ids.schema(schema_id)
        if text is None:
            if len(self._unknown_ids) > 4096:  # bound the memory random ids can claim
                self._unknown_ids.clear()
            self._unknown_ids.add(schema_id)
            raise DecodeError(f"unknown schema id {schema_id}", error_type="unknown-schema")
        plan = self._plan_for_schema(schema_id, text)
        self._by_id[schema_id] = plan
        return plan

    def _plan_for_schema(self, schema_id: int, text: str) -> _Plan:
        """Plan for a registry schema: a catalog version, or a foreign version of a known record."""
        try:
            schema = json.loads(text)
            canonical = to_parsing_canonical_form(parse_schema(schema, _write_hint=False))
        except Exception as exc:
            raise DecodeError(
                f"schema id {schema_id} is not a valid Avro schema: {_one_line(exc)}",
                error_type="unknown-schema",
            ) from exc
        known = self._by_fp.get(bytes.fromhex(_fingerprint(canonical, "CRC-64-AVRO")))
        if known is not None:
            return known
        name = json.loads(canonical).get("name") if canonical.startswith("{") else canonical
        if name not in self.catalog.names():
            raise DecodeError(
                f"schema id {schema_id} ({name}) is not a trilink record",
                error_type="unknown-schema",
            )
        current = self.catalog.current(name)
        writer = parse_schema(strip_logical_types(schema))
        return _Plan(name, writer, current.parsed, f"{name} (registry id {schema_id})")


def codec_for(kafka: KafkaConfig | None = None, *, catalog: SchemaCatalog | None = None) -> Codec:
    """The codec a service should use: Confluent framing with the configured
    Schema Registry, otherwise single-object framing with the local catalog."""
    cat = catalog or default_catalog()
    if kafka is not None and kafka.schema_registry_url:
        return Codec(cat, Framing.CONFLUENT, SchemaRegistryClient(kafka.schema_registry_url))
    return Codec(cat)
