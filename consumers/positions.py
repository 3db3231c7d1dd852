"""Where a consumer starts reading: the beginning, now, or a point in time.

``--since`` takes an ISO-8601 time (``2022-10-04T22:20Z``; date-only means
midnight UTC) or a duration back from now (``90s``, ``15m``, ``2h``, ``1d``,
``1h30m``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from consumers.errors import StartPositionError
from trilink.timeutil import US_PER_S, parse_iso

_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATIONS = re.compile(rf"(?:{_DURATION.pattern})+")


class StartKind(StrEnum):
    BEGINNING = "beginning"
    NOW = "now"
    SINCE = "since"


@dataclass(frozen=True, slots=True)
class StartPosition:
    """A start position; ``since_us`` is set for :attr:`StartKind.SINCE` only."""

    kind: StartKind
    since_us: int | None = None

    @classmethod
    def from_flags(
        cls, *, from_beginning: bool, since: str | None, follow: bool, now_us: int
    ) -> StartPosition:
        """The position the CLI flags ask for.

        With neither flag, a follower starts now (a tail) and a one-shot reader
        starts at the beginning (it reads what is there and stops).
        """
        if from_beginning and since is not None:
            raise StartPositionError("--from-beginning and --since cannot be used together")
        if since is not None:
            return cls(StartKind.SINCE, parse_since(since, now_us))
        if from_beginning or not follow:
            return cls(StartKind.BEGINNING)
        return cls(StartKind.NOW)


def parse_since(text: str, now_us: int) -> int:
    """Microseconds since the epoch for an ISO time or a duration back from ``now_us``."""
    value = text.strip()
    if not value:
        raise StartPositionError("--since is empty (want an ISO time or a duration like 15m)")
    if _DURATIONS.fullmatch(value):
        seconds = sum(float(n) * _UNIT_S[u] for n, u in _DURATION.findall(value))
        return now_us - round(seconds * US_PER_S)
    try:
        return parse_iso(value)
    except ValueError:
        raise StartPositionError(
            f"--since {text!r} is neither an ISO-8601 time nor a duration like 15m or 2h"
        ) from None
