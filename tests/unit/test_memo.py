"""What the bridge computes once and gives again: a national track's estimate, a move of an
estimate in time, a fusion. Each must be what computing it afresh gives. No I/O."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import bridge.estimate as estimate_module
from bridge.association import Gate
from bridge.config import GateConfig
from bridge.estimate import Estimate, Propagator
from bridge.fusion import CovarianceIntersection
from bridge.tracks import NationalTrack
from bridge.validate import Checked
from tests.factories import make_warning
from trilink.constants import US
from trilink.model import Nation


def _checked(**overrides: Any) -> Checked:
    w = make_warning(**overrides)
    return Checked(w, np.array((*w.position_m, *w.velocity_mps)), np.eye(6) * 100.0)


def _same(a: Estimate, b: Estimate) -> bool:
    return (
        a.time_us == b.time_us
        and np.array_equal(a.x, b.x)
        and np.array_equal(a.p, b.p)
        and a.boosting == b.boosting
    )


def test_a_national_tracks_estimate_is_rebuilt_when_its_state_changes() -> None:
    first = _checked(sequence=3)
    m = NationalTrack.from_report(first)
    est = m.estimate
    assert m.estimate is est  # one object while nothing changed
    later = _checked(sequence=4, observed_us=first.warning.observed_us + 2 * US)
    m.apply(later)
    moved = m.estimate
    assert moved is not est and moved.time_us == later.warning.observed_us
    assert moved.x is later.x
    m.boosting = True  # any field the estimate reads, however it is set
    assert m.estimate.boosting and m.estimate is not moved


def test_a_move_is_the_same_as_a_fresh_one() -> None:
    prop = Gate(GateConfig()).propagator
    m = NationalTrack.from_report(_checked())
    est = m.estimate
    t = est.time_us + 3 * US
    once = prop.to(est, t)
    assert prop.to(est, t) is once
    fresh = Gate(GateConfig()).propagator.to(est, t)
    assert _same(once, fresh)
    # An equal estimate that is another object is moved afresh, to the same result.
    twin = Estimate(est.time_us, est.x.copy(), est.p.copy(), est.boosting, est.coast_s)
    assert prop.to(twin, t) is not once and _same(prop.to(twin, t), once)


def test_the_memos_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate_module, "_MEMO_SIZE", 8)
    prop = Propagator()
    est = NationalTrack.from_report(_checked()).estimate
    for k in range(20):
        prop.to(est, est.time_us + k * US)
    assert 0 < len(prop._moved) <= 8


def test_a_fusion_is_the_same_as_a_fresh_one() -> None:
    prop = Gate(GateConfig()).propagator
    a = NationalTrack.from_report(_checked()).estimate
    b = NationalTrack.from_report(
        _checked(track_id="KOR-0002", observed_us=a.time_us + US)
    ).estimate
    fuse = CovarianceIntersection()
    once = fuse.at_newest([a, b], prop)
    assert fuse.at_newest([a, b], prop) is once
    assert _same(once, CovarianceIntersection().at_newest([a, b], Gate(GateConfig()).propagator))


def test_the_engine_forgets_its_memos_after_each_batch() -> None:
    from bridge.config import EngineConfig
    from bridge.engine import Engine
    from trilink.codec import Codec

    config = EngineConfig()
    first = make_warning(sequence=1)
    joiner = make_warning(nation=Nation.JPN, track_id="JPN-0001", sequence=1)
    engine = Engine(config, Codec(), lambda: first.reported_us)
    engine.process_warnings([(config.topics.warnings(w.nation), w) for w in (first, joiner)])
    s = engine.stages
    assert s.associator.gate.propagator._moved == {}
    assert s.refresher.builder.propagator._moved == {}
    assert s.associator.fuse._fused == {} and s.refresher.builder.fuse._fused == {}
