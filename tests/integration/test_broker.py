"""The embedded broker: starts, answers, stops, and fails loudly with one clear message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

import trilink.broker as broker_module
from tests.conftest import KafkaEndpoint
from trilink.broker import EmbeddedBroker, free_port, port_in_use
from trilink.errors import BrokerError


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-broker"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_session_broker_answers_metadata(kafka: KafkaEndpoint) -> None:
    assert kafka.kind in {"embedded", "docker", "external"}
    metadata = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=10)
    assert metadata.brokers


def test_start_answer_stop() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(BrokerError, match="not running"):
        _ = broker.bootstrap_servers
    with broker:
        host, _, port = broker.bootstrap_servers.rpartition(":")
        assert host == "127.0.0.1" and broker.running
        assert any("ready in" in line for line in broker.output())
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        assert admin.list_topics(timeout=5).brokers
        assert port_in_use(int(port))
    assert not broker.running
    assert not port_in_use(int(port))
    broker.stop()  # idempotent


def test_explicit_port(occupied_port: int) -> None:
    port = free_port()
    with EmbeddedBroker(port=port) as broker:
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
    with pytest.raises(BrokerError, match=f"port {occupied_port} in use"):
        EmbeddedBroker(port=occupied_port).start()


def test_port_taken_after_the_check_is_detected(
    occupied_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tansu exits 0 without 'ready' when its port is taken; we must say why."""
    monkeypatch.setattr(broker_module, "port_in_use", lambda *_a: False)
    broker = EmbeddedBroker(port=occupied_port)
    with pytest.raises(BrokerError, match=f"port {occupied_port} in use"):
        broker.start()
    assert not broker.running


def test_picked_port_race_retries_on_another_port(
    occupied_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([occupied_port, free_port()])
    monkeypatch.setattr(broker_module, "free_port", lambda *_a: next(picks))
    with EmbeddedBroker() as broker:
        assert broker.port != occupied_port
        assert broker.running


def test_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="missing or not executable"):
        EmbeddedBroker(binary=tmp_path / "no-such-tansu").start()


def test_binary_that_exits_before_ready(tmp_path: Path) -> None:
    binary = _script(tmp_path, "echo 'storage engine unavailable'\nexit 3")
    with pytest.raises(BrokerError, match=r"exited \(code 3\).*storage engine unavailable"):
        EmbeddedBroker(binary=binary).start()


def test_binary_that_never_gets_ready(tmp_path: Path) -> None:
    binary = _script(tmp_path, "echo 'starting...'\nexec sleep 30")
    broker = EmbeddedBroker(binary=binary, startup_timeout=0.5, stop_timeout=2.0)
    with pytest.raises(BrokerError, match=r"not ready within 0\.5 s"):
        broker.start()
    assert not broker.running  # the stuck process was stopped


def test_start_twice_is_refused() -> None:
    with EmbeddedBroker() as broker, pytest.raises(BrokerError, match="already started"):
        broker.start()
