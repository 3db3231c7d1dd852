"""Key files: make each nation's and the bridge's key pair, load a signer and a trust store.

``init_keys`` writes ``<NAME>.key`` (PEM PKCS#8, unencrypted, mode 0600) for each
name and ``trust.json`` trusting all of their public keys. Services load their own
private key with :func:`load_signer` and the trusted keys with :func:`load_trust`,
from paths their configuration names. Keys are never committed: the tests make
theirs at test time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from trilink.enums import Nation
from trilink.errors import ConfigError
from trilink.security.signing import Signer
from trilink.security.trust import SIGNING_NATIONS, KeyRole, TrustedKey, TrustStore, key_id_of

log = logging.getLogger(__name__)

BRIDGE = "BRIDGE"
DEFAULT_NAMES: tuple[str, ...] = ("USA", "KOR", "JPN", BRIDGE)
TRUST_FILE = "trust.json"
MAX_KEY_FILE_BYTES = 64 * 1024


def role_of(name: str) -> tuple[KeyRole, frozenset[Nation]]:
    """The role and nations of the key named ``name``.

    A nation's key signs that nation's warnings. The bridge's key signs the fused
    alerts it issues on behalf of INDOPACOM, for whichever nation the bridge names
    as their originator, so it is trusted for all three, in the bridge role only.
    """
    if name == BRIDGE:
        return KeyRole.BRIDGE, SIGNING_NATIONS
    if name in SIGNING_NATIONS:
        return KeyRole.NATION, frozenset({Nation(name)})
    choices = ", ".join([*sorted(SIGNING_NATIONS), BRIDGE])
    raise ConfigError(f"no key can be made for {name!r}: expected one of {choices}")


def init_keys(
    directory: Path, *, names: Sequence[str] = DEFAULT_NAMES, force: bool = False
) -> list[Path]:
    """Make a key pair for each of ``names`` in ``directory`` and a trust store of them.

    Returns the files written: ``<NAME>.key`` for each name, then ``trust.json``.
    Refuses (ConfigError, nothing written) if any of them exists, unless ``force``.
    Each file is written whole or not at all (a temporary file renamed into place).
    """
    roles = {name: role_of(name) for name in names}
    if len(roles) != len(names):
        raise ConfigError(f"a key name is given twice: {', '.join(names)}")
    directory = Path(directory)
    targets = [directory / f"{name}.key" for name in names] + [directory / TRUST_FILE]
    if not force:
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise ConfigError(f"{existing[0]} already exists{more}; use --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    trusted = []
    for name, path in zip(names, targets[:-1], strict=True):
        private_key = Ed25519PrivateKey.generate()
        pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _write_atomically(path, pem, mode=0o600)
        role, nations = roles[name]
        public_key = private_key.public_key()
        trusted.append(TrustedKey(key_id_of(public_key), public_key, nations, role))
        log.info("wrote %s (key %s)", path, trusted[-1].key_id)
    _write_atomically(targets[-1], TrustStore.of(trusted).dumps().encode(), mode=0o644)
    return targets


def load_signer(path: Path) -> Signer:
    """The signer of the private key in ``path``; ConfigError in one line if it cannot be read."""
    path = Path(path)
    data = _read(path, "private key")
    try:
        private_key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # TypeError: the key is encrypted; ValueError: not PEM, or not a key.
        raise ConfigError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key ({type(private_key).__name__})")
    mode = path.stat().st_mode & 0o077
    if mode:
        log.warning("%s is readable by others (mode %o); it should be 0600", path, mode)
    return Signer.of(private_key)


def load_trust(path: Path) -> TrustStore:
    """The trust store in ``path`` (``trust.json``); ConfigError in one line if it cannot
    be read or is malformed."""
    path = Path(path)
    data = _read(path, "trust store")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: trust store is not JSON ({exc})") from None
    try:
        return TrustStore.from_json(doc)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"{what} {path} is over {MAX_KEY_FILE_BYTES} bytes")
    return data


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    # mkstemp makes the file 0600 from the start: the private key is never readable
    # by others, not even between its creation and a chmod.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
