"""Which missile each track is, by the origin of the detections behind it.

The simulator records, per national track, how many of its detections each launch
caused (``producers.origins``). From those counts:

* a national track is the missile behind the majority of its detections
  (:func:`national_missiles`); nothing if that majority is not a missile (clutter,
  debris);
* a system track sums the counts of every national track that ever contributed to
  it (:func:`system_origins`); it *is* the majority origin of that sum and *carries*
  every missile that is the majority of one of its contributors or holds at least
  :data:`MERGE_SHARE` of its detections;
* :func:`assign_tracks` pairs system tracks with missiles one-to-one: a missile gets
  the system track, among those that are it, with the most of its detections. The
  rest are ``extra`` (unless the picture labels them non-missile, see
  :data:`NON_MISSILE_CLASSES`); missiles without one are ``missed``; a track
  carrying two or more missiles is ``merged``; a missile carried by two or more
  tracks is a ``duplicate``.

Nearest-trajectory matching (``evaluation.matching.map_tracks``) is fooled when two
missiles fly close together and tracks swap between them: a track that followed
one missile and then the other is nearest to whichever path sits between its
reports. The origin of its detections says what it followed.

Without origin counts (synthetic reports), :func:`counts_from_mapping` stands in:
each national track counts its reports for the missile a mapping gives it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from producers.origins import Origin, OriginCounts, majority
from trilink.model import FusedAlert, MissileClass, MissileWarning, Nation

MERGE_SHARE = 0.2
"""A missile with at least this share of a system track's detections is carried by it."""

NON_MISSILE_CLASSES: frozenset[MissileClass] = frozenset(
    c for c in MissileClass if c.value in {"DEBRIS", "STAGE", "OBJECT"}
)
"""Classes by which the picture says a track is not a missile (a spent stage, debris).
Such tracks are not extra and not in the raid count. Empty until the picture has
such a label: then every track counts."""

NationalKey = tuple[Nation, str]


def national_missiles(counts: OriginCounts, missiles: Collection[str]) -> dict[NationalKey, str]:
    """(nation, track id) -> the missile behind the majority of the track's detections."""
    out: dict[NationalKey, str] = {}
    for key, c in counts.items():
        m = majority(c)
        if m is not None and m in missiles:
            out[key] = m
    return out


def counts_from_mapping(
    warnings: Iterable[MissileWarning], mapping: Mapping[NationalKey, str]
) -> OriginCounts:
    """Stand-in counts: each mapped national track, its number of reports for its missile."""
    out: OriginCounts = {}
    for w in warnings:
        key = (w.nation, w.track_id)
        out.setdefault(key, Counter())[mapping.get(key)] += 1
    return out


@dataclass(frozen=True, slots=True)
class SystemOrigin:
    """What one system track is made of (see the module docstring)."""

    track_id: str
    counts: Counter[Origin]
    majority: str | None  # the missile it is, if the majority origin is one
    carries: frozenset[str]
    labelled_non_missile: bool


def system_origins(
    alerts: Sequence[FusedAlert], counts: OriginCounts, missiles: Collection[str]
) -> dict[str, SystemOrigin]:
    """Per system track (in order of first alert), the origins behind it."""
    contributors: dict[str, set[NationalKey]] = defaultdict(set)
    final: dict[str, FusedAlert] = {}
    first_us: dict[str, int] = {}
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        contributors[a.system_track_id].update((c.nation, c.track_id) for c in a.contributors)
        final[a.system_track_id] = a
        first_us.setdefault(a.system_track_id, a.newest_report_us)
    order = sorted(final, key=lambda t: (first_us[t], t))
    out: dict[str, SystemOrigin] = {}
    for tid in order:
        total: Counter[Origin] = Counter()
        heads: set[str] = set()
        for key in sorted(contributors[tid]):
            c = counts.get(key, Counter())
            total.update(c)
            head = majority(c)
            if head is not None and head in missiles:
                heads.add(head)
        size = sum(total.values())
        shares = {m for m, n in total.items() if m in missiles and n >= MERGE_SHARE * size}
        head = majority(total)
        out[tid] = SystemOrigin(
            tid,
            total,
            head if head is not None and head in missiles else None,
            frozenset(heads | {m for m in shares if m is not None}),
            final[tid].missile_class in NON_MISSILE_CLASSES,
        )
    return out


@dataclass(frozen=True, slots=True)
class TrackAssignment:
    """System tracks against missiles, one-to-one (see the module docstring)."""

    matched: dict[str, str]  # missile -> its system track
    extra: tuple[str, ...]  # system track ids
    missed: tuple[str, ...]  # missiles
    merged: tuple[str, ...]  # system track ids carrying two or more missiles
    duplicates: tuple[str, ...]  # missiles carried by two or more system tracks


def assign_tracks(systems: Mapping[str, SystemOrigin], missiles: Sequence[str]) -> TrackAssignment:
    """One system track per missile by majority origin; the rest extra, missed, merged."""
    matched: dict[str, str] = {}
    for m in missiles:
        candidates = [s for s in systems.values() if s.majority == m]
        if candidates:
            best = max(candidates, key=lambda s: s.counts[m])  # first of equals: the earliest
            matched[m] = best.track_id
    taken = set(matched.values())
    carried_by: dict[str, int] = Counter(m for s in systems.values() for m in s.carries)
    return TrackAssignment(
        matched=matched,
        extra=tuple(t for t, s in systems.items() if t not in taken and not s.labelled_non_missile),
        missed=tuple(m for m in missiles if m not in matched),
        merged=tuple(t for t, s in systems.items() if len(s.carries) > 1),
        duplicates=tuple(m for m in missiles if carried_by.get(m, 0) > 1),
    )
