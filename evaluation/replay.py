"""Run recorded national warnings through a live bridge on a cluster (``trilink score -b``).

Fresh topics and group per run (uuid suffix), so runs never see each other; the
warnings are produced in publication order as fast as the cluster takes them
and the alerts read back until every system track is closed or the stream has
been quiet for a while.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from confluent_kafka import Consumer

from bridge.config import BridgeConfig
from bridge.errors import ServiceError
from bridge.service import BridgeService
from trilink.codec import Codec
from trilink.config import KafkaConfig, Topics
from trilink.kafka import (
    RecordTopics,
    ResilientProducer,
    Sender,
    Topic,
    assign_from_beginning,
    consumer_config,
    ensure_topics,
    poll_batch,
    producer_config,
)
from trilink.model import AlertStatus, FusedAlert, MissileWarning, Nation


def fresh_topics(prefix: str = "") -> Topics:
    """Default topic names with a unique suffix."""
    suffix = prefix or uuid.uuid4().hex[:10]
    base = Topics()
    return Topics(
        **{f.name: f"{getattr(base, f.name)}-{suffix}" for f in dataclasses.fields(Topics)}
    )


def run_through_broker(
    kafka: KafkaConfig,
    warnings: Mapping[Nation, Sequence[MissileWarning]],
    config: BridgeConfig,
    *,
    quiet_s: float = 5.0,
    timeout_s: float = 300.0,
    chunk: int = 1,
) -> list[FusedAlert]:
    """Every alert a bridge publishes for ``warnings`` (its topics are ``config.topics``)."""
    topics = config.topics
    codec = Codec()
    typed = RecordTopics.of(topics, codec)
    ensure_topics(kafka, [getattr(topics, f.name) for f in dataclasses.fields(Topics)], 1)
    service = BridgeService(kafka, config, codec=codec)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="bridge", daemon=True)
    thread.start()
    try:
        if not service.stats.ready.wait(60.0):
            raise ServiceError("bridge did not start")
        sender = Sender(ResilientProducer(producer_config(kafka), name="replay"))
        stream = sorted(
            ((w.reported_us, n, w) for n, ws in warnings.items() for w in ws),
            key=lambda item: (item[0], item[1].value, item[2].track_id, item[2].sequence),
        )
        # In publication order, each consumed before the next is sent (``chunk`` at a time):
        # the bridge then sees the three topics interleaved as they were published
        # (a backlog would be read topic by topic and fused in large batches).
        for start in range(0, len(stream), chunk):
            for _, nation, w in stream[start : start + chunk]:
                sender.send(typed.warnings(nation).message(w))
            if sender.drain(60.0):
                raise ServiceError("warnings could not be delivered")
            sent = min(start + chunk, len(stream))
            deadline = time.monotonic() + 30.0
            while service.stats.consumed < sent:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise ServiceError("the bridge stopped consuming")
                time.sleep(0.001)
        return _read_alerts(kafka, typed.alerts, f"{config.group}-score", quiet_s, timeout_s)
    finally:
        stop.set()
        thread.join(30.0)


def _read_alerts(
    kafka: KafkaConfig, topic: Topic[FusedAlert], group: str, quiet_s: float, timeout_s: float
) -> list[FusedAlert]:
    consumer = Consumer(consumer_config(kafka, group))
    alerts: list[FusedAlert] = []
    try:
        assign_from_beginning(consumer, [topic.name])
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = poll_batch(consumer, 500, 0.2)
            alerts.extend(topic.decode(m.value()) for m in batch)
            if batch:
                last = time.monotonic()
                continue
            final: dict[str, AlertStatus] = {a.system_track_id: a.status for a in alerts}
            closed = all(s in (AlertStatus.IMPACT, AlertStatus.DROPPED) for s in final.values())
            if alerts and (closed or time.monotonic() - last >= quiet_s):
                break
    finally:
        consumer.close()
    return alerts
