"""Flags and environment of the two-system topology, SASL and keys, read here only.

- ``TRILINK_SASL_USERNAME`` / ``_PASSWORD`` / ``_MECHANISM`` (default SCRAM-SHA-512)
  and ``TRILINK_SECURITY_PROTOCOL`` (default SASL_PLAINTEXT) authenticate a client
  to its cluster; ``TRILINK_ROKUS_SASL_*`` / ``TRILINK_JPNUS_SASL_*`` do the same
  per system for the bridge and the injector, the only clients of both.
- ``TRILINK_ROKUS_BOOTSTRAP`` / ``TRILINK_JPNUS_BOOTSTRAP`` (``--rokus-bootstrap``,
  ``--jpnus-bootstrap``) name the two bilateral systems' clusters.
- ``TRILINK_KEY_FILE`` / ``TRILINK_TRUST_FILE`` (``--key-file``, ``--trust-file``)
  name this party's private key and the trust store (``trilink keys init``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

import typer

from cli.common import fail, sasl_properties
from trilink.config import KafkaConfig
from trilink.errors import ConfigError
from trilink.security import Signer, TrustStore, load_signer, load_trust
from trilink.systems import System

ENV_SYSTEM_BOOTSTRAP = {
    System.ROKUS: "TRILINK_ROKUS_BOOTSTRAP",
    System.JPNUS: "TRILINK_JPNUS_BOOTSTRAP",
}

RokusOption = Annotated[
    str | None,
    typer.Option(
        "--rokus-bootstrap",
        envvar=ENV_SYSTEM_BOOTSTRAP[System.ROKUS],
        show_envvar=True,
        metavar="HOST:PORT[,...]",
        help="The ROK-US system's cluster (two-system mode, with --jpnus-bootstrap).",
    ),
]
JpnusOption = Annotated[
    str | None,
    typer.Option(
        "--jpnus-bootstrap",
        envvar=ENV_SYSTEM_BOOTSTRAP[System.JPNUS],
        show_envvar=True,
        metavar="HOST:PORT[,...]",
        help="The Japan-US system's cluster (two-system mode, with --rokus-bootstrap).",
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        envvar="TRILINK_KEY_FILE",
        show_envvar=True,
        help="This party's Ed25519 private key (PEM), made by 'trilink keys init'.",
    ),
]
TrustFileOption = Annotated[
    Path | None,
    typer.Option(
        "--trust-file",
        envvar="TRILINK_TRUST_FILE",
        show_envvar=True,
        help="The trust store of public keys (trust.json), made by 'trilink keys init'.",
    ),
]


def with_sasl(kafka: KafkaConfig | None, prefix: str = "TRILINK_") -> KafkaConfig | None:
    """``kafka`` with the SASL properties of the environment added (None stays None)."""
    if kafka is None:
        return None
    extra = sasl_properties(prefix)
    if not extra:
        return kafka
    return dataclasses.replace(kafka, client=MappingProxyType({**kafka.client, **extra}))


def system_clusters(rokus: str | None, jpnus: str | None) -> dict[System, KafkaConfig] | None:
    """Both systems' clusters, None when neither is given; one alone is an error."""
    given = {System.ROKUS: (rokus or "").strip(), System.JPNUS: (jpnus or "").strip()}
    if not any(given.values()):
        return None
    missing = [s for s, v in given.items() if not v]
    if missing:
        fail(
            f"two-system mode needs both --rokus-bootstrap and --jpnus-bootstrap; "
            f"{missing[0].display} is missing"
        )
    clusters: dict[System, KafkaConfig] = {}
    for system, bootstrap in given.items():
        try:
            plain = KafkaConfig(bootstrap_servers=bootstrap)
        except ConfigError as exc:
            fail(f"{system.display}: {exc}")
        prefix = f"TRILINK_{system.value.upper()}_"
        found = with_sasl(plain, prefix)
        assert found is not None
        clusters[system] = found
    return clusters


def load_keys(
    key_file: Path | None, trust_file: Path | None, *, required: bool
) -> tuple[Signer, TrustStore] | None:
    """The private key and trust store named, None if neither is (and not ``required``)."""
    if key_file is None and trust_file is None and not required:
        return None
    if key_file is None or trust_file is None:
        which = "--key-file (TRILINK_KEY_FILE)" if key_file is None else "--trust-file"
        fail(f"{which} is missing: signing needs a private key and a trust store")
    try:
        return load_signer(key_file), load_trust(trust_file)
    except ConfigError as exc:
        fail(str(exc))


def signer_from(key_file: Path | None) -> Signer | None:
    """The signer of the private key in ``key_file`` (None: publish unsigned)."""
    if key_file is None:
        return None
    try:
        return load_signer(key_file)
    except ConfigError as exc:
        fail(str(exc))
