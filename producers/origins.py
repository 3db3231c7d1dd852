"""Detection origin: which launch caused the detections each national track was updated with.

A side output of the simulation for the scorer (``evaluation.scoring``), never part
of a warning: the simulator knows which launch each detection it draws comes from,
the tracker does not. :class:`OriginRecorder` keeps a label beside every queued
detection row and, after each scan, counts the labels of the rows each track took
(the rows reported in ``tracking.tracker.ScanResult``), from the track's first
detection on, so tentative detections count once the track is confirmed.

A label is the launch id of the object that caused the detection; ``None`` is a
detection of nothing (clutter, a false alarm), should the sensors make any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tracking.tracker import ScanResult, Track
from trilink.model import Nation

Origin = str | None
"""What caused a detection: a launch id, or None for clutter / a false alarm."""

OriginCounts = dict[tuple[Nation, str], Counter[Origin]]
"""(nation, national track id) -> number of detections per origin the track took."""

OriginTimes = dict[tuple[Nation, str], list[tuple[int, Origin]]]
"""(nation, national track id) -> (scan time, origin) of each detection the track took,
in time order: which object a track followed when it sent a given warning."""


class OriginRecorder:
    """Labels of one nation's queued detections and the origin counts of its tracks.

    Keys are (theatre, sensor index, scan time) for the labels and (theatre, track
    serial) for the counts: a track's serial is known from its first detection, its
    track id only from its confirmation.
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[int, int, int], list[Origin]] = {}
        self._counts: dict[tuple[int, int], Counter[Origin]] = {}
        self._times: dict[tuple[int, int], list[tuple[int, Origin]]] = {}
        self._tracks: dict[tuple[int, int], Track] = {}

    def queue(self, theatre: int, sensor: int, t_us: int, origin: Origin) -> None:
        """A detection row was queued for this scan (rows in the order they were queued)."""
        self._labels.setdefault((theatre, sensor, t_us), []).append(origin)

    def scan(self, theatre: int, sensor: int, t_us: int, result: ScanResult) -> None:
        """Count the origins of the rows each track took in this scan."""
        labels: Sequence[Origin] = self._labels.pop((theatre, sensor, t_us), [])
        taken = [*zip(result.updated, result.rows, strict=True), *result.started]
        for track, row in taken:
            key = (theatre, track.serial)
            self._tracks.setdefault(key, track)
            self._counts.setdefault(key, Counter())[labels[row]] += 1
            self._times.setdefault(key, []).append((t_us, labels[row]))

    def counts(self, nation: Nation) -> OriginCounts:
        """Origin counts of every track that was confirmed (tracks without an id are left out)."""
        return {
            (nation, track.track_id): Counter(self._counts[key])
            for key, track in self._tracks.items()
            if track.track_id
        }

    def times(self, nation: Nation) -> OriginTimes:
        """Detection times and origins of every confirmed track (as :meth:`counts`)."""
        return {
            (nation, track.track_id): list(self._times[key])
            for key, track in self._tracks.items()
            if track.track_id
        }


def majority(counts: Counter[Origin]) -> Origin:
    """The origin with the most detections (ties: the first counted); None if empty."""
    if not counts:
        return None
    return counts.most_common(1)[0][0]
