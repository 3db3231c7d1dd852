"""The error root of the core package.

Third-party errors (confluent-kafka, fastavro, the broker process) are converted
at the boundary with ``raise ... from exc`` so callers catch one family.
"""

from __future__ import annotations


class TrilinkError(Exception):
    """Root of every error trilink raises on purpose."""


class ConfigError(TrilinkError):
    """A configuration value is missing or malformed."""


class BrokerError(TrilinkError):
    """The embedded broker could not be started, reached or stopped."""


class KafkaError(TrilinkError):
    """A Kafka operation failed; carries where it happened when known."""

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        where = ", ".join(
            f"{name}={value}"
            for name, value in (("topic", topic), ("partition", partition), ("offset", offset))
            if value is not None
        )
        super().__init__(f"{message} ({where})" if where else message)
        self.topic = topic
        self.partition = partition
        self.offset = offset


class DecodeError(TrilinkError):
    """Bytes that are not a valid trilink record. ``reason`` says why, in one line."""

    def __init__(self, reason: str, *, error_type: str = "decode") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


class ValidationError(TrilinkError):
    """A decoded record whose values cannot be trusted (out of range, NaN, ...)."""

    def __init__(self, reason: str, *, error_type: str = "validation") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


class DeliveryError(KafkaError):
    """Output could not be delivered, or not committed together with the input it came from."""


class FencedError(DeliveryError):
    """Another instance took over this transactional id: this one must stop producing."""


class SecurityError(TrilinkError):
    """A record's confidentiality label or signature cannot be trusted.

    ``error_type`` names the check that failed (``unsigned``, ``bad-label``,
    ``untrusted-key``, ``bad-signature``, ``replayed``, ``label-mismatch``), so the
    bridge can dead-letter each kind under its own reason; ``reason`` says what is
    wrong in one line.
    """

    def __init__(self, reason: str, *, error_type: str = "security") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
