"""Duplicate system tracks fold: a tentative track that turns out to follow a missile an
older track already holds closes as merged into it (``Associator._fold``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from bridge.state import restore_track
from evaluation.synthetic import NationModel, Report, ballistic_missile, national_reports
from tests.engine_feed import feed
from trilink.constants import US
from trilink.model import AlertStatus, FusedAlert, Nation

T0 = 1_777_593_600_000_000
KOR = NationModel(Nation.KOR, delay_s=0.0, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=2.0)
USA = NationModel(Nation.USA, delay_s=10.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=2.0)
BAD_START_S = 30.0  # the US track's first half minute is 40 km off (a plume hop in boost)


def _bad_start(reports: Sequence[Report]) -> list[Report]:
    """The US track's early reports shifted 40 km: its nation started it on the wrong
    plume, then its own data put it right (the track id stays)."""
    out = []
    for r in reports:
        w = r.warning
        first_us = min(x.warning.observed_us for x in reports if x.warning.nation is Nation.USA)
        if w.nation is Nation.USA and w.observed_us < first_us + BAD_START_S * US:
            shifted = np.asarray(w.position_m) + np.array([40_000.0, 0.0, 0.0])
            w = replace(w, position_m=tuple(float(v) for v in shifted), impact=None)
        out.append(replace(r, warning=w))
    return out


def test_a_tentative_duplicate_folds_into_the_older_track() -> None:
    missile = ballistic_missile("M0", T0, speed_mps=1800.0)
    reports = _bad_start(national_reports([missile], (KOR, USA), seed=5))
    alerts, states = feed(reports)
    tracks = {a.system_track_id for a in alerts}
    assert len(tracks) == 2  # the US founded its own on its bad start
    dropped = [a for a in alerts if a.status is AlertStatus.DROPPED]
    assert len(dropped) == 1
    duplicate, kept = dropped[0].system_track_id, (tracks - {dropped[0].system_track_id}).pop()
    assert f"merged into {kept}: one missile" in dropped[0].note
    first = {
        tid: min(a.newest_report_us for a in alerts if a.system_track_id == tid) for tid in tracks
    }
    assert first[kept] < first[duplicate]  # folds go towards the older track
    final = max((a for a in alerts if a.system_track_id == kept), key=lambda a: a.version)
    assert final.status is AlertStatus.IMPACT
    assert {c.nation for c in final.contributors} == {Nation.KOR, Nation.USA}
    # The merge survives a restart: a folded track is never revived.
    restored, _ = restore_track(states[duplicate])
    assert restored.folded_into == kept


@pytest.mark.parametrize(("apart_s", "folds"), [(0.2, False), (20.0, True)])
def test_closely_spaced_tracks_do_not_fold(apart_s: float, folds: bool) -> None:
    """Two missiles on one path ``apart_s`` apart, each held by Korea; the US track of
    the first, 900 m accurate, cannot tell ~360 m apart (0.2 s) which is its own, so its
    tentative track stays; 36 km apart (20 s) it can."""
    missiles = [
        ballistic_missile("M0", T0, speed_mps=1800.0, alt_m=20_000.0),
        ballistic_missile("M1", T0 + round(apart_s * US), speed_mps=1800.0, alt_m=20_000.0),
    ]
    reports = national_reports(missiles, (KOR, USA), seed=5)
    ours = {
        r.warning.track_id for r in reports if r.warning.nation is Nation.USA and r.missile == "M0"
    }
    reports = [r for r in reports if r.warning.nation is Nation.KOR or r.warning.track_id in ours]
    alerts, _ = feed(_bad_start(reports))
    merged = [a for a in alerts if "merged into" in a.note]
    assert bool(merged) is folds
    assert len({a.system_track_id for a in alerts}) == 3  # M0, M1, and the tentative one
    if not folds:  # the US track stays where it is, rather than leaving to be held
        final: dict[str, FusedAlert] = {}
        for a in sorted(alerts, key=lambda a: a.version):
            final[a.system_track_id] = a
        us = [a for a in final.values() if a.first_detection_nation is Nation.USA]
        assert [(a.status, [c.track_id for c in a.contributors]) for a in us] == [
            (AlertStatus.IMPACT, sorted(ours))
        ]
