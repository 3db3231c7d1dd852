"""Schema evolution: the current schemas read data written with every earlier version,
and readers built on an earlier version survive data written with the current one."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.state import BridgeTrackState
from tests.factories import SAMPLES, make_alert, make_warning
from trilink.codec import Codec, Framing
from trilink.errors import DecodeError
from trilink.model import RECORD_TYPES, AlertStatus, FusedAlert, MissileClass, MissileWarning
from trilink.registry import StaticSchemaIds
from trilink.schemas import SchemaVersion, default_catalog

CATALOG = default_catalog()
OLD_VERSIONS = [v for v in CATALOG if v is not CATALOG.current(v.name) and v.name in RECORD_TYPES]
SAMPLE_BY_NAME = {make().SCHEMA: make for make in SAMPLES.values()}


def _symbols(version: SchemaVersion) -> dict[str, set[str]]:
    """Enum name -> symbols, over the whole schema tree."""
    found: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "enum":
                found[node["name"]] = set(node["symbols"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(version.schema)
    return found


def _old_datum(version: SchemaVersion) -> dict[str, Any]:
    """The sample record as the old version's writer would have produced it."""
    datum = SAMPLE_BY_NAME[version.name]().to_dict()
    return {f["name"]: datum[f["name"]] for f in version.schema["fields"]}


def test_there_is_history_for_every_record() -> None:
    assert {v.name for v in OLD_VERSIONS} == set(RECORD_TYPES)
    assert len(CATALOG.history(BridgeTrackState.SCHEMA)) >= 2
    assert len(CATALOG.history(FusedAlert.SCHEMA)) >= 3


@pytest.mark.parametrize("framing", list(Framing))
@pytest.mark.parametrize("old", OLD_VERSIONS, ids=lambda v: f"{v.name}.{v.version}")
def test_current_reads_every_earlier_version(old: SchemaVersion, framing: Framing) -> None:
    ids = StaticSchemaIds()
    writer = Codec(framing=framing, ids=ids)
    data = writer.encode_dict(old, _old_datum(old))
    if framing is Framing.SINGLE_OBJECT:
        assert data[2:10] == old.fingerprint
    decoded = Codec(ids=ids).decode(data)

    current = CATALOG.current(old.name)
    old_fields = {f["name"] for f in old.schema["fields"]}
    expected = SAMPLE_BY_NAME[old.name]().to_dict()
    for f in current.schema["fields"]:
        if f["name"] not in old_fields:
            expected[f["name"]] = f["default"]  # what the reader fills in
    assert decoded == RECORD_TYPES[old.name].from_dict(expected)


def test_old_warning_gets_current_defaults() -> None:
    old = CATALOG.version(MissileWarning.SCHEMA, 1)
    data = Codec().encode_dict(old, _old_datum(old))
    decoded = Codec().decode(data, MissileWarning)
    assert decoded.scenario_id == ""
    assert decoded.classification == "UNCLASSIFIED//EXERCISE"
    assert decoded.track_id == make_warning().track_id


def test_first_fused_alert_version_defaults_data_mode_note_and_scenario() -> None:
    old = CATALOG.version(FusedAlert.SCHEMA, 1)
    data = Codec().encode_dict(old, _old_datum(old))
    decoded = Codec().decode(data, FusedAlert)
    assert (decoded.data_mode.value, decoded.note, decoded.scenario_id) == ("SIMULATED", "", "")
    assert decoded.contributors == make_alert().contributors


def test_old_readers_map_new_enum_symbols_to_unknown() -> None:
    """The reason every enum carries default UNKNOWN."""
    codec = Codec()
    warning_v1 = CATALOG.version(MissileWarning.SCHEMA, 1)
    assert "SLV" not in _symbols(warning_v1)["MissileClass"]
    data = codec.encode(make_warning(missile_class=MissileClass.SLV))
    _, datum = codec.decode_dict(data, reader=warning_v1)
    assert datum["missile_class"] == "UNKNOWN"
    assert "scenario_id" not in datum  # the old reader ignores fields it does not know

    alert_v1 = CATALOG.version(FusedAlert.SCHEMA, 1)
    data = codec.encode(make_alert(status=AlertStatus.DROPPED))
    _, datum = codec.decode_dict(data, reader=alert_v1)
    assert datum["status"] == "UNKNOWN"


def test_old_writer_symbols_are_all_known_to_current() -> None:
    for old in OLD_VERSIONS:
        current = _symbols(CATALOG.current(old.name))
        for enum, symbols in _symbols(old).items():
            assert symbols <= current[enum], f"{old.name} v{old.version} {enum}"


def test_reader_of_another_record_is_refused() -> None:
    codec = Codec()
    data = codec.encode(make_warning())
    with pytest.raises(DecodeError) as info:
        codec.decode_dict(data, reader=CATALOG.version(FusedAlert.SCHEMA, 1))
    assert info.value.error_type == "unexpected-schema"


def test_a_snapshot_written_before_alerts_kept_their_state_restores() -> None:
    """A bridge upgraded mid-raid reads its own older snapshots: the last alert's
    published state (new in v2) defaults to unknown, so it cannot drift until the
    track's next alert."""
    from bridge.state import restore_track, snapshot_track
    from bridge.tracks import AlertMark, SystemTrack
    from trilink.model import DataMode, Nation

    track = SystemTrack("ST-1", DataMode.SIMULATED, "", 10, 10, Nation.KOR)
    track.last_alert = AlertMark(
        3, AlertStatus.UPDATE, 10, None, frozenset(), MissileClass.SRBM, 10, (1.0,) * 6
    )
    datum = snapshot_track(track, 10, 10).to_dict()
    assert datum["last_alert"]["state"] == [1.0] * 6
    datum["last_alert"] = {
        k: v for k, v in datum["last_alert"].items() if k not in ("state_us", "state")
    }
    data = Codec().encode_dict(CATALOG.version(BridgeTrackState.SCHEMA, 1), datum)
    restored, _ = restore_track(Codec().decode(data, BridgeTrackState))
    assert restored.last_alert is not None
    mark = restored.last_alert
    assert (mark.version, mark.state_us, mark.state) == (3, 0, ())
