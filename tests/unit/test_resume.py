"""Resuming a national producer (no I/O): what is replayed, what counts as published, and a
kill and restart played out on the simulation itself."""

from __future__ import annotations

from producers.national import NationalSimulation, simulate_nation
from producers.resume import CLOCK_SLACK_US, PublishedMarks, replay_selection
from producers.scenario import Scenario
from producers.scenario_file import load_scenario
from tests.factories import T0_US, make_launch, make_warning
from trilink.model import MissileWarning, Nation

S = 1_000_000
HOUR = 3600 * S


def _key(w: MissileWarning) -> tuple[str, int]:
    return (w.track_id, w.sequence)


def _marks(warnings: list[MissileWarning]) -> PublishedMarks:
    marks = PublishedMarks()
    for w in warnings:
        marks.note(w)
    return marks


def _replay(
    scenarios: list[Scenario], marks: PublishedMarks, restart_us: int
) -> tuple[list[MissileWarning], list[MissileWarning], int]:
    """What a restarted producer publishes: (catch-up at restart, the rest, suppressed)."""
    sim = NationalSimulation(Nation.KOR)
    for scenario in scenarios:
        for event in scenario.launches:
            sim.add_launch(event)
    due = sim.advance(restart_us)
    rest = sim.finish()
    caught_up = [w for w in due if not marks.published(w)]
    later = [w for w in rest if not marks.published(w)]
    return caught_up, later, len(due) + len(rest) - len(caught_up) - len(later)


def test_a_restart_mid_salvo_continues_each_track_and_repeats_nothing() -> None:
    salvo = load_scenario("tight-salvo", 7)
    reference = simulate_nation(salvo.launches, Nation.KOR)
    live = NationalSimulation(Nation.KOR)
    for event in salvo.launches:
        live.add_launch(event)
    kill_us = reference[len(reference) // 2].reported_us
    sent = live.advance(kill_us)
    on_topic = sent[:-3]  # the last three were still in flight when it was killed
    caught_up, later, suppressed = _replay([salvo], _marks(on_topic), kill_us + 90 * S)

    assert suppressed == len(on_topic)
    assert caught_up and later
    published = on_topic + caught_up + later
    assert len({_key(w) for w in published}) == len(published), "a (track, sequence) twice"
    assert sorted(published, key=_key) == sorted(reference, key=_key)
    # Every track goes on from where the topic stopped, under the same id.
    for w in caught_up + later:
        before = [p.sequence for p in on_topic if p.track_id == w.track_id]
        assert w.sequence > max(before, default=0)


def test_a_restart_after_the_scenario_ended_publishes_nothing() -> None:
    salvo = load_scenario("tight-salvo", 8)
    reference = simulate_nation(salvo.launches, Nation.KOR)
    end_us = reference[-1].reported_us
    caught_up, later, suppressed = _replay([salvo], _marks(reference), end_us + 60 * S)
    assert (caught_up, later, suppressed) == ([], [], len(reference))


def test_a_launch_injected_while_down_is_published_whole() -> None:
    first = load_scenario("sunan-srbm", 1)
    second = load_scenario("tight-salvo", 9).at(first.start_us + 1800 * S)
    before = simulate_nation(first.launches, Nation.KOR)
    missed = simulate_nation(second.launches, Nation.KOR)
    restart_us = second.launches[-1].launch_time_us + 30 * S
    caught_up, later, suppressed = _replay([first, second], _marks(before), restart_us)
    assert suppressed == len(before)
    assert sorted(caught_up + later, key=_key) == sorted(missed, key=_key)
    assert all(w.reported_us <= restart_us for w in caught_up)


def test_marks_from_a_complete_topic_go_by_track_and_sequence() -> None:
    marks = _marks([make_warning(track_id="KOR-a-0001", sequence=s) for s in (1, 2, 3)])
    assert marks.complete and marks.records == 3
    assert marks.published(make_warning(track_id="KOR-a-0001", sequence=3))
    assert not marks.published(make_warning(track_id="KOR-a-0001", sequence=4))
    # A track the whole topic does not hold was never published, however old.
    assert not marks.published(make_warning(track_id="KOR-a-0002", sequence=1, reported_us=0))


def test_marks_from_a_cut_tail_fall_back_on_times() -> None:
    t = T0_US + 100 * S
    tail = [make_warning(track_id="KOR-a-0002", sequence=5, reported_us=t, scenario_id="a")]
    marks = _marks(tail)
    marks.cut(t)
    marks.cut(None)  # a partition whose tail held nothing readable: no bound from it
    assert not marks.complete and marks.floor_us == t
    # A track that scrolled out of the tail: published up to its scenario's newest report.
    old = make_warning(track_id="KOR-a-0001", sequence=9, scenario_id="a")
    assert marks.published(_at(old, t))
    assert not marks.published(_at(old, t + 1))
    # A scenario the tail does not hold: published up to the floor.
    other = make_warning(track_id="KOR-b-0001", sequence=1, scenario_id="b")
    assert marks.published(_at(other, t - S))
    assert not marks.published(_at(other, t + S))
    # A track in the tail still goes by its sequence.
    assert not marks.published(make_warning(track_id="KOR-a-0002", sequence=6, reported_us=0))


def _at(w: MissileWarning, reported_us: int) -> MissileWarning:
    return make_warning(
        track_id=w.track_id, sequence=w.sequence, scenario_id=w.scenario_id, reported_us=reported_us
    )


def test_replay_selection_takes_whole_scenarios_of_this_session_within_the_window() -> None:
    now = T0_US + 3 * HOUR
    set_at = T0_US  # wall time the session clock was set
    launches = [
        # an earlier session's launch, written before the clock was set
        (
            make_launch(launch_id="old", launch_time_us=now, scenario_start_us=now),
            set_at - 2 * CLOCK_SLACK_US,
        ),
        # a scenario over 2 h ago
        (make_launch(launch_id="gone", launch_time_us=now - 3 * HOUR, scenario_start_us=1), None),
        # a long scenario: its first launch is old, its second recent -> both
        (make_launch(launch_id="a1", launch_time_us=now - 3 * HOUR, scenario_start_us=2), set_at),
        (make_launch(launch_id="a2", launch_time_us=now - 60 * S, scenario_start_us=2), set_at),
        # in flight, and one not launched yet
        (make_launch(launch_id="b1", launch_time_us=now - 60 * S), set_at + S),
        (make_launch(launch_id="c1", launch_time_us=now + 60 * S, scenario_start_us=3), None),
    ]
    chosen = replay_selection(launches, now_us=now, window_us=2 * HOUR, clock_set_at_us=set_at)
    assert [launches[i][0].launch_id for i in chosen] == ["a1", "a2", "b1", "c1"]
