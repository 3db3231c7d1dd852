"""Putting CoT events on the wire to a TAK server: TCP (streaming) or UDP (datagrams).

Neither sender ever blocks or raises into the caller: a TAK server that is slow,
absent or restarting must not stall the gateway reading Kafka. Anything not
delivered is counted and logged at most a few lines per interval.

Framing (:func:`stream_frame`, :func:`datagram`): every event is a complete XML
document, as ATAK sends it (declaration, ``<event>``); on TCP they follow one
another (a newline between, for people watching with ``nc``), on UDP one per
datagram.

TCP (:class:`TcpSender`): a background thread owns the connection and writes
from a bounded queue; when the queue is full the oldest event goes (newer
positions matter more). The sender remembers the newest event of every map item
(uid); on every (re)connection it sends those not yet stale first, so a TAK
server that started late or restarted gets the current picture rather than a
backlog, and events arriving while there is no connection are *held* (counted,
superseded by that snapshot) rather than queued. Reconnects back off from 0.5 s
to ``backoff_max_s``.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol as TypingProtocol

from consumers.cot.events import CotEvent
from trilink.errors import ConfigError
from trilink.health import RateLimitedLog
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
MAX_DATAGRAM = 65_507
"""The largest UDP payload over IPv4; larger events are dropped, not fragmented by us."""
MAX_QUEUE = 100_000
MAX_ITEMS = 10_000
"""Map items remembered for the reconnection snapshot (stale ones go first)."""


class Protocol(StrEnum):
    """How events reach the TAK server."""

    TCP = "tcp"
    UDP = "udp"


def stream_frame(event: CotEvent) -> bytes:
    """One event on a TCP stream: declaration, event, newline."""
    return XML_DECLARATION + event.xml + b"\n"


def datagram(event: CotEvent) -> bytes:
    """One event as a UDP datagram: declaration and event. ValueError if too large."""
    data = XML_DECLARATION + event.xml
    if len(data) > MAX_DATAGRAM:
        raise ValueError(f"event {event.uid} is {len(data)} bytes, over {MAX_DATAGRAM}")
    return data


@dataclass(frozen=True, slots=True)
class SendStats:
    """What a sender did. ``dropped``: lost for good (queue overflow on a slow server,
    a failed write, too large, unsent at close); ``held``: not written as such
    (arrived with no connection, or left queued by a broken one) but superseded by
    the snapshot of current items sent on (re)connecting; ``resent``: snapshot events."""

    sent: int = 0
    dropped: int = 0
    held: int = 0
    resent: int = 0
    connects: int = 0
    connected: bool = False


class Sender(TypingProtocol):
    """What the gateway needs of a sender."""

    def send(self, event: CotEvent) -> None: ...

    def stats(self) -> SendStats: ...

    def close(self, timeout: float = 2.0) -> None: ...


class UdpSender:
    """One datagram per event to ``host:port``; never blocks (a full socket buffer
    drops the event)."""

    def __init__(self, host: str, port: int) -> None:
        try:
            family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"cannot resolve TAK host {host!r}: {exc}") from exc
        self._address = address
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._stats = SendStats(connected=True)
        self._drops = RateLimitedLog(log, "CoT over UDP: event dropped")

    def send(self, event: CotEvent) -> None:
        try:
            self._sock.sendto(datagram(event), self._address)
        except (OSError, ValueError) as exc:
            self._stats = replace(self._stats, dropped=self._stats.dropped + 1)
            self._drops(str(exc))
            return
        self._stats = replace(self._stats, sent=self._stats.sent + 1)

    def stats(self) -> SendStats:
        return self._stats

    def close(self, timeout: float = 2.0) -> None:
        del timeout  # nothing queued: every datagram went out in send()
        self._drops.flush()
        self._sock.close()


class TcpSender:
    """A streaming CoT connection to ``host:port`` kept up by a background thread
    (see the module docstring). :meth:`send` only queues; :meth:`close` flushes
    what is queued for up to ``timeout`` seconds."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        queue_size: int = 1000,
        connect_timeout_s: float = 3.0,
        send_timeout_s: float = 5.0,
        backoff_max_s: float = 10.0,
        wall: Callable[[], int] = wall_clock_us,
    ) -> None:
        if not 1 <= queue_size <= MAX_QUEUE:
            raise ConfigError(f"queue size must be 1..{MAX_QUEUE}, got {queue_size}")
        self.host, self.port = host, port
        self._queue_size = queue_size
        self._connect_timeout_s = connect_timeout_s
        self._send_timeout_s = send_timeout_s
        self._backoff_max_s = backoff_max_s
        self._wall = wall
        self._queue: deque[CotEvent] = deque()
        self._latest: dict[str, CotEvent] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._stats = SendStats()
        self._drops = RateLimitedLog(log, f"CoT to {host}:{port}: event dropped")
        self._held = RateLimitedLog(log, f"CoT to {host}:{port}: not connected, event held")
        self._failures = RateLimitedLog(log, f"CoT to {host}:{port}: connection")
        self._thread = threading.Thread(target=self._run, name="cot-tcp", daemon=True)
        self._thread.start()

    # -- caller side ------------------------------------------------------------------

    def send(self, event: CotEvent) -> None:
        """Queue ``event`` (never blocks)."""
        with self._cond:
            if self._closing:
                return
            self._remember(event)
            if not self._stats.connected:
                self._count(held=1)
                self._held(event.uid)
                return
            if len(self._queue) >= self._queue_size:
                lost = self._queue.popleft()
                self._count(dropped=1)
                self._drops(f"queue full ({self._queue_size}), lost {lost.uid}")
            self._queue.append(event)
            self._cond.notify()

    def stats(self) -> SendStats:
        with self._cond:
            return self._stats

    def close(self, timeout: float = 2.0) -> None:
        """Stop: write what is queued for up to ``timeout`` s, then drop the rest."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            if self._queue:
                self._count(dropped=len(self._queue))
                self._drops(f"closing with {len(self._queue)} unsent")
                self._queue.clear()
            for limited in (self._drops, self._held, self._failures):
                limited.flush()

    def _count(self, **more: int) -> None:
        """Add to the stats; the caller holds the lock."""
        self._stats = replace(
            self._stats, **{k: getattr(self._stats, k) + v for k, v in more.items()}
        )

    def _remember(self, event: CotEvent) -> None:
        self._latest.pop(event.subject, None)  # re-insert: dict order is recency
        self._latest[event.subject] = event
        if len(self._latest) > MAX_ITEMS:
            now = self._wall()
            for subject in [s for s, e in self._latest.items() if e.stale_us <= now]:
                del self._latest[subject]
            # Down to 90%, the least recently sent first: not a full scan on every send.
            while len(self._latest) > MAX_ITEMS * 9 // 10:
                del self._latest[next(iter(self._latest))]

    # -- connection thread ------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                if self._closing:
                    return
            sock = self._connect()
            if sock is None:
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, timeout=backoff)
                backoff = min(backoff * 2.0, self._backoff_max_s)
                continue
            backoff = 0.5
            try:
                self._pump(sock)
            except OSError as exc:
                self._failures(f"lost ({exc}); reconnecting")
            finally:
                with self._cond:
                    self._stats = replace(self._stats, connected=False)
                sock.close()

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), self._connect_timeout_s)
        except (OSError, UnicodeError) as exc:
            self._failures(f"cannot connect ({exc}); retrying")
            return None
        sock.settimeout(self._send_timeout_s)
        with self._cond:
            now = self._wall()
            snapshot = [e for e in self._latest.values() if e.stale_us > now]
            # What a broken connection left queued is in the snapshot at its newest.
            superseded = len(self._queue)
            self._queue = deque(sorted(snapshot, key=lambda e: e.time_us))
            self._count(connects=1, resent=len(snapshot), held=superseded)
            self._stats = replace(self._stats, connected=True)
        log.info(
            "CoT: connected to %s:%d, %d current items first", self.host, self.port, len(snapshot)
        )
        return sock

    def _pump(self, sock: socket.socket) -> None:
        """Write queued events until closing with an empty queue; OSError on failure."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing, timeout=0.5)
                event = self._queue.popleft() if self._queue else None
                if event is None and self._closing:
                    return
            _discard_incoming(sock)
            if event is None:
                continue
            try:
                sock.sendall(stream_frame(event))
            except OSError:
                with self._cond:
                    self._count(dropped=1)
                raise
            with self._cond:
                self._count(sent=1)


def _discard_incoming(sock: socket.socket) -> None:
    """Read and drop what the server sends (pings, its stored items) so its buffers do
    not fill; ConnectionError when it has closed the connection."""
    while select.select([sock], [], [], 0.0)[0]:
        if not sock.recv(65536):
            raise ConnectionError("closed by the TAK server")


def open_sender(protocol: Protocol, host: str, port: int, *, queue_size: int = 1000) -> Sender:
    """A sender for ``protocol`` (TCP connects in the background; UDP at once)."""
    if protocol is Protocol.UDP:
        return UdpSender(host, port)
    return TcpSender(host, port, queue_size=queue_size)
