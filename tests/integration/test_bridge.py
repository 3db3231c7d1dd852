"""The bridge service on a real broker: warnings in, one system track per missile out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from confluent_kafka import Consumer, Producer

from bridge.config import BridgeConfig, EngineConfig
from bridge.service import BridgeService
from bridge.state import BridgeTrackState
from evaluation.synthetic import NationModel, Report, ballistic_missile, national_reports
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.constants import US
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, producer_config
from trilink.model import AlertStatus, FusedAlert, Nation

CODEC = Codec()
NATIONS = (
    NationModel(Nation.KOR, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=4.0),
    NationModel(Nation.USA, delay_s=3.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=8.0),
    NationModel(Nation.JPN, delay_s=40.0, pos_sigma_m=150.0, vel_sigma_mps=8.0, interval_s=4.0),
)


def salvo(count: int, gap_s: float, seed: int, topics: Topics) -> list[Report]:
    """``count`` missiles from one site, ``gap_s`` apart, launched now (wall clock)."""
    start = time.time_ns() // 1000
    missiles = [
        ballistic_missile(f"M{i}", start + round(i * gap_s * US), speed_mps=1500.0)
        for i in range(count)
    ]
    return national_reports(missiles, NATIONS, seed=seed, topics=topics)


def produce(kafka: KafkaConfig, reports: list[Report]) -> None:
    """Publish ``reports`` at once, each record stamped with its report's publication
    time: the burst stands for warnings a live producer would have published over
    that time (and its records' timestamps would say so)."""
    producer = Producer(producer_config(kafka))
    for r in reports:
        producer.produce(
            r.topic,
            CODEC.encode(r.warning),
            r.warning.track_id.encode(),
            timestamp=r.warning.reported_us // 1000,
        )
        producer.poll(0)
    assert producer.flush(30.0) == 0


def read_alerts(
    kafka: KafkaConfig,
    topic: str,
    group: str,
    until: int,
    timeout_s: float = 40.0,
    done: Callable[[list[FusedAlert]], bool] = lambda alerts: True,
) -> list[FusedAlert]:
    """Alerts from the beginning until ``until`` tracks have a final (IMPACT) alert
    and ``done`` holds of what was read (a feed read behind the others can add a late
    contributor to a track after it closed)."""
    consumer = Consumer(consumer_config(kafka, group))
    assign_from_beginning(consumer, [topic])
    alerts: list[FusedAlert] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            alerts.extend(
                CODEC.decode(m.value(), FusedAlert) for m in poll_batch(consumer, 500, 0.2)
            )
            closed = {a.system_track_id for a in alerts if a.status is AlertStatus.IMPACT}
            if len(closed) >= until and done(alerts):
                # Drain what is already there so duplicates would show.
                alerts.extend(
                    CODEC.decode(m.value(), FusedAlert) for m in poll_batch(consumer, 500, 0.5)
                )
                return alerts
    finally:
        consumer.close()
    raise AssertionError(f"only {len(alerts)} alerts; {until} final alerts expected")


@contextmanager
def running(service: BridgeService) -> Iterator[BridgeService]:
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert service.stats.ready.wait(30.0), "bridge did not start"
        yield service
    finally:
        stop.set()
        thread.join(30.0)
        assert not thread.is_alive()


def bridge_config(topics: Topics, group: str, *, transactional: bool) -> BridgeConfig:
    return BridgeConfig(
        engine=EngineConfig(topics=topics),
        group=group,
        transactional=transactional,
        transactional_id=f"{group}-txn",
    )


def _all_joined(alerts: list[FusedAlert]) -> bool:
    final = {a.system_track_id: a for a in alerts}
    return all(len(a.contributors) == 3 for a in final.values() if a.status is AlertStatus.IMPACT)


@pytest.mark.parametrize("transactional", [True, False], ids=["exactly-once", "at-least-once"])
def test_salvo_through_the_broker(
    kafka_config: KafkaConfig, topics: Topics, new_group: str, transactional: bool
) -> None:
    reports = salvo(3, 10.0, seed=21, topics=topics)
    truth = {(r.warning.nation, r.warning.track_id): r.missile for r in reports}
    service = BridgeService(
        kafka_config, bridge_config(topics, new_group, transactional=transactional)
    )
    with running(service):
        produce(kafka_config, reports)
        alerts = read_alerts(
            kafka_config, topics.alerts, f"{new_group}-reader", until=3, done=_all_joined
        )
    keys = [(a.system_track_id, a.version) for a in alerts]
    assert len(keys) == len(set(keys))
    final: dict[str, FusedAlert] = {}
    for a in alerts:
        final[a.system_track_id] = a
    assert len(final) == 3
    for a in final.values():
        missiles = {truth[(c.nation, c.track_id)] for c in a.contributors}
        assert len(missiles) == 1 and len(a.contributors) == 3
    assert service.stats.dead_letters == 0
    if transactional:
        assert service.stats.transactions > 0


def test_state_topic_holds_a_snapshot_per_track(
    kafka_config: KafkaConfig, topics: Topics, new_group: str
) -> None:
    reports = [r for r in salvo(1, 0.0, seed=5, topics=topics) if r.warning.sequence <= 3]
    service = BridgeService(kafka_config, bridge_config(topics, new_group, transactional=True))
    with running(service):
        produce(kafka_config, reports)
        consumer = Consumer(consumer_config(kafka_config, f"{new_group}-state"))
        assign_from_beginning(consumer, [topics.bridge_state])
        states: list[BridgeTrackState] = []
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not any(len(s.members) == 3 for s in states):
            for m in poll_batch(consumer, 100, 0.2):
                _, datum = CODEC.decode_dict(m.value(), BridgeTrackState.SCHEMA)
                states.append(BridgeTrackState.from_dict(datum))
        consumer.close()
    assert states, "no snapshots"
    last = states[-1]
    assert last.system_track_id.startswith("ST-")
    assert {(m.nation, m.last_sequence) for m in last.members} == {
        (Nation.KOR, 3),
        (Nation.USA, 3),
        (Nation.JPN, 3),
    }
    assert last.version >= 1 and last.last_alert is not None
    assert len(last.last_alert.members) == 3


def test_a_backlog_is_committed_in_few_transactions_and_nothing_is_lost(
    kafka_config: KafkaConfig, topics: Topics, new_group: str
) -> None:
    """Behind (a backlog fetched and waiting), alerts and snapshots wait for the
    commit interval (``bridge.outbox``) instead of a transaction per batch; every
    alert still arrives once and the last snapshots are committed."""
    reports = salvo(2, 10.0, seed=8, topics=topics)
    produce(kafka_config, reports)  # before the bridge starts: a backlog
    config = replace(
        bridge_config(topics, new_group, transactional=True), batch_size=5, commit_interval_s=30.0
    )
    service = BridgeService(kafka_config, config)
    with running(service):
        alerts = read_alerts(kafka_config, topics.alerts, f"{new_group}-reader", until=2)
        stats = service.stats
        assert stats.batches >= len(reports) // 5
        # One transaction per batch before; now one per run of the backlog fetched.
        assert stats.transactions <= stats.batches // 4, (stats.transactions, stats.batches)
    keys = [(a.system_track_id, a.version) for a in alerts]
    assert len(keys) == len(set(keys)) and len(keys) == service.stats.alerts
    assert len({a.system_track_id for a in alerts}) == 2
