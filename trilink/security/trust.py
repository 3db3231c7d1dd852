"""The trust store: which Ed25519 public keys may sign for which nations, in which role.

Its file form (``trust.json``)::

    {"version": 1, "keys": [{"key_id": "3fa2...", "public_key": "<base64 of 32 raw bytes>",
                             "nations": ["USA"], "role": "nation"}, ...]}

A key's id is the first 16 hex digits of the SHA-256 of its raw 32-byte public key,
so an id can be checked against the key it names (:meth:`TrustStore.from_json`
refuses a mismatch).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trilink.enums import Nation
from trilink.errors import ConfigError

TRUST_VERSION = 1
KEY_ID_HEX = 16

# Who may sign labels: the three nations. UNKNOWN is the wire format's default, never a signer.
SIGNING_NATIONS = frozenset(n for n in Nation if n is not Nation.UNKNOWN)


class KeyRole(StrEnum):
    """What a key signs: a nation's warnings, or the bridge's fused alerts.

    Kept apart so that a nation's key cannot pass off an alert as the bridge's, nor
    the bridge's key a warning as a nation's.
    """

    NATION = "nation"
    BRIDGE = "bridge"


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of ``public_key``."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The key's id: first 16 hex digits of SHA-256 over its raw 32-byte public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:KEY_ID_HEX]


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One trusted public key and what it may sign."""

    key_id: str
    public_key: Ed25519PublicKey
    nations: frozenset[Nation]
    role: KeyRole

    def to_json(self) -> dict[str, Any]:
        """The key's entry in ``trust.json``."""
        return {
            "key_id": self.key_id,
            "public_key": base64.b64encode(raw_public_key(self.public_key)).decode(),
            "nations": sorted(n.value for n in self.nations),
            "role": self.role.value,
        }


@dataclass(frozen=True, slots=True)
class TrustStore:
    """The trusted keys by id. Build it with :meth:`of` or :meth:`from_json`."""

    keys: Mapping[str, TrustedKey]

    @classmethod
    def of(cls, keys: Iterable[TrustedKey]) -> TrustStore:
        """A store of ``keys``; ConfigError on a duplicate id or an id not of its key."""
        by_id: dict[str, TrustedKey] = {}
        for key in keys:
            if key.key_id != key_id_of(key.public_key):
                raise ConfigError(f"trust store: key id {key.key_id} does not match its public key")
            if key.key_id in by_id:
                raise ConfigError(f"trust store: key id {key.key_id} appears twice")
            by_id[key.key_id] = key
        return cls(MappingProxyType(by_id))

    def get(self, key_id: str) -> TrustedKey | None:
        """The trusted key of id ``key_id``, None if it is not trusted."""
        return self.keys.get(key_id)

    def to_json(self) -> dict[str, Any]:
        """The store as the ``trust.json`` document."""
        return {
            "version": TRUST_VERSION,
            "keys": [self.keys[k].to_json() for k in sorted(self.keys)],
        }

    @classmethod
    def from_json(cls, doc: Any) -> TrustStore:
        """The store a ``trust.json`` document describes; ConfigError naming what is wrong."""
        if not isinstance(doc, dict) or doc.get("version") != TRUST_VERSION:
            version = doc.get("version") if isinstance(doc, dict) else None
            raise ConfigError(f"trust store: expected version {TRUST_VERSION}, got {version!r}")
        entries = doc.get("keys")
        if not isinstance(entries, list):
            raise ConfigError("trust store: 'keys' must be a list")
        return cls.of(_trusted_key(i, entry) for i, entry in enumerate(entries))

    def dumps(self) -> str:
        """``trust.json``'s text: indented, sorted, newline-terminated (diffs well)."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def _trusted_key(index: int, entry: Any) -> TrustedKey:
    where = f"trust store: key #{index}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not an object")
    try:
        key_id, encoded, nations, role = (
            entry["key_id"],
            entry["public_key"],
            entry["nations"],
            entry["role"],
        )
    except KeyError as exc:
        raise ConfigError(f"{where} has no {exc.args[0]!r}") from None
    if not isinstance(key_id, str) or not isinstance(encoded, str):
        raise ConfigError(f"{where}: key_id and public_key must be strings")
    try:
        raw = base64.b64decode(encoded, validate=True)
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{where} ({key_id}): public_key is not a raw Ed25519 key") from exc
    if not isinstance(nations, list) or not nations:
        raise ConfigError(f"{where} ({key_id}): nations must be a non-empty list")
    bad = [n for n in nations if not isinstance(n, str) or n not in SIGNING_NATIONS]
    if bad:
        raise ConfigError(f"{where} ({key_id}): unknown nation(s) {bad}")
    try:
        key_role = KeyRole(role)
    except ValueError:
        raise ConfigError(f"{where} ({key_id}): unknown role {role!r}") from None
    return TrustedKey(key_id, public_key, frozenset(Nation(n) for n in nations), key_role)
