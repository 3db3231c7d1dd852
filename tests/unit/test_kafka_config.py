"""Client properties and waiting, without a broker."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from trilink.config import KafkaConfig
from trilink.errors import TrilinkError
from trilink.kafka import WaitTimeout, consumer_config, producer_config, wait_for

KAFKA = KafkaConfig("broker-a:9092,broker-b:9092", client=MappingProxyType({"client.id": "t"}))


def test_producer_config_defaults_and_overrides() -> None:
    config = producer_config(KAFKA, **{"linger.ms": 20})
    assert config["bootstrap.servers"] == "broker-a:9092,broker-b:9092"
    assert (config["enable.idempotence"], config["acks"], config["linger.ms"]) == (True, "all", 20)
    assert config["client.id"] == "t"
    assert producer_config(KAFKA)["linger.ms"] == 1


def test_consumer_config_defaults_and_overrides() -> None:
    config = consumer_config(KAFKA, "g1")
    assert config["group.id"] == "g1"
    assert config["enable.auto.commit"] is False
    assert config["isolation.level"] == "read_committed"
    assert config["auto.offset.reset"] == "earliest"
    assert (config["fetch.wait.max.ms"], config["session.timeout.ms"]) == (2, 6000)
    assert config["heartbeat.interval.ms"] == 1000
    tuned = consumer_config(KAFKA, "g2", auto_commit=True, **{"fetch.wait.max.ms": 5})
    assert (tuned["enable.auto.commit"], tuned["fetch.wait.max.ms"]) == (True, 5)


def test_consumer_extras_reach_consumers_only() -> None:
    # A consumer property given to a producer makes librdkafka warn on every client.
    k = KafkaConfig("localhost:9092", consumer=MappingProxyType({"fetch.wait.max.ms": 1}))
    assert consumer_config(k, "g")["fetch.wait.max.ms"] == 1
    assert consumer_config(k, "g", **{"fetch.wait.max.ms": 7})["fetch.wait.max.ms"] == 7
    assert "fetch.wait.max.ms" not in producer_config(k)


def test_wait_for_returns_the_truthy_value() -> None:
    calls = iter([None, 0, [], "done"])
    assert wait_for(lambda: next(calls), timeout=5, interval=0) == "done"


def test_wait_for_times_out_with_the_message() -> None:
    with pytest.raises(WaitTimeout, match="never"):
        wait_for(lambda: False, timeout=0.05, interval=0.01, message="never")
    assert issubclass(WaitTimeout, TimeoutError) and issubclass(WaitTimeout, TrilinkError)
