"""Every schema through the real broker, in both framings, and garbage beside it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Consumer

from tests.factories import SAMPLES
from trilink.codec import Codec, Framing
from trilink.config import KafkaConfig
from trilink.errors import DecodeError
from trilink.kafka import (
    ResilientProducer,
    assign_from_beginning,
    consumer_config,
    iter_messages,
    producer_config,
)
from trilink.model import Record
from trilink.registry import StaticSchemaIds

IDS = StaticSchemaIds()
CODECS = {
    Framing.SINGLE_OBJECT: Codec(ids=IDS),
    Framing.CONFLUENT: Codec(framing=Framing.CONFLUENT, ids=IDS),
}
GARBAGE = [b"", b"\xc3\x01" + b"\x00" * 12, b"\x00\x00\x00\x00\x63", b"not avro at all"]


@pytest.mark.parametrize("framing", list(Framing))
def test_every_record_type_survives_the_broker(
    framing: Framing,
    kafka_config: KafkaConfig,
    new_topic: Callable[..., str],
    new_group: str,
) -> None:
    topic = new_topic(partitions=2)
    codec = CODECS[framing]
    records: list[Record] = [make() for make in SAMPLES.values()]
    with ResilientProducer(producer_config(kafka_config)) as producer:
        for record in records:
            producer.produce(topic, codec.encode(record), key=record.SCHEMA, partition=0)
        for junk in GARBAGE:
            producer.produce(topic, junk, key=b"junk", partition=1)
        assert producer.flush(10) == 0
        assert producer.tracker.failed == 0

    consumer = Consumer(consumer_config(kafka_config, new_group))
    try:
        assign_from_beginning(consumer, [topic])
        expected = len(records) + len(GARBAGE)
        messages = list(iter_messages(consumer, 10.0, max_messages=expected, strict=True))
    finally:
        consumer.close()
    assert len(messages) == expected

    reader = CODECS[Framing.SINGLE_OBJECT]  # reads both framings
    decoded = [reader.decode(m.value()) for m in messages if m.partition() == 0]
    assert decoded == records
    assert [m.key() for m in messages if m.partition() == 0] == [r.SCHEMA.encode() for r in records]

    for m in (m for m in messages if m.partition() == 1):
        with pytest.raises(DecodeError) as info:
            reader.decode(m.value())
        assert info.value.error_type in {"framing", "unknown-schema", "avro"}
