"""Heartbeats on the real broker and ``trilink status`` reading them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.health import Heartbeat, ServiceState
from trilink.kafka.heartbeat import HeartbeatPublisher, read_heartbeats
from trilink.timeutil import wall_clock_us

CODEC = Codec()


def _beat(service: str, processed: int, state: ServiceState = ServiceState.OK) -> Heartbeat:
    now = wall_clock_us()
    return Heartbeat(
        service, "host/1", state, now, now - 5_000_000, ("in",), ("out",), 0, 0.0, processed, 0
    )


def test_status_shows_the_newest_heartbeat_of_each_service(
    kafka_config: KafkaConfig, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=1)
    publisher = HeartbeatPublisher(kafka_config, topic, CODEC)
    for n in range(3):
        publisher.publish(_beat("bridge", n))
    publisher.publish(_beat("producer-kor", 7, ServiceState.BEHIND))
    publisher.close(10.0)
    beats = read_heartbeats(kafka_config, topic, CODEC)
    assert [(b.service, b.processed) for b in beats] == [("bridge", 2), ("producer-kor", 7)]

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "status",
            "--json",
            "-b",
            kafka_config.bootstrap_servers,
            "--heartbeats-topic",
            topic,
            "--clock-topic",
            new_topic(partitions=1),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["clock"] is None
    assert {(s["service"], s["seen"]) for s in shown["services"]} == {
        ("bridge", "OK"),
        ("producer-kor", "BEHIND"),
    }
