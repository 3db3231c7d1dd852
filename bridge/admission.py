"""What comes in and what goes out of one engine batch, and the door in between.

``Admission`` is step 1 of the engine's walk: it turns a consumed record into a
trusted report or a dead letter — check that the topic is a national warning
topic, verify the record's signed confidentiality label (an injected
:class:`Verifier`, before the bytes are decoded: nothing unverifiable is parsed,
let alone fused), decode with the injected codec, check that the body agrees with
its label, validate (``validate``). Nothing it is given can make it raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.state import BridgeTrackState
from bridge.validate import Checked, Validator
from trilink.errors import DecodeError, SecurityError, ValidationError
from trilink.health import RateLimitedLog
from trilink.model import DeadLetter, FusedAlert, MissileWarning, Nation

log = logging.getLogger(__name__)


class Decoder(Protocol):
    """What the engine needs of ``trilink.codec.Codec``."""

    def decode(self, data: bytes | None, expected: Any = None) -> Any: ...


class Verified(Protocol):
    """What admission reads of a verified record (``trilink.security.Verified``)."""

    @property
    def label(self) -> Any: ...


class Verifier(Protocol):
    """What the engine needs of ``trilink.security.Verifier``: the record's label if its
    signature is good and its key trusted for ``nation``, else SecurityError."""

    def verify(
        self,
        headers: Mapping[str, bytes],
        value: bytes,
        *,
        nation: Nation,
        where: tuple[str, int, int],
    ) -> Verified: ...


LABEL_MISMATCH = "label-mismatch"


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
    # The system tracks whose snapshots are due, when the engine leaves building them to
    # the caller (``Engine(snapshots=False)``: the service snapshots at commit time).
    touched: list[str] = field(default_factory=list)
    accepted: int = 0
    replayed: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.alerts or self.dead_letters or self.states or self.tombstones or self.touched
        )


@dataclass(frozen=True, slots=True)
class Admission:
    """Decode, authorise and validate; a dead letter for anything untrustworthy."""

    decoder: Decoder
    validator: Validator
    topic_nations: Mapping[str, Nation]
    service: str
    # None: records are not authenticated (a single cluster without keys).
    verifier: Verifier | None = None
    # Dead letters can come in floods (a broken or hostile producer): the first few
    # are logged as they come, then one summary line per interval.
    report: Callable[[str], None] = field(
        default_factory=lambda: RateLimitedLog(log, "dead letter")
    )

    def admit_all(self, batch: Sequence[Inbound], now: int, out: Outcome) -> list[Checked]:
        """The trusted reports of ``batch``, in order; the rest as dead letters on ``out``."""
        return _split([self.admit(msg, now) for msg in batch], out)

    def check_all(
        self, warnings: Iterable[tuple[str, MissileWarning]], now: int, out: Outcome
    ) -> list[Checked]:
        """Like ``admit_all`` for already-decoded (topic, warning) pairs, each standing
        for a record at its position in ``warnings``."""
        verdicts = [
            self.check(Inbound(topic, 0, offset, w.track_id.encode(), None), w, now)
            for offset, (topic, w) in enumerate(warnings)
        ]
        return _split(verdicts, out)

    def admit(self, msg: Inbound, now: int) -> Checked | DeadLetter:
        """A trusted report from raw bytes, or why not."""
        label = None
        if self.verifier is not None:
            nation = self.topic_nations.get(msg.topic)
            if nation is None:
                reason = f"topic {msg.topic} carries no national warnings"
                return self.dead(msg, "unauthorised", reason, now)
            try:
                where = (msg.topic, msg.partition, msg.offset)
                label = self.verifier.verify(
                    msg.headers, msg.value or b"", nation=nation, where=where
                ).label
            except SecurityError as exc:
                return self.dead(msg, exc.error_type, exc.reason, now)
            except Exception as exc:  # a verifier bug must not stop the bridge either
                log.exception("verifier failed on %s/%d@%d", msg.topic, msg.partition, msg.offset)
                return self.dead(msg, "internal", repr(exc)[:200], now)
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
        return self.check(msg, warning, now, label)

    def check(
        self, msg: Inbound, w: MissileWarning, now: int, label: Any = None
    ) -> Checked | DeadLetter:
        """A trusted report from a decoded one (and its verified label), or why not."""
        nation = self.topic_nations.get(msg.topic)
        if nation is None:
            reason = f"topic {msg.topic} carries no national warnings"
            return self.dead(msg, "unauthorised", reason, now)
        if label is not None and frozenset(w.releasable_to) != label.releasable_to:
            # The body's release list is what a reader of the record sees; a label that
            # says otherwise was bound to a record that lies about its release.
            body = ", ".join(sorted(n.value for n in w.releasable_to)) or "nobody"
            reason = f"body releasable to {body}, label says {label.marking()}"
            return self.dead(msg, LABEL_MISMATCH, reason, now)
        try:
            checked = self.validator(w, nation, now)
        except ValidationError as exc:
            return self.dead(msg, exc.error_type, exc.reason, now)
        if label is not None:
            return checked.labelled(str(label.classification))
        return checked

    def dead(self, msg: Inbound, error_type: str, reason: str, now: int) -> DeadLetter:
        self.report(f"{msg.topic}/{msg.partition}@{msg.offset}: {reason}")
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


def _split(verdicts: list[Checked | DeadLetter], out: Outcome) -> list[Checked]:
    """The trusted reports, in order; the dead letters go on ``out``."""
    admitted = []
    for verdict in verdicts:
        if isinstance(verdict, DeadLetter):
            out.dead_letters.append(verdict)
        else:
            admitted.append(verdict)
    return admitted
