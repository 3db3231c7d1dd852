"""Covariance honesty: the normalised estimation error squared (NEES) of published warnings.

What is measured: one KN-23 from Sunan (``sunan-srbm``), Monte Carlo over seeds. For
each seed and each nation, the first UPDATE warning observed at or after
``SAMPLE_S`` seconds after launch (ballistic phase: burnout is at 42 s) is compared
with the flight model's truth at its ``observed_us``:
``(x - x_true)^T P^-1 (x - x_true)`` with x the published 6-state and P the
published covariance. Samples from different seeds and nations have independent
noise, so their mean lies within chi2.ppf(0.025, 6N)/N .. chi2.ppf(0.975, 6N)/N
for a consistent filter.

Run ``python -m tests.unit.test_nees --seeds 200`` for a bigger sample, with the
whole post-burnout phase and the boost phase shown too (those samples are
correlated in time, so only their means are printed, without bounds).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Iterable, Iterator

import numpy as np
import pytest
from scipy.stats import chi2

from producers.national import (
    NATIONS,
    NationalConfig,
    NationalSimulation,
    simulate_nation,
    solve_launch,
)
from producers.scenario_file import load_scenario
from sim.sensors import Trajectory
from tracking.ekf import nees
from tracking.propagate import from_upper_triangle
from trilink.model import LaunchEvent, MissileWarning, Nation, TrackStatus
from trilink.physics import Physics

SAMPLE_S = (100.0, 160.0)  # per nation: the first time it can be sampled from
SEEDS = range(36)
STEP_US = 5_000_000  # the settled sample's simulation advances this much at a time


def _nees(warning: MissileWarning, truth: np.ndarray) -> float:
    x = np.array(warning.position_m + warning.velocity_mps)
    return float(nees(x, from_upper_triangle(warning.covariance), truth)[0])


def _cases(
    seeds: Iterable[int], physics: Physics
) -> Iterator[tuple[LaunchEvent, Trajectory, Nation, float]]:
    """Per seed and nation: the launch, its true flight and the time to sample from."""
    for seed in seeds:
        (event,) = load_scenario("sunan-srbm", seed).launches
        trajectory = solve_launch(event, physics)
        for nation in NATIONS:
            yield event, trajectory, nation, SAMPLE_S[1] if nation is Nation.JPN else SAMPLE_S[0]


def _against_truth(
    w: MissileWarning, event: LaunchEvent, trajectory: Trajectory
) -> tuple[float, float]:
    """(flight time s, NEES) of a warning against the true state at its time."""
    t = (w.observed_us - event.launch_time_us) / 1e6
    r, v = trajectory.state_at(t)
    return t, _nees(w, np.concatenate([r, v]))


def run(seeds: Iterable[int], physics: Physics = Physics.VACUUM) -> dict[str, list[float]]:
    """NEES samples: ``settled`` (one per seed and nation), ``ballistic`` and ``boost`` (all)."""
    out: dict[str, list[float]] = {"settled": [], "ballistic": [], "boost": []}
    config = NationalConfig(physics=physics)
    for event, trajectory, nation, sample_s in _cases(seeds, physics):
        taken = False
        for w in simulate_nation([event], nation, config=config):
            if w.status is not TrackStatus.UPDATE and w.status is not TrackStatus.INITIAL:
                continue
            t, value = _against_truth(w, event, trajectory)
            out["boost" if t < trajectory.burnout_s else "ballistic"].append(value)
            if not taken and w.status is TrackStatus.UPDATE and t >= sample_s:
                out["settled"].append(value)
                taken = True
    return out


def bounds(n: int, dof: int = 6) -> tuple[float, float]:
    """95% two-sided bounds for the mean of ``n`` independent chi-square(dof) samples."""
    return float(chi2.ppf(0.025, dof * n) / n), float(chi2.ppf(0.975, dof * n) / n)


def settled(seeds: Iterable[int], physics: Physics = Physics.VACUUM) -> list[float]:
    """``run(seeds)["settled"]``, each nation's simulation stopped once its sample is taken.

    The simulation is causal (detections are drawn when a launch is added) and
    ``advance`` returns warnings in the order ``finish`` would, so stepping it gives the
    same warnings up to the sample, at a fraction of the cost of the whole flight.
    """
    out: list[float] = []
    config = NationalConfig(physics=physics)
    for event, trajectory, nation, sample_s in _cases(seeds, physics):
        sim = NationalSimulation(nation, config=config)
        sim.add_launch(event)
        until = event.launch_time_us
        sample: float | None = None
        while sample is None and not sim.idle:
            until += STEP_US
            for w in sim.advance(until):
                t, value = _against_truth(w, event, trajectory)
                if w.status is TrackStatus.UPDATE and t >= sample_s:
                    sample = value
                    break
        if sample is not None:
            out.append(sample)
    return out


def test_stepping_the_simulation_takes_the_same_settled_samples() -> None:
    assert settled(range(1)) == run(range(1))["settled"]


@functools.cache
def _settled(physics: Physics) -> tuple[float, float, float, int]:
    """Mean settled NEES, its 95% bounds and the sample count."""
    samples = settled(SEEDS, physics)
    n = len(samples)
    assert n >= 2 * len(SEEDS), "KOR and USA (and usually JPN) sample every seed"
    return float(np.mean(samples)), *bounds(n), n


@pytest.mark.parametrize("physics", list(Physics))
def test_published_covariances_are_not_overconfident_in_the_ballistic_phase(
    physics: Physics,
) -> None:
    # The dangerous side: an ellipse smaller than the error. In the atmosphere model,
    # trackers that ignored the air would sit at a mean of ~350 here (the KN-23 flies
    # wholly below 50 km).
    mean, _, high, n = _settled(physics)
    assert mean <= high, f"mean NEES {mean:.2f} above {high:.2f} (N={n})"


_PESSIMISTIC_IN_THE_AIR = pytest.mark.xfail(
    strict=True,
    reason="issue 10: the drag error's noise is sized for the threat set's spread of "
    "ballistic coefficients (±50%) until a track has learnt its body; this KN-23 is within "
    "20% of the nominal body and seen low in the air for a few scans only, so its "
    "covariance is pessimistic (mean NEES ~4.6 against a band of 5.4-6.7 with the drag "
    "scale as a filter state, ~3.5 without estimating it)",
)


@pytest.mark.parametrize(
    "physics", [Physics.VACUUM, pytest.param(Physics.ATMOSPHERE, marks=_PESSIMISTIC_IN_THE_AIR)]
)
def test_published_covariances_are_consistent_in_the_ballistic_phase(physics: Physics) -> None:
    mean, low, high, n = _settled(physics)
    assert low <= mean <= high, f"mean NEES {mean:.2f} outside [{low:.2f}, {high:.2f}] (N={n})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--physics", type=Physics.parse, default=Physics.VACUUM)
    args = parser.parse_args()
    samples = run(range(args.seeds), args.physics)
    for key, values in samples.items():
        mean = float(np.mean(values))
        if key == "settled":
            low, high = bounds(len(values))
            print(f"{key}: N={len(values)} mean={mean:.3f} bounds=[{low:.3f}, {high:.3f}]")
        else:
            print(f"{key} (correlated): N={len(values)} mean={mean:.3f}")


if __name__ == "__main__":
    main()
