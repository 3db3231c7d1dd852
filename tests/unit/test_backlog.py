"""A backlog read in one batch is fused as if it had been read on time (no I/O).

Behind a broker outage, a restart or a flood of bad records ahead of the good ones, the
bridge's next poll brings minutes of a salvo at once. A batch applies a national
track's newest report only; walked whole, a track first reported at launch would be
associated where its missile came down, beside tracks last updated in boost, and the
missiles of a salvo on one trajectory swapped tracks (the paced flood test: a track
begun on the second missile ended on the fourth, 20 s late).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import EngineConfig
from bridge.engine import Engine, event_slices
from bridge.validate import Checked
from evaluation.scoring import DRAIN_US, Simulated, arrivals, simulate_scenario
from tests.factories import make_warning
from trilink.codec import Codec
from trilink.constants import US
from trilink.errors import ConfigError
from trilink.model import AlertStatus, FusedAlert, Nation

SALVO = Path(__file__).resolve().parents[2] / "scenarios" / "tight-salvo.yaml"
THREE = {Nation.USA, Nation.KOR, Nation.JPN}
CUT_S = 33.0  # read on time until then (the first two missiles tracked), then a backlog


@pytest.fixture(scope="module")
def salvo() -> Simulated:
    return simulate_scenario(str(SALVO), 0)


def _finals(run: Simulated, config: EngineConfig) -> list[FusedAlert]:
    """The last alert of every system track when the reports after ``CUT_S`` are read
    in one batch, the clock 100 s past the newest."""
    stream = arrivals(run.warnings, config.topics)
    t0 = min(t.start_us for t in run.truths)
    now = [0]
    engine = Engine(config, Codec(), lambda: now[0])
    alerts: list[FusedAlert] = []
    cut = t0 + round(CUT_S * US)
    for at, topic, w in (s for s in stream if s[0] <= cut):
        now[0] = at
        alerts += engine.process_warnings([(topic, w)]).alerts
    backlog = [(topic, w) for at, topic, w in stream if at > cut]
    now[0] = stream[-1][0] + 100 * US
    alerts += engine.process_warnings(backlog).alerts
    now[0] += DRAIN_US
    alerts += engine.tick(now[0]).alerts
    return list({a.system_track_id: a for a in alerts}.values())


def test_a_backlog_read_in_one_batch_keeps_each_missile_on_its_track(salvo: Simulated) -> None:
    finals = _finals(salvo, EngineConfig())
    assert [a.status for a in finals] == [AlertStatus.IMPACT] * len(salvo.truths)
    truth = sorted(t.end_us for t in salvo.truths)
    predicted = sorted(a.impact.time_us for a in finals if a.impact is not None)
    assert [abs(p - t) <= 5 * US for p, t in zip(predicted, truth, strict=True)] == [True] * 4
    for a in finals:  # every nation saw every missile of this salvo
        assert {c.nation for c in a.contributors} == THREE, a.note


def test_walked_whole_the_backlog_swaps_missiles(salvo: Simulated) -> None:
    # The check above can fail: one slice as wide as the backlog is the old walk.
    finals = _finals(salvo, EngineConfig(slice_s=1e6))
    assert any({c.nation for c in a.contributors} != THREE for a in finals)


def _checked(reported_s: float, nation: Nation = Nation.KOR) -> Checked:
    w = make_warning(reported_us=round(reported_s * US), nation=nation)
    return Checked(w, None, None)  # type: ignore[arg-type]  # only the time is read


def test_a_live_batch_is_walked_as_it_came() -> None:
    batch = [_checked(t) for t in (3.0, 1.0, 2.5)]
    assert event_slices(batch, 2 * US) == [batch]
    # An empty batch (a poll of dead letters alone) is still walked once: steps 2-5 run.
    assert event_slices([], 2 * US) == [[]]


def test_a_backlog_is_cut_into_slices_in_event_order() -> None:
    nations = (Nation.KOR, Nation.USA, Nation.JPN)
    batch = [_checked(t, nations[i % 3]) for i, t in enumerate((9.0, 0.0, 4.5, 1.0, 2.0, 2.5))]
    slices = event_slices(batch, 2 * US)
    times = [[c.warning.reported_us / US for c in part] for part in slices]
    assert times == [[0.0, 1.0, 2.0], [2.5, 4.5], [9.0]]


def test_a_feed_read_behind_the_others_is_walked_at_its_newest() -> None:
    # Event time at 100 s: reports up to 102 s are one slice (each national track at its
    # newest), compared with the tracks as they stand; only what lies beyond is sliced.
    us, kor = Nation.USA, Nation.KOR
    batch = [
        _checked(t, n)
        for t, n in ((10.0, us), (50.0, us), (99.0, us), (101.0, us), (103.0, us), (104.0, kor))
    ]
    batch.append(_checked(107.0, kor))
    slices = event_slices(batch, 2 * US, 100 * US)
    times = [[c.warning.reported_us / US for c in part] for part in slices]
    assert times == [[10.0, 50.0, 99.0, 101.0], [103.0, 104.0], [107.0]]
    assert event_slices(batch[:4], 2 * US, 100 * US) == [batch[:4]]


def test_one_feeds_backlog_alone_is_walked_whole() -> None:
    # Its partitions fetched before the others': sliced, it would carry event time
    # through the flight on one nation's word.
    batch = [_checked(t, Nation.KOR) for t in (0.0, 30.0, 60.0)]
    assert event_slices(batch, 2 * US) == [batch]


def test_slices_must_have_a_width() -> None:
    with pytest.raises(ConfigError, match="slice_s"):
        EngineConfig(slice_s=0.0)
