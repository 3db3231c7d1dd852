"""The error root of the tracking package (filters, national tracker, impact prediction)."""

from __future__ import annotations

from trilink.errors import TrilinkError


class TrackingError(TrilinkError):
    """Root of every error the tracking code raises on purpose."""
