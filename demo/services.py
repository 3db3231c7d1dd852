"""Run long-lived services (producers, bridge) side by side in threads, and stop them together.

Every trilink service exposes ``run(stop: threading.Event)`` and returns soon after
the event is set, so one event shuts them all down. A service that raises is
remembered (the demo reports it instead of waiting for alerts that cannot come).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


class Service(Protocol):
    """Anything that serves until ``stop`` is set."""

    def run(self, stop: threading.Event) -> None: ...


@dataclass
class ServiceThreads:
    """Services running in daemon threads under one stop event."""

    stop_event: threading.Event = field(default_factory=threading.Event)
    _threads: dict[str, threading.Thread] = field(default_factory=dict)
    _failures: dict[str, BaseException] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, service: Service) -> None:
        """Start ``service.run(stop_event)`` in a thread named ``name``."""

        def target() -> None:
            try:
                service.run(self.stop_event)
            except BaseException as exc:  # reported by failures(); the thread just ends
                log.exception("service %s failed", name)
                with self._lock:
                    self._failures[name] = exc

        thread = threading.Thread(target=target, name=f"trilink-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()

    def failures(self) -> dict[str, BaseException]:
        """Services that raised, by name."""
        with self._lock:
            return dict(self._failures)

    def stopped_early(self) -> list[str]:
        """Services whose thread ended although no stop was asked for."""
        if self.stop_event.is_set():
            return []
        return [name for name, t in self._threads.items() if not t.is_alive()]

    def stop(self, timeout: float = 15.0) -> list[str]:
        """Set the stop event and wait; returns the names still running after ``timeout``."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        return [name for name, t in self._threads.items() if t.is_alive()]
