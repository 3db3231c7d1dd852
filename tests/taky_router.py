"""A real CoT router for tests: taky (PyPI ``taky``), on 127.0.0.1 with plain TCP.

taky is a small TAK server: every CoT event a client sends is routed to every
other connected client. :func:`taky_router` writes a ``taky.conf`` (``bind_ip``
127.0.0.1, a free ``cot_server`` port, SSL off, its state in a temporary
directory) and runs taky's own server entry point (``taky.cot.__main__:main``,
what the ``taky -c taky.conf`` script runs) as a subprocess.

One wrinkle: taky 0.10 reads its version through ``pkg_resources``, which
setuptools 81 and later no longer ship, and the project's hdrhistogram needs
setuptools >= 83. The launcher gives taky a stub for that one call (the version
then reads "unknown"); nothing else in taky's server uses ``pkg_resources``.

:class:`CotClient` is what a TAK client does on the other side: a raw TCP
connection whose stream of ``<event>`` documents is parsed with xml.etree.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from trilink.kafka import wait_for

LAUNCHER = textwrap.dedent(
    """
    import sys, types
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        stub = types.ModuleType("pkg_resources")
        class DistributionNotFound(Exception):
            pass
        def get_distribution(name):
            raise DistributionNotFound(name)
        stub.DistributionNotFound = DistributionNotFound
        stub.get_distribution = get_distribution
        sys.modules["pkg_resources"] = stub
    from taky.cot.__main__ import main
    sys.argv[0] = "taky"
    main()
    """
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepting(port: int) -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@dataclass
class TakyRouter:
    """A running taky: where it listens and its log."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self) -> CotClient:
        """A TAK-client-like connection, registered with the router when returned."""
        client = CotClient(self.host, self.port)
        client.handshake()
        return client


@contextmanager
def taky_router() -> Iterator[TakyRouter]:
    """Start taky on a free port of 127.0.0.1 (plain TCP); stop it after."""
    # Short path on purpose: taky binds a Unix management socket in its root_dir.
    root = Path(tempfile.mkdtemp(prefix="taky-"))
    port = free_port()
    conf = root / "taky.conf"
    conf.write_text(
        "[taky]\n"
        "hostname=localhost\n"
        "node_id=TRILINK-TEST\n"
        "bind_ip=127.0.0.1\n"
        f"root_dir={root}\n"
        "[cot_server]\n"
        f"port={port}\n"
        "[ssl]\n"
        "enabled=false\n"
    )
    log_path = root / "taky.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "-c", str(conf), "-l", "debug"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    router = TakyRouter("127.0.0.1", port, process, log_path)
    try:
        wait_for(
            lambda: process.poll() is not None or _accepting(port),
            timeout=30.0,
            message="taky did not start listening",
        )
        if process.poll() is not None:
            raise RuntimeError(f"taky exited with {process.returncode}:\n{router.log()}")
        yield router
    finally:
        process.terminate()  # taky stops on SIGTERM after its current select (<= 1 s)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


class CotClient:
    """A raw TCP CoT client: reads the router's stream and parses each ``<event>``."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=5.0)
        self.sock.settimeout(0.1)
        self.uid = f"test-client-{uuid.uuid4().hex[:8]}"
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._parser.feed(b"<stream>")  # the stream is events one after another
        self._depth = 0
        self.events: list[ET.Element] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self) -> None:
        """Ping and wait for taky's pong: then taky has accepted this client and routes
        to it (a connect alone returns before the router's accept)."""
        self.send(
            f'<event version="2.0" uid="{self.uid}-ping" type="t-x-c-t" how="h-g-i-g-o" '
            'time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" '
            'stale="2030-01-01T00:00:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
            'le="9999999"/><detail/></event>'.encode()
        )
        wait_for(lambda: self.received(type_="t-x-c-t-r"), timeout=15.0, message="no pong")

    def poll(self) -> None:
        """Read what has arrived (at most 0.1 s) and parse complete events."""
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        if not data:
            raise ConnectionError("the router closed the connection")
        self._parser.feed(data)
        for kind, element in self._parser.read_events():
            if kind == "start":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 1 and element.tag == "event":
                    self.events.append(element)

    def received(self, *, uid: str | None = None, type_: str | None = None) -> list[ET.Element]:
        """Events received so far (reads first) with this uid and/or type."""
        self.poll()
        return [
            e
            for e in self.events
            if (uid is None or e.get("uid") == uid) and (type_ is None or e.get("type") == type_)
        ]

    def close(self) -> None:
        self.sock.close()
