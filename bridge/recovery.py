"""Reading back what a previous bridge left: its state snapshots and its published alerts.

Both topics are read from the beginning to their end: the last snapshot per
system track wins (a tombstone forgets it), and for the alerts the highest
version per system track is kept. On Apache Kafka (read_committed) aborted
output is invisible on both topics; on Tansu it is visible on both. Either way
snapshots and alerts of one transaction are seen together, which is what the
engine's restore relies on.

Not everything is in the snapshots: national tracks the engine holds back from
founding a system track (``GateConfig.hold_s``) live in memory only. After a
restart their reports are replayed from the committed offsets and they are simply
newcomers again; silence (``GateConfig.silent_s``) is derived from the members'
observed times, so it needs no state of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from bridge.errors import ServiceError
from bridge.state import BridgeTrackState
from trilink.codec import Codec
from trilink.config import KafkaConfig
from trilink.errors import DecodeError
from trilink.kafka import Topic, assign_from_beginning, consumer_config, poll_batch
from trilink.model import FusedAlert

log = logging.getLogger(__name__)


def state_topic(name: str, codec: Codec) -> Topic[BridgeTrackState]:
    """The bridge's snapshot topic: the latest snapshot per system track (the key);
    a tombstone forgets a track."""
    return Topic(name, BridgeTrackState, codec, lambda state: state.system_track_id.encode())


@dataclass(slots=True)
class Recovered:
    """What the previous bridge left behind."""

    states: dict[str, BridgeTrackState] = field(default_factory=dict)
    published: dict[str, FusedAlert] = field(default_factory=dict)
    state_records: int = 0
    alert_records: int = 0


def read_to_end(
    kafka: KafkaConfig,
    topic: str,
    group: str,
    handle: Callable[[Message], None],
    *,
    idle_s: float = 0.5,
    timeout_s: float = 60.0,
) -> int:
    """Feed every record of ``topic`` to ``handle``; returns how many were read.

    Done when every partition's position has reached the end offset read at the
    start *and* nothing more arrived for ``idle_s`` (Tansu's end offsets can trail
    the true end by a batch).
    """
    consumer = Consumer(consumer_config(kafka, group, **{"enable.partition.eof": False}))
    try:
        parts = assign_from_beginning(consumer, [topic])
        ends: dict[int, int] = {}
        for tp in parts:
            low, high = consumer.get_watermark_offsets(tp, timeout=10.0, cached=False)
            if high > low:
                ends[tp.partition] = high
        count = 0
        deadline = time.monotonic() + timeout_s
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = poll_batch(consumer, 1000, 0.1)
            for msg in batch:
                handle(msg)
            count += len(batch)
            if batch:
                idle_since = time.monotonic()
                continue
            if ends:
                positions = consumer.position([TopicPartition(topic, p) for p in ends])
                for tp in positions:
                    if tp.offset >= ends.get(tp.partition, 0):
                        ends.pop(tp.partition, None)
            if not ends and time.monotonic() - idle_since >= idle_s:
                return count
        raise ServiceError(f"could not read {topic} to its end within {timeout_s:g} s")
    except KafkaException as exc:
        raise ServiceError(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()


def recover(
    kafka: KafkaConfig,
    states: Topic[BridgeTrackState],
    alerts: Topic[FusedAlert],
    group: str,
) -> Recovered:
    """Snapshots (last per key) and the newest published alert per system track."""
    found = Recovered()

    def on_state(msg: Message) -> None:
        key = _text(msg.key())
        value = msg.value()
        found.state_records += 1
        if value is None:
            if key is not None:
                found.states.pop(key, None)
            return
        try:
            state = states.decode(value)
        except DecodeError as exc:
            log.warning("skipping unreadable state record at offset %s: %s", msg.offset(), exc)
            return
        found.states[state.system_track_id] = state

    def on_alert(msg: Message) -> None:
        found.alert_records += 1
        try:
            alert = alerts.decode(msg.value())
        except DecodeError as exc:
            log.warning("skipping unreadable alert at offset %s: %s", msg.offset(), exc.reason)
            return
        held = found.published.get(alert.system_track_id)
        if held is None or alert.version > held.version:
            found.published[alert.system_track_id] = alert

    read_to_end(kafka, states.name, f"{group}-restore", on_state)
    read_to_end(kafka, alerts.name, f"{group}-restore", on_alert)
    log.info(
        "recovered %d system tracks from %d state records; %d tracks from %d alerts",
        len(found.states),
        found.state_records,
        len(found.published),
        found.alert_records,
    )
    return found


def _text(key: Any) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
