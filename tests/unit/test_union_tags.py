"""Union branches told to the Avro writer: the same bytes as its own guess, found at any depth."""

from __future__ import annotations

from io import BytesIO

from fastavro import schemaless_writer

from bridge.config import EngineConfig
from bridge.engine import Engine
from bridge.state import BridgeTrackState
from evaluation.scoring import arrivals, simulate_scenario
from trilink.codec import Codec
from trilink.union_tags import tag_unions, union_tags

CODEC = Codec()


def _states() -> list[BridgeTrackState]:
    run = simulate_scenario("tight-salvo", 0)
    config, now = EngineConfig(), [0]
    engine = Engine(config, CODEC, lambda: now[0])
    states: list[BridgeTrackState] = []
    for reported_us, topic, w in arrivals(run.warnings, config.topics)[:120]:
        now[0] = reported_us
        states += engine.process_warnings([(topic, w)]).states
    return states


def test_nested_unions_are_found_and_enums_are_not_records() -> None:
    tags = {t[0]: t for t in union_tags(CODEC.catalog.current(BridgeTrackState.SCHEMA).schema)}
    members = {t[0]: t for t in tags["members"][3]}
    assert tags["members"][1] == "array"
    assert members["impact"][1:3] == ("union", "trilink.v1.GroundPoint")
    assert tags["picture"][1:3] == ("union", "trilink.v1.PictureState")
    assert {t[0] for t in tags["picture"][3]} == {"impact", "launch"}
    assert tags["last_alert"][1:3] == ("union", "trilink.v1.AlertMark")
    assert "closed" not in tags  # a ["null", enum] union: a string, nothing to tell


def test_tagged_states_write_the_bytes_of_the_writers_guess() -> None:
    version = CODEC.catalog.current(BridgeTrackState.SCHEMA)
    states = _states()
    full = [
        s
        for s in states
        if s.picture is not None
        and s.last_alert is not None
        and any(m.impact is not None and m.launch is not None for m in s.members)
    ]
    assert full, "no state with every union filled"
    for state in [*full[-3:], states[0]]:
        datum = state.to_dict()
        guessed = BytesIO()
        schemaless_writer(guessed, version.parsed, datum)
        assert CODEC.encode(state).endswith(guessed.getvalue())
        assert CODEC.decode(CODEC.encode(state), BridgeTrackState) == state
        assert state.to_dict() == datum  # tagging copies, never changes the datum


def test_nothing_to_tag_is_the_datum_itself() -> None:
    datum = {"a": 1}
    assert tag_unions(datum, ()) is datum
