"""Topics that carry their own record type, codec and key.

In the spirit of quix-streams' ``Topic(name, value_serializer=...)``: a
:class:`Topic` knows what it carries, so a call site writes
``topic.message(record)`` and ``topic.decode(msg.value())`` instead of pairing a
topic name, a codec and a record type by hand. The bytes are the codec's
(:mod:`trilink.codec` stays the only Avro user), so the wire format is exactly
what ``codec.encode(record)`` writes.

:class:`RecordTopics` builds the shared topics of a :class:`~trilink.config.Topics`
(launches, the national warnings, alerts, dead letters); a service declares its
private ones itself (the bridge's state snapshots). :class:`AnyTopic` reads a
topic without expecting one record type (``trilink inspect``, ``trilink alerts
--topic X``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

from trilink.codec import AvroRecord, Codec
from trilink.config import Topics
from trilink.constants import NATIONS
from trilink.errors import ConfigError
from trilink.kafka.producer import Outgoing
from trilink.model import DeadLetter, FusedAlert, LaunchEvent, MissileWarning, Nation, Record

R = TypeVar("R", bound=AvroRecord)
R_co = TypeVar("R_co", covariant=True)


def no_key(_record: object) -> bytes | None:
    """The key function of a topic whose records are not keyed (round-robin partitions)."""
    return None


@dataclass(frozen=True, slots=True)
class Topic(Generic[R]):
    """A topic name with the record type it carries, its codec and its key function.

    ``key(record)`` gives the message key (the partitioning and compaction key);
    records of one key stay in order.
    """

    name: str
    record_type: type[R]
    codec: Codec = field(repr=False)
    key: Callable[[R], bytes | None] = field(default=no_key, repr=False)

    def encode(self, record: R) -> tuple[bytes | None, bytes]:
        """(key, value) of ``record``; the value is ``codec.encode(record)``, byte for byte."""
        return self.key(record), self.codec.encode(record)

    def message(self, record: R) -> Outgoing:
        """``record`` addressed to this topic, ready for a producer or a checkpoint."""
        key, value = self.encode(record)
        return Outgoing(self.name, key, value)

    def tombstone(self, key: bytes) -> Outgoing:
        """A null value for ``key``: compaction forgets the key, readers drop it."""
        return Outgoing(self.name, key, None)

    def decode(self, value: bytes | None) -> R:
        """The record in ``value``; DecodeError (with a one-line reason) if it is not
        a valid ``record_type``, another record type included."""
        return self.codec.decode(value, self.record_type)


@dataclass(frozen=True, slots=True)
class AnyTopic:
    """A topic read as whatever trilink record each message holds."""

    name: str
    codec: Codec = field(repr=False)

    def decode(self, value: bytes | None) -> Record:
        """The domain record in ``value``, whichever it is (DecodeError if none)."""
        return self.codec.decode(value)


class Source(Protocol[R_co]):
    """What a reader needs of a topic: its name and how to decode its values."""

    @property
    def name(self) -> str: ...

    def decode(self, value: bytes | None) -> R_co: ...


def _text_key(get: Callable[[R], str]) -> Callable[[R], bytes | None]:
    return lambda record: get(record).encode()


@dataclass(frozen=True, slots=True)
class RecordTopics:
    """The shared topics of a :class:`~trilink.config.Topics`, typed and keyed as the
    README's topic table says."""

    launches: Topic[LaunchEvent]
    alerts: Topic[FusedAlert]
    dead_letter: Topic[DeadLetter]
    by_nation: Mapping[Nation, Topic[MissileWarning]]

    @classmethod
    def of(cls, topics: Topics, codec: Codec) -> RecordTopics:
        """Every shared topic of ``topics``, with ``codec``."""
        return cls(
            launches=Topic(topics.launches, LaunchEvent, codec, _text_key(lambda e: e.launch_id)),
            alerts=Topic(topics.alerts, FusedAlert, codec, _text_key(lambda a: a.system_track_id)),
            # A dead letter keeps the key of the record it carries.
            dead_letter=Topic(topics.dead_letter, DeadLetter, codec, lambda d: d.key),
            by_nation=MappingProxyType(
                {
                    n: Topic(
                        topics.warnings(n), MissileWarning, codec, _text_key(lambda w: w.track_id)
                    )
                    for n in NATIONS
                }
            ),
        )

    def warnings(self, nation: Nation) -> Topic[MissileWarning]:
        """The warning topic ``nation`` publishes to."""
        try:
            return self.by_nation[nation]
        except KeyError:
            raise ConfigError(f"no warning topic for nation {nation!r}") from None
