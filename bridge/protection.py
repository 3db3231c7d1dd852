"""The bridge's keys: it verifies what it reads and labels and signs what it writes.

Every input record must carry a confidentiality label signed by a key trusted for
its nation (``trilink.security``); admission checks it before the bytes are
decoded. Alerts leave labelled at the highest classification of their
contributors and releasable to the audience of the system they go to (every input
of a system is releasable to all of its audience, so the intersection of the
contributors' release lists always covers it), signed with the bridge's key.
Dead letters keep the original record's label header: a rejected record is still
the originator's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.tracks import SystemTrack
from trilink.kafka.producer import Outgoing
from trilink.model import DeadLetter, FusedAlert, Nation
from trilink.security import (
    LABEL_HEADER,
    Classification,
    Label,
    ReplayGuard,
    Signer,
    TrustStore,
    Verifier,
    derive_msgid,
)

# INDOPACOM issues the trilateral picture.
ALERT_ORIGINATOR = Nation.USA


@dataclass(frozen=True, slots=True)
class Protection:
    """Keys and audience of one bridge engine (one per system in two-system mode)."""

    signer: Signer
    trust: TrustStore
    audience: frozenset[Nation]

    def verifier(self) -> Verifier:
        """A verifier with a fresh replay guard (one per engine: after a rewind the
        same records are read again at the same positions)."""
        return Verifier(self.trust, ReplayGuard())

    def alert_label(self, alert: FusedAlert, track: SystemTrack | None) -> Label:
        """The label of ``alert``: its contributors' highest classification, released to
        this system's audience."""
        levels = [Classification.UNCLASSIFIED]
        if track is not None:
            levels += [
                Classification(m.classification)
                for m in track.members.values()
                if m.classification in Classification.__members__
            ]
        return Label(
            classification=max(levels, key=lambda c: c.rank),
            releasable_to=self.audience,
            created_us=alert.alert_us,
            originator=ALERT_ORIGINATOR,
        )

    def sign_alert(self, out: Outgoing, alert: FusedAlert, track: SystemTrack | None) -> Outgoing:
        """``out`` (the encoded alert) with its label and the bridge's signature.

        The message id is derived from (system track, version): an alert re-issued
        after a cut-short transaction is the same message.
        """
        label = self.alert_label(alert, track)
        msgid = derive_msgid(b"alert", alert.system_track_id.encode(), str(alert.version).encode())
        return out.with_headers(self.signer.headers(out.value or b"", label, msgid))

    @staticmethod
    def keep_label(out: Outgoing, dead: DeadLetter) -> Outgoing:
        """``out`` (an encoded dead letter) carrying the original record's label header."""
        label = (dead.headers or {}).get(LABEL_HEADER)
        return out.with_headers([(LABEL_HEADER, label)]) if label else out
