"""Agreeing on the session clock through the cluster."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from trilink.clock import ClockDefinition
from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.errors import ConfigError
from trilink.kafka.clock import agree_clock, read_clock, reset_clock

US = 1_000_000
CODEC = Codec()


def test_first_proposal_wins_and_later_services_adopt_it(
    kafka_config: KafkaConfig, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=1)
    assert read_clock(kafka_config, topic, CODEC) is None
    first = agree_clock(kafka_config, topic, CODEC, ClockDefinition(1_000 * US, 10.0, set_by="a"))
    later = agree_clock(kafka_config, topic, CODEC, ClockDefinition(2_000 * US, 10.0, set_by="b"))
    assert first == later
    assert (later.epoch_us, later.set_by) == (1_000 * US, "a")


def test_racing_services_agree_on_one_definition(
    kafka_config: KafkaConfig, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=1)
    agreed: list[ClockDefinition] = []

    def start(n: int) -> None:
        proposal = ClockDefinition((1_000 + n) * US, 25.0, set_by=f"svc-{n}")
        agreed.append(agree_clock(kafka_config, topic, CODEC, proposal))

    threads = [threading.Thread(target=start, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(agreed) == 3
    assert len({(d.epoch_us, d.set_by) for d in agreed}) == 1


def test_a_service_asking_for_another_rate_is_told_in_one_line(
    kafka_config: KafkaConfig, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=1)
    agree_clock(kafka_config, topic, CODEC, ClockDefinition(1_000 * US, 25.0, set_by="bridge"))
    with pytest.raises(ConfigError, match=r"runs at 25x .* asked for 10x"):
        agree_clock(kafka_config, topic, CODEC, ClockDefinition(1_000 * US, 10.0))
    adopted = agree_clock(
        kafka_config, topic, CODEC, ClockDefinition(5 * US, 1.0), strict_rate=False
    )
    assert adopted.rate == 25.0


def test_reset_supersedes_the_definition_in_force(
    kafka_config: KafkaConfig, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=1)
    agree_clock(kafka_config, topic, CODEC, ClockDefinition(1_000 * US, 25.0))
    reset = reset_clock(kafka_config, topic, CODEC, ClockDefinition(9_000 * US, 5.0))
    assert reset.generation == 1
    assert read_clock(kafka_config, topic, CODEC) == reset
