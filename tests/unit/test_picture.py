"""A system track's picture: which impact prediction it shows (no I/O)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.picture import PictureBuilder
from bridge.tracks import NationalTrack, SystemTrack
from bridge.validate import Checked
from tests.factories import T0_US, make_ground_point, make_warning
from trilink.constants import US
from trilink.model import DataMode, Ellipse, GroundPoint, Nation

NOW_US = T0_US + 280 * US


def _member(nation: Nation, observed_us: int, impact: GroundPoint, boosting: bool) -> NationalTrack:
    w = make_warning(
        nation=nation,
        track_id=f"{nation.value}-0001",
        observed_us=observed_us,
        reported_us=observed_us,
        impact=impact,
        boosting=boosting,
    )
    x = np.array((*w.position_m, *w.velocity_mps))
    return NationalTrack.from_report(Checked(w, x, np.diag([1e4] * 3 + [1e2] * 3)))


def _impact(semi_km: float, lat_deg: float) -> GroundPoint:
    return make_ground_point(lat_deg=lat_deg, ellipse=Ellipse(semi_km, semi_km / 2, 80.0))


@pytest.mark.parametrize(("us_boosting", "shown"), [(False, "USA"), (True, "KOR")])
def test_a_silent_member_keeps_its_impact_prediction_on_offer(
    us_boosting: bool, shown: str
) -> None:
    """The US member fell silent 20 s ago with a sharper prediction (0.18 km) than the
    live Korean one (0.33 km): where a coasting missile comes down does not change
    because nobody watches it, so the picture shows the US prediction. Silent in
    boost, its prediction would fall short of a missile still thrusting: Korea's."""
    us = _member(Nation.USA, NOW_US - 20 * US, _impact(0.18, 39.60), us_boosting)
    kor = _member(Nation.KOR, NOW_US, _impact(0.33, 39.70), False)
    track = SystemTrack("ST-1", DataMode.SIMULATED, "test-scenario", T0_US, T0_US, Nation.KOR)
    track.add(kor)
    track.add(us)
    silent_before = {Nation.USA: NOW_US - 12 * US, Nation.KOR: NOW_US - 12 * US}
    pic = PictureBuilder().build(track, full=True, silent_before=silent_before)
    assert pic is not None and pic.impact is not None
    assert pic.impact == (us.impact if shown == "USA" else kor.impact)
    # The state is the live member's alone all the same.
    assert pic.time_us == kor.observed_us
