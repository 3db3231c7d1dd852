"""The straight-line pre-filters of association: ``in_reach`` (candidates against one
track) and ``reached`` (tracks against all candidates at once) agree, so a slot the
planner skips is one no candidate could have been compared with."""

from __future__ import annotations

import numpy as np

from bridge.estimate import Estimate
from bridge.reach import Rows, in_reach, reached
from trilink.constants import US
from trilink.geodesy import geodetic_to_ecef

T0 = 1_777_593_600_000_000


def _estimates(rng: np.random.Generator, n: int, spread_m: float) -> list[Estimate]:
    base = geodetic_to_ecef(39.0, 127.5, 80_000.0)
    out = []
    for _ in range(n):
        pos = base + rng.normal(0.0, spread_m, 3)
        vel = rng.normal(0.0, 1_500.0, 3)
        sig_p, sig_v = rng.uniform(50.0, 3_000.0), rng.uniform(5.0, 300.0)
        p = np.diag([sig_p**2] * 3 + [sig_v**2] * 3)
        t = T0 + round(rng.uniform(-20.0, 20.0) * US)
        out.append(Estimate(t, np.concatenate([pos, vel]), p, bool(rng.random() < 0.3)))
    return out


def test_reached_keeps_exactly_the_tracks_some_candidate_is_in_reach_of() -> None:
    rng = np.random.default_rng(7)
    outcomes: list[bool] = []
    for _ in range(20):
        cands = _estimates(rng, int(rng.integers(1, 5)), 60_000.0)
        tracks = _estimates(rng, 40, 100_000.0)
        mask = reached(Rows.of(cands), Rows.of(tracks))
        exact = [bool(in_reach(Rows.of(cands), t).any()) for t in tracks]
        assert mask.tolist() == exact
        outcomes += exact
    # The draws cover both outcomes, so the comparison says something.
    assert 0 < sum(outcomes) < len(outcomes)


def test_a_track_far_from_every_candidate_is_not_reached() -> None:
    rng = np.random.default_rng(1)
    (cand,) = _estimates(rng, 1, 0.0)
    near, far = _estimates(rng, 2, 0.0)
    far = Estimate(far.time_us, far.x + np.array([600_000.0, 0.0, 0.0, 0, 0, 0]), far.p)
    assert reached(Rows.of([cand]), Rows.of([near, far])).tolist() == [True, False]
