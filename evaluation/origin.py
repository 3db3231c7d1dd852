"""Which missile each track is, by the origin of the detections behind it.

The simulator records, per national track, how many of its detections each launch
caused (``producers.origins``). From those counts:

* a national track is the missile behind the majority of its detections
  (:func:`national_missiles`); nothing if that majority is not a missile (clutter,
  debris);
* a system track sums the detections each national track delivered to it while a
  member (:func:`delivered_counts`, from the detection times the simulator also
  records): a national track that sat five seconds in the wrong system track before
  moving to its own lends the wrong one those seconds' detections, and one that
  changed objects (a radar's tracks of two closely spaced missiles swapping) lends
  each system track what it followed while there. The system track *is* the
  majority origin of that sum and *carries* every missile that is the majority of
  what one contributor delivered (however briefly: a merge for a few seconds is
  still a merge) or holds at least :data:`MERGE_SHARE` of its detections. Without
  detection times each contributor lends its whole life's counts weighted by the
  share of its membership time spent there (:func:`membership_shares`), and its
  missile there is its life's majority;
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

import bisect
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from producers.origins import Origin, OriginCounts, OriginTimes, majority
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


def _by_track(alerts: Sequence[FusedAlert]) -> dict[str, list[FusedAlert]]:
    """Each system track's alerts, in version order."""
    out: dict[str, list[FusedAlert]] = defaultdict(list)
    for a in alerts:
        out[a.system_track_id].append(a)
    for seq in out.values():
        seq.sort(key=lambda a: a.version)
    return out


def membership_shares(alerts: Sequence[FusedAlert]) -> dict[tuple[str, NationalKey], float]:
    """(system track, national track) -> the share of the national track's membership
    time spent in that system track.

    A system track's alert lists its contributors from that alert until its next one
    (event time of the newest report behind each); every listing also counts one
    microsecond, so that a national track named only in single alerts still has a
    share. A national track in one system track only has share 1.
    """
    held: dict[tuple[str, NationalKey], float] = defaultdict(float)
    for tid, seq in _by_track(alerts).items():
        ends = [a.newest_report_us for a in seq[1:]] + [seq[-1].newest_report_us]
        for a, end in zip(seq, ends, strict=True):
            span = max(end - a.newest_report_us, 0) + 1
            for c in a.contributors:
                held[(tid, (c.nation, c.track_id))] += span
    total: dict[NationalKey, float] = defaultdict(float)
    for (_, key), t in held.items():
        total[key] += t
    return {k: t / total[k[1]] for k, t in held.items()}


@dataclass(frozen=True, slots=True)
class SystemOrigin:
    """What one system track is made of (see the module docstring)."""

    track_id: str
    counts: Counter[Origin]  # detections, weighted by membership share
    majority: str | None  # the missile it is, if the majority origin is one
    carries: frozenset[str]
    labelled_non_missile: bool


def delivered_counts(
    alerts: Sequence[FusedAlert],
    warnings: Iterable[MissileWarning],
    times: OriginTimes,
) -> dict[tuple[str, NationalKey], Counter[Origin]]:
    """(system track, national track) -> origins of the detections the national track
    delivered to that system track while it was a member.

    A detection reaches the bridge in the first warning of its track observed at or
    after it; the warning is delivered to the system tracks that list the national
    track in their newest alert at or before the warning's publication (the event
    time of the newest report behind each alert, as :func:`membership_shares`). A
    national track that changes objects (a track of one nation that took a
    neighbour's plume) thus lends each system track what it followed while there.
    Detections after a track's last warning reached nobody.
    """
    # Per national track, the membership changes: (time, system track, listed).
    changes: dict[NationalKey, list[tuple[int, int, str, bool]]] = defaultdict(list)
    for tid, seq in _by_track(alerts).items():
        listed: set[NationalKey] = set()
        for a in seq:
            now = {(c.nation, c.track_id) for c in a.contributors}
            for key in now - listed:
                changes[key].append((a.newest_report_us, a.version, tid, True))
            for key in listed - now:
                changes[key].append((a.newest_report_us, a.version, tid, False))
            listed = now
    reports: dict[NationalKey, list[MissileWarning]] = defaultdict(list)
    for w in warnings:
        reports[(w.nation, w.track_id)].append(w)
    out: dict[tuple[str, NationalKey], Counter[Origin]] = defaultdict(Counter)
    for key, ws in reports.items():
        detections = times.get(key)
        if not detections or key not in changes:
            continue
        ws.sort(key=lambda w: (w.observed_us, w.reported_us))
        events = sorted(changes[key])
        members: set[str] = set()
        e = 0
        start = 0  # first detection not yet delivered
        for w in ws:
            end = bisect.bisect_right(detections, w.observed_us, key=lambda d: d[0])
            while e < len(events) and events[e][0] <= w.reported_us:
                _, _, tid, on = events[e]
                (members.add if on else members.discard)(tid)
                e += 1
            if end > start:
                for tid in members:
                    out[(tid, key)].update(origin for _, origin in detections[start:end])
                start = end
    return dict(out)


def system_origins(
    alerts: Sequence[FusedAlert],
    counts: OriginCounts,
    missiles: Collection[str],
    delivered: Mapping[tuple[str, NationalKey], Counter[Origin]] | None = None,
) -> dict[str, SystemOrigin]:
    """Per system track (in order of first alert), the origins behind it.

    With ``delivered`` (:func:`delivered_counts`) a contributor lends a system track
    the detections it delivered there, and its missile there is their majority;
    without, its whole life's counts weighted by membership share, and its missile
    its life's majority.
    """
    contributors: dict[str, set[NationalKey]] = defaultdict(set)
    final: dict[str, FusedAlert] = {}
    first_us: dict[str, int] = {}
    for a in sorted(alerts, key=lambda a: (a.system_track_id, a.version)):
        contributors[a.system_track_id].update((c.nation, c.track_id) for c in a.contributors)
        final[a.system_track_id] = a
        first_us.setdefault(a.system_track_id, a.newest_report_us)
    order = sorted(final, key=lambda t: (first_us[t], t))
    shares = membership_shares(alerts) if delivered is None else {}
    out: dict[str, SystemOrigin] = {}
    for tid in order:
        total: Counter[Origin] = Counter()
        heads: set[str] = set()
        for key in sorted(contributors[tid]):
            if delivered is not None:
                c = delivered.get((tid, key), Counter())
                w = 1.0
            else:
                c = counts.get(key, Counter())
                w = shares[(tid, key)]
            total.update({o: n * w for o, n in c.items()})
            head = majority(c)
            if head is not None and head in missiles:
                heads.add(head)
        size = sum(total.values())
        big = {m for m, n in total.items() if m in missiles and n >= MERGE_SHARE * size}
        head = majority(total)
        out[tid] = SystemOrigin(
            tid,
            total,
            head if head is not None and head in missiles else None,
            frozenset(heads | {m for m in big if m is not None}),
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
