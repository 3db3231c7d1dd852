"""The live alert picture: the newest state of every missile, who sees it, and since when.

:class:`AlertPicture` folds a stream of :class:`FusedAlert` (and, when the caller
also reads the national topics, :class:`MissileWarning`) into one view per system
track. It does no I/O; readers feed it and renderers draw its snapshots.

Duplicates are expected — Kafka delivers at least once and the bridge may re-send
after a restart — so an alert is identified by (system track id, version) and
applied once. A version older than the newest one seen still counts as an update
but never replaces the newest state.

Each nation's *first detection* of a missile is the earliest observation time of
any of its national tracks that fed the system track: taken from its warnings when
they are known, otherwise from the contributor entry of the first alert naming it.
Its *lead time* is the warning sharing bought it: from the first fused alert (the
simulation time of the newest report in it, ``newest_report_us`` — alert times
themselves are wall-clock) to the nation's own first detection, 0 if its own
sensors were first. A nation whose sensors never see the missile knows it from
the shared picture alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from trilink.model import AlertStatus, FusedAlert, MissileWarning, Nation

SHARING_NATIONS: tuple[Nation, ...] = (Nation.KOR, Nation.JPN, Nation.USA)
"""The three partners, in the order views show them."""

_FINAL = frozenset({AlertStatus.IMPACT, AlertStatus.DROPPED})


@dataclass(frozen=True, slots=True)
class TrackView:
    """A snapshot of one system track as the picture knows it.

    ``first`` is the lowest version seen, ``latest`` the highest; ``detections``
    maps each nation that has contributed to its own first detection time (us).
    """

    first: FusedAlert
    latest: FusedAlert
    updates: int
    detections: Mapping[Nation, int]

    @property
    def system_track_id(self) -> str:
        return self.latest.system_track_id

    @property
    def first_detection_us(self) -> int:
        """The earliest detection by anyone, as the bridge reported it."""
        return min(self.first.first_detection_us, self.latest.first_detection_us)

    @property
    def first_detection_nation(self) -> Nation:
        first, latest = self.first, self.latest
        if latest.first_detection_us <= first.first_detection_us:
            return latest.first_detection_nation
        return first.first_detection_nation

    @property
    def alerted_us(self) -> int:
        """When the first alert seen was issued, on the records' (simulation) clock."""
        return self.first.newest_report_us

    @property
    def seen_by(self) -> tuple[Nation, ...]:
        """Nations whose tracks feed the newest state, in partner order."""
        present = {c.nation for c in self.latest.contributors}
        return tuple(n for n in SHARING_NATIONS if n in present)

    @property
    def final(self) -> bool:
        """True once the track has ended (IMPACT or DROPPED)."""
        return self.latest.status in _FINAL

    def lead_us(self, nation: Nation) -> int | None:
        """How long before ``nation``'s own first detection the first alert was out
        (0 if its own sensors were earlier); None if they never saw the missile."""
        own = self.detections.get(nation)
        return None if own is None else max(0, own - self.alerted_us)


class AlertPicture:
    """Newest state per system track, with per-nation first detections (not thread-safe)."""

    def __init__(self) -> None:
        self._first: dict[str, FusedAlert] = {}
        self._latest: dict[str, FusedAlert] = {}
        self._updates: dict[str, int] = {}
        self._seen: set[tuple[str, int]] = set()
        self._detections: dict[str, dict[Nation, int]] = {}
        # Earliest observation of every national track, and the system tracks it feeds.
        self._national_first: dict[tuple[Nation, str], int] = {}
        self._links: dict[tuple[Nation, str], set[str]] = {}
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self._latest)

    def apply(self, alert: FusedAlert) -> bool:
        """Fold in one alert; False if this (track, version) was already applied."""
        key = (alert.system_track_id, alert.version)
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(key)
        track = alert.system_track_id
        self._updates[track] = self._updates.get(track, 0) + 1
        first = self._first.get(track)
        if first is None or alert.version < first.version:
            self._first[track] = alert
        latest = self._latest.get(track)
        if latest is None or alert.version > latest.version:
            self._latest[track] = alert
        detections = self._detections.setdefault(track, {})
        self._note(detections, alert.first_detection_nation, alert.first_detection_us)
        for contributor in alert.contributors:
            national = (contributor.nation, contributor.track_id)
            self._links.setdefault(national, set()).add(track)
            seen_at = self._national_first.get(national, contributor.last_report_us)
            self._note(detections, contributor.nation, seen_at)
        return True

    def observe_warning(self, warning: MissileWarning) -> None:
        """Learn when a national track was first observed (refines first detections)."""
        national = (warning.nation, warning.track_id)
        known = self._national_first.get(national)
        if known is not None and known <= warning.observed_us:
            return
        self._national_first[national] = warning.observed_us
        for track in self._links.get(national, ()):
            self._note(self._detections[track], warning.nation, warning.observed_us)

    def observe_all(self, records: Iterable[FusedAlert | MissileWarning]) -> None:
        """Fold in a batch of alerts and warnings in order."""
        for record in records:
            if isinstance(record, FusedAlert):
                self.apply(record)
            else:
                self.observe_warning(record)

    def track(self, system_track_id: str) -> TrackView | None:
        """The snapshot of one track, or None if no alert named it."""
        latest = self._latest.get(system_track_id)
        if latest is None:
            return None
        return TrackView(
            first=self._first[system_track_id],
            latest=latest,
            updates=self._updates[system_track_id],
            detections=MappingProxyType(dict(self._detections[system_track_id])),
        )

    def tracks(self) -> list[TrackView]:
        """Every track, earliest first detection first."""
        views = [self.track(t) for t in self._latest]
        return sorted(
            (v for v in views if v is not None),
            key=lambda v: (v.first_detection_us, v.system_track_id),
        )

    @staticmethod
    def _note(detections: dict[Nation, int], nation: Nation, at_us: int) -> None:
        if nation not in SHARING_NATIONS:
            return
        known = detections.get(nation)
        if known is None or at_us < known:
            detections[nation] = at_us
