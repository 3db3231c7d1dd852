"""Record signing: what labelling, signing and verifying one warning costs (trilink.security).

Producers pay :meth:`Signer.headers` per warning (label encoding, a random message
id, one Ed25519 signature); the bridge pays :func:`security_headers` and
:meth:`Verifier.verify` per record read (trust lookup, one Ed25519 verification,
label parsing, the replay guard). Both are timed one record at a time on real
encoded warnings of the 10,000/s salvo, with keys made in memory. The figure is the
median: the machine is shared, and a preempted call measures the scheduler.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.workload import Stream, StreamShape
from trilink.codec import Codec
from trilink.config import Topics
from trilink.enums import Nation
from trilink.security import (
    Classification,
    KeyRole,
    Label,
    ReplayGuard,
    Signer,
    TrustedKey,
    TrustStore,
    Verifier,
    security_headers,
)

_ALL = frozenset({Nation.USA, Nation.KOR, Nation.JPN})


@dataclass(frozen=True, slots=True)
class SecurityCost:
    """Per-record cost of signing and verifying, in µs (median and p99 over ``records``)."""

    records: int
    value_bytes: int
    header_bytes: int
    sign_median_us: float
    sign_p99_us: float
    verify_median_us: float
    verify_p99_us: float

    def to_dict(self) -> dict[str, Any]:
        """The figures as the JSON results hold them."""
        return asdict(self)


def _values(n: int) -> list[tuple[Nation, bytes]]:
    """``n`` encoded warnings of the 10,000/s salvo with the nation of each."""
    shape = StreamShape.for_rate(10_000)
    topics = Topics()
    by_topic = {topics.warnings(nation): nation for nation in _ALL}
    stream = Stream(shape, 3.0 + 1.5 * n / 10_000, topics, seed=11)
    return [(by_topic[r.topic], r.value) for r in stream.encode(Codec(), 0, limit=n)]


def measure(n: int = 2000) -> SecurityCost:
    """Time signing then verifying ``n`` warnings, one at a time, after an untimed warm-up."""
    signers = {nation: Signer.of(Ed25519PrivateKey.generate()) for nation in _ALL}
    trust = TrustStore.of(
        TrustedKey(s.key_id, s.private_key.public_key(), frozenset({nation}), KeyRole.NATION)
        for nation, s in signers.items()
    )
    verifier = Verifier(trust, ReplayGuard(max(n, 1)))
    records = _values(n)
    if not records:
        raise ValueError("no warnings to sign")
    clock = time.perf_counter_ns
    sign_us = np.empty(len(records))
    verify_us = np.empty(len(records))
    signed: list[list[tuple[str, bytes]]] = []
    warm = Label(classification=Classification.SECRET, releasable_to=_ALL, created_us=0,
                 originator=Nation.USA)  # fmt: skip
    verifier.verify(dict(signers[Nation.USA].headers(b"warm-up", warm)), b"warm-up",
                    nation=Nation.USA, where=("warm-up", 0, 0))  # fmt: skip
    for i, (nation, value) in enumerate(records):
        t0 = clock()
        label = Label(
            classification=Classification.SECRET,
            releasable_to=_ALL,
            created_us=t0 // 1000,
            originator=nation,
        )
        headers = signers[nation].headers(value, label)
        sign_us[i] = (clock() - t0) / 1000
        signed.append(headers)
    for i, ((nation, value), headers) in enumerate(zip(records, signed, strict=True)):
        t0 = clock()
        verifier.verify(security_headers(headers), value, nation=nation, where=("bench", 0, i))
        verify_us[i] = (clock() - t0) / 1000
    return SecurityCost(
        records=len(records),
        value_bytes=round(float(np.median([len(v) for _, v in records]))),
        header_bytes=round(float(np.median([sum(len(k) + len(v) for k, v in h) for h in signed]))),
        sign_median_us=round(float(np.median(sign_us)), 1),
        sign_p99_us=round(float(np.percentile(sign_us, 99)), 1),
        verify_median_us=round(float(np.median(verify_us)), 1),
        verify_p99_us=round(float(np.percentile(verify_us, 99)), 1),
    )


def run(n: int = 2000) -> dict[str, Any]:
    """:func:`measure` as the JSON results hold it (the bench suite's ``security`` section)."""
    return measure(n).to_dict()
