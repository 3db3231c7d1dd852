"""Configuration shared by every role: where Kafka is and which topics carry what.

Built once by the CLI from flags and environment and passed down frozen; library
code never reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from trilink.errors import ConfigError
from trilink.model import Nation

ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"
ENV_SCHEMA_REGISTRY = "SCHEMA_REGISTRY_URL"
ENV_PREFIX = "TRILINK_"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names. One per nation for warnings, one shared for fused alerts."""

    launches: str = "launches.truth"
    warnings_usa: str = "warnings.usa"
    warnings_kor: str = "warnings.kor"
    warnings_jpn: str = "warnings.jpn"
    alerts: str = "alerts.trilateral"
    dead_letter: str = "trilink.deadletter"
    bridge_state: str = "bridge.state"
    clock: str = "trilink.clock"
    heartbeats: str = "trilink.heartbeats"
    bridge_leader: str = "bridge.leader"
    # Two-system mode: a partner's reports released across by the bridge (on the
    # other bilateral system: Korea's on Japan-US, Japan's on ROK-US).
    crossed_kor: str = "crossed.kor"
    crossed_jpn: str = "crossed.jpn"

    def crossed(self, nation: Nation) -> str:
        """The topic on the other bilateral system that carries ``nation``'s released reports."""
        try:
            return {Nation.KOR: self.crossed_kor, Nation.JPN: self.crossed_jpn}[nation]
        except KeyError:
            raise ConfigError(f"no crossing topic for nation {nation!r}") from None

    def warnings(self, nation: Nation) -> str:
        """The warning topic a nation publishes to."""
        try:
            return {
                Nation.USA: self.warnings_usa,
                Nation.KOR: self.warnings_kor,
                Nation.JPN: self.warnings_jpn,
            }[nation]
        except KeyError:
            raise ConfigError(f"no warning topic for nation {nation!r}") from None

    def all_warnings(self) -> dict[str, Nation]:
        """Topic -> nation allowed to publish there (the bridge's authorisation table)."""
        return {self.warnings(n): n for n in (Nation.USA, Nation.KOR, Nation.JPN)}


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    """How to reach the cluster.

    ``client`` holds extra librdkafka properties applied to every client (e.g. SASL);
    ``consumer`` extra properties for consumers only (e.g. ``fetch.wait.max.ms``, which
    a producer would warn about); role code adds its own on top.
    """

    bootstrap_servers: str
    schema_registry_url: str | None = None
    client: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    consumer: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.bootstrap_servers or not self.bootstrap_servers.strip():
            raise ConfigError("bootstrap servers must not be empty")
        for part in self.bootstrap_servers.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ConfigError(f"bootstrap server {part.strip()!r} is not host:port")

    def base(self) -> dict[str, Any]:
        """librdkafka properties common to producers, consumers and admin clients."""
        return {"bootstrap.servers": self.bootstrap_servers, **self.client}


def require_finite(config: Any, *, what: str = "") -> None:
    """Raise ConfigError naming the first float field of dataclass ``config`` that is NaN
    or infinite: range checks written as ``x < 0`` let NaN through, and a NaN that
    reaches a service fails far from the flag that caused it."""
    import dataclasses
    import math

    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            prefix = f"{what} " if what else ""
            raise ConfigError(f"{prefix}{f.name} must be a finite number, got {value}")
