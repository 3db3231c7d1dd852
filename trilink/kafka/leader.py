"""One active instance among several: leadership as the ownership of a one-partition topic.

Every instance of a service joins the same consumer group on a one-partition
lock topic. The group coordinator gives the partition to exactly one member: that
member is the leader. When it dies, the coordinator notices after the session
timeout and hands the partition to a standby, whose ``on_assign`` makes it leader.

This elects; it does not protect against a leader that does not know it lost
(paused past its session): for that the service's output must be fenced too, as
the bridge's is by its shared transactional id.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from trilink.config import KafkaConfig
from trilink.kafka.clients import consumer_config, ensure_topics
from trilink.kafka.consume import poll_one

log = logging.getLogger(__name__)


class LeaderLock:
    """Membership of the lock group; :attr:`is_leader` while this member holds the partition.

    Call :meth:`poll` regularly (every loop iteration): rebalance callbacks are
    served there. Not thread-safe beyond reading :attr:`is_leader`.
    """

    def __init__(self, kafka: KafkaConfig, topic: str, group: str, *, name: str = "") -> None:
        ensure_topics(kafka, [topic], partitions=1)
        self.topic = topic
        self.name = name or group
        self._leader = threading.Event()
        # The group assigned this member nothing: another member holds the lock.
        self._passed_over = threading.Event()
        # Sticky: a joining standby must not take the partition from a healthy leader.
        config = consumer_config(kafka, group)
        config["partition.assignment.strategy"] = "cooperative-sticky"
        self._consumer = Consumer(config)
        self._consumer.subscribe(
            [topic], on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._revoked
        )

    @property
    def is_leader(self) -> bool:
        return self._leader.is_set()

    def _assigned(self, _consumer: Any, parts: list[TopicPartition]) -> None:
        if any(p.topic == self.topic for p in parts):
            log.warning("%s: now the active instance (holds %s)", self.name, self.topic)
            self._passed_over.clear()
            self._leader.set()
        elif not self._leader.is_set():
            self._passed_over.set()

    def _revoked(self, _consumer: Any, parts: list[TopicPartition]) -> None:
        if self._leader.is_set() and any(p.topic == self.topic for p in parts):
            log.warning("%s: no longer the active instance", self.name)
            self._leader.clear()

    def poll(self, timeout: float = 0.0) -> bool:
        """Serve the group protocol; True while leader. The lock topic carries no data."""
        poll_one(self._consumer, timeout)
        return self.is_leader

    def wait(
        self, stop: threading.Event, *, interval: float = 0.05, announce_after_s: float = 10.0
    ) -> bool:
        """Block until leader (True) or ``stop`` is set (False): the standby's wait.

        ``interval`` is short because a poll that serves the assignment still waits out
        its timeout (the lock topic carries no records to end it sooner). It says it is
        standing by once the group has assigned it nothing, or after ``announce_after_s``
        without the lock: not while its first join is still going on (a lone instance
        said so at every start).
        """
        announced = False
        started = time.monotonic()
        while not stop.is_set():
            if self.poll(interval):
                return True
            waited = time.monotonic() - started
            if not announced and (self._passed_over.is_set() or waited >= announce_after_s):
                log.warning("%s: standing by (another instance is active)", self.name)
                announced = True
        return False

    def close(self) -> None:
        """Leave the group at once, so a standby takes over without waiting a session."""
        self._leader.clear()
        self._consumer.close()
