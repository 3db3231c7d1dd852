"""Kafka helpers every role reuses: client configs, topics, polling, explicit assignment,
lag, and a producer that survives being fenced.

Everything here works on Apache Kafka and on the embedded Tansu broker; where
Tansu differs (see ``docs/embedded-broker.md``) the helpers cope without
depending on the difference.
"""

from trilink.kafka.clients import (
    WaitTimeout,
    admin,
    consumer_config,
    ensure_topics,
    producer_config,
    topic_partitions,
    wait_for,
)
from trilink.kafka.consume import (
    assign_from_beginning,
    assign_from_now,
    assign_since,
    iter_messages,
    poll_batch,
    poll_one,
)
from trilink.kafka.offsets import PartitionLag, end_offsets, group_lag
from trilink.kafka.producer import DeliveryTracker, ResilientProducer, is_fenced_or_fatal

__all__ = [
    "DeliveryTracker",
    "PartitionLag",
    "ResilientProducer",
    "WaitTimeout",
    "admin",
    "assign_from_beginning",
    "assign_from_now",
    "assign_since",
    "consumer_config",
    "end_offsets",
    "ensure_topics",
    "group_lag",
    "is_fenced_or_fatal",
    "iter_messages",
    "poll_batch",
    "poll_one",
    "producer_config",
    "topic_partitions",
    "wait_for",
]
