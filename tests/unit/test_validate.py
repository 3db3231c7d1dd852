"""Each validation rule on its own: a good report passes, one bad field fails with a reason."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from bridge.config import ValidationConfig
from bridge.validate import (
    BAD_COVARIANCE,
    BAD_TIME,
    MALFORMED,
    NOT_RELEASABLE,
    OUT_OF_RANGE,
    UNAUTHORISED,
    Validator,
    altitude_m,
)
from tests.factories import T0_US, covariance_upper, make_ground_point, make_warning
from trilink.errors import ValidationError
from trilink.geodesy import geodetic_to_ecef
from trilink.model import Ellipse, MissileClass, MissileWarning, Nation

NOW = T0_US + 96_000_000
CHECK = Validator()


def _rejects(w: MissileWarning, error_type: str, *, nation: Nation = Nation.KOR) -> str:
    with pytest.raises(ValidationError) as info:
        CHECK(w, nation, NOW)
    assert info.value.error_type == error_type
    assert info.value.reason and "\n" not in info.value.reason
    return info.value.reason


def test_a_good_report_passes_with_its_arrays() -> None:
    w = make_warning()
    checked = CHECK(w, Nation.KOR, NOW)
    assert checked.warning is w
    assert checked.x.tolist() == [*w.position_m, *w.velocity_mps]
    assert checked.p.shape == (6, 6) and np.allclose(checked.p, checked.p.T)


def test_nation_must_match_its_topic() -> None:
    reason = _rejects(make_warning(nation=Nation.JPN), UNAUTHORISED)
    assert "JPN" in reason and "KOR" in reason


def test_every_partner_must_be_cleared() -> None:
    reason = _rejects(make_warning(releasable_to=(Nation.USA, Nation.KOR)), NOT_RELEASABLE)
    assert "JPN" in reason


@pytest.mark.parametrize(
    "override",
    [{"track_id": "  "}, {"sequence": 0}, {"covariance": covariance_upper()[:20]}],
    ids=["track_id", "sequence", "covariance-length"],
)
def test_shape(override: dict[str, object]) -> None:
    _rejects(make_warning(**override), MALFORMED)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers(bad: float) -> None:
    _rejects(make_warning(position_m=(bad, 3_520_000.0, 4_450_000.0)), OUT_OF_RANGE)
    cov = list(covariance_upper())
    cov[7] = bad
    _rejects(make_warning(covariance=tuple(cov)), OUT_OF_RANGE)


@pytest.mark.parametrize(
    "point",
    [
        make_ground_point(lat_deg=91.0),
        make_ground_point(lon_deg=400.0),
        make_ground_point(lat_deg=math.nan),
        make_ground_point(ellipse=Ellipse(-1.0, 1.0, 0.0)),
    ],
    ids=["lat", "lon", "nan", "negative-axis"],
)
def test_launch_and_impact_points(point: object) -> None:
    _rejects(make_warning(impact=point), OUT_OF_RANGE)
    _rejects(make_warning(launch=point), OUT_OF_RANGE)


def test_position_must_be_near_earth() -> None:
    inside = tuple(float(v) for v in geodetic_to_ecef(38.0, 127.0, -200_000.0))
    far = tuple(float(v) for v in geodetic_to_ecef(38.0, 127.0, 50_000_000.0))
    assert "not near Earth" in _rejects(make_warning(position_m=inside), OUT_OF_RANGE)
    _rejects(make_warning(position_m=far), OUT_OF_RANGE)


def test_altitude_is_close_to_geodetic() -> None:
    for lat in (0.0, 38.0, 89.0):
        r = geodetic_to_ecef(lat, 127.0, 300_000.0)
        assert abs(altitude_m(*(float(v) for v in r)) - 300_000.0) < 50.0


def test_speed_limit_allows_orbital_launchers() -> None:
    fast = (7_000.0, 4_000.0, 0.0)  # ~8.06 km/s
    assert "exceeds" in _rejects(make_warning(velocity_mps=fast), OUT_OF_RANGE)
    CHECK(make_warning(velocity_mps=fast, missile_class=MissileClass.SLV), Nation.KOR, NOW)


def test_covariance_must_be_positive_definite() -> None:
    cov = list(covariance_upper())
    cov[1] = 1e9  # |cov(x, y)| far above sqrt(var x var y)
    assert "positive definite" in _rejects(make_warning(covariance=tuple(cov)), BAD_COVARIANCE)
    _rejects(make_warning(covariance=covariance_upper(0.0, 10.0)), BAD_COVARIANCE)


def test_covariance_must_be_plausible() -> None:
    _rejects(make_warning(covariance=covariance_upper(1e8, 10.0)), BAD_COVARIANCE)
    _rejects(make_warning(covariance=covariance_upper(1e-5, 10.0)), BAD_COVARIANCE)


def test_times_within_the_window_of_the_wall_clock() -> None:
    cfg = ValidationConfig()
    future = NOW + round(cfg.future_s * 1e6) + 1
    past = NOW - round(cfg.past_s * 1e6) - 1
    assert "future" in _rejects(make_warning(observed_us=future, reported_us=future), BAD_TIME)
    assert "past" in _rejects(make_warning(observed_us=past), BAD_TIME)
    assert "reported_us" in _rejects(make_warning(reported_us=future), BAD_TIME)


def test_windows_are_configurable() -> None:
    strict = Validator(replace(ValidationConfig(), past_s=10.0))
    with pytest.raises(ValidationError):
        strict(make_warning(), Nation.KOR, NOW + 60_000_000)
    CHECK(make_warning(), Nation.KOR, NOW + 60_000_000)
