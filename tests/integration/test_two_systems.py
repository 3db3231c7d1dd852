"""Two bilateral systems on two real brokers, linked only by the bridge.

The session's broker is the ROK-US system, ``second_kafka`` the Japan-US system.
Korea publishes signed warnings on ROK-US only, Japan on Japan-US only, the US on
both; Korea marks some of its tracks releasable to the US and Korea only.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer

from bridge.config import BridgeConfig, EngineConfig
from bridge.crossing import raw_headers
from bridge.engine import Engine
from bridge.interlink import Interlink, Keys, system_config
from evaluation.synthetic import NationModel, Report, ballistic_missile, national_reports
from producers.labelling import Labeller, ReleasePolicy
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import US
from trilink.kafka import assign_from_beginning, consumer_config, ensure_topics, producer_config
from trilink.model import AlertStatus, DeadLetter, FusedAlert, MissileWarning, Nation
from trilink.security import (
    LABEL_HEADER,
    Label,
    Signer,
    TrustStore,
    Verifier,
    init_keys,
    load_signer,
    load_trust,
    security_headers,
)
from trilink.security.trust import KeyRole
from trilink.systems import System

pytestmark = pytest.mark.paced

CODEC = Codec()
NATIONS = (
    NationModel(Nation.KOR, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=4.0),
    NationModel(Nation.USA, delay_s=3.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=8.0),
    NationModel(Nation.JPN, delay_s=40.0, pos_sigma_m=150.0, vel_sigma_mps=8.0, interval_s=4.0),
)
# Korea withholds half its tracks from Japan (the same ones every run: seeded hash).
KOR_POLICY = ReleasePolicy(restricted_fraction=0.5, seed=3)


@dataclasses.dataclass(frozen=True)
class Party:
    signer: Signer
    labeller: Labeller


@pytest.fixture
def keys(tmp_path: Path) -> tuple[dict[str, Signer], TrustStore]:
    init_keys(tmp_path)
    signers = {n: load_signer(tmp_path / f"{n}.key") for n in ("USA", "KOR", "JPN", "BRIDGE")}
    return signers, load_trust(tmp_path / "trust.json")


def fresh_topics() -> Topics:
    suffix = uuid.uuid4().hex[:10]
    defaults = Topics()
    return Topics(
        **{f.name: f"{getattr(defaults, f.name)}-{suffix}" for f in dataclasses.fields(Topics)}
    )


def signed(report: Report, labeller: Labeller) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    body, label = labeller.apply(report.warning)
    value = CODEC.encode(body)
    return body.track_id.encode(), value, labeller.headers(value, label, body)


def publish(kafka: KafkaConfig, topic: str, records: list[tuple[bytes, bytes, list]]) -> None:
    """Publish at once, each record stamped with its warning's publication time: the
    bursts stand for warnings the nations published over that time, in that order
    (the bridge reads a backlog across its topics in timestamp order)."""
    producer = Producer(producer_config(kafka))
    for key, value, headers in records:
        stamp = CODEC.decode(value, MissileWarning).reported_us // 1000
        producer.produce(topic, value, key, headers=headers or None, timestamp=stamp)
        producer.poll(0)
    assert producer.flush(30.0) == 0


def read_all(kafka: KafkaConfig, topic: str, *, settle_s: float = 1.0) -> list[Message]:
    """Every record of ``topic`` once nothing more arrives for ``settle_s``."""
    consumer = Consumer(consumer_config(kafka, f"read-{uuid.uuid4().hex[:8]}"))
    assign_from_beginning(consumer, [topic])
    found: list[Message] = []
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < settle_s:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            found.append(msg)
            quiet_since = time.monotonic()
    finally:
        consumer.close()
    return found


def wait_for_finals(
    kafka: KafkaConfig,
    topic: str,
    count: int,
    link: Interlink,
    system: System,
    inputs: dict[System, int],
    timeout_s: float = 60.0,
) -> list[FusedAlert]:
    """The alerts on ``topic`` once ``count`` tracks have ended and ``system``'s bridge
    has handled all its ``inputs`` and they are all there: a loaded machine may fetch
    one feed well after the others, and a contributor read after its track closed
    states the close again."""
    stats = link.services[system].stats
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        handled, delivered = stats.handled, stats.alerts
        alerts = [CODEC.decode(m.value(), FusedAlert) for m in read_all(kafka, topic, settle_s=0.5)]
        ended = {a.system_track_id for a in alerts if a.status is AlertStatus.IMPACT}
        if len(ended) >= count and handled >= inputs[system] and len(alerts) >= delivered:
            return alerts
    raise AssertionError(f"fewer than {count} final alerts on {topic}, or inputs not all read")


@contextmanager
def running(link: Interlink) -> Iterator[Interlink]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def body() -> None:
        try:
            link.run(stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    try:
        for svc in link.services.values():
            assert svc.stats.ready.wait(60.0), f"{svc.name} did not start"
        for relay in link.relays:
            assert relay.stats.ready.wait(60.0), f"{relay.name} did not start"
        yield link
    finally:
        stop.set()
        thread.join(60.0)
        assert not errors, errors


def test_two_systems_release_only_what_labels_allow(
    kafka_config: KafkaConfig, second_kafka: KafkaConfig, keys: tuple[dict[str, Signer], TrustStore]
) -> None:
    signers, trust = keys
    topics = fresh_topics()
    clusters = {System.ROKUS: kafka_config, System.JPNUS: second_kafka}
    for system, cluster in clusters.items():
        ensure_topics(cluster, [*system.inputs(topics), topics.alerts, topics.dead_letter], 3)

    start = time.time_ns() // 1000
    missiles = [
        ballistic_missile(f"M{i}", start + round(i * 12.0 * US), speed_mps=1500.0) for i in range(4)
    ]
    reports = national_reports(missiles, NATIONS, seed=5, topics=topics)
    labellers = {
        Nation.KOR: Labeller(Nation.KOR, signers["KOR"], KOR_POLICY),
        Nation.USA: Labeller(Nation.USA, signers["USA"]),
        Nation.JPN: Labeller(Nation.JPN, signers["JPN"]),
    }
    by_nation = {
        n: [signed(r, labellers[n]) for r in reports if r.warning.nation is n] for n in labellers
    }
    restricted = {
        r.warning.track_id
        for r in reports
        if r.warning.nation is Nation.KOR and KOR_POLICY.restricted(r.warning.track_id)
    }
    assert restricted and len(restricted) < 4, "the seed must withhold some tracks, not all"

    # Hostile records on Korea's topic: unsigned, forged, re-keyed, replayed.
    key0, value0, headers0 = by_nation[Nation.KOR][0]
    genuine = CODEC.decode(value0, MissileWarning)
    forged_value = CODEC.encode(
        dataclasses.replace(genuine, sequence=10**9, status=genuine.status.IMPACTED)
    )
    rekey_body, rekey_label = labellers[Nation.KOR].apply(genuine)
    rekeyed = Labeller(Nation.KOR, signers["USA"], KOR_POLICY).headers(
        CODEC.encode(rekey_body), rekey_label, rekey_body
    )
    hostile = [
        (key0, forged_value, []),  # unsigned
        (key0, forged_value, headers0),  # forged: a genuine signature on other bytes
        (key0, CODEC.encode(rekey_body), rekeyed),  # re-keyed: signed by the US key
        (key0, value0, headers0),  # replayed: a byte-identical copy
    ]

    config = BridgeConfig(
        engine=EngineConfig(topics=topics),
        group=f"bridge-{uuid.uuid4().hex[:8]}",
        transactional_id=f"bridge-{uuid.uuid4().hex[:8]}",
        standby=False,
    )
    link = Interlink(clusters, config, Keys(signers["BRIDGE"], trust))
    with running(link):
        publish(kafka_config, topics.warnings_kor, by_nation[Nation.KOR][:1] + hostile)
        publish(kafka_config, topics.warnings_kor, by_nation[Nation.KOR][1:])
        publish(kafka_config, topics.warnings_usa, by_nation[Nation.USA])
        publish(second_kafka, topics.warnings_usa, by_nation[Nation.USA])
        publish(second_kafka, topics.warnings_jpn, by_nation[Nation.JPN])
        # Every input read first: a loaded machine may fetch one feed well after the
        # others, and a contributor read after its track closed states the close again.
        releasable = sum(
            r.warning.track_id not in restricted for r in reports if r.warning.nation is Nation.KOR
        )
        inputs = {
            System.ROKUS: len(by_nation[Nation.KOR]) + len(hostile) + len(by_nation[Nation.USA]),
            System.JPNUS: releasable + len(by_nation[Nation.USA]) + len(by_nation[Nation.JPN]),
        }
        jpnus_alerts = wait_for_finals(
            second_kafka, topics.alerts, len(missiles), link, System.JPNUS, inputs
        )
        rokus_alerts = wait_for_finals(
            kafka_config, topics.alerts, len(missiles), link, System.ROKUS, inputs
        )
        rokus_dead = [
            CODEC.decode(m.value(), DeadLetter) for m in read_all(kafka_config, topics.dead_letter)
        ]
        jpnus_dead = read_all(second_kafka, topics.dead_letter)
        crossed_kor = read_all(second_kafka, topics.crossed_kor)
        jpnus_raw = read_all(second_kafka, topics.alerts)

    # Every hostile record is dead-lettered on its own system, each for its own reason.
    reasons = sorted(d.error_type for d in rokus_dead)
    assert reasons == ["bad-signature", "replayed", "unsigned", "untrusted-key"], rokus_dead
    assert all(d.topic == topics.warnings_kor for d in rokus_dead)
    assert not jpnus_dead, "nothing hostile crossed to Japan-US"

    # Nothing withheld crossed: no byte of a KOR-only track is on Japan-US.
    crossed_ids = {CODEC.decode(m.value(), MissileWarning).track_id for m in crossed_kor}
    assert crossed_ids and not crossed_ids & restricted
    # A crossed record keeps its source timestamp (its publication time here).
    assert all(
        m.timestamp()[1] == CODEC.decode(m.value(), MissileWarning).reported_us // 1000
        for m in crossed_kor
    )
    assert all(
        b"SECRET" not in bytes(m.value() or b"")
        and all(b"SECRET" not in v for _, v in raw_headers(m))
        for m in [*crossed_kor, *jpnus_raw]
    )
    # ... and no alert on Japan-US names one as a contributor; ROK-US alerts do.
    jp_contributors = {
        c.track_id for a in jpnus_alerts for c in a.contributors if c.nation is Nation.KOR
    }
    kr_contributors = {
        c.track_id for a in rokus_alerts for c in a.contributors if c.nation is Nation.KOR
    }
    assert not jp_contributors & restricted
    assert restricted <= kr_contributors
    # The forged IMPACTED copy closed nothing early: every track closes on genuine data.
    assert all(a.version < 10**6 for a in rokus_alerts)

    # Japan-US's picture equals the engine's over the releasable inputs alone.
    offline = _offline_picture(topics, reports, restricted)
    online = _final_contributors(jpnus_alerts)
    assert online == offline

    # Alerts are labelled for their system and signed by the bridge.
    verifier = Verifier(trust)
    for i, m in enumerate(jpnus_raw):
        verified = verifier.verify(
            security_headers(raw_headers(m)),
            m.value(),
            nation=Nation.USA,
            where=(topics.alerts, m.partition(), m.offset()),
            role=KeyRole.BRIDGE,
        )
        assert verified.label.releasable_to == System.JPNUS.audience, i
    labels = [
        Label.decode(dict(raw_headers(m))[LABEL_HEADER])
        for m in read_all(kafka_config, topics.alerts)
    ]
    assert {lab.releasable_to for lab in labels} == {System.ROKUS.audience}
    assert any(lab.classification.value == "SECRET" for lab in labels)


def _final_contributors(alerts: list[FusedAlert]) -> set[frozenset[tuple[str, str]]]:
    final = {a.system_track_id: a for a in alerts}
    return {frozenset((c.nation.value, c.track_id) for c in a.contributors) for a in final.values()}


def _offline_picture(
    topics: Topics, reports: list[Report], restricted: set[str]
) -> set[frozenset[tuple[str, str]]]:
    """The Japan-US engine run over the reports releasable to Japan, in order."""
    config = system_config(BridgeConfig(engine=EngineConfig(topics=topics)), System.JPNUS)
    clock = [0]
    engine = Engine(config.engine, CODEC, lambda: clock[0])
    alerts: list[FusedAlert] = []
    for r in reports:
        w = r.warning
        if w.nation is Nation.KOR and w.track_id in restricted:
            continue
        topic = topics.crossed(Nation.KOR) if w.nation is Nation.KOR else r.topic
        body, _ = Labeller(
            w.nation, policy=KOR_POLICY if w.nation is Nation.KOR else ReleasePolicy()
        ).apply(w)
        clock[0] = max(clock[0], w.reported_us)
        alerts += engine.process_warnings([(topic, body)]).alerts
    clock[0] += 3600 * US
    alerts += engine.tick(clock[0]).alerts
    return _final_contributors(alerts)


def test_a_restarted_relay_copies_nothing_twice_and_misses_nothing(
    kafka_config: KafkaConfig, second_kafka: KafkaConfig, keys: tuple[dict[str, Signer], TrustStore]
) -> None:
    from bridge.crossing import CROSSED_FROM_HEADER, CrossingConfig, Relay
    from trilink.systems import Crossing

    signers, trust = keys
    topics = fresh_topics()
    ensure_topics(kafka_config, [topics.warnings_kor], 3)
    start = time.time_ns() // 1000
    missiles = [ballistic_missile(f"M{i}", start + i * 5 * US, speed_mps=1500.0) for i in range(3)]
    reports = [r for r in national_reports(missiles, NATIONS, seed=2, topics=topics)]
    korean = [
        signed(r, Labeller(Nation.KOR, signers["KOR"]))
        for r in reports
        if r.warning.nation is Nation.KOR
    ]
    half = len(korean) // 2
    config = CrossingConfig(Crossing(Nation.KOR), kafka_config, second_kafka, topics)

    def relay_until(count: int) -> None:
        relay = Relay(config, trust)
        stop = threading.Event()
        thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        thread.start()
        try:
            assert relay.stats.ready.wait(30.0)
            deadline = time.monotonic() + 30.0
            while len(read_all(second_kafka, topics.crossed_kor, settle_s=0.3)) < count:
                assert time.monotonic() < deadline, "relay did not copy everything"
        finally:
            stop.set()
            thread.join(30.0)

    publish(kafka_config, topics.warnings_kor, korean[:half])
    relay_until(half)
    publish(kafka_config, topics.warnings_kor, korean[half:])
    relay_until(len(korean))  # a second relay, as after a restart
    crossed = read_all(second_kafka, topics.crossed_kor)
    origins = [dict(raw_headers(m))[CROSSED_FROM_HEADER] for m in crossed]
    assert len(origins) == len(set(origins)) == len(korean)
    assert sorted(bytes(m.value()) for m in crossed) == sorted(v for _, v, _ in korean)
