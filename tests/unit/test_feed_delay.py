"""A feed that arrives late does not split or merge the missiles it reports (no I/O).

Each nation's link has its own delay: a backlog after a restart, a slower path, a
loaded producer. The bridge then sees a nation's first report of a missile seconds
after the others' later ones. A Korean or US track begun in boost is then older than
the picture it is compared with, and that picture, moved back without the thrust it
has flown since, sits kilometres off the boost path (``SystemTrack.history`` keeps
the estimates it had then). Here the engine runs offline as the live bridge does, in
batches of what arrived within a window, with one nation's reports delivered late
(``evaluation.delay``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.delay import counts, run_delayed, scenario_paths
from evaluation.scoring import Simulated, simulate_scenario
from trilink.model import Nation

# The live-flow test's Wonsan ripple: three KN-25, 20 s apart.
RIPPLE = """\
scenario_id: wonsan-ripple
description: three KN-25 from Wonsan, 20 s apart
seed: 6
launches:
  - site: wonsan
    missile: kn-25
    bearing_deg: 60
    range_km: 380
    apogee_km: 60
    count: 3
    spacing_s: 20
"""


@pytest.fixture(scope="module")
def ripple(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    path = tmp_path_factory.mktemp("scenarios") / "wonsan-ripple.yaml"
    path.write_text(RIPPLE)
    return simulate_scenario(str(path), 0)


@pytest.mark.parametrize(
    ("late", "delay_s", "window_s"),
    [
        (Nation.USA, 10.0, 1.0),
        (Nation.USA, 10.0, 3.0),
        (Nation.USA, 30.0, 0.0),
        (Nation.KOR, 10.0, 3.0),
        (Nation.KOR, 30.0, 30.0),
        (Nation.JPN, 30.0, 3.0),
    ],
)
def test_a_late_feed_leaves_each_missile_one_track(
    ripple: Simulated, late: Nation, delay_s: float, window_s: float
) -> None:
    alerts = run_delayed(ripple.warnings, {late: delay_s}, window_s)
    assert counts(ripple, alerts) == (3, 0, 0, 0)


def test_in_time_the_batches_do_not_matter(ripple: Simulated) -> None:
    for window_s in (0.0, 3.0, 30.0):
        alerts = run_delayed(ripple.warnings, {}, window_s)
        assert counts(ripple, alerts) == (3, 0, 0, 0), window_s


# Missiles a few seconds apart on one path, Korea read 10 s behind the US: the first
# reports of Korea's tracks are older than the US members they meet, and a boost moved
# ten seconds without its thrust lands on the next missile of the ripple. Before the
# contests gave no verdict across such a span (``Associator._across_boost``), Korea's
# newer tracks displaced its right ones and the picture merged missiles (2 of 4, and
# 2 of 6 here). Across a shorter span too, when the move blurs the two contenders
# (``Associator._blurred``): 2 of 5 merged from Sariwon before it, in both windows.
RIPPLES = {
    "sunan-4x5s": ("sunan", 70, 380, 4, 5.0),
    "wonsan-6x4s": ("wonsan", 70, 400, 6, 4.0),
    "sariwon-5x4s": ("sariwon", 75, 350, 5, 4.0),
}


@pytest.fixture(scope="module", params=sorted(RIPPLES))
def tight_ripple(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Simulated:
    site, bearing, range_km, count, spacing = RIPPLES[request.param]
    path = tmp_path_factory.mktemp("scenarios") / f"{request.param}.yaml"
    path.write_text(
        f"scenario_id: {request.param}\n"
        f"description: {count} KN-25 from {site}, {spacing} s apart\n"
        "launches:\n"
        f"  - {{site: {site}, missile: kn-25, bearing_deg: {bearing}, range_km: {range_km},"
        f" apogee_km: 50, count: {count}, spacing_s: {spacing}}}\n"
    )
    return simulate_scenario(str(path), 0)


@pytest.mark.parametrize("window_s", [0.0, 3.0])
def test_korea_read_late_on_a_tight_ripple_merges_no_missiles(
    tight_ripple: Simulated, window_s: float
) -> None:
    alerts = run_delayed(tight_ripple.warnings, {Nation.KOR: 10.0}, window_s)
    n = len(tight_ripple.truths)
    assert counts(tight_ripple, alerts) == (n, 0, 0, 0)


def test_a_directory_stands_for_its_scenarios(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yaml", "notes.md"):
        (tmp_path / name).write_text("")
    assert scenario_paths([str(tmp_path), "tight-salvo"]) == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
        "tight-salvo",
    ]
