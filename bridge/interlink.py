"""The bridge in two-system mode: INDOPACOM linking the two bilateral systems.

One process, the only one connected to both clusters, runs:

- a fusion service per system (:class:`~bridge.service.BridgeService`), exactly-once
  within that system's cluster: it reads the two publishers' topics there and the
  other partner's reports released across, and publishes the picture on that
  system's shared alerts topic. Its admission refuses anything not releasable to
  every nation on the system, so Japan-US's picture is fused only from what Japan
  may see, and ROK-US's only from what Korea may see;
- a relay per partner (:class:`~bridge.crossing.Relay`) copying its verified,
  releasable reports to the other system.

The session clock of ROK-US is the time base of both: at start the bridge copies
it to Japan-US when that system has none or another.

If any part fails, every part is stopped and the first failure is raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bridge.config import BridgeConfig
from bridge.crossing import CrossingConfig, Relay
from bridge.errors import ServiceError
from bridge.protection import Protection
from bridge.service import BridgeService
from trilink.clock import ClockDefinition
from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.kafka import ensure_topics
from trilink.kafka.clock import agree_clock, read_clock, reset_clock
from trilink.security import Signer, TrustStore
from trilink.systems import CROSSINGS, SYSTEMS, System
from trilink.timeutil import wall_clock_us

log = logging.getLogger(__name__)


def system_config(config: BridgeConfig, system: System) -> BridgeConfig:
    """``config`` for the fusion of one system: its inputs, its audience, its own group
    and transactional id (each system's cluster fences its own instances)."""
    engine = config.engine
    inputs = tuple(system.inputs(engine.topics).items())
    validation = replace(engine.validation, releasable_to=tuple(sorted(system.audience)))
    return replace(
        config,
        engine=replace(engine, inputs=inputs, validation=validation),
        group=f"{config.group}-{system.value}",
        transactional_id=f"{config.transactional_id}-{system.value}",
    )


@dataclass(frozen=True, slots=True)
class Keys:
    """The bridge's signing key and the trust store it verifies with."""

    signer: Signer
    trust: TrustStore


@dataclass(slots=True)
class Interlink:
    """Both systems' fusion services and both relays, run as threads of one process."""

    clusters: Mapping[System, KafkaConfig]
    config: BridgeConfig
    keys: Keys
    codec: Codec = field(default_factory=Codec)
    clock: Callable[[], int] = wall_clock_us
    services: dict[System, BridgeService] = field(init=False)
    relays: list[Relay] = field(init=False)

    def __post_init__(self) -> None:
        missing = [s.display for s in SYSTEMS if s not in self.clusters]
        if missing:
            raise ServiceError(f"two-system mode needs both clusters; missing {missing}")
        self.services = {
            s: BridgeService(
                self.clusters[s],
                system_config(self.config, s),
                codec=self.codec,
                clock=self.clock,
                protection=Protection(self.keys.signer, self.keys.trust, s.audience),
                name=f"bridge {s.display}",
            )
            for s in SYSTEMS
        }
        self.relays = [
            Relay(
                CrossingConfig(
                    c,
                    self.clusters[c.source],
                    self.clusters[c.target],
                    self.config.topics,
                    batch_size=self.config.batch_size,
                ),
                self.keys.trust,
            )
            for c in CROSSINGS
        ]

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; ServiceError if a part fails (all are stopped)."""
        self.link_clocks()
        failures: list[BaseException] = []
        halt = threading.Event()

        def guarded(name: str, body: Callable[[threading.Event], None]) -> None:
            try:
                body(halt)
            except BaseException as exc:
                log.error("%s failed: %s", name, exc)
                failures.append(exc)
                halt.set()

        parts: list[tuple[str, Callable[[threading.Event], None]]] = [
            (svc.name, svc.run) for svc in self.services.values()
        ]
        parts += [(relay.name, relay.run) for relay in self.relays]
        threads = [
            threading.Thread(target=guarded, args=part, name=part[0], daemon=True) for part in parts
        ]
        for t in threads:
            t.start()
        try:
            while not (stop.wait(0.2) or halt.is_set()):
                pass
        finally:
            halt.set()
            for t in threads:
                t.join(30.0)
        if failures:
            first = failures[0]
            raise ServiceError(f"the bridge stopped: {first}") from first

    def link_clocks(self) -> ClockDefinition | None:
        """Make Japan-US run on ROK-US's session clock (proposing one if ROK-US has none
        and a speed is configured)."""
        topic = self.config.topics.clock
        rokus, jpnus = self.clusters[System.ROKUS], self.clusters[System.JPNUS]
        for cluster in (rokus, jpnus):
            ensure_topics(cluster, [topic], partitions=1)
        master = read_clock(rokus, topic, self.codec)
        if master is None and self.config.speed is not None:
            now = self.clock()
            proposal = ClockDefinition(now, self.config.speed, set_by="bridge", set_at_us=now)
            master = agree_clock(rokus, topic, self.codec, proposal)
        if master is None:
            return None  # both follow real time until someone sets a clock
        there = read_clock(jpnus, topic, self.codec)
        if there is None or (there.epoch_us, there.rate, there.set_at_us) != (
            master.epoch_us,
            master.rate,
            master.set_at_us,
        ):
            reset_clock(jpnus, topic, self.codec, replace(master, set_by="bridge (from ROK-US)"))
            log.info("session clock of ROK-US copied to Japan-US: %s", master.describe())
        return master
