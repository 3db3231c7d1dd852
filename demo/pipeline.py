"""The demo's pipeline: three national producers and the bridge, in threads of one process.

Threads rather than subprocesses: every service already runs as ``run(stop)``, one
event stops them all within a poll interval, and nothing can be orphaned when the
demo is interrupted. The services are the same classes ``trilink producer`` and
``trilink bridge`` run, talking to each other only through Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bridge.config import BridgeConfig, EngineConfig
from bridge.service import BridgeService
from consumers.errors import ConsumerError
from demo.run import all_topics, single_cluster_topics
from demo.services import Service
from producers.inject import inject
from producers.national import NATIONS, NationalConfig
from producers.scenario import Scenario
from producers.scenario_file import load_scenario
from producers.service import NationalProducer, ProducerConfig
from trilink.clock import ClockDefinition
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.kafka import Source, ensure_topics
from trilink.kafka.clock import SessionClock, reset_clock
from trilink.model import LaunchEvent, Record
from trilink.physics import Physics
from trilink.timeutil import wall_clock_us

DEMO_GROUP = "trilink-demo-bridge"
"""The demo's bridge has its own group and transactional id, so it never fences (or
is fenced by) a bridge already deployed on the same cluster."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """What to run: a loaded scenario on a clock ``speed`` times real time."""

    scenario: Scenario
    speed: float = 25.0
    lead_s: float = 2.0
    topics: Topics = field(default_factory=Topics)

    def __post_init__(self) -> None:
        if not self.speed > 0.0:
            raise ConsumerError(f"--speed must be positive, got {self.speed:g}")
        if not self.scenario.launches:
            raise ConsumerError(f"scenario {self.scenario.scenario_id} has no launches")

    @classmethod
    def load(
        cls, name_or_path: str, *, speed: float, seed: int | None, physics: Physics | None = None
    ) -> PipelineConfig:
        """Load a built-in scenario or YAML file (ScenarioError says why it cannot);
        ``physics`` overrides its flight model."""
        return cls(load_scenario(name_or_path, seed).with_physics(physics), speed=speed)


class ThreadedPipeline:
    """Producers + bridge for :func:`demo.run.run_demo` (see :class:`Pipeline`)."""

    def __init__(self, kafka: KafkaConfig, config: PipelineConfig, codec: Codec) -> None:
        self.kafka = kafka
        self.config = config
        self.codec = codec
        engine = EngineConfig(topics=config.topics, physics=config.scenario.physics)
        self.bridge = BridgeService(
            kafka,
            BridgeConfig(
                engine=engine,
                group=DEMO_GROUP,
                transactional_id=DEMO_GROUP,
                speed=config.speed,
            ),
            codec=codec,
        )
        self.producers = {
            nation: NationalProducer(
                kafka,
                ProducerConfig(
                    nation=nation,
                    speed=config.speed,
                    topics=config.topics,
                    national=NationalConfig(physics=config.scenario.physics),
                ),
                codec=codec,
            )
            for nation in NATIONS
        }

    def services(self) -> Mapping[str, Service]:
        services: dict[str, Service] = {"bridge": self.bridge}
        for nation, producer in self.producers.items():
            services[f"producer-{nation.value.lower()}"] = producer
        return services

    def ready(self) -> bool:
        return self.bridge.stats.ready.is_set() and all(
            p.stats.ready.is_set() for p in self.producers.values()
        )

    def prepare(self, partitions: int) -> None:
        """Every topic of the run, on the one cluster."""
        ensure_topics(self.kafka, all_topics(self.config.topics), partitions)

    def watched(self) -> list[Source[Record]]:
        """The alerts and the three warning topics."""
        return single_cluster_topics(self.config.topics, self.codec)

    def start_session(self) -> None:
        """A new session clock at the demo's speed: the demo is its own session, even on
        a cluster that ran another before."""
        now = wall_clock_us()
        reset_clock(
            self.kafka,
            self.config.topics.clock,
            self.codec,
            ClockDefinition(now, self.config.speed, set_by="demo", set_at_us=now),
        )

    def inject(self) -> Sequence[LaunchEvent]:
        """Publish the scenario anchored a moment from now on the session clock; its
        launches as published."""
        session = SessionClock(self.kafka, self.config.topics.clock, self.codec)
        try:
            session.poll(1.0)
            anchored = inject(
                self.kafka,
                self.config.scenario,
                topics=self.config.topics,
                lead_s=self.config.lead_s * session.rate,
                codec=self.codec,
                clock=session.now,
            )
        finally:
            session.close()
        return anchored.launches
