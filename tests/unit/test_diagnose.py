"""The failure report names each system track's contributors and flags merges."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from bridge.config import EngineConfig
from evaluation.diagnose import explain, first_report_nees, track_life
from evaluation.scoring import Simulated, run_offline, simulate_scenario
from trilink.model import FusedAlert


@pytest.fixture(scope="module")
def salvo() -> tuple[Simulated, list[FusedAlert]]:
    run = simulate_scenario("tight-salvo", 0)
    alerts, _ = run_offline(run.warnings, EngineConfig(physics=run.physics))
    return run, alerts


def test_a_clean_run_lists_every_contributor_under_its_own_missile(
    salvo: tuple[Simulated, list[FusedAlert]],
) -> None:
    run, alerts = salvo
    lines = explain(run, alerts)
    assert lines[0] == "tight-salvo seed 0: 4 system tracks, 4 missiles"
    blocks: dict[str, list[str]] = {}
    head = ""
    for line in lines[1:]:
        if line.startswith("    "):
            blocks[head].append(line)
        else:
            head = line
            blocks[head] = []
    assert len(blocks) == 4
    for head, members in blocks.items():
        assert "MERGED" not in head and "EXTRA" not in head, head
        missile = head.split(" is ")[1].split(" carries ")[0]
        assert members and all(f" is {missile}: joined T+" in m for m in members), members


def test_a_track_fed_by_two_missiles_is_flagged_merged(
    salvo: tuple[Simulated, list[FusedAlert]],
) -> None:
    run, alerts = salvo
    first, second = sorted({a.system_track_id for a in alerts})[:2]
    # The second track's alerts published under the first's id: one track, two missiles.
    relabelled = [
        dataclasses.replace(a, system_track_id=first, version=a.version + 1000)
        if a.system_track_id == second
        else a
        for a in alerts
    ]
    lines = explain(run, relabelled)
    assert lines[0] == "tight-salvo seed 0: 3 system tracks, 4 missiles"
    merged = [line for line in lines if line.startswith(first)]
    assert merged and merged[0].endswith(" MERGED")
    assert lines[-1].startswith("missed: ")


def test_first_report_nees_has_one_finite_figure_per_national_track(
    salvo: tuple[Simulated, list[FusedAlert]],
) -> None:
    run, _ = salvo
    nees = first_report_nees(run)
    assert set(nees) == {n.value for n in run.warnings}
    for nation, ws in run.warnings.items():
        values = nees[nation.value]
        assert len(values) == len({w.track_id for w in ws})
        assert all(math.isfinite(v) and v >= 0.0 for v in values)
    # Korea's radars see the salvo from the launch: near consistent (6 dof: median 5.3).
    assert float(np.median(nees["KOR"])) < 15.0


def test_a_track_life_lists_its_detections_and_reports_against_the_missiles(
    salvo: tuple[Simulated, list[FusedAlert]],
) -> None:
    run, _ = salvo
    korea = next(n for n in run.warnings if n.value == "KOR")
    ws = run.warnings[korea]
    track_id = ws[0].track_id
    mine = [w for w in ws if w.track_id == track_id]
    lines = track_life(run, f"KOR/{track_id}", limit=3)
    detections = run.origin_times[(korea, track_id)]
    assert lines[0].startswith(f"KOR/{track_id}: {len(detections)} detections, in order: ")
    assert len(lines) == 1 + min(3, len(mine))
    # A clean track of the salvo: its nearest missile is within a few kilometres.
    for line in lines[1:]:
        assert "(climb needs " in line and "; nearest " in line
        nearest_km = float(line.split("; nearest ")[1].split(",")[0].split()[1])
        assert nearest_km < 5.0, line
