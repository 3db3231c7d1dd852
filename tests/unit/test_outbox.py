"""The bridge's outbox: output held for at most a commit interval, each track snapshotted once."""

from __future__ import annotations

import pytest

from bridge.config import BridgeConfig
from bridge.outbox import Outbox
from trilink.errors import ConfigError
from trilink.kafka import Outgoing


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(n: int) -> Outgoing:
    return Outgoing("alerts", f"k{n}".encode(), f"v{n}".encode())


def test_each_track_is_released_once_in_first_touched_order() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([], ["ST-a", "ST-b", "ST-c"])
    box.hold([], ["ST-c", "ST-a"])
    box.hold([], [], ["ST-b"])  # evicted: its tombstone stands instead
    out = box.release()
    assert out.touched == ["ST-a", "ST-c"]
    assert out.tombstones == ["ST-b"]
    assert len(box) == 0 and box.release().empty


def test_alerts_and_dead_letters_keep_their_order_and_counts() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([record(1), record(2)], alerts=1, dead_letters=1)
    assert box.urgent
    box.hold([record(3)], ["ST-a"], alerts=1)
    out = box.release()
    assert [r.key for r in out.records] == [b"k1", b"k2", b"k3"]
    assert (out.alerts, out.dead_letters, out.touched) == (2, 1, ["ST-a"])
    assert not box.urgent


def test_due_counts_from_the_oldest_output_held() -> None:
    clock = Clock()
    box = Outbox(0.1, monotonic=clock)
    assert not box.due()  # nothing held is never due
    box.hold([], ["ST-a"])
    clock.now += 0.06
    box.hold([], ["ST-b"])  # does not restart the wait
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
    box.hold([], ["ST-a"])
    assert box.due()


def test_clear_drops_what_is_held() -> None:
    box = Outbox(0.1, monotonic=Clock())
    box.hold([record(1)], ["ST-a"], alerts=1)
    box.clear()
    assert len(box) == 0 and not box.urgent and not box.due()


@pytest.mark.parametrize("bad", [-0.1, 61.0, float("nan")])
def test_the_commit_interval_is_bounded(bad: float) -> None:
    with pytest.raises(ConfigError):
        BridgeConfig(commit_interval_s=bad)


def test_a_lazy_engine_names_the_tracks_an_eager_one_snapshots() -> None:
    """``Engine(snapshots=False)`` leaves the snapshots to its caller; taken at once,
    they are the eager engine's."""
    from bridge.config import EngineConfig
    from bridge.engine import Engine
    from evaluation.scoring import arrivals, simulate_scenario
    from trilink.codec import Codec

    run = simulate_scenario("tight-salvo", 0)
    config, now = EngineConfig(), [0]
    eager = Engine(config, Codec(), lambda: now[0])
    lazy = Engine(config, Codec(), lambda: now[0], snapshots=False)
    touched = 0
    for reported_us, topic, w in arrivals(run.warnings, config.topics)[:80]:
        now[0] = reported_us
        a, b = eager.process_warnings([(topic, w)]), lazy.process_warnings([(topic, w)])
        assert not b.states and b.touched == [s.system_track_id for s in a.states]
        assert lazy.snapshots_of(b.touched) == a.states
        assert b.alerts == a.alerts
        touched += len(b.touched)
    assert touched >= 80
