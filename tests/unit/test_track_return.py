"""A member that reports again after a silence is placed afresh (``bridge.returns``).

A national tracker that coasted unseen for half a minute among closely spaced objects
(Japan's radar on a battery fired from launchers a few hundred metres apart) picks up
detections again that may be a neighbour's: its track follows another missile from
then on, and its estimate, still mostly the coasted one, fits its old system track as
well as ever. The bridge takes it off that track on its return and places it again only
once its data have settled (``GateConfig.settle_s`` after the return), where they are
plainly one track's.
"""

from __future__ import annotations

from dataclasses import replace

from bridge.config import EngineConfig
from evaluation.synthetic import (
    NationModel,
    Report,
    SyntheticMissile,
    ballistic_missile,
    national_reports,
)
from tests.engine_feed import feed
from trilink.constants import US
from trilink.model import Nation

T0 = 1_777_593_600_000_000
KOR = NationModel(Nation.KOR, pos_sigma_m=100.0, vel_sigma_mps=5.0, interval_s=2.0)
JPN = NationModel(Nation.JPN, delay_s=10.0, pos_sigma_m=500.0, vel_sigma_mps=10.0, interval_s=2.0)
GAP_FROM_S, GAP_S = 30.0, 26.0  # Japan's radar sees nothing from 30 s to 56 s
CONVERGE_S = 12.0  # a swapped track's estimate takes this long to reach its new missile


def _swapped_after_a_gap(
    reports: list[Report], missiles: dict[str, SyntheticMissile], gap_from_us: int, back_us: int
) -> list[Report]:
    """Japan reports nothing in the gap; after it, its two tracks follow each other's
    missile (ids exchanged, sequence numbers carried on), their estimates moving from
    the coasted prediction on the old missile to the new one over ``CONVERGE_S``."""
    swap = {"JPN-0001": "JPN-0002", "JPN-0002": "JPN-0001"}
    other = {"M0": "M1", "M1": "M0"}
    out = []
    for r in reports:
        w = r.warning
        if w.nation is Nation.JPN and w.observed_us >= gap_from_us:
            if w.observed_us < back_us:
                continue
            t = w.observed_us
            lag = max(0.0, 1.0 - (t - back_us) / (CONVERGE_S * US))
            off = lag * (missiles[other[r.missile]].truth(t) - missiles[r.missile].truth(t))
            w = replace(
                w,
                track_id=swap[w.track_id],
                sequence=w.sequence + 1_000,
                position_m=tuple(float(a + b) for a, b in zip(w.position_m, off[:3], strict=True)),
                velocity_mps=tuple(
                    float(a + b) for a, b in zip(w.velocity_mps, off[3:], strict=True)
                ),
            )
        out.append(replace(r, warning=w))
    return sorted(out, key=lambda r: (r.warning.reported_us, r.warning.track_id))


def test_a_track_that_swapped_objects_in_a_silence_leaves_and_joins_its_new_missile() -> None:
    # Two missiles 1 s apart on one path, the second 50 m/s faster: ~1 km apart when
    # Japan's 500 m tracks come back (each in the other's position gate), 2 km and
    # 50 m/s apart once settled. A swapped track's first reports are still its old
    # missile's.
    missiles = {
        "M0": ballistic_missile("M0", T0, speed_mps=1800.0),
        "M1": ballistic_missile("M1", T0 + US, speed_mps=1850.0),
    }
    gap_from = T0 + round(GAP_FROM_S * US)
    back = gap_from + round(GAP_S * US)
    made = national_reports(list(missiles.values()), (KOR, JPN), seed=5)
    reports = _swapped_after_a_gap(made, missiles, gap_from, back)
    alerts, _ = feed(reports)
    track_of = {}  # missile -> its system track (Korea's track on it)
    for a in alerts:
        for c in a.contributors:
            if c.nation is Nation.KOR:
                track_of["M0" if c.track_id == "KOR-0001" else "M1"] = a.system_track_id
    assert len(set(track_of.values())) == 2
    missile_of = {"JPN-0001": "M0", "JPN-0002": "M1"}  # before the gap; swapped after it
    settle_us = round(EngineConfig().gate.settle_s * US)
    placed: dict[str, int] = {}
    for a in alerts:
        for c in a.contributors:
            if c.nation is not Nation.JPN or a.newest_report_us < back:
                continue
            now = {"M0": "M1", "M1": "M0"}[missile_of[c.track_id]]
            # Never on the track of the missile it no longer follows...
            assert a.system_track_id == track_of[now], (c.track_id, a.newest_report_us)
            placed.setdefault(c.track_id, a.newest_report_us)
    # ...and back on its new missile's once settled, not before.
    assert set(placed) == {"JPN-0001", "JPN-0002"}
    assert all(back + settle_us <= t for t in placed.values())


def test_a_track_back_from_a_silence_with_no_neighbour_stays_on_its_missile() -> None:
    # One missile: Japan's track back from the same 26 s silence (its producer restarted)
    # has no other object to have picked up: it stays on its track, not held the
    # settling time a track among close neighbours waits.
    missile = ballistic_missile("M0", T0, speed_mps=1800.0)
    gap_from = T0 + round(GAP_FROM_S * US)
    back = gap_from + round(GAP_S * US)
    reports = [
        r
        for r in national_reports([missile], (KOR, JPN), seed=5)
        if not (r.warning.nation is Nation.JPN and gap_from <= r.warning.observed_us < back)
    ]
    alerts, _ = feed(reports)
    assert len({a.system_track_id for a in alerts}) == 1
    after = [a for a in alerts if a.newest_report_us >= back]
    settle_us = round(EngineConfig().gate.settle_s * US)
    assert any(a.newest_report_us < back + settle_us for a in after)
    assert all(Nation.JPN in {c.nation for c in a.contributors} for a in after)
