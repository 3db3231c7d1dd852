"""Typed topics: the bytes are the codec's, byte for byte; keys as the README's topic table."""

from __future__ import annotations

import pytest

from bridge.config import EngineConfig
from bridge.engine import Engine, Inbound
from bridge.recovery import state_topic
from bridge.state import BridgeTrackState
from evaluation.synthetic import NationModel, ballistic_missile, national_reports
from tests.factories import SAMPLES, make_alert, make_dead_letter, make_launch, make_warning
from trilink.codec import Codec, Framing
from trilink.config import Topics
from trilink.constants import NATIONS
from trilink.errors import DecodeError
from trilink.kafka import AnyTopic, Outgoing, RecordTopics, Topic
from trilink.model import MissileWarning, Nation
from trilink.registry import StaticSchemaIds

CODEC = Codec()
TOPICS = RecordTopics.of(Topics(), CODEC)


def test_record_topics_carry_the_configured_names_types_and_keys() -> None:
    names = Topics()
    warning, alert, launch = make_warning(), make_alert(), make_launch()
    dead = make_dead_letter(key=b"original-key")
    assert TOPICS.warnings(Nation.JPN).name == names.warnings_jpn
    assert {n: t.name for n, t in TOPICS.by_nation.items()} == {
        n: names.warnings(n) for n in NATIONS
    }
    assert TOPICS.warnings(Nation.KOR).encode(warning)[0] == warning.track_id.encode()
    assert TOPICS.alerts.encode(alert)[0] == alert.system_track_id.encode()
    assert TOPICS.launches.encode(launch)[0] == launch.launch_id.encode()
    assert TOPICS.dead_letter.encode(dead)[0] == b"original-key"
    assert (TOPICS.alerts.name, TOPICS.launches.name, TOPICS.dead_letter.name) == (
        names.alerts,
        names.launches,
        names.dead_letter,
    )


@pytest.mark.parametrize("framing", list(Framing))
def test_values_are_the_codecs_bytes(framing: Framing) -> None:
    codec = Codec(framing=framing, ids=StaticSchemaIds())
    topics = RecordTopics.of(Topics(), codec)
    cases = [
        (topics.warnings(Nation.USA), make_warning()),
        (topics.alerts, make_alert()),
        (topics.launches, make_launch()),
        (topics.dead_letter, make_dead_letter()),
    ]
    for topic, record in cases:
        key, value = topic.encode(record)
        assert value == codec.encode(record)
        assert topic.message(record) == Outgoing(topic.name, key, value)
        assert topic.decode(value) == record


def test_a_record_of_another_type_is_a_decode_error() -> None:
    value = CODEC.encode(make_alert())
    with pytest.raises(DecodeError) as info:
        TOPICS.warnings(Nation.KOR).decode(value)
    assert info.value.error_type == "unexpected-schema"
    with pytest.raises(DecodeError):
        TOPICS.alerts.decode(None)


def test_any_topic_decodes_whichever_record_it_finds() -> None:
    topic = AnyTopic("mixed", CODEC)
    assert [topic.decode(CODEC.encode(make())) for make in SAMPLES.values()] == [
        make() for make in SAMPLES.values()
    ]


def test_unkeyed_topic_and_tombstone() -> None:
    topic = Topic("plain", MissileWarning, CODEC)
    assert topic.encode(make_warning())[0] is None
    assert topic.tombstone(b"k") == Outgoing("plain", b"k", None)


def _snapshot() -> BridgeTrackState:
    """A real snapshot: the engine's output for a few reports of one missile."""
    t0 = 1_777_593_600_000_000
    reports = national_reports(
        [ballistic_missile("M0", t0, speed_mps=1800.0)],
        [NationModel(Nation.KOR, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=2.0)],
        seed=3,
    )[:3]
    now = max(r.warning.reported_us for r in reports)
    engine = Engine(EngineConfig(), CODEC, lambda: now)
    out = engine.process(
        [
            Inbound(r.topic, 0, i, r.warning.track_id.encode(), CODEC.encode(r.warning))
            for i, r in enumerate(reports)
        ]
    )
    assert out.states
    return out.states[-1]


def test_a_service_private_record_has_a_topic_too() -> None:
    state = _snapshot()
    topic = state_topic("bridge.state", CODEC)
    key, value = topic.encode(state)
    assert key == state.system_track_id.encode()
    # What the bridge wrote before typed topics, byte for byte.
    assert value == CODEC.encode_dict(BridgeTrackState.SCHEMA, state.to_dict())
    assert topic.decode(value) == state
    with pytest.raises(DecodeError):  # not a domain record: only by type
        CODEC.decode(value)
