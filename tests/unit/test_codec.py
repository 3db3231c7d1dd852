"""The codec: round trips in both framings, and bad bytes always end as DecodeError."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SAMPLES, make_alert, make_launch, make_warning
from trilink.codec import Codec, EncodeError, Framing, codec_for
from trilink.config import KafkaConfig
from trilink.errors import ConfigError, DecodeError
from trilink.model import RECORD_TYPES, FusedAlert, MissileClass, MissileWarning, Record
from trilink.registry import RegistryError, SchemaRegistryClient, StaticSchemaIds
from trilink.schemas import SchemaVersion, default_catalog

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

IDS = StaticSchemaIds()
SINGLE = Codec()
CONFLUENT = Codec(framing=Framing.CONFLUENT, ids=IDS)
# Reads both framings: the catalog for single-object, the same id table for Confluent.
READER = Codec(ids=IDS)

SAMPLE_RECORDS: list[Record] = [make() for make in SAMPLES.values()]
VALID: list[bytes] = [c.encode(r) for r in SAMPLE_RECORDS for c in (SINGLE, CONFLUENT)]


@pytest.mark.parametrize("framing", list(Framing))
@pytest.mark.parametrize("make", SAMPLES.values(), ids=SAMPLES.keys())
def test_round_trip(make: Callable[[], Record], framing: Framing) -> None:
    codec = SINGLE if framing is Framing.SINGLE_OBJECT else CONFLUENT
    record = make()
    data = codec.encode(record)
    assert READER.decode(data) == record
    assert READER.decode(data, type(record)) == record
    assert READER.schema_name(data) == record.SCHEMA


def test_headers_follow_the_framings() -> None:
    warning = make_warning()
    single = SINGLE.encode(warning)
    current = default_catalog().current(MissileWarning.SCHEMA)
    assert single[:2] == b"\xc3\x01"
    assert single[2:10] == current.fingerprint
    confluent = CONFLUENT.encode(warning)
    assert confluent[0] == 0
    schema_id = int.from_bytes(confluent[1:5], "big")
    assert json.loads(IDS.schema(schema_id) or "null") == current.schema
    # Same Avro body under either header.
    assert single[10:] == confluent[5:]


def test_optional_points_and_empty_collections_round_trip() -> None:
    warning = make_warning(launch=None, impact=None, sensors=(), releasable_to=())
    assert SINGLE.decode(SINGLE.encode(warning)) == warning
    alert = make_alert(contributors=(), threatened=(), launch=None)
    assert SINGLE.decode(SINGLE.encode(alert)) == alert


def test_times_stay_integer_microseconds() -> None:
    launch = make_launch(launch_time_us=1_777_593_600_123_457)
    decoded = SINGLE.decode(SINGLE.encode(launch))
    assert decoded.launch_time_us == 1_777_593_600_123_457
    _, datum = SINGLE.decode_dict(SINGLE.encode(launch))
    assert type(datum["launch_time_us"]) is int


def test_expected_type_is_enforced_before_the_body() -> None:
    data = SINGLE.encode(make_warning())
    with pytest.raises(DecodeError) as info:
        SINGLE.decode(data, FusedAlert)
    assert info.value.error_type == "unexpected-schema"
    # The header alone decides: a broken body of the wrong type still says so.
    with pytest.raises(DecodeError) as info:
        SINGLE.decode(data[:12], FusedAlert)
    assert info.value.error_type == "unexpected-schema"


def _covariance_with(values: int) -> bytes:
    """A MissileWarning whose covariance array has ``values`` entries (byte surgery)."""
    warning = make_warning(covariance=tuple(float(i + 1) for i in range(21)))
    data = SINGLE.encode(warning)
    cov = b"".join(struct.pack("<d", c) for c in warning.covariance)
    at = data.index(bytes([21 * 2]) + cov)  # zig-zag varint block count, then doubles
    return data[:at] + bytes([values * 2]) + cov[: 8 * values] + data[at + 1 + len(cov) :]


def test_fixed_length_arrays_are_enforced() -> None:
    assert len(SINGLE.decode(_covariance_with(21)).covariance) == 21
    with pytest.raises(DecodeError) as info:
        SINGLE.decode(_covariance_with(20))
    assert info.value.error_type == "record"
    assert "covariance" in info.value.reason
    with pytest.raises(EncodeError):
        SINGLE.encode(make_warning(covariance=(1.0,) * 20))


def test_encode_rejects_a_record_that_does_not_fit() -> None:
    with pytest.raises(EncodeError, match="MissileWarning"):
        SINGLE.encode(make_warning(track_id=None))


def _expect(data: bytes | None, error_type: str, codec: Codec = READER) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    err = info.value
    assert err.error_type == error_type, err.reason
    assert err.reason and "\n" not in err.reason
    return err


def test_bad_framing_is_named() -> None:
    valid = SINGLE.encode(make_warning())
    _expect(b"", "framing")
    _expect(None, "framing")
    _expect(b"\xc3", "framing")
    _expect(b"\xc3\x02" + valid[2:], "framing")
    _expect(valid[:9], "framing")
    _expect(b"\x00\x00\x01", "framing")
    assert "0x7b" in _expect(b'{"json": true}', "framing").reason


def test_unknown_schemas_are_named() -> None:
    valid = SINGLE.encode(make_warning())
    err = _expect(valid[:2] + b"\x00" * 8 + valid[10:], "unknown-schema")
    assert "0000000000000000" in err.reason
    _expect(b"\x00\x00\x00\x7f\xff" + valid[10:], "unknown-schema")
    # Confluent framing with no id resolver at all.
    _expect(CONFLUENT.encode(make_warning()), "unknown-schema", SINGLE)


def test_bad_bodies_are_avro_errors() -> None:
    valid = SINGLE.encode(make_warning())
    assert "MissileWarning" in _expect(valid[:-3], "avro").reason
    assert "trailing" in _expect(valid + b"\x00", "avro").reason
    _expect(valid[:10], "avro")


def test_registry_schema_that_is_not_a_trilink_record() -> None:
    ids = StaticSchemaIds({7: json.dumps({"type": "record", "name": "Other", "fields": []})})
    ids.schemas[8] = "not json"
    codec = Codec(ids=ids)
    assert "Other" in _expect(b"\x00\x00\x00\x00\x07\x00", "unknown-schema", codec).reason
    _expect(b"\x00\x00\x00\x00\x08\x00", "unknown-schema", codec)


def _foreign_warning_schema(drop: set[str]) -> SchemaVersion:
    current = default_catalog().current(MissileWarning.SCHEMA).schema
    trimmed = dict(current, fields=[f for f in current["fields"] if f["name"] not in drop])
    foreign = SchemaVersion.from_schema(trimmed, version=99)
    assert default_catalog().by_fingerprint(foreign.fingerprint) is None
    return foreign


def test_registry_schema_outside_the_catalog_resolves_to_current() -> None:
    """Another producer registered a MissileWarning shape we have no file for."""
    ids = StaticSchemaIds()
    foreign = _foreign_warning_schema({"classification", "scenario_id"})
    datum = make_warning(missile_class=MissileClass.SLV).to_dict()
    data = Codec(framing=Framing.CONFLUENT, ids=ids).encode_dict(foreign, datum)
    decoded = Codec(ids=ids).decode(data, MissileWarning)
    assert decoded.classification == "UNCLASSIFIED//EXERCISE"  # the reader's default
    assert decoded.scenario_id == ""
    assert decoded.missile_class is MissileClass.SLV


def test_registry_schema_incompatible_with_current_is_an_avro_error() -> None:
    ids = StaticSchemaIds()
    foreign = _foreign_warning_schema({"quality"})  # the current reader has no default
    datum = make_warning().to_dict()
    data = Codec(framing=Framing.CONFLUENT, ids=ids).encode_dict(foreign, datum)
    _expect(data, "avro", Codec(ids=ids))


def test_confluent_encoding_needs_ids() -> None:
    with pytest.raises(ConfigError):
        Codec(framing=Framing.CONFLUENT)


def test_codec_for_picks_framing_from_config() -> None:
    assert codec_for(None).framing is Framing.SINGLE_OBJECT
    plain = KafkaConfig("localhost:9092")
    assert codec_for(plain).framing is Framing.SINGLE_OBJECT
    with_registry = KafkaConfig("localhost:9092", schema_registry_url="http://127.0.0.1:1")
    codec = codec_for(with_registry)
    assert codec.framing is Framing.CONFLUENT
    assert isinstance(codec.ids, SchemaRegistryClient)
    codec.ids.close()


def test_unreachable_registry_is_a_registry_error_not_a_decode_error() -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with SchemaRegistryClient(f"http://127.0.0.1:{port}", timeout=2.0) as client:
        codec = Codec(ids=client)
        with pytest.raises(RegistryError, match="fetch schema 3"):
            codec.decode(b"\x00\x00\x00\x00\x03\x00")


def _decodes_or_decode_error(data: bytes) -> None:
    try:
        record = READER.decode(data)
    except DecodeError as err:
        assert err.reason and "\n" not in err.reason
        assert err.error_type in {
            "framing",
            "unknown-schema",
            "unexpected-schema",
            "avro",
            "record",
        }
    else:
        assert isinstance(record, tuple(RECORD_TYPES.values()))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_escape_as_other_errors(data: bytes) -> None:
    _decodes_or_decode_error(data)


@FUZZ
@given(st.sampled_from([b"\xc3\x01", b"\x00"]), st.integers(0, len(VALID) - 1), st.binary())
def test_valid_header_random_body(magic: bytes, which: int, body: bytes) -> None:
    header = VALID[which][:10] if magic == b"\xc3\x01" else VALID[which][:5]
    _decodes_or_decode_error(header + body)


@FUZZ
@given(
    st.integers(0, len(VALID) - 1),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "set", "insert", "delete"]),
            st.integers(0),
            st.binary(min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_mutated_messages_decode_or_fail_cleanly(
    which: int, edits: list[tuple[str, int, bytes]], truncate: bool
) -> None:
    data = bytearray(VALID[which])
    for op, pos, payload in edits:
        at = pos % (len(data) + 1)
        if op == "flip" and at < len(data):
            data[at] ^= 1 << (payload[0] % 8)
        elif op == "set" and at < len(data):
            data[at] = payload[0]
        elif op == "insert":
            data[at:at] = payload
        elif op == "delete":
            del data[at : at + len(payload)]
    if truncate and data:
        del data[len(data) // 2 :]
    _decodes_or_decode_error(bytes(data))


def test_huge_length_prefixes_are_bounded_by_the_buffer() -> None:
    data = SINGLE.encode(make_warning())
    huge = b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"  # zig-zag varint ~ 2^62
    # message_id (a string) is the first field: give it an absurd length.
    _expect(data[:10] + huge + data[11:], "avro")
    # The sensors array follows message_id (37 bytes) and nation (1 byte): absurd count.
    sensors_at = 10 + 37 + 1
    assert data[sensors_at] == 2 * len(make_warning().sensors)
    _expect(data[:sensors_at] + huge + data[sensors_at + 1 :], "avro")
