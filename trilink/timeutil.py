"""Time is carried as integer microseconds since the Unix epoch (UTC) everywhere.

Integers are exact, hashable and cheap; Avro's ``timestamp-micros`` is the same
unit, so the codec only converts at the boundary.
"""

from __future__ import annotations

import datetime as dt
import time

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US_PER_S = 1_000_000


def us_from_datetime(value: dt.datetime) -> int:
    """Exact microseconds since the epoch; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def datetime_from_us(value: int) -> dt.datetime:
    """Aware UTC datetime for a microsecond timestamp."""
    return EPOCH + dt.timedelta(microseconds=value)


def us_from_s(seconds: float) -> int:
    """Seconds (float) to integer microseconds, rounded to nearest."""
    return round(seconds * US_PER_S)


def s_from_us(micros: int) -> float:
    """Integer microseconds to float seconds."""
    return micros / US_PER_S


def iso(micros: int) -> str:
    """ISO-8601 UTC text for a microsecond timestamp (for humans and JSON output)."""
    return datetime_from_us(micros).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> int:
    """Parse ISO-8601 text (``Z`` or offset; date-only means midnight UTC) to microseconds."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return us_from_datetime(value)


def wall_clock_us() -> int:
    """Now, in microseconds since the epoch (the services' default injected clock)."""
    return time.time_ns() // 1000
