"""The three national producers on a real broker: inject a salvo, read every nation's warnings.

The producers run the same deterministic simulation as ``trilink simulate``, so with
the injected (anchored) launches the offline run predicts exactly which warnings
each nation publishes; the test compares the two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer

from producers.inject import inject
from producers.national import NATIONS, simulate_all
from producers.scenario_file import load_scenario
from producers.service import NationalProducer, ProducerConfig
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, wait_for
from trilink.kafka.clock import SessionClock
from trilink.model import DeadLetter, MissileWarning, Nation, TrackStatus

pytestmark = pytest.mark.paced

SPEED = 200.0
# Launch events must reach the producers before their first detection is due (sim time
# runs 200x): the lead gives the broker seconds, not milliseconds, to deliver them.
LEAD_S = 5.0


@pytest.fixture
def producers(
    kafka_config: KafkaConfig, topics: Topics
) -> Iterator[dict[Nation, NationalProducer]]:
    stop = threading.Event()
    services = {
        n: NationalProducer(kafka_config, ProducerConfig(nation=n, speed=SPEED, topics=topics))
        for n in NATIONS
    }
    threads = [
        threading.Thread(target=s.run, args=(stop,), name=f"producer-{n}", daemon=True)
        for n, s in services.items()
    ]
    for t in threads:
        t.start()
    for s in services.values():
        assert s.stats.ready.wait(30.0), "producer did not start"
    yield services
    stop.set()
    for t in threads:
        t.join(15.0)
        assert not t.is_alive(), f"{t.name} did not stop"


Row = tuple[str, bytes | None, bytes | None]


def _read_all(
    kafka_config: KafkaConfig,
    topic_names: list[str],
    done: Callable[[list[Row]], bool],
    timeout_s: float,
) -> list[Row]:
    consumer = Consumer(consumer_config(kafka_config, f"test-reader-{time.monotonic_ns()}"))
    out: list[Row] = []
    try:
        assign_from_beginning(consumer, topic_names)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not done(out):
            for msg in poll_batch(consumer, 500, 0.2):
                out.append((str(msg.topic()), msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def test_producers_publish_each_visible_missile_as_simulated_offline(
    kafka_config: KafkaConfig, topics: Topics, producers: dict[Nation, NationalProducer]
) -> None:
    codec = Codec()
    # A record that is not a launch event goes to the dead-letter topic, not into a crash.
    raw = Producer({"bootstrap.servers": kafka_config.bootstrap_servers})
    raw.produce(topics.launches, b"not avro", b"junk")
    raw.flush(10)
    # Launch times on the session clock the producers agreed on (200x real time).
    session = SessionClock(kafka_config, topics.clock, codec)
    try:
        session.poll(1.0)
        assert session.rate == SPEED
        anchored = inject(
            kafka_config,
            load_scenario("tight-salvo", 5),
            topics=topics,
            lead_s=LEAD_S * SPEED,
            clock=session.now,
        )
    finally:
        session.close()
    expected = simulate_all(anchored.launches)
    assert all(expected[n] for n in (Nation.KOR, Nation.USA)), "KOR and USA see this salvo"
    want = {n: len(ws) for n, ws in expected.items()}

    def complete(rows: list[Row]) -> bool:
        counts = {n: sum(1 for t, _, _ in rows if t == topics.warnings(n)) for n in NATIONS}
        dead = sum(1 for t, _, _ in rows if t == topics.dead_letter)
        return counts == want and dead >= len(NATIONS)

    rows = _read_all(
        kafka_config,
        [*(topics.warnings(n) for n in NATIONS), topics.dead_letter],
        complete,
        timeout_s=45.0,
    )
    dead = [codec.decode(v, DeadLetter) for t, _, v in rows if t == topics.dead_letter]
    assert {d.service for d in dead} == {f"producer-{n.value.lower()}" for n in NATIONS}
    assert all(d.value == b"not avro" and d.reason for d in dead)
    for nation in NATIONS:
        got = [
            (k, codec.decode(v, MissileWarning)) for t, k, v in rows if t == topics.warnings(nation)
        ]
        assert all(k == w.track_id.encode() for k, w in got), "key = local track id"
        published = {w.message_id: w for _, w in got}
        # Compare as the wire carries them.
        offline = {
            w.message_id: codec.decode(codec.encode(w), MissileWarning) for w in expected[nation]
        }
        assert published == offline, f"{nation}: online and offline warnings differ"
        tracks = {w.track_id for w in offline.values()}
        ends = {w.track_id for w in offline.values() if w.status is not TrackStatus.UPDATE}
        assert tracks <= ends
    assert len({w.track_id for w in expected[Nation.KOR]}) == len(anchored.launches)
    assert producers[Nation.KOR].stats.launches == len(anchored.launches)
    wait_for(lambda: all(p.stats.dead_letters == 1 for p in producers.values()), 10.0)
