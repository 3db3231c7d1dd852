"""Nations out for a whole raid: the others' picture still counts it right (no I/O).

A nation's radars down, its link cut or its producer stopped: the bridge fuses what the
others report (``evaluation.outage``). Japan alone sees every missile only once it has
risen over the horizon, so each of its tracks begins in flight, where the holds that
wait for a late track's data to settle it apply to every track of the raid.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bridge.config import EngineConfig
from evaluation.outage import CASES, label, outage_counts, without
from evaluation.scoring import Simulated, run_offline, simulate_scenario
from trilink.model import Nation
from trilink.physics import Physics

# Three KN-25 from Wonsan 20 s apart, and a KN-23 from Sohae in the west that Japan's
# radars see only late in its flight.
RAID = """\
scenario_id: outage-raid
description: three KN-25 from Wonsan 20 s apart, one KN-23 from Sohae
launches:
  - {site: wonsan, missile: kn-25, bearing_deg: 60, range_km: 380, apogee_km: 60,
     count: 3, spacing_s: 20}
  - {site: sohae, missile: hwasong-11a, bearing_deg: 95, range_km: 450, apogee_km: 50, offset_s: 10}
"""


@pytest.fixture(scope="module")
def raid(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    path = tmp_path_factory.mktemp("scenarios") / "outage-raid.yaml"
    path.write_text(RAID)
    return simulate_scenario(str(path), 1, Physics.ATMOSPHERE)


def test_without_drops_the_nations_and_the_missiles_nobody_left_reports(
    raid: Simulated,
) -> None:
    left = without(raid, (Nation.KOR, Nation.USA))
    assert set(left.warnings) == {Nation.JPN}
    assert all(nation is Nation.JPN for nation, _ in left.origins)
    assert {t.name for t in left.truths} <= {t.name for t in raid.truths}
    assert raid.warnings[Nation.KOR]  # the run itself is left as it was


@pytest.mark.parametrize("out", CASES, ids=[label(out) for out in CASES])
def test_with_nations_out_each_missile_reported_has_one_track(
    raid: Simulated, out: tuple[Nation, ...]
) -> None:
    counts = outage_counts(raid, out)
    assert counts.seen == len(raid.truths)  # each nation left still sees every missile
    assert counts.clean, counts
    assert counts.tracks == counts.seen


def test_labels() -> None:
    assert label((Nation.KOR,)) == "KOR out"
    assert label((Nation.KOR, Nation.USA)) == "JPN alone"


def test_japan_alone_puts_every_track_it_reports_in_the_picture() -> None:
    """Japan alone (the other feeds out) on kwail-kaesong-kn23-kn25, seed 0: a KN-25's
    track first held as ambiguous between two tracks the picture holds, then as a known
    missile near no track it may join, was held for its whole flight, 22 reports, and
    the missile was never alerted. Clear of every track, it founds its own."""
    path = Path(__file__).parents[2] / "scenarios" / "heldout" / "kwail-kaesong-kn23-kn25.yaml"
    run = without(simulate_scenario(str(path), 0, Physics.ATMOSPHERE), (Nation.KOR, Nation.USA))
    alerts, _ = run_offline(run.warnings, EngineConfig(physics=run.physics))
    fused = {(c.nation, c.track_id) for a in alerts for c in a.contributors}
    reports = Counter((w.nation, w.track_id) for ws in run.warnings.values() for w in ws)
    kept_out = [key for key, n in reports.items() if n >= 5 and key not in fused]
    assert not kept_out
