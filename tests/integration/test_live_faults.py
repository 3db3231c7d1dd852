"""Live operation under faults, as processes: the broker frozen mid-salvo, the active
bridge killed with a standby waiting, and a flood of malformed and forged records on the
warning topics during a salvo.

Figures (recovery, alert delay under flood) are printed; ``TRILINK_CAMPAIGN=1`` adds the
60 s freeze to the 10 s one.
"""

from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from tests.factories import make_warning
from tests.integration.procs import (
    CODEC,
    ROOT,
    Picture,
    bridge_args,
    check_picture,
    cli,
    read_launches,
    running,
    stop,
)
from trilink.broker import EmbeddedBroker
from trilink.config import KafkaConfig, Topics
from trilink.kafka import assign_from_beginning, consumer_config, poll_batch, wait_for
from trilink.model import AlertStatus, DeadLetter, Nation

# A 10 s freeze is 200 s of the salvo's flights. At 20x (not 10x) it caught the
# bridge ticking event time past a backlog it had not fetched yet after the freeze,
# closing a Korean track early: 2 runs in 10 (docs/score.md, "Stop 44").
SPEED = 20.0
# The flood stays at 10x: at 20x its backlog is twice the event time, and once (in 5
# runs) the United States' track of a missile founded a system track of its
# own before the bridge folded it as a duplicate 6 s later; the emptied track ended
# DROPPED, an extra track (docs/score.md, "Stop 44": open).
FLOOD_SPEED = 10.0
SALVO = ("--scenario", str(ROOT / "scenarios" / "tight-salvo.yaml"))
FREEZES = [10.0, 60.0] if os.environ.get("TRILINK_CAMPAIGN") else [10.0]

pytestmark = [pytest.mark.paced, pytest.mark.slow, pytest.mark.flaky(reruns=1)]


@pytest.mark.parametrize("freeze_s", FREEZES)
def test_broker_frozen_mid_salvo_then_every_service_recovers(
    tmp_path: Path, freeze_s: float
) -> None:
    with EmbeddedBroker() as broker:  # its own: it is frozen
        kafka = KafkaConfig(broker.bootstrap_servers)
        topics = Topics()
        with running(kafka, topics, tmp_path, SPEED) as procs:
            launches = read_launches(kafka, topics, set(procs.inject(*SALVO, "--seed", "9")))
            picture = Picture(kafka, topics.alerts)
            try:
                wait_for(lambda: len(picture.read()) >= 2, 90, message="no alert before freeze")
                assert broker.pid is not None
                os.kill(broker.pid, signal.SIGSTOP)
                try:
                    time.sleep(freeze_s)  # the fault itself: the broker stays frozen this long
                finally:
                    os.kill(broker.pid, signal.SIGCONT)
                resumed = time.monotonic()
                before = len(picture.alerts)
                wait_for(lambda: len(picture.read()) and len(picture.alerts) > before, 120,
                         message="no alert after the broker came back")  # fmt: skip
                recovered_s = time.monotonic() - resumed
                picture.wait_ended(launches, SPEED, slack_s=180)
                tracks = picture.read()
            finally:
                picture.close()
            assert procs.alive(), procs.tail("bridge")
            # Recovered, and precise: every missile one track, IMPACT, nothing repeated,
            # impact where and when it fell. After the outage the bridge fetches one
            # nation's backlog minutes before the others'; merged as far as fetched, a
            # track ended on another missile's members, impact 20-30 s off (3 of 3 runs
            # with TimeMerge's wait off, merge_idle_s=0; docs/score.md, "Stop 40").
            check_picture(tracks, launches, picture.alerts, precise=True)
    print(f"\nbroker frozen {freeze_s:.0f} s: first alert {recovered_s:.1f} s after resuming")


def test_a_standby_bridge_takes_over_from_a_killed_active_one(
    kafka_config: KafkaConfig, topics: Topics, tmp_path: Path
) -> None:
    with running(kafka_config, topics, tmp_path, SPEED) as procs:
        standby_log = tmp_path / "standby.log"
        standby = cli(kafka_config, standby_log, *bridge_args(topics))
        try:
            wait_for(lambda: "standing by" in standby_log.read_text(), 60, message="no standby")
            launches = read_launches(
                kafka_config, topics, set(procs.inject(*SALVO, "--seed", "13"))
            )
            picture = Picture(kafka_config, topics.alerts)
            try:
                wait_for(lambda: len(picture.read()) >= 2, 90, message="no alert")
                assert "bridge ready" not in standby_log.read_text(), "two active bridges"
                killed = time.monotonic()
                procs.procs["bridge"].send_signal(signal.SIGKILL)
                wait_for(lambda: "bridge ready" in standby_log.read_text(), 60,
                         message="the standby never took over")  # fmt: skip
                takeover_s = time.monotonic() - killed
                picture.wait_ended(launches, SPEED, slack_s=180)
                tracks = picture.read()
            finally:
                picture.close()
            assert standby.poll() is None, standby_log.read_text()[-3000:]
            check_picture(tracks, launches, picture.alerts)
        finally:
            stop(standby)
    print(f"\nstandby took over {takeover_s:.1f} s after the active bridge was killed")
    assert takeover_s < 30.0


def _bad_records(rng: random.Random, n: int, topics: Topics) -> list[tuple[str, bytes]]:
    """Junk, truncated, forged (a nation on another's topic) and NaN-carrying records."""
    good = CODEC.encode(make_warning())
    forged = CODEC.encode(make_warning(nation=Nation.JPN))
    nan = CODEC.encode(make_warning(position_m=(math.nan, 1.0, 2.0)))
    targets = [topics.warnings_kor, topics.warnings_jpn, topics.warnings_usa]
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            value = rng.randbytes(rng.randint(0, 600))
        elif kind == 1:
            value = good[: rng.randint(0, len(good) - 1)]
        elif kind == 2:
            value = forged  # JPN's report on Korea's topic: unauthorised
        else:
            value = nan
        topic = topics.warnings_kor if kind == 2 else rng.choice(targets)
        out.append((topic, value))
    return out


def test_a_flood_of_bad_records_during_a_salvo(
    kafka_config: KafkaConfig, topics: Topics, tmp_path: Path
) -> None:
    flood = _bad_records(random.Random(2024), 100_000, topics)
    with running(kafka_config, topics, tmp_path, FLOOD_SPEED) as procs:
        launches = read_launches(kafka_config, topics, set(procs.inject(*SALVO, "--seed", "11")))
        picture = Picture(kafka_config, topics.alerts)
        sent = threading.Event()

        def send_flood() -> None:
            producer = Producer({"bootstrap.servers": kafka_config.bootstrap_servers,
                                 "linger.ms": 20, "batch.num.messages": 5000})  # fmt: skip
            for topic, value in flood:
                while True:
                    try:
                        producer.produce(topic, value, b"flood")
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.flush(60)
            sent.set()

        try:
            wait_for(lambda: len(picture.read()) >= 1, 90, message="no alert before the flood")
            threading.Thread(target=send_flood, daemon=True).start()
            wait_for(sent.is_set, 120, message="the flood was not sent")
            picture.wait_ended(launches, FLOOD_SPEED, slack_s=180)
            tracks = picture.read()
        finally:
            picture.close()
        assert procs.alive(), procs.tail("bridge")
        check_picture(tracks, launches, picture.alerts)
        dead = _count_dead_letters(kafka_config, topics, len(flood))
        log_lines = procs.logs["bridge"].read_text().count("dead letter")
    # Alerts a report caused (an IMPACT at a deadline is caused by the clock, not a report).
    delays = sorted(
        (a.alert_us - a.newest_report_us) / 1e6 / FLOOD_SPEED
        for a in picture.alerts
        if a.status in (AlertStatus.NEW, AlertStatus.UPDATE)
    )
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))]
    print(
        f"\nflood of {len(flood)}: {dead} dead letters with reasons, {log_lines} log lines "
        f"about them; alert delay after the newest report p99 {p99:.2f} s, "
        f"max {delays[-1]:.2f} s (wall)"
    )
    assert dead >= len(flood)
    assert log_lines < 200, "dead letters logged line by line"
    # The delay is the flood's: the salvo's reports queue behind it in the same
    # partitions, and the backlog's alerts each count it. How fast the bridge reads is
    # measured by ``make bench``, not asserted here (on a loaded machine, 35 s).


def _count_dead_letters(kafka: KafkaConfig, topics: Topics, expected: int) -> int:
    consumer = Consumer(consumer_config(kafka, f"dlq-{topics.dead_letter}"))
    count = [0]
    try:
        assign_from_beginning(consumer, [topics.dead_letter])

        def all_read() -> bool:
            for m in poll_batch(consumer, 5000, 0.5):
                dead = CODEC.decode(m.value(), DeadLetter)
                assert dead.reason, "a dead letter without its reason"
                if dead.service == "bridge":
                    count[0] += 1
            return count[0] >= expected

        wait_for(all_read, timeout=180, interval=0.0, message=f"only {count[0]} dead letters")
    finally:
        consumer.close()
    return count[0]
