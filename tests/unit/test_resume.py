"""Resuming a national producer (no I/O): what is replayed, what counts as published, and a
kill and restart played out on the simulation itself."""

from __future__ import annotations

from producers.national import NationalSimulation, simulate_nation
from producers.resume import CLOCK_SLACK_US, PublishedMarks, catch_up, replay_selection
from producers.scenario import Scenario
from producers.scenario_file import load_scenario
from tests.factories import T0_US, make_launch, make_warning
from trilink.model import MissileWarning, Nation, TrackStatus

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
    caught_up = catch_up([w for w in due if not marks.published(w)], marks)
    later = [w for w in rest if not marks.published(w)]
    suppressed = sum(1 for w in due + rest if marks.published(w))
    return caught_up, later, suppressed


def test_a_restart_mid_salvo_continues_each_track_and_repeats_nothing() -> None:
    salvo = load_scenario("tight-salvo", 7)
    reference = simulate_nation(salvo.launches, Nation.KOR)
    live = NationalSimulation(Nation.KOR)
    for event in salvo.launches:
        live.add_launch(event)
    kill_us = reference[len(reference) // 3].reported_us
    sent = live.advance(kill_us)
    on_topic = sent[:-3]  # the last three were still in flight when it was killed
    restart_us = kill_us + 90 * S
    caught_up, later, suppressed = _replay([salvo], _marks(on_topic), restart_us)

    assert suppressed == len(on_topic)
    published = on_topic + caught_up + later
    assert len({_key(w) for w in published}) == len(published), "a (track, sequence) twice"
    assert {_key(w) for w in published} <= {_key(w) for w in reference}
    # Everything reported after the restart goes out; of the time down, each live
    # track's newest report (its state at the restart).
    assert [w for w in reference if w.reported_us > restart_us] == later
    due = [w for w in reference if w.reported_us <= restart_us and w not in on_topic]
    newest = {w.track_id: w for w in due}
    assert caught_up and {w.track_id: w for w in caught_up}.items() <= newest.items()
    assert len(caught_up) < len(due), "superseded reports are left out"
    # Every track goes on from where the topic stopped, under the same id.
    for w in caught_up + later:
        before = [p.sequence for p in on_topic if p.track_id == w.track_id]
        assert w.sequence > max(before, default=0)
    continued = {w.track_id for w in on_topic} & {w.track_id for w in caught_up + later}
    assert continued


def test_a_restart_after_the_scenario_ended_publishes_nothing() -> None:
    salvo = load_scenario("tight-salvo", 8)
    reference = simulate_nation(salvo.launches, Nation.KOR)
    end_us = reference[-1].reported_us
    caught_up, later, suppressed = _replay([salvo], _marks(reference), end_us + 60 * S)
    assert (caught_up, later, suppressed) == ([], [], len(reference))


def test_a_launch_injected_while_down_is_taken_up() -> None:
    first = load_scenario("sunan-srbm", 1)
    second = load_scenario("tight-salvo", 9).at(first.start_us + 1800 * S)
    before = simulate_nation(first.launches, Nation.KOR)
    missed = simulate_nation(second.launches, Nation.KOR)
    restart_us = second.launches[-1].launch_time_us + 60 * S
    caught_up, later, suppressed = _replay([first, second], _marks(before), restart_us)
    assert suppressed == len(before)
    assert later == [w for w in missed if w.reported_us > restart_us]
    live = {w.track_id for w in later}
    assert {w.track_id for w in caught_up} == live, "each track's state at the restart"


def test_the_catch_up_keeps_each_tracks_newest_report() -> None:
    known = make_warning(track_id="KOR-a-0001", sequence=4)
    marks = _marks([known])
    due = [
        make_warning(track_id="KOR-a-0001", sequence=5, reported_us=T0_US + 1 * S),
        make_warning(track_id="KOR-a-0002", sequence=1, reported_us=T0_US + 2 * S),
        make_warning(
            track_id="KOR-a-0001", sequence=6, reported_us=T0_US + 3 * S, status=TrackStatus.LOST
        ),
        make_warning(track_id="KOR-a-0003", sequence=1, reported_us=T0_US + 4 * S),
        make_warning(
            track_id="KOR-a-0003",
            sequence=2,
            reported_us=T0_US + 5 * S,
            status=TrackStatus.IMPACTED,
        ),
    ]
    chosen = catch_up(due, marks)
    # A known track's end is news; a track born and ended while down is not.
    assert [(w.track_id, w.sequence) for w in chosen] == [("KOR-a-0002", 1), ("KOR-a-0001", 6)]


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


def test_the_bridge_keeps_each_missile_whole_when_a_feed_stops_during_a_boost() -> None:
    """Korea's producer dies just after confirming a missile in boost; it is back a minute
    later, caught up as a restarted producer does. Offline, so the bridge's part shows
    alone. It used to split the missile: USA's track broke away from the system track
    Korea's stale boost estimate held, and the next missiles' tracks joined that one and
    broke away in turn. Breaks tested against the other members (leave-one-out), new
    tracks placed by position, and a stopped feed's members falling silent (its clock
    stops with it: ``GateConfig.feed_lag_s``) keep every missile one system track."""
    from bridge.config import EngineConfig
    from bridge.engine import Engine
    from consumers.view import AlertPicture
    from demo.summary import match_launches
    from producers.inject import LaunchRequest, scenario_for
    from producers.national import simulate_all
    from trilink.codec import Codec

    request = LaunchRequest("sunan", "kn-25", 90.0, 380.0, 90.0, count=6, spacing_s=10.0)
    salvo = scenario_for(launch=request, seed=11)
    warnings = simulate_all(salvo.launches)
    kor = warnings[Nation.KOR]
    kill_us = [w for w in kor if w.status is TrackStatus.INITIAL][2].reported_us
    restart_us = kill_us + 60 * S
    on_topic = [w for w in kor if w.reported_us <= kill_us]
    due = [w for w in kor if kill_us < w.reported_us <= restart_us]
    feed = {**warnings, Nation.KOR: on_topic + [w for w in kor if w.reported_us > restart_us]}
    config = EngineConfig()
    stream = sorted(
        [(w.reported_us, config.topics.warnings(n), w) for n, ws in feed.items() for w in ws]
        + [(restart_us, config.topics.warnings_kor, w) for w in catch_up(due, _marks(on_topic))],
        key=lambda item: (item[0], item[1], item[2].track_id, item[2].sequence),
    )
    now = [0]
    engine = Engine(config, Codec(), lambda: now[0])
    picture = AlertPicture()
    for reported_us, topic, w in stream:
        now[0] = reported_us
        for alert in engine.process_warnings([(topic, w)]).alerts:
            picture.apply(alert)
    for alert in engine.tick(stream[-1][0] + HOUR).alerts:
        picture.apply(alert)
    tracks = picture.tracks()
    assert len(match_launches(tracks, list(salvo.launches))) == len(tracks) == 6
