"""A battery: every scenario of a directory over several seeds, fused and scored the same way.

Each (scenario, seed) is simulated once (national warnings and the origin of every
national track's detections, :func:`evaluation.scoring.simulate_scenario`) and fed
to every fuser under test; each fuser's alerts are scored against the same truth
(:func:`evaluation.scoring.score`). A fuser is any :class:`~evaluation.scoring.Fuser`:
trilink's own offline engine by default, a peer pipeline beside it. Runs go to at
most :data:`MAX_PROCESSES` worker processes.

A run *fails* when its picture has an extra, missed or merged track, miscounts the
raid after the first minute, alerts on a missile more than
:data:`MAX_FIRST_ALERT_DELAY_S` after the first national warning of it, or raises.
:func:`summarise` folds the runs into one row per scenario and fuser and a total.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaluation.coverage import Held
from evaluation.nationals import NationalFigures, national_figures
from evaluation.nationals import total as national_total
from evaluation.scoring import Fuser, score, simulate_scenario
from trilink.constants import NATIONS
from trilink.physics import Physics

log = logging.getLogger(__name__)

MAX_PROCESSES = 2
MAX_FIRST_ALERT_DELAY_S = 1.0
BEST_NATION_COVERAGE = 0.9  # the best nation must predict this share of what the picture does


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One fuser's score on one (scenario, seed), as far as the battery reports it."""

    scenario: str
    seed: int
    fuser: str
    missiles: int = 0
    system_tracks: int = 0
    extra: int = 0
    missed: int = 0
    merged: int = 0
    raid_error: int | None = None
    first_alert_delay_s: float | None = None
    fused_rms_km: float | None = None
    fused_n: int = 0
    national_rms_km: dict[str, float | None] = field(default_factory=dict)
    national_n: dict[str, int] = field(default_factory=dict)
    gospa_mean: float | None = None
    nationals: dict[str, NationalFigures] = field(default_factory=dict)
    error: str | None = None
    # Fused predictions after burnout whose 95% ellipse held the impact, of how many,
    # as [inside, n]; the same per nation (its warnings).
    ellipse: list[int] = field(default_factory=lambda: [0, 0])
    national_ellipse: dict[str, list[int]] = field(default_factory=dict)
    ellipse_median_miss: float | None = None  # the fused predictions' (evaluation.coverage)
    # The longest a national track of a missile waited to join the picture, and how many
    # never joined (evaluation.waits).
    join_wait_max_s: float | None = None
    join_never: int = 0

    @property
    def clean(self) -> bool:
        """No extra, missed or merged track (and the run did not fail outright)."""
        return self.error is None and self.extra == self.missed == self.merged == 0

    def failures(self) -> list[str]:
        """Why the run fails, one phrase each; empty when it passes."""
        if self.error is not None:
            return [f"error: {self.error}"]
        out = [
            f"{n} {what}"
            for n, what in ((self.extra, "extra"), (self.missed, "missed"), (self.merged, "merged"))
            if n
        ]
        if self.raid_error:
            out.append(f"raid count off by {self.raid_error}")
        if (self.first_alert_delay_s or 0.0) > MAX_FIRST_ALERT_DELAY_S:
            out.append(f"first alert {self.first_alert_delay_s:g} s late")
        return out

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "failures": self.failures()}


def run_one(
    path: str, seed: int, fusers: Mapping[str, Fuser], physics: Physics | None = None
) -> list[RunFigures]:
    """Simulate ``path`` with ``seed`` once and score each fuser's picture of it, in the
    flight model ``physics`` (``None``: the scenario's own)."""
    name = Path(path).stem
    try:
        run = simulate_scenario(path, seed, physics)
    except Exception as exc:  # one broken scenario must not sink the battery
        log.exception("%s seed %d: simulation failed", name, seed)
        return [RunFigures(name, seed, f, error=f"simulation: {exc}") for f in fusers]
    nationals = national_figures(run.origins, {t.name for t in run.truths})
    out = []
    for fuser_name, fuser in fusers.items():
        try:
            alerts = fuser(run.warnings, physics=run.physics)
            s = score(run.truths, run.warnings, alerts, run.origins, run.physics, run.origin_times)
        except Exception as exc:  # a peer that breaks on a raid is a finding, not a crash
            log.exception("%s seed %d: %s failed", name, seed, fuser_name)
            out.append(RunFigures(name, seed, fuser_name, error=f"{type(exc).__name__}: {exc}"))
            continue
        national = s.impact_error_km.national
        cover = s.ellipse_coverage
        held = cover.fused if cover is not None else Held()
        by_nation = {} if cover is None else cover.national
        out.append(
            RunFigures(
                scenario=name,
                seed=seed,
                fuser=fuser_name,
                missiles=s.missiles,
                system_tracks=s.system_tracks,
                extra=s.extra_tracks,
                missed=s.missed,
                merged=s.merged,
                raid_error=None if s.raid_count is None else s.raid_count.max_abs_error,
                first_alert_delay_s=s.max_first_alert_delay_s,
                fused_rms_km=s.impact_error_km.fused.rms,
                fused_n=s.impact_error_km.fused.n,
                national_rms_km={n.value: national[n].rms for n in NATIONS},
                national_n={n.value: national[n].n for n in NATIONS},
                gospa_mean=s.gospa.mean,
                nationals=nationals,
                ellipse=[held.inside, held.n],
                national_ellipse={n.value: [h.inside, h.n] for n, h in by_nation.items()},
                ellipse_median_miss=None if cover is None else cover.fused_median_miss,
                join_wait_max_s=None if s.join_waits is None else s.join_waits.max_s,
                join_never=0 if s.join_waits is None else len(s.join_waits.never),
            )
        )
    return out


def _task(args: tuple[str, int, Mapping[str, Fuser], Physics | None]) -> list[RunFigures]:
    return run_one(*args)


def run_battery(
    paths: Sequence[str | Path],
    seeds: Sequence[int],
    fusers: Mapping[str, Fuser],
    *,
    processes: int = MAX_PROCESSES,
    on_run: Callable[[list[RunFigures]], None] | None = None,
    physics: Physics | None = None,
) -> list[RunFigures]:
    """Every (scenario, seed) through every fuser; ``on_run`` hears of each as it ends.
    ``physics`` overrides each scenario's flight model.

    Runs are independent and seeded, so the result does not depend on ``processes``
    (at most :data:`MAX_PROCESSES`; 1 runs them here). Results come back in scenario,
    seed and fuser order.
    """
    tasks = [(str(p), seed, dict(fusers), physics) for p in paths for seed in seeds]
    processes = max(1, min(processes, MAX_PROCESSES, len(tasks)))
    results: list[RunFigures] = []
    if processes == 1:
        for t in tasks:
            done = _task(t)
            results.extend(done)
            if on_run is not None:
                on_run(done)
    else:
        # spawn: a forked worker would inherit the parent's threads (Rich's live display).
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            for done in pool.imap_unordered(_task, tasks):
                results.extend(done)
                if on_run is not None:
                    on_run(done)
    order = {Path(p).stem: i for i, p in enumerate(paths)}
    fuser_order = {f: i for i, f in enumerate(fusers)}
    return sorted(results, key=lambda r: (order[r.scenario], r.seed, fuser_order[r.fuser]))


# -- the summary ---------------------------------------------------------------------------------


def _pooled_rms(pairs: Iterable[tuple[float | None, int]]) -> tuple[float | None, int]:
    """RMS over the union of runs from each run's (RMS, n)."""
    total, n = 0.0, 0
    for rms, k in pairs:
        if rms is not None and k:
            total += rms * rms * k
            n += k
    return (round(math.sqrt(total / n), 3) if n else None), n


def best_nation(runs: Sequence[RunFigures]) -> str | None:
    """The nation with the lowest impact RMS over the whole battery, chosen once.

    Only nations predicting an impact for at least :data:`BEST_NATION_COVERAGE` of
    the missiles the best-covering nation does compete: a nation that sees only the
    easy missiles is not the best one.
    """
    pooled = {
        n.value: _pooled_rms(
            (r.national_rms_km.get(n.value), r.national_n.get(n.value, 0)) for r in runs
        )
        for n in NATIONS
    }
    widest = max((k for _, k in pooled.values()), default=0)
    fair = {
        n: rms
        for n, (rms, k) in pooled.items()
        if rms is not None and k >= BEST_NATION_COVERAGE * widest
    }
    return min(fair, key=lambda n: (fair[n], n)) if fair else None


@dataclass(frozen=True, slots=True)
class Row:
    """One scenario (or the total) for one fuser."""

    scenario: str
    fuser: str
    runs: int
    missiles_per_run: int | None  # None for the total (scenarios differ)
    missiles_total: int
    tracks_total: int
    tracks_min: int  # system tracks in one run
    tracks_max: int
    zero_extra: int
    zero_missed: int
    zero_merged: int
    passed: int
    raid_error_max: int | None
    first_alert_delay_max_s: float | None
    fused_rms_km: float | None
    nation_rms_km: float | None
    gospa_mean: float | None
    ellipse_coverage: float | None  # pooled share of 95% ellipses (after burnout) holding
    ellipse_median_miss: float | None  # median over runs of each run's median normalised miss
    join_wait_max_s: float | None  # the longest a national track waited to join (any run)
    join_wait_median_s: float | None  # the median over runs of each run's longest wait

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _row(
    scenario: str, fuser: str, runs: Sequence[RunFigures], nation: str | None, total: bool
) -> Row:
    ok = [r for r in runs if r.error is None]
    gospas = [r.gospa_mean for r in ok if r.gospa_mean is not None]
    raid = [r.raid_error for r in ok if r.raid_error is not None]
    delays = [r.first_alert_delay_s for r in ok if r.first_alert_delay_s is not None]
    tracks = [r.system_tracks for r in ok] or [0]
    waits = [r.join_wait_max_s for r in ok if r.join_wait_max_s is not None]
    return Row(
        scenario=scenario,
        fuser=fuser,
        runs=len(runs),
        missiles_per_run=None if total else max((r.missiles for r in ok), default=0),
        missiles_total=sum(r.missiles for r in ok),
        tracks_total=sum(r.system_tracks for r in ok),
        tracks_min=min(tracks),
        tracks_max=max(tracks),
        zero_extra=sum(1 for r in ok if r.extra == 0),
        zero_missed=sum(1 for r in ok if r.missed == 0),
        zero_merged=sum(1 for r in ok if r.merged == 0),
        passed=sum(1 for r in runs if not r.failures()),
        raid_error_max=max(raid, default=None),
        first_alert_delay_max_s=max(delays, default=None),
        fused_rms_km=_pooled_rms((r.fused_rms_km, r.fused_n) for r in ok)[0],
        nation_rms_km=(
            None
            if nation is None
            else _pooled_rms(
                (r.national_rms_km.get(nation), r.national_n.get(nation, 0)) for r in ok
            )[0]
        ),
        gospa_mean=round(sum(gospas) / len(gospas), 3) if gospas else None,
        ellipse_coverage=_pooled_held(r.ellipse for r in ok).fraction,
        join_wait_max_s=max(waits, default=None),
        join_wait_median_s=round(statistics.median(waits), 3) if waits else None,
        ellipse_median_miss=(
            round(statistics.median(misses), 4)
            if (misses := [r.ellipse_median_miss for r in ok if r.ellipse_median_miss is not None])
            else None
        ),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """The battery's table: per fuser, a row per scenario and a total; every failing run."""

    seeds: tuple[int, ...]
    fusers: tuple[str, ...]
    best_nation: str | None
    rows: dict[str, list[Row]]  # fuser -> rows, scenario order
    totals: dict[str, Row]
    failing: list[RunFigures]
    nationals: dict[str, NationalFigures] = field(default_factory=dict)  # summed over runs
    # Per nation, the pooled share of its warnings' 95% ellipses (after burnout) that
    # held the impact: what the fused column compares with.
    national_ellipse: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "fusers": list(self.fusers),
            "best_nation": self.best_nation,
            "scenarios": {f: [r.to_json() for r in rows] for f, rows in self.rows.items()},
            "totals": {f: t.to_json() for f, t in self.totals.items()},
            "failing": [r.to_json() for r in self.failing],
            "nationals": {n: asdict(f) for n, f in self.nationals.items()},
            "national_ellipse": dict(self.national_ellipse),
        }


def summarise(runs: Sequence[RunFigures], seeds: Sequence[int], fusers: Sequence[str]) -> Summary:
    """Rows per scenario and fuser, totals, the best single nation and the failing runs."""
    nation = best_nation(runs)
    scenarios = list(dict.fromkeys(r.scenario for r in runs))
    rows: dict[str, list[Row]] = {}
    totals: dict[str, Row] = {}
    for f in fusers:
        mine = [r for r in runs if r.fuser == f]
        rows[f] = [
            _row(s, f, [r for r in mine if r.scenario == s], nation, total=False) for s in scenarios
        ]
        totals[f] = _row("total", f, mine, nation, total=True)
    return Summary(
        tuple(seeds),
        tuple(fusers),
        nation,
        rows,
        totals,
        [r for r in runs if r.failures()],
        # The simulation, not the fuser, makes national tracks: one fuser's runs count them.
        national_total(r.nationals for r in runs if r.fuser == fusers[0]),
        _national_ellipse([r for r in runs if r.fuser == fusers[0] and r.error is None]),
    )


def _pooled_held(pairs: Iterable[Sequence[int]]) -> Held:
    """The [inside, n] pairs of runs as one :class:`Held`."""
    return sum((Held(inside, n) for inside, n in pairs), Held())


def _national_ellipse(runs: Sequence[RunFigures]) -> dict[str, float | None]:
    """Per nation, its warnings' ellipse hold pooled over ``runs``."""
    nations = sorted({nation for r in runs for nation in r.national_ellipse})
    return {
        nation: _pooled_held(
            r.national_ellipse[nation] for r in runs if nation in r.national_ellipse
        ).fraction
        for nation in nations
    }
