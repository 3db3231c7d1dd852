"""Kill the bridge (SIGKILL) in the middle of a salvo, restart it, lose nothing, repeat nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer

from tests.integration.test_bridge import produce, salvo
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, wait_for
from trilink.model import AlertStatus, FusedAlert

CODEC = Codec()
ROOT = Path(__file__).resolve().parents[2]


def start_bridge(
    kafka: KafkaConfig, topics: Topics, group: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRILINK_")}
    args = [
        sys.executable,
        "-m",
        "cli",
        "-v",
        "bridge",
        "--bootstrap-servers",
        kafka.bootstrap_servers,
        "--group",
        group,
        "--transactional-id",
        f"{group}-txn",
        "--batch-size",
        "10",
        "--warnings-usa",
        topics.warnings_usa,
        "--warnings-kor",
        topics.warnings_kor,
        "--warnings-jpn",
        topics.warnings_jpn,
        "--alerts-topic",
        topics.alerts,
        "--dead-letter-topic",
        topics.dead_letter,
        "--state-topic",
        topics.bridge_state,
        "--clock-topic",
        topics.clock,
    ]
    # A file, not a pipe: nobody reads the log while the bridge runs.
    with log.open("ab") as sink:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=sink, stderr=sink)


class AlertReader:
    def __init__(self, kafka: KafkaConfig, topic: str, group: str) -> None:
        self.consumer = Consumer(consumer_config(kafka, group))
        assign_from_beginning(self.consumer, [topic])
        self.alerts: list[FusedAlert] = []

    def read(self) -> list[FusedAlert]:
        for m in poll_batch(self.consumer, 500, 0.1):
            self.alerts.append(CODEC.decode(m.value(), FusedAlert))
        return self.alerts

    def closed(self) -> set[str]:
        return {a.system_track_id for a in self.read() if a.status is AlertStatus.IMPACT}


def test_sigkill_mid_salvo_then_restart(
    kafka_config: KafkaConfig, topics: Topics, new_group: str, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    reports = salvo(4, 10.0, seed=31, topics=topics)
    truth = {(r.warning.nation, r.warning.track_id): r.missile for r in reports}
    reader = AlertReader(kafka_config, topics.alerts, f"{new_group}-reader")
    first = start_bridge(kafka_config, topics, new_group, log)
    quarter = len(reports) // 4
    try:
        produce(kafka_config, reports[: 2 * quarter])
        wait_for(lambda: len(reader.read()) >= 8, 60.0, message="bridge produced no alerts")
        seen = len(reader.read())
        produce(kafka_config, reports[2 * quarter : 3 * quarter])
        wait_for(lambda: len(reader.read()) > seen, 30.0)  # busy with the third quarter
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10.0)
    produce(kafka_config, reports[3 * quarter :])  # the salvo goes on while the bridge is down
    assert len(reader.closed()) < 4, "the salvo was over before the kill"

    second = start_bridge(kafka_config, topics, new_group, log)
    try:
        wait_for(lambda: len(reader.closed()) >= 4, 60.0, message="final alerts missing")
        wait_for(lambda: log.read_text().count("bridge ready") == 2, 30.0)
        time.sleep(0.5)  # anything repeated would arrive right behind
        alerts = reader.read()
        second.send_signal(signal.SIGTERM)
        assert second.wait(30.0) == 0
    finally:
        if second.poll() is None:
            second.kill()
        reader.consumer.close()
    keys = [(a.system_track_id, a.version) for a in alerts]
    assert len(keys) == len(set(keys)), "a (system track id, version) was published twice"
    final: dict[str, FusedAlert] = {}
    for a in alerts:
        final[a.system_track_id] = a
    closed = {tid: a for tid, a in final.items() if a.status is AlertStatus.IMPACT}
    missiles = {truth[(c.nation, c.track_id)] for a in closed.values() for c in a.contributors}
    assert missiles == {"M0", "M1", "M2", "M3"}
    assert all(
        len({truth[(c.nation, c.track_id)] for c in a.contributors}) == 1 for a in closed.values()
    )
