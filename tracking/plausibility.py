"""Whether a national track looks like one missile's: the tests a track passes before
its nation first reports it (``producers.national``).

A tracker confirms what its detections support; among closely spaced missiles that can
be a track fed by several of them in turn (merged radar returns, blended infrared
plumes). These tests read a track's own data and the physics every ballistic missile
obeys: its detections fit it as one object's would (:func:`consistent`, :func:`steady`),
and its estimate could be a missile's (:func:`plausible`: no thrust downwards, no slow
thrust high up, no hovering coast).
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

# chdtri(k, 1 - p) is chi2.ppf(p, k) without importing scipy.stats (0.7 s per process).
from scipy.special import chdtri

from trilink.air import height_rows
from trilink.geodesy import FloatArray

if TYPE_CHECKING:
    from tracking.tracker import Track

BoolArray = NDArray[np.bool_]


def consistent(track: Track, updates: int, probability: float) -> bool:
    """Whether the detections of ``track``'s newest ``updates`` updates (all of them, for
    a track that has had fewer since its first detection) fit it as its own object's
    would: neither one normalised innovation squared (under the model that fitted it
    best) nor their sum beyond the ``probability`` quantile of its chi-square
    distribution (the sum: the time-averaged NIS test of Bar-Shalom, Li & Kirubarajan,
    sec. 5.4; each one: a single hop that the window's sum would dilute).

    A track that took one missile's detections and then the next one's (a ripple whose
    missiles each come into a distant radar's view at the same point of their common
    path, seconds apart) fits each hop badly: on the KN-25 ripple ``ripple-kn25-8x3s``
    a Japanese track's hop from the fifth missile to the sixth came in at d² = 17 where
    its neighbours' detections came in at 0.1-6 (docs/score.md, "Stop 49").
    """
    newest = list(track.innovations)[-updates:] if updates > 0 else []
    if not newest:
        return True
    tail = 1.0 - probability
    if any(d2 > _quantile(dim, tail) for d2, dim in newest):
        return False
    return sum(d2 for d2, _ in newest) <= _quantile(sum(dim for _, dim in newest), tail)


def steady(track: Track, updates: int, max_gap_us: int) -> bool:
    """Whether each of ``track``'s newest ``updates`` updates came within ``max_gap_us``
    of the detection before it: no coast inside the window :func:`consistent` judges.

    A track that coasted through missed scans and took a detection again may have taken
    another object's: among closely spaced missiles its grown gate holds several, and
    the first detection after the coast fits it well *because* the gate grew (on the
    KN-23 ripple ``ripple-kn23-6x4s`` a Japanese track took one missile's detections,
    coasted 8 s, then took two others' at d² of 0.6-2 and was reported; docs/score.md,
    "Stop 49"). It earns its first report again with ``updates`` updates after the coast.
    """
    times = list(track.detected_us)[-(updates + 1) :] if updates > 0 else []
    return all(b - a <= max_gap_us for a, b in itertools.pairwise(times))


@functools.cache
def _quantile(dof: int, tail: float) -> float:
    return float(chdtri(dof, tail))


MIN_CLIMB_ACCEL_MPS2 = 2.0
"""Least net acceleration along the path of a powered ascent (m/s²): thrust less weight
(and drag). The catalogue's first stages lift off at 12.5-50 m/s² of thrust (the
Chollima-1 at a thrust-to-weight of 1.28, net 2.7 m/s²). Flown by the simulator,
``|v|² / 2h`` over a boost stays above 5.4 m/s² for the heaviest (Hwasong-14 and -17),
13 for a Scud-B and 50 for a KN-25 (``tests/unit/test_tracker.py``)."""

LAUNCH_HEIGHT_M = 2_000.0
"""Height above the ellipsoid no launch site exceeds: a climb is counted from there."""


def least_climb_speed(height_m: FloatArray | float) -> FloatArray:
    """The least speed of a powered ascent at ``height_m`` (m/s): ``sqrt(2 a h)`` over the
    height climbed from :data:`LAUNCH_HEIGHT_M`, at :data:`MIN_CLIMB_ACCEL_MPS2`."""
    climb = np.maximum(np.asarray(height_m, dtype=np.float64) - LAUNCH_HEIGHT_M, 0.0)
    speed: FloatArray = np.sqrt(2.0 * MIN_CLIMB_ACCEL_MPS2 * climb)
    return speed


SHORTEST_RANGE_M = 30_000.0
"""The shortest ground range of a North Korean ballistic launch on record (m): a
Pukguksong-1 from Sinpo on 2016-04-23, 30 km; next a Hwasong-12 on 2017-04-04, 60 km
(the CNS data set, ``../shared/reference``)."""

_G0 = 9.80665  # standard gravity (m/s²), as tracking.propagate and sim spell it


def least_coast_speed(height_m: FloatArray | float, up_mps: FloatArray | float) -> FloatArray:
    """The least speed (m/s) of a body coasting at ``height_m``, climbing at ``up_mps``
    (negative: falling), on a ballistic arc at least :data:`SHORTEST_RANGE_M` long.

    Flat Earth and vacuum: the arc's apogee is ``H = h + up² / 2g`` above the ellipsoid
    (no launch site is below it), it spans ``2 sqrt(2H/g)`` seconds from the ground back
    to the ground, and its horizontal speed is constant, so a range of at least ``R``
    needs a horizontal speed of at least ``R sqrt(g / 8H)``. Air slows a body, but where
    a falling one is slow its vertical speed is large and ``H`` with it; the bound is 175
    m/s at a 36 km apogee and falls with the apogee's root (48 m/s at 470 km, 14 m/s at
    6,000 km: no bound on an ICBM's lofted arc)."""
    h = np.maximum(np.asarray(height_m, dtype=np.float64), 1.0)
    up = np.asarray(up_mps, dtype=np.float64)
    apogee = h + up * up / (2.0 * _G0)
    speed: FloatArray = SHORTEST_RANGE_M * np.sqrt(_G0 / (8.0 * apogee))
    return speed


def plausible(x: FloatArray, p: FloatArray, boost: FloatArray) -> BoolArray:
    """Whether each combined estimate (n, 6), (n, 6, 6) could be a missile's: it is
    not thrusting (boost probability over one half) while descending by more than half
    the standard deviation of its vertical speed, nor while slower, by more than half
    the standard deviation of its speed, than a climb to its height allows; and coasting,
    it is not slower, by two standard deviations of its speed, than both that climb and
    the slowest arc a launch on record has flown allow (:func:`least_coast_speed`).

    A ballistic missile climbs for as long as its motor burns, whatever its trajectory
    (lofted, depressed, an SLBM's). An estimate that thrusts downwards is following no
    missile: in a ripple from one site the plumes on the common path blend in a staring
    infrared sensor's pixels, and a track fed by them takes one missile's detection,
    then another's, its velocity swinging between theirs (on the 2024-05-29 salvo, US
    tracks that took up to ten missiles' detections, several seconds of them descending
    at hundreds of m/s while "thrusting").

    Nor does a missile thrust slowly high up: whatever its path, it has flown at least
    its height h since lift-off, at a net acceleration of at least
    :data:`MIN_CLIMB_ACCEL_MPS2` along it, so its speed is at least ``sqrt(2 a h)``
    (230 m/s at 13 km). A track fed by a ripple where each missile first comes into a
    sensor's view (the same point of the common path, seconds apart) hops from one
    missile's first detections to the next one's and barely moves: on the 2024-05-29
    salvo a US track "thrusting" at 99 m/s at 13.5 km, made of five missiles'
    detections, was reported and joined to the system track of the one it was nearest.

    A coasting body cannot hover either: at 36 km it is on an arc whose apogee is about
    there, and at under 175 m/s that arc lands within 30 km of where it began, shorter
    than any launch on record. A coasting estimate is held to the smaller of the two
    bounds (a thrusting missile its tracker judged coasting meets the climb's). A radar
    track fed by the merged returns of a ripple where the missiles' common path crosses
    its line of sight sits at one point, one missile after the next: on the twelve
    KN-25 of ``tongchon-kn25-12x2s`` (vacuum) a TPY-2 track at 35.8 km moving at 26-88
    m/s was reported and founded a system track (docs/score.md, "Stop 52").
    """
    pos, vel = x[:, 0:3], x[:, 3:6]
    r = np.linalg.norm(pos, axis=1)
    vertical = pos / r[:, None]
    up = np.einsum("ij,ij->i", vertical, vel)
    up_var = np.einsum("ij,ijk,ik->i", vertical, p[:, 3:6, 3:6], vertical)
    climbing = up >= -0.5 * np.sqrt(up_var)
    speed = np.maximum(np.linalg.norm(vel, axis=1), 1e-9)
    along = vel / speed[:, None]
    speed_var = np.einsum("ij,ijk,ik->i", along, p[:, 3:6, 3:6], along)
    height = height_rows(pos.T)
    climb = least_climb_speed(height)
    fast = speed + 0.5 * np.sqrt(speed_var) >= climb
    # Judged coasting, it is held only when known slow, by two sigma: a track begun on a
    # falling body low in the air, or on a boost its filter has not yet caught, has a
    # speed known to 200 m/s and is not to wait for its first report on that.
    moving = speed + 2.0 * np.sqrt(speed_var) >= np.minimum(climb, least_coast_speed(height, up))
    return cast(BoolArray, (climbing & fast) | ((boost <= 0.5) & moving))
