"""Assignments a single-scan tracker should not trust: closely spaced objects.

A global nearest neighbour commits to its choice of detection for every track. When
two objects sit inside one sensor's error (two missiles 800 m apart seen by a radar
whose cross-range error at 300 km is 600 m) that choice is a coin toss, and a track
that takes the other missile's detection every few scans is pulled between the two
until both tracks sit between them, taking either detection (coalescence).
:func:`ambiguous` finds the choices another track could have made about as well
(only where :func:`contested` says a detection lies in two gates); :func:`hold` takes
them out of an assignment, so that those tracks coast through the
scan and the sensors that do separate the objects keep them apart. Leaving ambiguous
detections unused is what a single-scan assigner can do short of deferring the
decision (multiple hypotheses).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from trilink.geodesy import FloatArray

UNGATED = 1e12
"""The assignment cost of a (track, detection) pair outside the gate."""


def ambiguous(
    cost: FloatArray, assigned: dict[int, int], threshold: float, idle: Sequence[int] = ()
) -> list[int]:
    """The tracks of ``assigned`` (track row -> detection column of ``cost``) whose
    detection another track could have taken just as well: swapping two assigned
    tracks' detections, or giving the detection to an ``idle`` track (one that took
    none: its own missile went undetected, or the two missiles gave one blended
    detection), costs less than ``threshold`` more.

    ``cost`` is the assignment's -2 log-likelihood per (track, detection), so the
    alternative is at least ``exp(-threshold / 2)`` as likely as the choice.
    """
    rows = np.fromiter(assigned, dtype=np.intp, count=len(assigned))
    cols = np.fromiter(assigned.values(), dtype=np.intp, count=len(assigned))
    c = cost[np.ix_(rows, cols)]
    chosen = np.diag(c)
    swap = c + c.T - chosen[:, None] - chosen[None, :]
    np.fill_diagonal(swap, np.inf)
    close = (swap < threshold).any(axis=1)
    if len(idle):
        given = cost[np.ix_(np.asarray(idle, dtype=np.intp), cols)] - chosen[None, :]
        close |= (given < threshold).any(axis=0)
    return [int(rows[k]) for k in np.flatnonzero(close)]


def contested(cost: FloatArray, assigned: dict[int, int]) -> bool:
    """Whether some detection of ``assigned`` lies in a second track's gate (``cost``
    holds :data:`UNGATED` outside the gates): if none does, none is ambiguous."""
    cols = np.fromiter(assigned.values(), dtype=np.intp, count=len(assigned))
    return bool(((cost[:, cols] < UNGATED).sum(axis=0) > 1).any())


def hold(
    cost: FloatArray,
    assigned: dict[int, int],
    threshold: float,
    confirmed: Collection[int],
    may_hold: Collection[int],
) -> dict[int, int]:
    """Remove from ``assigned`` (and return) the tracks of ``may_hold`` whose detection
    is :func:`ambiguous` against the other ``confirmed`` tracks (assigned or idle)."""
    eligible = {i: assigned[i] for i in may_hold if i in assigned}
    idle = [i for i in confirmed if i not in assigned]
    if not eligible or len(eligible) + len(idle) < 2:
        return {}
    held = {i: eligible[i] for i in ambiguous(cost, eligible, threshold, idle)}
    for i in held:
        del assigned[i]
    return held
