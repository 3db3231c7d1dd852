"""Confidentiality labels after STANAG 4774: policy, classification, releasability.

A :class:`Label` travels in the ``trilink-label`` Kafka header of every warning and
alert, as canonical JSON (:meth:`Label.encode`), and is bound to the record's value
by the signature of :mod:`trilink.security.signing`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trilink.enums import Nation
from trilink.errors import SecurityError

DEFAULT_POLICY = "TRILATERAL-2014"
"""The policy of the 2014 Trilateral Information Sharing Arrangement, the labels' default."""

MAX_LABEL_BYTES = 1024
"""A label is a few dozen bytes; anything past 1 KiB is refused before it is parsed."""

_FIELDS = frozenset({"policy", "classification", "releasable_to", "created_us", "originator"})
# UNKNOWN is the wire format's forward-compatibility default; a label is a release
# decision, and no one can be released to (or originate as) a nation nobody knows.
_LABEL_NATIONS = frozenset(n for n in Nation if n is not Nation.UNKNOWN)


class Classification(StrEnum):
    """Classification levels, lowest first; compare them by :attr:`rank`, not as strings."""

    UNCLASSIFIED = "UNCLASSIFIED"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"

    @property
    def rank(self) -> int:
        """0 for UNCLASSIFIED up to 3 for SECRET: ``a.rank < b.rank`` iff ``a`` is lower."""
        return _RANK[self]


_RANK: dict[Classification, int] = {c: i for i, c in enumerate(Classification)}


def marking_order(nations: Iterable[Nation]) -> list[Nation]:
    """Nations in the order of a marking: USA first, then the rest alphabetically by trigraph.

    That is the order of US "REL TO" markings; one fixed order makes markings of the
    same releasability compare equal as strings.
    """
    return sorted(set(nations), key=lambda n: (n is not Nation.USA, n.value))


def _bad(reason: str) -> SecurityError:
    return SecurityError(f"bad label: {reason}", error_type="bad-label")


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    """The confidentiality label of one record.

    ``releasable_to`` lists every nation that may receive the record; the originator
    is not implied, it is listed like any other. ``created_us`` is when the label was
    made, in microseconds since the Unix epoch.
    """

    policy: str = DEFAULT_POLICY
    classification: Classification
    releasable_to: frozenset[Nation]
    created_us: int
    originator: Nation

    def __post_init__(self) -> None:
        # A label is a security decision: a wrong type here must fail at once, not when
        # the label is compared or encoded somewhere downstream.
        if not isinstance(self.policy, str) or not self.policy:
            raise _bad(f"policy must be a non-empty string, got {self.policy!r}")
        if not isinstance(self.classification, Classification):
            raise _bad(f"classification {self.classification!r} is not a Classification")
        if not isinstance(self.releasable_to, frozenset):
            raise _bad("releasable_to must be a frozenset of nations")
        for nation in self.releasable_to:
            if nation not in _LABEL_NATIONS or not isinstance(nation, Nation):
                raise _bad(f"releasable_to holds {nation!r}, not a known nation")
        if isinstance(self.created_us, bool) or not isinstance(self.created_us, int):
            raise _bad(f"created_us must be an integer, got {self.created_us!r}")
        if self.created_us < 0:
            raise _bad(f"created_us {self.created_us} is before the epoch")
        if not isinstance(self.originator, Nation) or self.originator not in _LABEL_NATIONS:
            raise _bad(f"originator {self.originator!r} is not a known nation")

    def encode(self) -> bytes:
        """The label as canonical JSON: sorted keys, no whitespace, nations sorted.

        JSON, not Avro: the label must be readable and checkable before the Avro value
        is trusted or decoded, and without a schema registry (a consumer decides from
        the header alone whether it may hold the record). Canonical so the same label
        always gives the same bytes, and so the same signature.
        """
        doc = {
            "classification": self.classification.value,
            "created_us": self.created_us,
            "originator": self.originator.value,
            "policy": self.policy,
            "releasable_to": sorted(n.value for n in self.releasable_to),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> Label:
        """The label ``data`` encodes; SecurityError(error_type="bad-label") if it is malformed.

        Strict: unknown or missing fields, duplicate keys, unknown classifications or
        nations, wrong types and anything over 1 KiB are all refused, since a label a
        reader half-understands is a label it cannot honour.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise _bad(f"expected bytes, got {type(data).__name__}")
        if len(data) > MAX_LABEL_BYTES:
            raise _bad(f"{len(data)} bytes, more than the {MAX_LABEL_BYTES} allowed")
        try:
            doc = json.loads(bytes(data).decode("utf-8"), object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _bad(f"not JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise _bad(f"expected a JSON object, got {type(doc).__name__}")
        missing, extra = _FIELDS - doc.keys(), doc.keys() - _FIELDS
        if missing:
            raise _bad(f"missing field(s) {', '.join(sorted(missing))}")
        if extra:
            raise _bad(f"unknown field(s) {', '.join(sorted(extra))}")
        releasable = doc["releasable_to"]
        if not isinstance(releasable, list):
            raise _bad("releasable_to must be a list of nations")
        if len(set(map(str, releasable))) != len(releasable):
            raise _bad("releasable_to lists a nation twice")
        return cls(
            policy=doc["policy"],
            classification=_classification(doc["classification"]),
            releasable_to=frozenset(_nation(n, "releasable_to") for n in releasable),
            created_us=doc["created_us"],
            originator=_nation(doc["originator"], "originator"),
        )

    def marking(self) -> str:
        """The banner marking, e.g. ``SECRET//REL TO USA, JPN, KOR``.

        Nations in :func:`marking_order` (USA first, then alphabetical). A label
        releasable to no one reads ``<CLASSIFICATION>//NOT RELEASABLE``.
        """
        if not self.releasable_to:
            return f"{self.classification.value}//NOT RELEASABLE"
        nations = ", ".join(n.value for n in marking_order(self.releasable_to))
        return f"{self.classification.value}//REL TO {nations}"

    def releasable(self, nations: Iterable[Nation]) -> bool:
        """Whether every one of ``nations`` may receive the record (True for none)."""
        return set(nations) <= self.releasable_to


def combine(
    labels: Iterable[Label],
    *,
    audience: Iterable[Nation] | None = None,
    originator: Nation,
    created_us: int,
    policy: str = DEFAULT_POLICY,
) -> Label:
    """The label of a record derived from ``labels`` (a fused alert from its warnings).

    The highest classification of the contributors, releasable only to the nations
    every contributor may be released to, and never wider than ``audience`` when it
    is given: what is derived from a record may go no further than the record did.
    With no contributors: UNCLASSIFIED, releasable to ``audience`` (to no one if
    ``audience`` is None too, failing closed). Contributors under another policy than
    ``policy`` cannot be combined: SecurityError(error_type="policy-mismatch").
    """
    contributors = list(labels)
    for label in contributors:
        if label.policy != policy:
            raise SecurityError(
                f"cannot combine a label of policy {label.policy!r} under {policy!r}",
                error_type="policy-mismatch",
            )
    classification = max(
        (label.classification for label in contributors),
        key=lambda c: c.rank,
        default=Classification.UNCLASSIFIED,
    )
    releasable: frozenset[Nation] | None = None
    for label in contributors:
        releasable = label.releasable_to if releasable is None else releasable & label.releasable_to
    if audience is not None:
        cap = frozenset(audience)
        releasable = cap if releasable is None else releasable & cap
    return Label(
        policy=policy,
        classification=classification,
        releasable_to=releasable if releasable is not None else frozenset(),
        created_us=created_us,
        originator=originator,
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys silently; two readers that pick
    # differently would see two different labels under one signature.
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("duplicate key")
    return doc


def _classification(value: Any) -> Classification:
    if not isinstance(value, str):
        raise _bad(f"classification must be a string, got {value!r}")
    try:
        return Classification(value)
    except ValueError:
        raise _bad(f"unknown classification {value!r}") from None


def _nation(value: Any, field: str) -> Nation:
    if not isinstance(value, str) or value not in _LABEL_NATIONS:
        raise _bad(f"{field}: unknown nation {value!r}")
    return Nation(value)
