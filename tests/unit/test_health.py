"""Health: when a service counts as behind, and logging that does not flood."""

from __future__ import annotations

import logging

import pytest

from trilink.codec import Codec
from trilink.health import (
    HealthMonitor,
    HealthPolicy,
    Heartbeat,
    RateLimitedLog,
    ServiceState,
)

US = 1_000_000


class FakeTime:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


def _monitor(now_us: list[int], wall: FakeTime) -> HealthMonitor:
    return HealthMonitor(
        service="bridge",
        instance="h/1",
        inputs=("warnings.kor",),
        outputs=("alerts.trilateral",),
        clock=lambda: now_us[0],
        policy=HealthPolicy(period_s=10.0, behind_records=100, behind_s=30.0),
        wall=wall,
    )


def test_heartbeats_come_once_per_period() -> None:
    wall = FakeTime()
    monitor = _monitor([1_000 * US], wall)
    assert monitor.due()
    wall.s = 9.9
    assert not monitor.due()
    wall.s = 10.0
    assert monitor.due()


def test_a_backlog_or_old_events_with_input_pending_mean_behind() -> None:
    now = [1_000 * US]
    monitor = _monitor(now, FakeTime())
    monitor.observe(processed=5, event_us=now[0] - 60 * US)
    # Idle (nothing pending): old events only mean nothing new happened.
    assert monitor.heartbeat().state is ServiceState.OK
    monitor.lag_records = 3
    assert monitor.heartbeat().state is ServiceState.BEHIND
    monitor.observe(event_us=now[0] - 1 * US)
    assert monitor.heartbeat().state is ServiceState.OK
    monitor.lag_records = 100
    beat = monitor.heartbeat()
    assert beat.state is ServiceState.BEHIND
    assert "lag 100 records" in beat.line()


def test_falling_behind_and_catching_up_are_warnings(caplog: pytest.LogCaptureFixture) -> None:
    now = [1_000 * US]
    monitor = _monitor(now, FakeTime())
    logger = logging.getLogger("test.health")
    with caplog.at_level(logging.INFO, logger="test.health"):
        monitor.lag_records = 500
        monitor.log(logger, monitor.heartbeat())
        monitor.lag_records = 0
        monitor.log(logger, monitor.heartbeat())
        monitor.log(logger, monitor.heartbeat())
    levels = [(r.levelno, r.getMessage().split(" — ")[-1]) for r in caplog.records]
    assert levels[0] == (logging.WARNING, "falling behind")
    assert levels[1] == (logging.WARNING, "caught up")
    assert levels[2][0] == logging.INFO


def test_a_flood_is_summarised_not_logged_line_by_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wall = FakeTime()
    limited = RateLimitedLog(logging.getLogger("test.flood"), "dead letter", wall=wall)
    with caplog.at_level(logging.WARNING, logger="test.flood"):
        for i in range(100_000):
            wall.s = i * 0.0005  # 50 s of records at 2,000/s
            limited(f"record {i} is junk")
        limited.flush()
    assert limited.total == 100_000
    assert len(caplog.records) <= 5 * 6 + 6
    summary = caplog.records[-1].getMessage()
    assert "100000 in all" in summary and "record 99999 is junk" in summary


def test_heartbeat_round_trips_through_its_schema() -> None:
    codec = Codec()
    beat = Heartbeat(
        "producer-kor", "h/7", ServiceState.BEHIND, 5 * US, 1 * US, ("a",), ("b",), 3, 1.5, 9, 1
    )
    _, datum = codec.decode_dict(codec.encode_dict(Heartbeat.SCHEMA, beat.to_dict()))
    assert Heartbeat.from_dict(datum) == beat


def test_a_service_keeping_its_own_clock_is_behind_on_event_lag_alone() -> None:
    # A producer steps its simulation to the session clock: with no input pending, a
    # simulation 60 s of event time behind the clock is still a producer behind.
    now = [1_000 * US]
    monitor = _monitor(now, FakeTime())
    monitor.keeps_clock = True
    monitor.observe(event_us=now[0] - 60 * US)
    beat = monitor.heartbeat()
    assert beat.state is ServiceState.BEHIND and beat.event_lag_s == 60.0
    monitor.observe(event_us=now[0] - 1 * US)
    assert monitor.heartbeat().state is ServiceState.OK
