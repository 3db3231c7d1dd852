"""The bridge's outbox: snapshots held for at most a commit interval, the newest per track."""

from __future__ import annotations

import pytest

from bridge.config import BridgeConfig
from bridge.outbox import Outbox
from bridge.state import BridgeTrackState
from trilink.errors import ConfigError
from trilink.kafka import Outgoing
from trilink.model import DataMode, Nation


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def snapshot(track_id: str, version: int) -> BridgeTrackState:
    return BridgeTrackState(
        system_track_id=track_id,
        version=version,
        data_mode=DataMode.SIMULATED,
        scenario_id="unit",
        created_us=0,
        first_detection_us=0,
        first_detection_nation=Nation.KOR,
        members=(),
        picture=None,
        refreshed_us=0,
        last_alert=None,
        closed=None,
        closed_us=0,
        event_us=version,
        snapshot_us=version,
    )


def record(n: int) -> Outgoing:
    return Outgoing("alerts", f"k{n}".encode(), f"v{n}".encode())


def test_the_newest_snapshot_per_track_is_released_in_first_touched_order() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([], [snapshot("ST-a", 1), snapshot("ST-b", 1)])
    box.hold([], [snapshot("ST-a", 2)])
    box.hold([], [], ["ST-b"])
    out = box.release()
    assert [(s.system_track_id, s.version) for s in out.states] == [("ST-a", 2)]
    assert out.tombstones == ["ST-b"]
    assert len(box) == 0 and box.release().empty


def test_alerts_and_dead_letters_keep_their_order_and_counts() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([record(1), record(2)], alerts=1, dead_letters=1)
    assert box.urgent
    box.hold([record(3)], [snapshot("ST-a", 1)], alerts=1)
    out = box.release()
    assert [r.key for r in out.records] == [b"k1", b"k2", b"k3"]
    assert (out.alerts, out.dead_letters, len(out.states)) == (2, 1, 1)
    assert not box.urgent


def test_due_counts_from_the_oldest_output_held() -> None:
    clock = Clock()
    box = Outbox(0.1, monotonic=clock)
    assert not box.due()  # nothing held is never due
    box.hold([], [snapshot("ST-a", 1)])
    clock.now += 0.06
    box.hold([], [snapshot("ST-b", 1)])  # does not restart the wait
    assert not box.due()
    clock.now += 0.05
    assert box.due()
    box.release()
    assert not box.due()
    box.hold([], [])  # nothing to hold starts no wait
    clock.now += 1.0
    assert not box.due()


def test_a_zero_interval_releases_every_batch() -> None:
    box = Outbox(0.0, monotonic=Clock())
    box.hold([], [snapshot("ST-a", 1)])
    assert box.due()


def test_clear_drops_what_is_held() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([record(1)], [snapshot("ST-a", 1)], alerts=1)
    box.clear()
    assert len(box) == 0 and not box.urgent and not box.due()


@pytest.mark.parametrize("bad", [-0.1, 61.0, float("nan")])
def test_the_commit_interval_is_bounded(bad: float) -> None:
    with pytest.raises(ConfigError):
        BridgeConfig(commit_interval_s=bad)
