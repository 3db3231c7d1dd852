"""The error root of the consumer tools."""

from __future__ import annotations

from trilink.errors import TrilinkError


class ConsumerError(TrilinkError):
    """A consumer tool could not read, decode or show what it was asked for."""


class StartPositionError(ConsumerError):
    """A start position (``--since``) that cannot be understood."""
