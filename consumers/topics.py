"""The cluster at a glance: topics, partitions, end offsets and consumer-group lag."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException

from consumers.reader import METADATA_TIMEOUT_S, check_reachable
from trilink.config import KafkaConfig
from trilink.errors import KafkaError
from trilink.kafka import admin, end_offsets

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic with the end offset (next offset to be written) of each partition."""

    name: str
    ends: tuple[int, ...]

    @property
    def partitions(self) -> int:
        return len(self.ends)

    @property
    def records(self) -> int:
        """Sum of end offsets: records written so far (no retention on the topics)."""
        return sum(self.ends)


@dataclass(frozen=True, slots=True)
class GroupLag:
    """How far a consumer group is behind on one topic (summed over partitions)."""

    group: str
    topic: str
    committed: int
    lag: int


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    topics: tuple[TopicInfo, ...]
    lags: tuple[GroupLag, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "topics": [
                {"name": t.name, "partitions": t.partitions, "end_offsets": list(t.ends)}
                for t in self.topics
            ],
            "groups": [
                {"group": g.group, "topic": g.topic, "committed": g.committed, "lag": g.lag}
                for g in self.lags
            ],
        }


def describe_cluster(kafka: KafkaConfig, *, include_internal: bool = False) -> ClusterInfo:
    """Every topic (internal ``__*`` ones only if asked) and the lag of every consumer
    group that has committed offsets on them."""
    check_reachable(kafka)
    client = admin(kafka)
    try:
        metadata = client.list_topics(timeout=METADATA_TIMEOUT_S).topics
    except KafkaException as exc:
        raise KafkaError(f"cannot read metadata: {exc}") from exc
    names = sorted(
        n
        for n, meta in metadata.items()
        if meta.error is None and meta.partitions and (include_internal or not n.startswith("__"))
    )
    ends = end_offsets(kafka, names, timeout=METADATA_TIMEOUT_S) if names else {}
    topics = tuple(
        TopicInfo(n, tuple(ends[(n, p)] for p in sorted(metadata[n].partitions))) for n in names
    )
    return ClusterInfo(topics, _lags(client, ends, set(names)))


def _lags(client: Any, ends: dict[tuple[str, int], int], names: set[str]) -> tuple[GroupLag, ...]:
    try:
        listing = client.list_consumer_groups(request_timeout=METADATA_TIMEOUT_S).result()
    except KafkaException as exc:
        log.warning("cannot list consumer groups: %s", exc)
        return ()
    groups = sorted(g.group_id for g in listing.valid)
    lags: list[GroupLag] = []
    for group in groups:
        lags.extend(_group_lag(client, group, ends, names))
    return tuple(lags)


def _group_lag(
    client: Any, group: str, ends: dict[tuple[str, int], int], names: set[str]
) -> Sequence[GroupLag]:
    request = [ConsumerGroupTopicPartitions(group)]
    try:
        answer = client.list_consumer_group_offsets(request, request_timeout=METADATA_TIMEOUT_S)[
            group
        ].result()
    except KafkaException as exc:
        log.warning("cannot read offsets of group %s: %s", group, exc)
        return ()
    per_topic: dict[str, tuple[int, int]] = {}
    for tp in answer.topic_partitions or ():
        if tp.topic not in names or tp.offset < 0:
            continue
        end = ends.get((tp.topic, tp.partition), tp.offset)
        committed, lag = per_topic.get(tp.topic, (0, 0))
        per_topic[tp.topic] = (committed + tp.offset, lag + max(0, end - tp.offset))
    return [GroupLag(group, t, c, lag) for t, (c, lag) in sorted(per_topic.items())]
