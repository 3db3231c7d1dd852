"""How often the 95% impact ellipses hold the impact (evaluation.coverage)."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from evaluation.coverage import MEDIAN_CALIBRATED, Held, ellipse_coverage, normalised_miss
from evaluation.truth import TruthPath
from tests.factories import T0_US, make_alert, make_warning
from trilink.constants import US
from trilink.model import Ellipse, GroundPoint, Nation

LAT, LON = 40.0, 135.0


def _point(major_km: float, minor_km: float, bearing_deg: float) -> GroundPoint:
    return GroundPoint(LAT, LON, T0_US, Ellipse(major_km, minor_km, bearing_deg))


def _offset(east_km: float, north_km: float) -> tuple[float, float]:
    lat, lon, _ = pymap3d.enu2geodetic(east_km * 1000.0, north_km * 1000.0, 0.0, LAT, LON, 0.0)
    return float(lat), float(lon)


@pytest.mark.parametrize(
    ("bearing", "east", "north", "expected"),
    [
        (90.0, 10.0, 0.0, 1.0),  # the end of a major axis pointing east
        (90.0, 5.0, 0.0, 0.25),
        (90.0, 0.0, 4.0, 1.0),  # the end of the minor axis
        (90.0, 0.0, 10.0, 6.25),  # as far north as the major axis is long: well outside
        (0.0, 0.0, -10.0, 1.0),  # a major axis pointing north, the point south
        (45.0, 10.0 / np.sqrt(2.0), 10.0 / np.sqrt(2.0), 1.0),
    ],
)
def test_the_normalised_miss_is_taken_in_the_ellipse_axes(
    bearing: float, east: float, north: float, expected: float
) -> None:
    lat, lon = _offset(east, north)
    assert normalised_miss(_point(10.0, 4.0, bearing), lat, lon) == pytest.approx(
        expected, rel=1e-3
    )


def test_held_counts_the_misses_inside_and_adds_up() -> None:
    held = Held.of([0.2, 1.0, 1.3, 9.0])
    assert (held.inside, held.n, held.fraction) == (2, 4, 0.5)
    assert (held + Held(1, 1)).fraction == 0.6
    assert Held().fraction is None


def test_predictions_are_split_at_burnout_and_only_matched_tracks_count() -> None:
    burnout = T0_US + 60 * US
    truth = TruthPath(
        "M1",
        T0_US,
        T0_US + 400 * US,
        LAT,
        LON,
        lambda t: np.zeros((len(t), 3)),
        burnout,
    )
    near = _point(10.0, 4.0, 90.0)
    far_lat, far_lon = _offset(0.0, 50.0)
    far = GroundPoint(far_lat, far_lon, T0_US, Ellipse(10.0, 4.0, 90.0))
    alerts = [
        make_alert(system_track_id="S1", state_time_us=burnout - US, impact=far),  # in boost
        make_alert(system_track_id="S1", state_time_us=burnout + US, impact=near),
        make_alert(system_track_id="S1", state_time_us=burnout + 2 * US, impact=far),
        make_alert(system_track_id="S1", state_time_us=burnout + 3 * US, impact=None),
        make_alert(system_track_id="S2", state_time_us=burnout + US, impact=far),  # unmatched
    ]
    warnings = [
        make_warning(nation=Nation.KOR, track_id="K1", observed_us=burnout + US, impact=near),
        make_warning(nation=Nation.KOR, track_id="K2", observed_us=burnout + US, impact=far),
    ]
    found = ellipse_coverage(
        alerts, {"M1": "S1"}, warnings, {(Nation.KOR, "K1"): "M1"}, {"M1": truth}
    )
    assert (found.fused.inside, found.fused.n) == (1, 2)
    assert (found.fused_boost.inside, found.fused_boost.n) == (0, 1)
    assert (found.national[Nation.KOR].inside, found.national[Nation.KOR].n) == (1, 1)
    assert found.national[Nation.JPN].n == 0
    assert found.to_json()["fused"] == {"inside": 1, "n": 2, "fraction": 0.5}
    # the misses after burnout: 0 (the centre) and (50 km / 4 km)² across the ellipse
    assert found.fused_median_miss == pytest.approx(0.5 * (50.0 / 4.0) ** 2, rel=1e-3)
    assert list(found.fused_misses) == ["M1"]
    assert found.fused_misses["M1"] == pytest.approx((0.0, (50.0 / 4.0) ** 2), rel=1e-3)


def test_calibrated_gaussian_predictions_miss_by_the_calibrated_median() -> None:
    rng = np.random.default_rng(7)
    # a 95% ellipse of semi-axes 10 and 4 km has 1-sigma axes of those / sqrt(chi2_2(95%))
    k = np.sqrt(-2.0 * np.log(0.05))
    errors = rng.standard_normal((4000, 2)) * np.array([10.0, 4.0]) / k
    misses = [
        normalised_miss(_point(10.0, 4.0, 90.0), *_offset(east, north)) for east, north in errors
    ]
    assert abs(MEDIAN_CALIBRATED - 0.2314) < 1e-4
    assert float(np.median(misses)) == pytest.approx(MEDIAN_CALIBRATED, rel=0.05)
    assert Held.of(misses).fraction == pytest.approx(0.95, abs=0.01)


def test_a_launch_truth_knows_when_its_missile_burns_out() -> None:
    from evaluation.truth import truth_from_launch
    from producers.national import solve_launch
    from producers.scenario_file import load_scenario

    (event,) = load_scenario("2022-10-04", 0).launches
    truth = truth_from_launch(event, solve_launch(event))
    # an IRBM's motors burn for minutes of a flight of about twenty
    assert truth.start_us + 60 * US < truth.burnout_us < truth.start_us + 400 * US < truth.end_us


def test_in_free_flight_the_fused_ellipses_hold_about_95_percent_of_impacts() -> None:
    """End to end (simulation, national trackers, fusion, impact prediction): in vacuum
    the published 95% ellipses after burnout are calibrated, pooled over three
    scenarios (each alert's prediction counts; they are correlated along a track, so
    the bounds are wide). An overconfident covariance anywhere on the way shows here."""
    from evaluation.scoring import score_scenario

    held = Held()
    for name in ("tight-salvo", "demo", "2022-10-04"):
        cover = score_scenario(name, 0).score.ellipse_coverage
        assert cover is not None
        held += cover.fused
    assert held.n > 200
    assert 0.9 <= (held.fraction or 0.0) <= 0.99


def test_the_command_breaks_the_hold_down_by_missile_class(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evaluation.coverage import main

    main(["tight-salvo", "--seeds", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["class", "predictions", "held", "median", "miss"]
    kind, n, held, median = lines[1].split()
    assert kind == "kn-25" and int(n) > 50 and held.endswith("%") and float(median) > 0.0


@pytest.mark.parametrize("seeds", ["0", "101", "two"])
def test_the_command_refuses_a_seed_count_out_of_bounds(
    seeds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from evaluation.coverage import main

    with pytest.raises(SystemExit) as exc:
        main(["tight-salvo", "--seeds", seeds])
    assert exc.value.code != 0
    assert "--seeds" in capsys.readouterr().err
