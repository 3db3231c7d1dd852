"""Members that report again after a silence, among close tracks: placed afresh.

A national track that coasted unseen for ``GateConfig.silent_s`` or more and picks up
detections again has picked up *some* object's. Among closely spaced objects (a
battery fired from launchers a few hundred metres apart) its tracker's prediction
after half a minute's coast is no better than their spacing, and the detections it
takes may be a neighbour's. Its identity is then a guess its state cannot confirm or
deny for a while: its first reports are the coasted prediction nudged by another
missile's detections, and the break and exchange tests see a track a kilometre wide
that fits its old missile's track as well as ever (close-launchers: Japan's tracks
came back from a 26 s gap on their neighbours and fed their old tracks for a minute;
docs/score.md, "Stop 56").

So it leaves its track and, like a member detached unsettled
(``Associator._hold_unsettled``), joins nothing until ``GateConfig.settle_s`` after
its return (``NationalTrack.resumed_us``). Then it is placed as a known missile
(``Newcomer.known``): on its old track or another only where it is
``GateConfig.ambiguity_ratio`` times likelier than anywhere else, and held while it is
not. This applies only to a member of a track other nations hold live (the missile
stays in the picture meanwhile), and only where another open track is within its
accuracy (:meth:`Returns.crowded`). With its neighbours kilometres off, a track back
from a silence (its nation's producer restarted) has no other object to have picked
up. A held newcomer that comes back after a silence waits the same way
(``TrackTable.apply``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bridge.association import Gate
from bridge.estimate import Estimate
from bridge.reach import Rows, in_reach
from bridge.table import Newcomer, TrackTable
from bridge.tracks import NationalTrack, SystemTrack, TrackKey, key_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Returns:
    """Detaches the members back from a silence among close tracks (module docstring)."""

    gate: Gate
    table: TrackTable

    def run(self, returned: list[tuple[str, TrackKey]]) -> list[Newcomer]:
        """The members of ``returned`` (system track id, member key) to place afresh,
        detached from their tracks."""
        detached: list[Newcomer] = []
        if not returned:
            return detached
        silent_before = self.table.silent_before()
        open_tracks = [
            (t, e)
            for t in self.table.tracks.values()
            if t.closed is None and (e := t.gate_estimate(silent_before)) is not None
        ]
        if not open_tracks:
            return detached
        rows = Rows.of([e for _, e in open_tracks])
        estimates = {t.track_id: e for t, e in open_tracks}
        for track_id, key in returned:
            track = self.table.tracks.get(track_id)
            m = None if track is None else track.members.get(key)
            if track is None or m is None or track.closed is not None:
                continue
            if not any(o.nation is not m.nation for o in track.live(silent_before)):
                continue
            if not self.crowded(m, track, estimates.get(track_id), open_tracks, rows):
                continue
            log.info("%s reports again after a silence among close tracks", key_text(key))
            track.remove(key)
            track.notes.append(f"{key_text(key)} left (it reports again after a silence)")
            detached.append(Newcomer(m, m.observed_us, previous=track_id, known=True, retried=True))
        return detached

    def crowded(
        self,
        m: NationalTrack,
        track: SystemTrack,
        own: Estimate | None,
        open_tracks: list[tuple[SystemTrack, Estimate]],
        rows: Rows,
    ) -> bool:
        """Whether another open track than ``track`` is within ``m``'s accuracy of ``m``
        or of ``track``: inside the strict position gate of ``m``'s estimate, or of
        ``track``'s estimate ``own`` (if it has one) given ``m``'s covariance (its
        sensor's view of the two).

        The first alone misses a track that took a neighbour's detections on its return
        but is still, for a while, the prediction it coasted on; the second alone misses
        one whose estimate jumped to a third track. Clear of every other track both ways
        (a nation's feed back after an outage, its missiles kilometres apart) it went on
        with its own missile's. ``rows`` are ``open_tracks``' estimates
        (``reach.Rows``), for the straight-line pre-filter.
        """
        probes = [m.estimate]
        if own is not None:
            probes.append(Estimate(own.time_us, own.x, m.estimate.p, own.boosting))
        for probe in probes:
            for k in np.flatnonzero(in_reach(rows, probe)).tolist():
                other, est = open_tracks[k]
                if other is track or other.realm != track.realm:
                    continue
                if self.gate.distance(probe, est, dof=3) <= self.gate.threshold3:
                    return True
        return False
