"""The IMPACT deadline schedule: one live deadline per track, popped in order once due."""

from __future__ import annotations

from bridge.schedule import ImpactSchedule


def test_due_pops_in_deadline_order_and_only_what_is_due() -> None:
    s = ImpactSchedule()
    s.queue("B", 20)
    s.queue("A", 10)
    s.queue("C", 30)
    assert list(s.due(25)) == ["A", "B"]
    assert len(s) == 1
    assert list(s.due(25)) == []
    assert list(s.due(30)) == ["C"]


def test_a_later_deadline_does_not_replace_an_earlier_one() -> None:
    s = ImpactSchedule()
    s.queue("A", 10)
    s.queue("A", 50)
    assert list(s.due(10)) == ["A"]
    assert list(s.due(100)) == []  # the later time was never queued


def test_an_earlier_deadline_supersedes_the_queued_one() -> None:
    s = ImpactSchedule()
    s.queue("A", 50)
    s.queue("A", 10)
    assert len(s) == 1
    assert list(s.due(10)) == ["A"]
    assert list(s.due(100)) == []  # the superseded entry is dead


def test_what_is_queued_while_popping_is_seen_by_the_same_pass() -> None:
    s = ImpactSchedule()
    s.queue("A", 10)
    popped: list[str] = []
    for track_id in s.due(40):
        if not popped:
            s.queue("A", 30)  # moved later, still due
            s.queue("B", 90)  # not due
        popped.append(track_id)
    assert popped == ["A", "A"]
    assert list(s.due(90)) == ["B"]
