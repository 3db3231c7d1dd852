"""What comes in and what goes out of one engine batch, and the door in between.

``Admission`` turns a consumed record into a trusted report or a dead letter:
decode with the injected codec, check that the topic is a national warning topic,
validate (``validate``). Nothing it is given can make it raise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.state import BridgeTrackState
from bridge.validate import Checked, Validator
from trilink.errors import DecodeError, ValidationError
from trilink.model import DeadLetter, FusedAlert, MissileWarning, Nation

log = logging.getLogger(__name__)


class Decoder(Protocol):
    """What the engine needs of ``trilink.codec.Codec``."""

    def decode(self, data: bytes | None, expected: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """One consumed record, as the engine sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """What one batch produced."""

    alerts: list[FusedAlert] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    states: list[BridgeTrackState] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)
    accepted: int = 0
    replayed: int = 0

    @property
    def empty(self) -> bool:
        return not (self.alerts or self.dead_letters or self.states or self.tombstones)


@dataclass(frozen=True, slots=True)
class Admission:
    """Decode, authorise and validate; a dead letter for anything untrustworthy."""

    decoder: Decoder
    validator: Validator
    topic_nations: Mapping[str, Nation]
    service: str

    def admit(self, msg: Inbound, now: int) -> Checked | DeadLetter:
        """A trusted report from raw bytes, or why not."""
        try:
            warning = self.decoder.decode(msg.value, MissileWarning)
        except DecodeError as exc:
            return self.dead(msg, exc.error_type, exc.reason, now)
        except Exception as exc:  # a codec bug must not stop the bridge either
            log.exception("decoder failed on %s/%d@%d", msg.topic, msg.partition, msg.offset)
            return self.dead(msg, "internal", repr(exc)[:200], now)
        if not isinstance(warning, MissileWarning):
            reason = f"expected MissileWarning, got {type(warning).__name__}"
            return self.dead(msg, "unexpected-schema", reason, now)
        return self.check(msg, warning, now)

    def check(self, msg: Inbound, w: MissileWarning, now: int) -> Checked | DeadLetter:
        """A trusted report from a decoded one, or why not."""
        nation = self.topic_nations.get(msg.topic)
        if nation is None:
            reason = f"topic {msg.topic} carries no national warnings"
            return self.dead(msg, "unauthorised", reason, now)
        try:
            return self.validator(w, nation, now)
        except ValidationError as exc:
            return self.dead(msg, exc.error_type, exc.reason, now)

    def dead(self, msg: Inbound, error_type: str, reason: str, now: int) -> DeadLetter:
        log.info("dead letter %s/%d@%d: %s", msg.topic, msg.partition, msg.offset, reason)
        return DeadLetter(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            error_type=error_type,
            reason=reason,
            time_us=now,
            service=self.service,
            headers=dict(msg.headers),
        )
