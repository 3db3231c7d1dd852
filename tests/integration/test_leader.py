"""Leader election over a one-partition topic: one active instance, a standby takes over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from tests.conftest import GroupId
from trilink.config import KafkaConfig
from trilink.kafka import wait_for
from trilink.kafka.leader import LeaderLock


class _Member(LeaderLock):
    """A lock that counts the assignments it was given (empty ones too)."""

    assignments = 0

    def _assigned(self, consumer: Any, parts: list[TopicPartition]) -> None:
        self.assignments += 1
        super()._assigned(consumer, parts)


def test_exactly_one_member_leads_and_a_standby_takes_over(
    kafka_config: KafkaConfig, new_topic: Callable[..., str], new_group: GroupId
) -> None:
    topic, group = new_topic(partitions=1), new_group("lock")
    first = LeaderLock(kafka_config, topic, group, name="first")
    second: _Member | None = None
    try:
        wait_for(lambda: first.poll(0.1), timeout=30, message="first never became leader")
        joining = second = _Member(kafka_config, topic, group, name="second")

        # Both keep polling through the rebalance the second's join causes, until the
        # second has been given its share (a cooperative rebalance revokes before it
        # assigns, so the partition has moved by then if it is going to), and a second more.
        def joined() -> bool:
            first.poll(0.05)
            joining.poll(0.05)
            return joining.assignments > 0

        wait_for(joined, timeout=30, interval=0.0, message="the second never joined")
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            first.poll(0.05)
            second.poll(0.05)
        assert first.is_leader and not second.is_leader

        started = time.monotonic()
        first.close()
        standby = second
        wait_for(lambda: standby.poll(0.1), timeout=30, message="the standby never took over")
        assert time.monotonic() - started < 15
    finally:
        if second is not None:
            second.close()


def test_only_a_member_the_group_passed_over_says_it_stands_by(
    kafka_config: KafkaConfig,
    new_topic: Callable[..., str],
    new_group: GroupId,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lone instance's first join is not another instance being active (every bridge
    said so at start); a member the group assigned nothing says it at once, without
    waiting for ``announce_after_s``."""
    topic, group = new_topic(partitions=1), new_group("lock")
    stop = threading.Event()
    first = LeaderLock(kafka_config, topic, group, name="first")
    second: LeaderLock | None = None
    caplog.set_level(logging.WARNING, logger="trilink.kafka.leader")
    try:
        assert first.wait(stop, announce_after_s=60.0)
        assert "first: standing by" not in caplog.text
        assert "first: now the active instance" in caplog.text

        second = LeaderLock(kafka_config, topic, group, name="second")
        waiting = threading.Thread(
            target=second.wait, args=(stop,), kwargs={"announce_after_s": 60.0}
        )
        waiting.start()

        def announced() -> bool:
            first.poll(0.05)
            return "second: standing by" in caplog.text

        wait_for(announced, timeout=30, interval=0.0, message="the standby never said so")
        assert first.is_leader and not second.is_leader
        stop.set()
        waiting.join(10)
        assert not waiting.is_alive()
    finally:
        stop.set()
        first.close()
        if second is not None:
            second.close()
