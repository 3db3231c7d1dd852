"""The error root of the producers package."""

from __future__ import annotations

from trilink.errors import TrilinkError


class ProducerError(TrilinkError):
    """Root of every error the national producers and the injector raise on purpose."""


class ScenarioError(ProducerError):
    """A scenario that cannot be built: unknown name, bad YAML, impossible launch."""
