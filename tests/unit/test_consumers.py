"""Consumer helpers without a broker: start positions, framing sniffing, the demo's watch."""

from __future__ import annotations

import dataclasses

import pytest

from consumers.errors import StartPositionError
from consumers.inspect import framing_of
from consumers.positions import StartKind, StartPosition, parse_since
from consumers.reader import identity
from consumers.render import jsonable
from demo.run import DemoWatch
from tests.factories import T0_US, make_alert, make_dead_letter, make_launch, make_warning
from trilink.codec import Codec, Framing
from trilink.model import AlertStatus
from trilink.registry import StaticSchemaIds

S = 1_000_000
NOW = T0_US + 10 * 86_400 * S


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - 90 * S),
        ("15m", NOW - 900 * S),
        ("1h30m", NOW - 5400 * S),
        ("2d", NOW - 2 * 86_400 * S),
        ("250ms", NOW - 250_000),
        ("2026-05-01T00:00:00Z", T0_US),
        ("2026-05-01", T0_US),
        ("2026-05-01T09:00+09:00", T0_US),
    ],
)
def test_since_accepts_iso_times_and_durations(text: str, expected: int) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "5x", "-3m", "2026-13-01"])
def test_since_rejects_anything_else_with_a_reason(text: str) -> None:
    with pytest.raises(StartPositionError, match="--since"):
        parse_since(text, NOW)


def test_default_start_is_now_when_following_and_the_beginning_otherwise() -> None:
    def start(**kw: object) -> StartPosition:
        flags = {"from_beginning": False, "since": None, "follow": False, "now_us": NOW, **kw}
        return StartPosition.from_flags(**flags)  # type: ignore[arg-type]

    assert start().kind is StartKind.BEGINNING
    assert start(follow=True).kind is StartKind.NOW
    assert start(follow=True, from_beginning=True).kind is StartKind.BEGINNING
    assert start(since="1m") == StartPosition(StartKind.SINCE, NOW - 60 * S)
    with pytest.raises(StartPositionError, match="cannot be used together"):
        start(from_beginning=True, since="1m")


def test_framing_is_read_from_the_header() -> None:
    single = Codec().encode(make_warning())
    confluent = Codec(framing=Framing.CONFLUENT, ids=StaticSchemaIds()).encode(make_warning())
    assert framing_of(single) == f"single-object fingerprint {single[2:10].hex()}"
    assert framing_of(confluent) == "confluent schema id 1"
    assert framing_of(b"{}") == "unknown framing (first byte 0x7b)"
    assert framing_of(b"") == "empty"
    assert framing_of(None) == "null (tombstone)"


def test_duplicates_are_alert_versions_and_warning_ids() -> None:
    assert identity(make_alert(version=4)) == identity(make_alert(version=4))
    assert identity(make_alert(version=4)) != identity(make_alert(version=5))
    assert identity(make_warning()) != identity(make_warning(message_id="other"))
    assert identity(make_launch()) is None


def test_jsonable_encodes_bytes_as_base64() -> None:
    data = jsonable(make_dead_letter())
    assert data["value"] == "3q2+7w=="
    assert data["headers"] == {"origin": "dGVzdA=="}
    assert data["time_us"].endswith("Z")


def test_demo_watch_is_complete_once_every_launch_has_ended() -> None:
    first, second = make_launch(launch_id="A"), make_launch(launch_id="B")
    second = dataclasses.replace(second, launch_time_us=T0_US + 200 * S)
    watch = DemoWatch([first, second])
    assert watch.feed(make_alert(system_track_id="S1", version=1)) is not None
    assert watch.feed(make_alert(system_track_id="S1", version=1)) is None  # duplicate
    assert watch.feed(make_alert(scenario_id="another-run", version=9)) is None
    watch.feed(make_alert(system_track_id="S2", version=1, first_detection_us=T0_US + 230 * S))
    # One impacted track finishes one missile of the pair, not both.
    watch.feed(make_alert(system_track_id="S1", version=2, status=AlertStatus.IMPACT))
    assert [launch.launch_id for launch in watch.finished()] == ["A"]
    assert not watch.complete()
    # The second leaves coverage before impact: DROPPED also ends it.
    watch.feed(
        make_alert(
            system_track_id="S2",
            version=2,
            status=AlertStatus.DROPPED,
            first_detection_us=T0_US + 230 * S,
        )
    )
    assert [launch.launch_id for launch in watch.finished()] == ["A", "B"]
    assert [launch.launch_id for launch in watch.impacted()] == ["A"]
    assert watch.complete()
    rows = watch.summary()
    assert [
        (r.launch.launch_id if r.launch else "", r.track.system_track_id if r.track else "")
        for r in rows
    ] == [("A", "S1"), ("B", "S2")]


def test_demo_watch_waits_while_a_candidate_track_is_still_open() -> None:
    watch = DemoWatch([make_launch()])
    watch.feed(make_alert(system_track_id="fragment", version=1, status=AlertStatus.DROPPED))
    assert watch.complete()  # as far as it can know
    watch.feed(make_alert(system_track_id="main", version=1))
    assert not watch.complete()
    watch.feed(make_alert(system_track_id="main", version=2, status=AlertStatus.IMPACT))
    assert watch.complete()
    assert watch.summary()[0].track is not None
    assert watch.summary()[0].track.system_track_id == "main"
