"""The bridge's error root.

Everything the fusion service raises on purpose derives from ``BridgeError``; errors
of the core package (decode, Kafka) are caught at the boundary and either turned
into dead letters (bad input) or wrapped here (infrastructure).
"""

from __future__ import annotations

from trilink.errors import TrilinkError


class BridgeError(TrilinkError):
    """Root of every error the bridge raises on purpose."""


class StateError(BridgeError):
    """The persisted bridge state could not be read back or does not make sense."""


class ServiceError(BridgeError):
    """The Kafka loop cannot carry on (broker unreachable, producer fenced, ...)."""
