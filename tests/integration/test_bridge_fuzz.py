"""Random and mutated records on the warning topics: the bridge never falls over, every
untrustworthy record lands in the dead-letter topic with a reason, good ones still fuse."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
from confluent_kafka import Consumer, Producer

from bridge.config import ValidationConfig
from bridge.service import BridgeService
from bridge.validate import Validator
from tests.factories import covariance_upper, make_alert
from tests.integration.test_bridge import bridge_config, running, salvo
from trilink.codec import SINGLE_OBJECT_MAGIC, Codec
from trilink.config import KafkaConfig, Topics
from trilink.errors import DecodeError, ValidationError
from trilink.kafka import (
    assign_from_beginning,
    consumer_config,
    poll_batch,
    producer_config,
    wait_for,
)
from trilink.model import DeadLetter, FusedAlert, MissileWarning, Nation

CODEC = Codec()
SEED = 20260501


def semantic_mutants(w: MissileWarning) -> list[MissileWarning]:
    """One bad value at a time, each breaking a different rule."""
    cov = list(covariance_upper())
    cov[1] = 1e12
    far = w.observed_us + 10 * 86_400_000_000
    decoy = replace(w, track_id="DECOY-1", scenario_id="fuzz-decoy")
    return [
        replace(decoy, nation=Nation.JPN),
        replace(decoy, releasable_to=(Nation.USA,)),
        replace(decoy, position_m=(math.nan, *w.position_m[1:])),
        replace(decoy, velocity_mps=(math.inf, 0.0, 0.0)),
        replace(decoy, position_m=(1e9, 0.0, 0.0)),
        replace(decoy, velocity_mps=(9000.0, 0.0, 0.0)),
        replace(decoy, covariance=tuple(cov)),
        replace(decoy, covariance=covariance_upper(0.0, 1.0)),
        replace(decoy, observed_us=far, reported_us=far),
        replace(decoy, sequence=0),
        replace(decoy, track_id=""),
    ]


def expected_dead(value: bytes, topic_nation: Nation, now_us: int) -> bool:
    """The oracle: would these bytes be rejected (decode or validation)?"""
    try:
        w = CODEC.decode(value, MissileWarning)
        Validator(ValidationConfig())(w, topic_nation, now_us)
    except (DecodeError, ValidationError):
        return True
    return False


def test_fuzzed_warning_topics(kafka_config: KafkaConfig, topics: Topics, new_group: str) -> None:
    rng = np.random.default_rng(SEED)
    good = salvo(1, 0.0, seed=SEED % 1000, topics=topics)
    template = good[len(good) // 2].warning
    bad: list[tuple[str, bytes]] = []
    kor = topics.warnings_kor
    for n in range(60):  # garbage, with and without a plausible header
        body = rng.bytes(int(rng.integers(0, 300)))
        bad.append((kor, body if n % 3 else SINGLE_OBJECT_MAGIC + body))
    bad.append((kor, b""))
    bad.append((kor, CODEC.encode(make_alert())))  # a record of the wrong type
    bad.append((topics.warnings_jpn, CODEC.encode(template)))  # KOR on JPN's topic
    bad.extend((kor, CODEC.encode(m)) for m in semantic_mutants(template))
    mutants: list[tuple[str, bytes]] = []
    decoy = CODEC.encode(replace(template, track_id="DECOY-2", scenario_id="fuzz-decoy"))
    for _ in range(60):  # byte flips: some still decode, the oracle says which
        raw = bytearray(decoy)
        for i in rng.integers(0, len(raw), size=int(rng.integers(1, 4))):
            raw[i] = int(rng.integers(0, 256))
        mutants.append((kor, bytes(raw)))

    stream: list[tuple[str, bytes, bytes | None]] = [
        (r.topic, CODEC.encode(r.warning), r.warning.track_id.encode()) for r in good
    ]
    for topic, value in bad + mutants:  # sprinkle the junk through the good stream
        stream.insert(int(rng.integers(0, len(stream) + 1)), (topic, value, b"junk"))

    service = BridgeService(kafka_config, bridge_config(topics, new_group, transactional=True))
    with running(service):
        now = time.time_ns() // 1000
        producer = Producer(producer_config(kafka_config))
        for topic, value, key in stream:
            producer.produce(topic, value, key)
            producer.poll(0)
        assert producer.flush(30.0) == 0
        nations = topics.all_warnings()
        must_die = {v for t, v in bad} | {
            v for t, v in mutants if expected_dead(v, nations[t], now)
        }
        wait_for(lambda: service.stats.consumed >= len(stream), 40.0, message="not consumed")
    # Stopped (the batch in hand is committed first), then every alert it published read:
    # a feed fetched behind the others can reach a track after its IMPACT, so the first
    # IMPACT read is not the end of the picture.
    dead, alerts = _read(kafka_config, topics, new_group, len(must_die), service.stats.alerts)
    assert service.stats.consumed == len(stream)
    reasons = {d.value or b"": d for d in dead}
    for _, value in bad:
        assert value in reasons, "a bad record was not dead-lettered"
    assert must_die <= set(reasons)
    assert all(d.reason and d.error_type and d.service == "bridge" for d in dead)
    assert {d.error_type for d in dead} >= {
        "framing",
        "unknown-schema",
        "unexpected-schema",
        "unauthorised",
        "not-releasable",
        "out-of-range",
        "bad-covariance",
        "bad-time",
        "malformed",
    }
    finals = [a for a in alerts if any(c.track_id.startswith("KOR-") for c in a.contributors)]
    assert finals and finals[-1].status.value == "IMPACT"
    assert {c.nation for c in finals[-1].contributors} == {Nation.KOR, Nation.USA, Nation.JPN}
    assert all(c.track_id != "DECOY-1" for a in alerts for c in a.contributors)


def _read(
    kafka: KafkaConfig, topics: Topics, group: str, dead_wanted: int, alerts_wanted: int
) -> tuple[list[DeadLetter], list[FusedAlert]]:
    consumer = Consumer(consumer_config(kafka, f"{group}-check"))
    assign_from_beginning(consumer, [topics.dead_letter, topics.alerts])
    dead: list[DeadLetter] = []
    alerts: list[FusedAlert] = []
    deadline = time.monotonic() + 40.0
    try:
        while time.monotonic() < deadline:
            for m in poll_batch(consumer, 500, 0.2):
                record = CODEC.decode(m.value())
                (dead if isinstance(record, DeadLetter) else alerts).append(record)  # type: ignore[arg-type]
            if len(alerts) >= alerts_wanted and len(dead) >= dead_wanted:
                break
    finally:
        consumer.close()
    return dead, alerts
