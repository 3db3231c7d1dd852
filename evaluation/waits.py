"""How long each nation's track of a missile waited before its data joined the picture.

A national track the bridge holds back (ambiguous between tracks, or barred) reaches
no consumer: the common picture goes without that nation's word on the missile for as
long as it waits. The pass/fail figures do not see this (the missile has a track), so
it is measured on its own: per national track whose detections are mostly one
missile's, the event time from its first report to the first fused alert that lists it
as a contributor. A track never listed waits from its first report to its last (a
lower bound) and is counted apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.origin import NationalKey
from trilink.constants import US
from trilink.model import FusedAlert, MissileWarning


@dataclass(frozen=True, slots=True)
class JoinWaits:
    """Per national track of a missile (``NATION/TRACK``), its wait in seconds."""

    waits_s: Mapping[str, float]
    never: tuple[str, ...] = ()  # tracks no alert ever listed (their waits are lower bounds)

    @property
    def max_s(self) -> float | None:
        """The longest wait (None: no national track of a missile)."""
        return max(self.waits_s.values(), default=None)

    @property
    def p95_s(self) -> float | None:
        """The 95th percentile of the waits (None: none)."""
        if not self.waits_s:
            return None
        return round(float(np.percentile(list(self.waits_s.values()), 95)), 3)


def join_waits(
    warnings: Sequence[MissileWarning],
    alerts: Sequence[FusedAlert],
    track_to_missile: Mapping[NationalKey, str],
) -> JoinWaits:
    """The waits of the national tracks in ``track_to_missile`` (see the module docstring)."""
    first: dict[NationalKey, int] = {}
    last: dict[NationalKey, int] = {}
    for w in warnings:
        key = (w.nation, w.track_id)
        if key in track_to_missile:
            first[key] = min(first.get(key, w.reported_us), w.reported_us)
            last[key] = max(last.get(key, w.reported_us), w.reported_us)
    joined: dict[NationalKey, int] = {}
    for a in alerts:
        for c in a.contributors:
            key = (c.nation, c.track_id)
            if key in first:
                joined[key] = min(joined.get(key, a.newest_report_us), a.newest_report_us)
    waits = {}
    never = []
    for key, t0 in sorted(first.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        name = f"{key[0].value}/{key[1]}"
        if key not in joined:
            never.append(name)
        waits[name] = round(max(0, joined.get(key, last[key]) - t0) / US, 3)
    return JoinWaits(waits, tuple(never))
