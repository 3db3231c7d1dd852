"""A nation's release decision and signature on every warning it publishes.

Each warning leaves labelled (STANAG 4774's model: policy, classification,
releasable-to nations, creation time, originator) and signed with the nation's
Ed25519 key over the label and the encoded value (STANAG 4778's binding; see
``trilink.security``). The body's ``releasable_to`` and ``classification`` say the
same as the label, so a reader of the value alone is not misled.

A nation may withhold some tracks from a partner: :class:`ReleasePolicy` marks a
share of its national tracks (the same tracks on every run and restart) releasable
only to a narrower list, e.g. Korea's ``SECRET//REL TO USA, KOR``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

from producers.errors import ProducerError
from trilink.model import MissileWarning, Nation
from trilink.security import Classification, Label, Signer, derive_msgid, marking_order

_ALL = frozenset((Nation.USA, Nation.KOR, Nation.JPN))


@dataclass(frozen=True, slots=True)
class ReleasePolicy:
    """What a nation releases to whom.

    ``restricted_fraction`` of the nation's tracks, chosen by a hash of the track id
    and ``seed``, go out at ``restricted_classification`` releasable only to
    ``restricted_to``; every other track at ``classification`` to ``releasable_to``.
    """

    releasable_to: frozenset[Nation] = _ALL
    classification: Classification = Classification.UNCLASSIFIED
    restricted_fraction: float = 0.0
    restricted_to: frozenset[Nation] = frozenset((Nation.USA, Nation.KOR))
    restricted_classification: Classification = Classification.SECRET
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.restricted_fraction) and 0.0 <= self.restricted_fraction <= 1):
            raise ProducerError(
                f"restricted fraction must be in [0, 1], got {self.restricted_fraction}"
            )
        if not self.releasable_to or not self.restricted_to:
            raise ProducerError("a release list must name at least one nation")

    def restricted(self, track_id: str) -> bool:
        """True if ``track_id`` is one of the tracks released narrowly."""
        if self.restricted_fraction <= 0.0:
            return False
        # The track's number within its scenario (the id's last part), not the whole id:
        # ids carry a per-run prefix, and the choice must be the same tracks every run.
        number = track_id.rsplit("-", 1)[-1]
        digest = hashlib.sha256(f"{self.seed}:{number}".encode()).digest()
        return int.from_bytes(digest[:8], "big") < self.restricted_fraction * 2.0**64

    def label(self, nation: Nation, track_id: str, created_us: int) -> Label:
        """The label of one report of ``nation``'s track ``track_id``."""
        narrow = self.restricted(track_id)
        return Label(
            classification=self.restricted_classification if narrow else self.classification,
            releasable_to=self.restricted_to if narrow else self.releasable_to,
            created_us=max(0, created_us),
            originator=nation,
        )


@dataclass(frozen=True, slots=True)
class Labeller:
    """Labels (and, with a key, signs) one nation's warnings."""

    nation: Nation
    signer: Signer | None = None
    policy: ReleasePolicy = field(default_factory=ReleasePolicy)

    def apply(self, warning: MissileWarning) -> tuple[MissileWarning, Label]:
        """``warning`` with its body's release fields set from its label, and the label.

        A body that already lists the label's nations is left as it is (byte for byte
        what the simulation made); one released more narrowly gets the label's list
        and marking.
        """
        label = self.policy.label(self.nation, warning.track_id, warning.reported_us)
        if frozenset(warning.releasable_to) == label.releasable_to:
            return warning, label
        body = replace(
            warning,
            releasable_to=tuple(marking_order(label.releasable_to)),
            classification=label.marking(),
        )
        return body, label

    def headers(
        self, value: bytes, label: Label, warning: MissileWarning
    ) -> list[tuple[str, bytes]]:
        """The label and signature headers of the encoded ``value`` (none without a key).

        The message id is derived from (nation, track, sequence): the same report
        produced again after a failed delivery or a restart is the same message, and
        the output stays byte-deterministic.
        """
        if self.signer is None:
            return []
        msgid = derive_msgid(
            self.nation.value.encode(), warning.track_id.encode(), str(warning.sequence).encode()
        )
        return self.signer.headers(value, label, msgid)
