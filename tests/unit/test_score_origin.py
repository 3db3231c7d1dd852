"""Scoring by detection origin: what each track followed, not which path it sat nearest.

No I/O, and no bridge: synthetic missiles and national reports, and a picture made
here of one system track per national track (what a perfect bridge would show), so
these tests check the scorer whatever the bridge does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from evaluation.matching import map_tracks
from evaluation.origin import (
    MERGE_SHARE,
    assign_tracks,
    delivered_counts,
    membership_shares,
    national_missiles,
    system_origins,
)
from evaluation.scoring import score
from evaluation.synthetic import NationModel, ballistic_missile, national_reports
from evaluation.timeline import first_alert_delays
from evaluation.truth import TruthPath, truth_from_synthetic
from producers.origins import Origin, OriginCounts, OriginTimes
from trilink.constants import US
from trilink.model import (
    AlertStatus,
    Contributor,
    FusedAlert,
    MissileWarning,
    Nation,
    TrackStatus,
)

T0 = 1_777_593_600_000_000
KOR = NationModel(Nation.KOR, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=3.0, impact_every=2)


def _picture(warnings: list[MissileWarning]) -> list[FusedAlert]:
    """One system track per national track, alerting on each of its reports."""
    out: list[FusedAlert] = []
    by_track: dict[str, list[MissileWarning]] = defaultdict(list)
    for w in warnings:
        by_track[w.track_id].append(w)
    for track_id, reports in by_track.items():
        impact = None
        for version, w in enumerate(reports):
            impact = w.impact or impact
            ended = w.status is TrackStatus.IMPACTED
            status = AlertStatus.NEW if version == 0 else AlertStatus.UPDATE
            out.append(
                FusedAlert(
                    system_track_id=f"ST-{track_id}",
                    version=version,
                    status=AlertStatus.IMPACT if ended else status,
                    contributors=(Contributor(w.nation, track_id, w.reported_us),),
                    first_detection_us=reports[0].observed_us,
                    first_detection_nation=w.nation,
                    state_time_us=w.observed_us,
                    position_m=w.position_m,
                    velocity_mps=w.velocity_mps,
                    covariance=w.covariance,
                    launch=w.launch,
                    impact=impact,
                    missile_class=w.missile_class,
                    alert_us=w.reported_us,
                    newest_report_us=w.reported_us,
                )
            )
    return out


@cache
def _ripple() -> tuple[list[TruthPath], list[MissileWarning], list[FusedAlert]]:
    """Two missiles on one path 2 s apart (a ripple), Korea's honest reports, the picture."""
    missiles = [ballistic_missile(f"M{i}", T0 + i * 2 * US, speed_mps=1500.0) for i in range(2)]
    warnings = [r.warning for r in national_reports(missiles, (KOR,), seed=3)]
    return [truth_from_synthetic(m) for m in missiles], warnings, _picture(warnings)


def _alert(
    template: FusedAlert, tid: str, keys: list[tuple[Nation, str]], **kw: object
) -> FusedAlert:
    contributors = tuple(Contributor(n, t, template.newest_report_us) for n, t in keys)
    return replace(template, system_track_id=tid, version=1, contributors=contributors, **kw)  # type: ignore[arg-type]


def test_a_track_pulled_between_two_missiles_is_the_one_it_followed() -> None:
    # Track A followed M0 for 40 detections and took 8 of M1's: its estimate sits
    # 70% of the way over to M1, so nearest-trajectory calls it M1 and M0 has no
    # track. Track B is M1 all along.
    truths, template, alerts = _ripple()
    m0, m1 = truths
    kor = [w for w in template if w.track_id == "KOR-0001"]
    times = np.array([w.observed_us for w in kor], dtype=float)
    between = 0.3 * m0.positions(times) + 0.7 * m1.positions(times)
    on_m1 = m1.positions(times)
    warnings = [
        *(replace(w, track_id="A", position_m=tuple(p)) for w, p in zip(kor, between, strict=True)),
        *(replace(w, track_id="B", position_m=tuple(p)) for w, p in zip(kor, on_m1, strict=True)),
    ]
    origins: OriginCounts = {
        (Nation.KOR, "A"): Counter({"M0": 40, "M1": 8}),
        (Nation.KOR, "B"): Counter({"M1": 40}),
    }
    assert map_tracks(warnings, truths) == {(Nation.KOR, "A"): "M1", (Nation.KOR, "B"): "M1"}
    assert national_missiles(origins, ["M0", "M1"]) == {
        (Nation.KOR, "A"): "M0",
        (Nation.KOR, "B"): "M1",
    }
    picture = [
        _alert(alerts[0], "ST-A", [(Nation.KOR, "A")]),
        _alert(alerts[0], "ST-B", [(Nation.KOR, "B")]),
    ]
    by_origin = score(truths, {Nation.KOR: warnings}, picture, origins)
    assert by_origin.matching == "origin"
    assert (by_origin.extra_tracks, by_origin.missed, by_origin.merged) == (0, 0, 0)
    by_path = score(truths, {Nation.KOR: warnings}, picture)
    assert by_path.matching == "trajectory"
    assert (by_path.extra_tracks, by_path.missed) == (1, 1)


def test_extra_missed_merged_and_duplicates_are_counted() -> None:
    _, _, alerts = _ripple()
    t = alerts[0]
    k = Nation.KOR
    origins: OriginCounts = {
        (k, "K1"): Counter({"M0": 30}),
        (Nation.JPN, "J1"): Counter({"M0": 20}),
        (k, "K2"): Counter({"M1": 30}),
        (Nation.JPN, "J2"): Counter({"M2": 20}),  # merged into M1's track
        (Nation.USA, "U3"): Counter({"M1": 10}),  # a second track on M1
        (k, "K4"): Counter({None: 10}),  # clutter
    }
    picture = [
        _alert(t, "ST1", [(k, "K1"), (Nation.JPN, "J1")]),
        _alert(t, "ST2", [(k, "K2"), (Nation.JPN, "J2")]),
        _alert(t, "ST3", [(Nation.USA, "U3")]),
        _alert(t, "ST4", [(k, "K4")]),
    ]
    missiles = ["M0", "M1", "M2"]
    systems = system_origins(picture, origins, missiles)
    assert systems["ST2"].majority == "M1" and systems["ST2"].carries == {"M1", "M2"}
    assert systems["ST4"].majority is None
    got = assign_tracks(systems, missiles)
    assert got.matched == {"M0": "ST1", "M1": "ST2"}  # ST2 has more of M1 than ST3
    assert got.extra == ("ST3", "ST4")
    assert got.missed == ("M2",)
    assert got.merged == ("ST2",)
    assert got.duplicates == ("M1",)


def test_a_significant_share_of_another_missile_is_a_merge() -> None:
    _, _, alerts = _ripple()
    share = MERGE_SHARE + 0.05
    counts: Counter[Origin] = Counter({"M0": round(100 * (1 - share)), "M1": round(100 * share)})
    systems = system_origins(
        [_alert(alerts[0], "ST", [(Nation.KOR, "K")])], {(Nation.KOR, "K"): counts}, ["M0", "M1"]
    )
    assert systems["ST"].majority == "M0" and systems["ST"].carries == {"M0", "M1"}
    few: Counter[Origin] = Counter({"M0": 95, "M1": 5})
    systems = system_origins(
        [_alert(alerts[0], "ST", [(Nation.KOR, "K")])], {(Nation.KOR, "K"): few}, ["M0", "M1"]
    )
    assert systems["ST"].carries == {"M0"}


def _origins_of(warnings: list[MissileWarning], truths: list[TruthPath]) -> OriginCounts:
    # The honest synthetic tracks follow their missile: every report a detection of it.
    mapping = map_tracks(warnings, truths)
    out: OriginCounts = defaultdict(Counter)
    for w in warnings:
        out[(w.nation, w.track_id)][mapping[(w.nation, w.track_id)]] += 1
    return dict(out)


def test_first_alert_delay_is_against_the_first_national_warning() -> None:
    truths, warnings, alerts = _ripple()
    origins = _origins_of(warnings, truths)
    clean = score(truths, {Nation.KOR: warnings}, alerts, origins)
    assert clean.first_alert_delay_s == {"M0": 0.0, "M1": 0.0}
    assert clean.raid_count is not None and clean.raid_count.max_abs_error == 0
    # Hold back the alerts on M1's track for its first 7 s: the delay is what was held.
    first = min(w.reported_us for w in warnings if w.track_id == "KOR-0002")
    mine = "ST-KOR-0002"
    late = [a for a in alerts if a.system_track_id != mine or a.newest_report_us >= first + 7 * US]
    expected = (min(a.newest_report_us for a in late if a.system_track_id == mine) - first) / US
    held = score(truths, {Nation.KOR: warnings}, late, origins)
    assert held.first_alert_delay_s["M1"] == pytest.approx(expected, abs=1e-3) and expected >= 7.0
    assert held.max_first_alert_delay_s == held.first_alert_delay_s["M1"]
    assert first_alert_delays(truths, {"M0": T0}, {}) == {"M0": None, "M1": None}


def test_a_track_warns_of_its_missile_only_once_it_follows_it() -> None:
    """M1's track followed M0 for its first 7 s (an infrared track begun on the wrong
    plume) and was held back by the bridge then: its warnings of that time were not
    warnings of M1, so they do not make M1's first alert late."""
    truths, warnings, alerts = _ripple()
    origins = _origins_of(warnings, truths)
    mine = [w for w in warnings if w.track_id == "KOR-0002"]
    first_obs = min(w.observed_us for w in mine)
    first_rep = min(w.reported_us for w in mine)
    switch_us = first_obs + 7 * US
    times: OriginTimes = {
        (Nation.KOR, "KOR-0002"): [
            (t, "M0" if t < switch_us else "M1")
            for t in range(first_obs - 3 * US, max(w.observed_us for w in mine) + 1, US)
        ]
    }
    late = [
        a
        for a in alerts
        if a.system_track_id != "ST-KOR-0002" or a.newest_report_us >= first_rep + 7 * US
    ]
    before = score(truths, {Nation.KOR: warnings}, late, origins)
    after = score(truths, {Nation.KOR: warnings}, late, origins, origin_times=times)
    assert before.first_alert_delay_s["M1"] is not None and before.first_alert_delay_s["M1"] >= 7
    assert after.first_alert_delay_s == {"M0": 0.0, "M1": 0.0}
    # Its nation's first warning of M1 is the first it sent while following M1.
    following = min(w.reported_us for w in mine if w.observed_us >= switch_us)
    assert after.lead_time_s["M1"].by_nation[Nation.KOR] == pytest.approx(
        (following - min(a.newest_report_us for a in late if a.system_track_id == "ST-KOR-0002"))
        / US
    )


def test_a_ghost_track_is_extra_and_miscounts_the_raid() -> None:
    truths, warnings, alerts = _ripple()
    origins = _origins_of(warnings, truths)
    t = max(a.newest_report_us for a in alerts if a.status is AlertStatus.NEW) + 90 * US
    ghost = _alert(
        alerts[0],
        "ST-ghost",
        [(Nation.KOR, "KOR-9999")],
        newest_report_us=t,
        status=AlertStatus.NEW,
    )
    s = score(truths, {Nation.KOR: warnings}, [*alerts, ghost], origins)
    assert s.extra_tracks == 1 and s.missed == 0 and s.system_tracks == 3
    assert s.raid_count is not None and s.raid_count.max_abs_error == 1
    assert s.raid_count.worst_at_s is not None
    as_json = s.to_json()
    assert as_json["extra_tracks"] == 1 and as_json["raid_count"]["max_abs_error"] == 1
    assert as_json["impact_error_km"]["fused"]["rms"] is not None


def test_a_track_that_died_early_is_extra_not_the_missiles_final_word() -> None:
    # The boost track of a missile with the most of its detections closed early on a
    # wild impact; the track that carried it down is judged for the impact.
    truths, warnings, alerts = _ripple()
    origins = _origins_of(warnings, truths)
    origins[(Nation.KOR, "X")] = Counter({"M0": 10_000})
    with_impact = next(a for a in alerts if a.impact is not None)
    assert with_impact.impact is not None
    wild = replace(with_impact.impact, lat_deg=with_impact.impact.lat_deg + 5.0)
    early = _alert(with_impact, "ST-early", [(Nation.KOR, "X")], impact=wild)
    s = score(truths, {Nation.KOR: warnings}, [*alerts, early], origins)
    assert s.extra_tracks == 1 and s.missed == 0
    assert s.impact_error_km.fused.max is not None and s.impact_error_km.fused.max < 5.0


def test_a_brief_wrong_membership_lends_only_its_time() -> None:
    """U1 (M1 all its life) sat 5 s on K0's track before moving to K1's for 100 s: K0's
    track is still M0 (its majority by membership time), though U1 has more detections
    in all than K0; it still carries M1 (a merge, however brief, is a merge)."""
    _, _, alerts = _ripple()
    t, k, u = alerts[0], Nation.KOR, Nation.USA
    at = t.newest_report_us
    origins: OriginCounts = {
        (k, "K0"): Counter({"M0": 40}),
        (k, "K1"): Counter({"M1": 40}),
        (u, "U1"): Counter({"M1": 60}),
    }

    def alert(tid: str, version: int, s: float, keys: list[tuple[Nation, str]]) -> FusedAlert:
        a = _alert(t, tid, keys, newest_report_us=at + round(s * US))
        return replace(a, version=version)

    picture = [
        alert("ST0", 0, 0.0, [(k, "K0")]),
        alert("ST0", 1, 10.0, [(k, "K0"), (u, "U1")]),
        alert("ST0", 2, 15.0, [(k, "K0")]),
        alert("ST0", 3, 120.0, [(k, "K0")]),
        alert("ST1", 0, 1.0, [(k, "K1")]),
        alert("ST1", 1, 15.0, [(k, "K1"), (u, "U1")]),
        alert("ST1", 2, 115.0, [(k, "K1"), (u, "U1")]),
    ]
    shares = membership_shares(picture)
    assert shares[("ST0", (u, "U1"))] == pytest.approx(5 / 105, rel=1e-4)
    assert shares[("ST1", (u, "U1"))] == pytest.approx(100 / 105, rel=1e-4)
    assert shares[("ST0", (k, "K0"))] == 1.0
    systems = system_origins(picture, origins, ["M0", "M1"])
    assert systems["ST0"].majority == "M0" and systems["ST0"].carries == {"M0", "M1"}
    assert systems["ST1"].majority == "M1"
    got = assign_tracks(systems, ["M0", "M1"])
    assert got.matched == {"M0": "ST0", "M1": "ST1"} and got.extra == ()


def _swapped_pair() -> tuple[list[MissileWarning], OriginTimes, FusedAlert]:
    """Japan's J0 and J1 follow M0 and M1 for 10 s, then swap (a radar that cannot
    keep two closely spaced objects apart); a report every 2 s, a detection every 1 s."""
    _, warnings, alerts = _ripple()
    template, t = warnings[0], alerts[0].newest_report_us
    j = Nation.JPN
    reports = [
        replace(template, nation=j, track_id=tid, observed_us=t + s * US, reported_us=t + s * US)
        for tid in ("J0", "J1")
        for s in range(0, 31, 2)
    ]
    times: OriginTimes = {
        (j, tid): [(t + s * US, first if s < 10 else then) for s in range(-2, 31)]
        for tid, first, then in (("J0", "M0", "M1"), ("J1", "M1", "M0"))
    }
    return reports, times, alerts[0]


def test_a_system_track_carries_what_its_members_delivered_while_there() -> None:
    """Korea's K0 and K1 are M0 and M1; Japan's tracks swap missiles at 10 s. A bridge
    that moves them with the swap carried each missile's data on its own track: no
    merge, though J0 is M1 by the majority of its life and sat on M0's track. A bridge
    that leaves them where they joined merged the two from 10 s on."""
    reports, times, template = _swapped_pair()
    t, k, j = template.newest_report_us, Nation.KOR, Nation.JPN
    origins: OriginCounts = {
        (k, "K0"): Counter({"M0": 40}),
        (k, "K1"): Counter({"M1": 40}),
        **{key: Counter(o for _, o in seq) for key, seq in times.items()},
    }
    korea = [
        replace(reports[0], nation=k, track_id=tid, observed_us=t, reported_us=t)
        for tid in ("K0", "K1")
    ]
    times[(k, "K0")] = [(t, "M0")] * 40
    times[(k, "K1")] = [(t, "M1")] * 40

    def alert(tid: str, version: int, s: float, keys: list[tuple[Nation, str]]) -> FusedAlert:
        a = _alert(template, tid, keys, newest_report_us=t + round(s * US))
        return replace(a, version=version)

    joined = [
        alert("ST0", 0, 0.0, [(k, "K0"), (j, "J0")]),
        alert("ST1", 0, 0.0, [(k, "K1"), (j, "J1")]),
    ]
    followed = [
        *joined,
        alert("ST0", 1, 12.0, [(k, "K0"), (j, "J1")]),
        alert("ST1", 1, 12.0, [(k, "K1"), (j, "J0")]),
    ]
    everything = [*reports, *korea]
    delivered = delivered_counts(followed, everything, times)
    # Detections -2..10 s went out with the reports up to 10 s, while J0 was on ST0;
    # the 12 s report carried the first M1 detections to ST1.
    assert delivered[("ST0", (j, "J0"))] == Counter({"M0": 12, "M1": 1})
    assert delivered[("ST1", (j, "J0"))] == Counter({"M1": 20})
    systems = system_origins(followed, origins, ["M0", "M1"], delivered)
    assert assign_tracks(systems, ["M0", "M1"]).merged == ()
    # By the majority of its life J0 is M1, and ST0 would carry both.
    assert system_origins(followed, origins, ["M0", "M1"])["ST0"].carries == {"M0", "M1"}
    stayed = delivered_counts(joined, everything, times)
    systems = system_origins(joined, origins, ["M0", "M1"], stayed)
    assert assign_tracks(systems, ["M0", "M1"]).merged == ("ST0", "ST1")
