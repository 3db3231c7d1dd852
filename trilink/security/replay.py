"""Replay detection: a message id accepted at one log position is refused at any other."""

from __future__ import annotations

import threading
from collections import OrderedDict

from trilink.errors import SecurityError

Position = tuple[str, int, int]
"""Where a record sits in the log: (topic, partition, offset)."""

DEFAULT_MAX_ENTRIES = 1_000_000


class ReplayGuard:
    """The message ids accepted so far and where each was read; bounded memory.

    A mutable collaborator (not a frozen dataclass): it remembers every id it is
    shown, up to ``max_entries``, then forgets the least recently seen first. A
    replay older than that window goes undetected, so size it above the number of
    records read in the longest span a replay must be caught in (the default, one
    million, is 100 s of the 10,000/s salvo, hours at a realistic rate). Each entry
    costs ~250 bytes (measured with tracemalloc: 16-byte id, position tuple, ordered
    dict node), so ~250 MB when full at the default: size it to the deployment.
    Thread-safe: one lock around each check.

    The same id at the same position is not a replay: the bridge reads records
    again after a rewind (a rebalance, an aborted transaction).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._seen: OrderedDict[bytes, Position] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_remember(self, msgid: bytes, where: Position) -> None:
        """Remember ``msgid`` at ``where``; SecurityError(error_type="replayed") if it was
        accepted before at another position (and then it stays remembered there)."""
        with self._lock:
            first = self._seen.get(msgid)
            if first is not None and first != where:
                self._seen.move_to_end(msgid)
                raise SecurityError(
                    f"message id {msgid.hex()} was accepted before at {_show(first)},"
                    f" replayed at {_show(where)}",
                    error_type="replayed",
                )
            self._seen[msgid] = where
            self._seen.move_to_end(msgid)
            if len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)


def _show(where: Position) -> str:
    topic, partition, offset = where
    return f"{topic}[{partition}]@{offset}"
