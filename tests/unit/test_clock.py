"""The shared clock: one mapping from wall time to scenario time for every service."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from trilink.clock import REAL_TIME, ClockDefinition, SimClock, fixed
from trilink.codec import Codec
from trilink.errors import ConfigError

US = 1_000_000
EPOCH = 1_780_000_000 * US


def test_real_time_is_wall_time_whatever_the_epoch() -> None:
    clock = SimClock(REAL_TIME, wall=lambda: EPOCH + 123)
    assert clock.now() == EPOCH + 123
    assert clock.wall_at(EPOCH) == EPOCH


def test_accelerated_clock_runs_rate_times_faster_from_its_epoch() -> None:
    clock = fixed(EPOCH, 25.0)
    assert clock.at(EPOCH) == EPOCH
    assert clock.at(EPOCH + 2 * US) == EPOCH + 50 * US
    assert clock.wall_at(EPOCH + 50 * US) == EPOCH + 2 * US
    assert clock.scenario_span_us(1.5) == round(37.5 * US)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf, 1001.0])
def test_rates_outside_the_bounds_are_refused(rate: float) -> None:
    with pytest.raises(ConfigError, match="clock rate"):
        ClockDefinition(epoch_us=EPOCH, rate=rate)


def test_describe_labels_an_accelerated_clock() -> None:
    assert "accelerated" in ClockDefinition(EPOCH, 25.0).describe()
    assert ClockDefinition(EPOCH, 1.0).describe() == "real time (UTC)"


def test_definition_round_trips_through_its_schema() -> None:
    codec = Codec()
    d = ClockDefinition(EPOCH, 12.5, generation=3, set_by="producer-kor", set_at_us=EPOCH + 9)
    _, datum = codec.decode_dict(codec.encode_dict(ClockDefinition.SCHEMA, d.to_dict()))
    assert ClockDefinition.from_dict(datum) == d


def test_a_clock_written_but_not_yet_visible_is_read_again_not_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A reader can trail an acknowledged write (last stable offset, follower lag):
    # agreeing must wait for the record, not fail on the first empty read.
    import trilink.kafka.clock as kafka_clock
    from trilink.config import KafkaConfig

    proposal = ClockDefinition(1_000_000_000, 25.0, set_by="svc")
    log: list[str] = []
    reads = iter([None, None, None, replace(proposal, generation=0)])

    def read(*_args: object, **_kw: object) -> ClockDefinition | None:
        log.append("read")
        return next(reads)

    monkeypatch.setattr(kafka_clock, "ensure_topics", lambda *a, **k: None)
    monkeypatch.setattr(kafka_clock, "write_clock", lambda *a, **k: log.append("write"))
    monkeypatch.setattr(kafka_clock, "read_clock", read)
    monkeypatch.setattr(kafka_clock.time, "sleep", lambda _s: None)
    agreed = kafka_clock.agree_clock(KafkaConfig("unused:9092"), "clock", Codec(), proposal)
    assert agreed == replace(proposal, generation=0)
    assert log == ["read", "write", "read", "read", "read"]
