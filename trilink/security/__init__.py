"""Confidentiality labels (STANAG 4774) bound to records by Ed25519 signatures (STANAG 4778).

Producers label and sign::

    signer = load_signer(config.private_key_path)
    producer.produce(topic, value, headers=signer.headers(value, label))

The bridge verifies before it decodes::

    verifier = Verifier(load_trust(config.trust_path))
    verified = verifier.verify(security_headers(msg.headers()), msg.value(),
                               nation=nation, where=(msg.topic(), msg.partition(), msg.offset()))

Every refusal is a :class:`trilink.errors.SecurityError` whose ``error_type`` says
which check failed.
"""

from __future__ import annotations

from trilink.errors import SecurityError
from trilink.security.keys import DEFAULT_NAMES, init_keys, load_signer, load_trust, role_of
from trilink.security.labels import (
    DEFAULT_POLICY,
    Classification,
    Label,
    combine,
    marking_order,
)
from trilink.security.replay import Position, ReplayGuard
from trilink.security.signing import (
    HEADERS,
    KEY_HEADER,
    LABEL_HEADER,
    MSGID_HEADER,
    SIG_HEADER,
    Signer,
    Verified,
    Verifier,
    derive_msgid,
    security_headers,
    signed_message,
)
from trilink.security.trust import KeyRole, TrustedKey, TrustStore, key_id_of

__all__ = [
    "DEFAULT_NAMES",
    "DEFAULT_POLICY",
    "HEADERS",
    "KEY_HEADER",
    "LABEL_HEADER",
    "MSGID_HEADER",
    "SIG_HEADER",
    "Classification",
    "KeyRole",
    "Label",
    "Position",
    "ReplayGuard",
    "SecurityError",
    "Signer",
    "TrustStore",
    "TrustedKey",
    "Verified",
    "Verifier",
    "combine",
    "derive_msgid",
    "init_keys",
    "key_id_of",
    "load_signer",
    "load_trust",
    "marking_order",
    "role_of",
    "security_headers",
    "signed_message",
]
