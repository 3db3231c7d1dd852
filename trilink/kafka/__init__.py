"""Kafka helpers every role reuses: client configs, typed topics, polling, explicit
assignment, lag, a producer that survives being fenced, and the checkpoint that commits
a consumer's progress with its output (exactly-once or at-least-once).

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
    rewind,
)
from trilink.kafka.delivery import (
    AtLeastOnce,
    Checkpoint,
    CheckpointStats,
    ExactlyOnce,
    open_checkpoint,
)
from trilink.kafka.offsets import PartitionLag, end_offsets, group_lag
from trilink.kafka.producer import (
    DeliveryTracker,
    Outgoing,
    ResilientProducer,
    Sender,
    is_fenced_or_fatal,
)
from trilink.kafka.topic import AnyTopic, RecordTopics, Source, Topic

__all__ = [
    "AnyTopic",
    "AtLeastOnce",
    "Checkpoint",
    "CheckpointStats",
    "DeliveryTracker",
    "ExactlyOnce",
    "Outgoing",
    "PartitionLag",
    "RecordTopics",
    "ResilientProducer",
    "Sender",
    "Source",
    "Topic",
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
    "open_checkpoint",
    "poll_batch",
    "poll_one",
    "producer_config",
    "rewind",
    "topic_partitions",
    "wait_for",
]
