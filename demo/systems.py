"""The demo's default topology: two bilateral systems linked only by the bridge.

Korea and US Forces Korea publish on the ROK-US system, Japan and US Forces Japan
on the Japan-US system, each its own cluster; the bridge (INDOPACOM) is the only
service on both. Every party signs with its own key, made for the run in a
temporary directory. Korea withholds a share of its tracks from Japan
(``SECRET//REL TO USA, KOR``), so the demo can show a record Japan never received
and the warning time Japan still gained from what it could receive.

The live picture is ROK-US's (Korea's and the US's reports, and Japan's released
across); :func:`report` reads both systems after the run for the summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Message

from bridge.config import BridgeConfig, EngineConfig
from bridge.crossing import raw_headers
from bridge.interlink import Interlink, Keys
from bridge.recovery import read_to_end
from demo.pipeline import DEMO_GROUP, PipelineConfig
from demo.services import Service
from producers.inject import inject
from producers.labelling import Labeller, ReleasePolicy
from producers.national import NationalConfig
from producers.service import NationalProducer, ProducerConfig
from trilink.clock import ClockDefinition
from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.errors import DecodeError
from trilink.kafka import Source, Topic, ensure_topics
from trilink.kafka.clock import SessionClock, reset_clock
from trilink.model import FusedAlert, LaunchEvent, MissileWarning, Nation, Record
from trilink.security import LABEL_HEADER, Label, init_keys, load_signer, load_trust
from trilink.systems import System
from trilink.timeutil import wall_clock_us

# Korea's share of tracks released to the US only (the same tracks every run).
DEFAULT_RESTRICTED = 0.3


class TwoSystemPipeline:
    """Producers on their own systems and the bridge on both, for :func:`demo.run.run_demo`."""

    def __init__(
        self,
        clusters: Mapping[System, KafkaConfig],
        config: PipelineConfig,
        codec: Codec,
        keys_dir: Path,
        *,
        restricted: float = DEFAULT_RESTRICTED,
    ) -> None:
        self.clusters = dict(clusters)
        self.config = config
        self.codec = codec
        init_keys(keys_dir)
        signer = {name: load_signer(keys_dir / f"{name}.key") for name in ("USA", "KOR", "JPN")}
        trust = load_trust(keys_dir / "trust.json")
        self.kor_policy = ReleasePolicy(restricted_fraction=restricted, seed=config.scenario.seed)
        topics = config.topics
        self.bridge = Interlink(
            self.clusters,
            BridgeConfig(
                engine=EngineConfig(topics=topics, physics=config.scenario.physics),
                group=DEMO_GROUP,
                transactional_id=DEMO_GROUP,
                speed=config.speed,
            ),
            Keys(load_signer(keys_dir / "BRIDGE.key"), trust),
            codec=codec,
        )

        def producer(nation: Nation, system: System, policy: ReleasePolicy) -> NationalProducer:
            return NationalProducer(
                self.clusters[system],
                ProducerConfig(
                    nation=nation,
                    speed=config.speed,
                    topics=topics,
                    national=NationalConfig(physics=config.scenario.physics),
                ),
                codec=codec,
                labeller=Labeller(nation, signer[nation.value], policy),
            )

        self.producers = {
            "producer-kor": producer(Nation.KOR, System.ROKUS, self.kor_policy),
            "producer-usfk": producer(Nation.USA, System.ROKUS, ReleasePolicy()),
            "producer-jpn": producer(Nation.JPN, System.JPNUS, ReleasePolicy()),
            "producer-usfj": producer(Nation.USA, System.JPNUS, ReleasePolicy()),
        }

    @property
    def rokus(self) -> KafkaConfig:
        return self.clusters[System.ROKUS]

    def services(self) -> Mapping[str, Service]:
        return {"bridge": self.bridge, **self.producers}

    def ready(self) -> bool:
        return (
            all(s.stats.ready.is_set() for s in self.bridge.services.values())
            and all(r.stats.ready.is_set() for r in self.bridge.relays)
            and all(p.stats.ready.is_set() for p in self.producers.values())
        )

    def prepare(self, partitions: int) -> None:
        """Each system's topics on its own cluster (none of the other's)."""
        topics = self.config.topics
        for system, cluster in self.clusters.items():
            names = [*system.inputs(topics), topics.launches, topics.alerts, topics.dead_letter]
            ensure_topics(cluster, [*names, topics.bridge_state, topics.heartbeats], partitions)

    def watched(self) -> list[Source[Record]]:
        """ROK-US's alerts and every warning it holds (Japan's as released across)."""
        topics = self.config.topics
        names = [*System.ROKUS.inputs(topics)]
        found: list[Source[Record]] = [Topic(topics.alerts, FusedAlert, self.codec)]
        found += [Topic(name, MissileWarning, self.codec) for name in names]
        return found

    def start_session(self) -> None:
        """One session clock, written to both systems."""
        now = wall_clock_us()
        definition = ClockDefinition(now, self.config.speed, set_by="demo", set_at_us=now)
        for cluster in self.clusters.values():
            reset_clock(cluster, self.config.topics.clock, self.codec, definition)

    def inject(self) -> Sequence[LaunchEvent]:
        """The same launches on both systems (the injector is the world, not a party)."""
        topics = self.config.topics
        session = SessionClock(self.rokus, topics.clock, self.codec)
        try:
            session.poll(1.0)
            anchored = inject(
                self.rokus,
                self.config.scenario,
                topics=topics,
                lead_s=self.config.lead_s * session.rate,
                codec=self.codec,
                clock=session.now,
            )
        finally:
            session.close()
        inject(
            self.clusters[System.JPNUS],
            anchored,
            topics=topics,
            lead_s=0.0,
            codec=self.codec,
            clock=lambda: anchored.start_us,
        )
        return anchored.launches


@dataclass(frozen=True, slots=True)
class CrossingLine:
    """What one relay did."""

    nation: Nation
    source: System
    target: System
    crossed: int
    withheld: int
    refused: int


@dataclass(frozen=True, slots=True)
class WithheldTrack:
    """A Korean track whose reports never left ROK-US."""

    track_id: str
    marking: str
    reports: int
    on_japan_us: int  # records of it found on Japan-US (must be 0)


@dataclass(frozen=True, slots=True)
class JapanLead:
    """How early Japan-US alerted on a missile, against Japan's own first warning."""

    system_track_id: str
    first_alert_us: int  # newest report time of Japan-US's first alert on it
    japan_first_us: int | None  # Japan's own first report of it (None: never saw it)
    korean_contributor: bool  # Korean data released across fed the picture

    @property
    def lead_s(self) -> float | None:
        if self.japan_first_us is None:
            return None
        return (self.japan_first_us - self.first_alert_us) / 1e6


@dataclass(frozen=True, slots=True)
class SystemsReport:
    """The two-system part of the demo's summary."""

    crossings: tuple[CrossingLine, ...]
    withheld: tuple[WithheldTrack, ...]
    japan: tuple[JapanLead, ...]


def report(pipeline: TwoSystemPipeline) -> SystemsReport:
    """Read both systems after the run: what crossed, what Japan never got, Japan's lead."""
    topics = pipeline.config.topics
    crossings = tuple(
        CrossingLine(
            r.config.crossing.nation,
            r.config.crossing.source,
            r.config.crossing.target,
            r.stats.crossed,
            r.stats.withheld,
            sum(r.stats.refused.values()),
        )
        for r in pipeline.bridge.relays
    )
    korean = _records(pipeline.rokus, topics.warnings_kor)
    jpnus = pipeline.clusters[System.JPNUS]
    crossed = {
        w.track_id for _, w in _warnings(pipeline.codec, _records(jpnus, topics.crossed_kor))
    }
    counts: Counter[str] = Counter()
    markings: dict[str, str] = {}
    for msg, w in _warnings(pipeline.codec, korean):
        label = dict(raw_headers(msg)).get(LABEL_HEADER)
        if label is not None and not Label.decode(label).releasable(System.JPNUS.audience):
            counts[w.track_id] += 1
            markings[w.track_id] = Label.decode(label).marking()
    withheld = tuple(
        WithheldTrack(t, markings[t], n, int(t in crossed)) for t, n in sorted(counts.items())
    )
    return SystemsReport(crossings, withheld, _japan_leads(pipeline, jpnus))


def _japan_leads(pipeline: TwoSystemPipeline, jpnus: KafkaConfig) -> tuple[JapanLead, ...]:
    topics = pipeline.config.topics
    first_alert: dict[str, FusedAlert] = {}
    contributors: dict[str, set[tuple[Nation, str]]] = {}
    for msg in _records(jpnus, topics.alerts):
        try:
            alert = pipeline.codec.decode(msg.value(), FusedAlert)
        except DecodeError:
            continue
        held = first_alert.get(alert.system_track_id)
        if held is None or alert.version < held.version:
            first_alert[alert.system_track_id] = alert
        contributors.setdefault(alert.system_track_id, set()).update(
            (c.nation, c.track_id) for c in alert.contributors
        )
    japan_first: dict[str, int] = {}
    for _, w in _warnings(pipeline.codec, _records(jpnus, topics.warnings_jpn)):
        japan_first[w.track_id] = min(japan_first.get(w.track_id, w.reported_us), w.reported_us)
    leads = []
    for track_id, alert in sorted(first_alert.items()):
        members = contributors[track_id]
        own = [japan_first[t] for n, t in members if n is Nation.JPN and t in japan_first]
        leads.append(
            JapanLead(
                track_id,
                alert.newest_report_us,
                min(own) if own else None,
                any(n is Nation.KOR for n, _ in members),
            )
        )
    return tuple(leads)


def _records(kafka: KafkaConfig, topic: str) -> list[Message]:
    found: list[Message] = []
    read_to_end(kafka, topic, f"trilink-demo-report-{wall_clock_us()}", found.append, idle_s=0.3)
    return found


def _warnings(codec: Codec, msgs: list[Message]) -> list[tuple[Message, MissileWarning]]:
    found = []
    for msg in msgs:
        try:
            found.append((msg, codec.decode(msg.value(), MissileWarning)))
        except DecodeError:
            continue
    return found
