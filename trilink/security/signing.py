"""Binding a label to a record after STANAG 4778: an Ed25519 signature in Kafka headers.

A signed record carries four headers: its label (:data:`LABEL_HEADER`, canonical
JSON), the signer's key id (:data:`KEY_HEADER`), a message id (:data:`MSGID_HEADER`)
and the signature (:data:`SIG_HEADER`) over :func:`signed_message` of the message
id, label and value. The Avro value itself is unchanged.

:class:`Verifier` checks all of it and fails with one :class:`SecurityError` whose
``error_type`` names the first check that failed, in this order: ``unsigned``,
``bad-label`` (no label header), ``bad-signature`` (no message id), ``untrusted-key``,
``bad-signature``, ``bad-label`` (signed but malformed), ``label-mismatch``,
``replayed``. The signature is checked before the label is parsed: nothing an
attacker may have written is parsed until the signature says who wrote it.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trilink.enums import Nation
from trilink.errors import ConfigError, SecurityError
from trilink.security.labels import Label
from trilink.security.replay import Position, ReplayGuard
from trilink.security.trust import KeyRole, TrustStore, key_id_of

LABEL_HEADER = "trilink-label"
SIG_HEADER = "trilink-sig"
KEY_HEADER = "trilink-key"
MSGID_HEADER = "trilink-msgid"
HEADERS = (LABEL_HEADER, SIG_HEADER, KEY_HEADER, MSGID_HEADER)

DOMAIN = b"trilink-sig-v1\x00"
"""Prefix of every signed message: a signature made for anything else (another
version, another protocol using the same key) can never verify as one of these."""

MSGID_BYTES = 16
_MSGID_RANGE = (8, 64)  # an injected id may be shorter or longer, within reason
_SIGNATURE_BYTES = 64


def signed_message(msgid: bytes, label: bytes, value: bytes) -> bytes:
    """The bytes the signature covers: the domain, then each field length-prefixed.

    The 4-byte big-endian length before each field keeps the fields from sliding
    into each other: without it, moving a byte from the end of the label to the
    start of the value would sign the same bytes.
    """
    parts = [DOMAIN]
    for part in (msgid, label, value):
        parts += [struct.pack(">I", len(part)), part]
    return b"".join(parts)


def derive_msgid(*parts: bytes) -> bytes:
    """A 16-byte message id derived from ``parts`` (e.g. topic, nation, sequence number).

    For producers that must stay byte-deterministic (the same run, the same bytes):
    Ed25519 signatures are deterministic, so with a derived id the headers are too.
    The parts must identify the record uniquely, or its twin is refused as a replay.
    """
    digest = hashlib.sha256(b"trilink-msgid-v1\x00")
    for part in parts:
        digest.update(struct.pack(">I", len(part)) + part)
    return digest.digest()[:MSGID_BYTES]


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs records with one Ed25519 private key, whose id is ``key_id``."""

    key_id: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        actual = key_id_of(self.private_key.public_key())
        if self.key_id != actual:
            raise ConfigError(f"signer key id {self.key_id} is not its key's id {actual}")

    @classmethod
    def of(cls, private_key: Ed25519PrivateKey) -> Signer:
        """A signer of ``private_key``, under its computed key id."""
        return cls(key_id_of(private_key.public_key()), private_key)

    def headers(
        self, value: bytes, label: Label, msgid: bytes | None = None
    ) -> list[tuple[str, bytes]]:
        """The Kafka headers that label and sign ``value``.

        ``msgid``: 16 random bytes unless given; pass :func:`derive_msgid` of the
        record's identity to keep a producer's output byte-deterministic.
        """
        if msgid is None:
            msgid = os.urandom(MSGID_BYTES)
        elif not _MSGID_RANGE[0] <= len(msgid) <= _MSGID_RANGE[1]:
            lo, hi = _MSGID_RANGE
            raise ValueError(f"msgid must be {lo}-{hi} bytes long, got {len(msgid)}")
        encoded = label.encode()
        signature = self.private_key.sign(signed_message(msgid, encoded, value))
        return [
            (LABEL_HEADER, encoded),
            (KEY_HEADER, self.key_id.encode("ascii")),
            (MSGID_HEADER, msgid),
            (SIG_HEADER, signature),
        ]


@dataclass(frozen=True, slots=True)
class Verified:
    """What a record that passed verification was signed with."""

    label: Label
    key_id: str
    msgid: bytes


def security_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    """The trilink security headers of a Kafka record (``Message.headers()``), by name.

    Other headers are ignored and so is a header without a value (as if absent).
    A security header given twice fails as ``bad-signature``: which copy a reader
    takes would decide what it trusts.
    """
    found: dict[str, bytes] = {}
    for name, value in headers or ():
        if name not in HEADERS or value is None:
            continue
        if name in found:
            raise SecurityError(f"header {name} appears more than once", error_type="bad-signature")
        found[name] = bytes(value)
    return found


@dataclass(frozen=True, slots=True)
class Verifier:
    """Checks a record's label and signature against a trust store, and its message id
    against replays. ``replay`` is mutable: one guard per stream of records read."""

    trust: TrustStore
    replay: ReplayGuard = field(default_factory=ReplayGuard)

    def verify(
        self,
        headers: Mapping[str, bytes],
        value: bytes,
        *,
        nation: Nation,
        where: Position,
        role: KeyRole = KeyRole.NATION,
    ) -> Verified:
        """The label and signer of the record ``value`` read at ``where`` (topic,
        partition, offset), claimed to come from ``nation``.

        ``role``: NATION for a nation's warnings (the key must be a nation key trusted
        for ``nation``); BRIDGE for fused alerts (a bridge key trusted for ``nation``,
        the originator the bridge labels its alerts with). Raises SecurityError whose
        ``error_type`` names the failed check (see the module docstring); the message
        id is remembered only once everything else has passed.
        """
        signature, key_header = headers.get(SIG_HEADER), headers.get(KEY_HEADER)
        if not signature or not key_header:
            missing = [h for h, v in ((SIG_HEADER, signature), (KEY_HEADER, key_header)) if not v]
            raise SecurityError(
                f"unsigned record: no {' or '.join(missing)} header", error_type="unsigned"
            )
        encoded = headers.get(LABEL_HEADER)
        if not encoded:
            raise SecurityError(f"no {LABEL_HEADER} header", error_type="bad-label")
        msgid = headers.get(MSGID_HEADER)
        lo, hi = _MSGID_RANGE
        if not msgid or not lo <= len(msgid) <= hi:
            raise SecurityError(
                f"{MSGID_HEADER} header missing or not {lo}-{hi} bytes: the signature"
                " cannot be checked",
                error_type="bad-signature",
            )
        key_id = self._trusted_key_id(key_header, nation, role)
        if len(signature) != _SIGNATURE_BYTES:
            raise SecurityError(
                f"malformed signature: {len(signature)} bytes, not {_SIGNATURE_BYTES}",
                error_type="bad-signature",
            )
        try:
            self.trust.keys[key_id].public_key.verify(
                signature, signed_message(msgid, encoded, value)
            )
        except InvalidSignature:
            raise SecurityError(
                f"signature by key {key_id} does not match the label and value",
                error_type="bad-signature",
            ) from None
        label = Label.decode(encoded)
        if label.originator != nation:
            raise SecurityError(
                f"label names {label.originator} as originator, but the record is from {nation}",
                error_type="label-mismatch",
            )
        self.replay.check_and_remember(msgid, where)
        return Verified(label, key_id, msgid)

    def _trusted_key_id(self, key_header: bytes, nation: Nation, role: KeyRole) -> str:
        """The key id the header names, if it is trusted to sign for ``nation`` in ``role``."""
        key_id = key_header[:64].decode("ascii", errors="replace")
        trusted = self.trust.get(key_id)
        if trusted is None:
            raise SecurityError(
                f"key {key_id} is not in the trust store", error_type="untrusted-key"
            )
        if trusted.role is not role:
            raise SecurityError(
                f"signed by key {key_id} whose role is {trusted.role}, not {role}",
                error_type="untrusted-key",
            )
        if nation not in trusted.nations:
            nations = ", ".join(sorted(trusted.nations))
            raise SecurityError(
                f"signed by key {key_id} which is trusted for {nations}, not {nation}",
                error_type="untrusted-key",
            )
        return key_id
