"""``trilink broker`` in a real process, and ``cluster(None)`` starting an embedded broker."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from cli.common import cluster
from trilink.broker import free_port, port_in_use

CLI = [sys.executable, "-c", "from cli.main import main; main()", "broker"]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_broker_command_serves_until_signalled(stop_signal: signal.Signals) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        export = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in first
        assert export.strip() == f"export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
        assert admin.list_topics(timeout=10).brokers
        proc.send_signal(stop_signal)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not port_in_use(port)
    assert "stopped" in (proc.stderr.read() if proc.stderr else "")


def test_broker_command_port_in_use_is_one_line_exit_1(occupied_port: int) -> None:
    result = subprocess.run(
        [*CLI, "--port", str(occupied_port)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == f"error: cannot start embedded broker: port {occupied_port} in use"
    assert "Traceback" not in result.stderr


def test_cluster_without_config_starts_and_stops_an_embedded_broker() -> None:
    with cluster(None, progress=False) as kafka:
        servers = kafka.bootstrap_servers
        assert AdminClient({"bootstrap.servers": servers}).list_topics(timeout=10).brokers
    assert not port_in_use(int(servers.rpartition(":")[2]))
