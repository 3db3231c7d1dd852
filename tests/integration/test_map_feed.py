"""The map's reading thread on the session broker: it waits for topics that do not exist
yet, then shows what arrives (no browser)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from consumers.map import FeedConfig, MapFeed, MapState
from consumers.map import feed as feed_module
from consumers.positions import StartKind, StartPosition
from tests.factories import make_alert
from trilink.codec import codec_for
from trilink.config import KafkaConfig, Topics
from trilink.kafka import RecordTopics, ensure_topics, producer_config


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.mark.timeout(60)
def test_the_feed_waits_for_the_topics_then_shows_each_new_alert(
    kafka_config: KafkaConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "RECHECK_S", 0.5)
    suffix = uuid.uuid4().hex[:12]
    topics = Topics(
        **{f.name: f"{getattr(Topics(), f.name)}-{suffix}" for f in dataclasses.fields(Topics)}
    )
    codec = codec_for(kafka_config)
    typed = RecordTopics.of(topics, codec)
    state = MapState()
    start = StartPosition(StartKind.BEGINNING)
    feed = MapFeed(kafka_config, codec, state, FeedConfig(topics=topics, start=start))
    feed.start()
    try:
        _eventually(lambda: state.snapshot()["meta"]["status"]["feed"] == "waiting")
        ensure_topics(kafka_config, [topics.alerts], 1)
        producer = Producer(producer_config(kafka_config))
        key, value = typed.alerts.encode(make_alert())
        producer.produce(topics.alerts, value, key)
        assert producer.flush(10.0) == 0
        _eventually(lambda: [t["id"] for t in state.snapshot()["tracks"]] == ["SYS-0001"])
        status = state.snapshot()["meta"]["status"]
        assert status == {"feed": "live", "detail": topics.alerts}

        # The national topics appear later (their producers start): the feed reads them too.
        ensure_topics(kafka_config, [topics.warnings_jpn], 1)
        _eventually(lambda: topics.warnings_jpn in state.snapshot()["meta"]["status"]["detail"])
        assert [t["id"] for t in state.snapshot()["tracks"]] == ["SYS-0001"]
    finally:
        feed.stop()
