"""A producer behind an accelerated clock: its news of a missile comes late, and the
picture waits for it instead of closing the track without it (no I/O)."""

from __future__ import annotations

from bridge.config import EngineConfig
from bridge.engine import Engine, Inbound
from evaluation.synthetic import NationModel, ballistic_missile, national_reports
from trilink.codec import Codec
from trilink.constants import US
from trilink.model import AlertStatus, FusedAlert, Nation, TrackStatus

T0 = 1_777_593_600_000_000
CODEC = Codec()
RATE = 10.0  # event seconds per wall second
NATIONS = (
    NationModel(Nation.KOR, delay_s=0.0, pos_sigma_m=250.0, vel_sigma_mps=12.0, interval_s=2.0),
    NationModel(Nation.USA, delay_s=3.0, pos_sigma_m=900.0, vel_sigma_mps=40.0, interval_s=4.0),
    NationModel(Nation.JPN, delay_s=40.0, pos_sigma_m=150.0, vel_sigma_mps=8.0, interval_s=2.0),
)


def _run(kor_late_s: float) -> tuple[list[tuple[int, FusedAlert]], int]:
    """The alerts (with the clock when each was issued) of a bridge reading Korea's
    reports ``kor_late_s`` after the others', and when Korea's last report of the
    first missile arrived. A second missile, launched 90 s after the first, keeps the
    US and Japanese reports (and event time) going past the first one's impact.

    Fed as the service feeds it: one arrival at a time, the clock at the arrival;
    between arrivals a wall second apart it ticks event time on as an idle service
    does (to the clock less a wall second).
    """
    missiles = [ballistic_missile(f"M{i}", T0 + i * 90 * US, speed_mps=1800.0) for i in (0, 1)]
    reports = national_reports(missiles, NATIONS, seed=3)
    late_us = round(kor_late_s * US)
    arrivals = sorted(
        (r.warning.reported_us + (late_us if r.warning.nation is Nation.KOR else 0), i, r)
        for i, r in enumerate(reports)
    )
    now = [T0]
    engine = Engine(EngineConfig(), CODEC, lambda: now[0], rate=lambda: RATE)
    alerts: list[tuple[int, FusedAlert]] = []
    wall_us = round(RATE * US)
    for at, i, r in arrivals:
        if at - now[0] >= wall_us:
            now[0] = at - wall_us
            alerts += [(now[0], a) for a in engine.tick(now[0]).alerts]
        now[0] = at
        inbound = Inbound(r.topic, 0, i, r.warning.track_id.encode(), CODEC.encode(r.warning))
        alerts += [(at, a) for a in engine.process([inbound]).alerts]
    now[0] += 3600 * US
    alerts += [(now[0], a) for a in engine.tick(now[0]).alerts]
    first = [
        (at, r) for at, _, r in arrivals if r.warning.nation is Nation.KOR and r.missile == "M0"
    ]
    assert first[-1][1].warning.status is TrackStatus.IMPACTED, "Korea reports the impact"
    kor_last = first[-1][0]
    return alerts, kor_last


def _terminal(alerts: list[tuple[int, FusedAlert]]) -> list[tuple[int, FusedAlert]]:
    return [(t, a) for t, a in alerts if a.status in (AlertStatus.IMPACT, AlertStatus.DROPPED)]


def test_a_track_waits_for_the_news_of_a_contributor_that_runs_behind() -> None:
    # Korea's producer 60 s of event time (6 s of wall time at 10x) behind the others:
    # the US and Japan carry event time past the predicted impact while Korea's
    # reports of the missile in flight are still to come.
    alerts, kor_last = _run(kor_late_s=60.0)
    closes = _terminal(alerts)
    assert [a.status for _, a in closes] == [AlertStatus.IMPACT] * 2
    closed_at, close = closes[0]
    assert closed_at >= kor_last, "closed before Korea's news of the missile arrived"
    assert Nation.KOR in {c.nation for c in close.contributors}


def test_in_time_the_same_track_closes_the_same_way() -> None:
    alerts, _ = _run(kor_late_s=0.0)
    closes = _terminal(alerts)
    assert [a.status for _, a in closes] == [AlertStatus.IMPACT] * 2
    assert all(Nation.KOR in {c.nation for c in a.contributors} for _, a in closes)
