"""Detections of unresolved objects (*blends*), read with a wider measurement model.

A sensor that cannot resolve closely spaced objects reports one detection at their
amplitude-weighted centroid (``sim.resolution``), which wanders between them from
scan to scan. A radar can tell such a return from a point target's (the monopulse
ratio's quadrature part, the return's extent in range: Blair & Brandt-Pearce,
"Unresolved Rayleigh target detection using monopulse measurements", IEEE TAES 1998);
the tracker then reads it with the noise of the resolution cell added
(:func:`measurement.models.blended`), the simplest of the merged-measurement models
(Koch & van Keuk; Blom & Bloem's JPDA with merged measurements). A track on a group
thus keeps a covariance as wide as what it follows, and its nation's warnings say so:
the bridge sees it near each member instead of sure of a point between them.

The sensor here always knows which of its detections blend (a simplification: the
test above misses some at low signal-to-noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from measurement.models import MeasurementModel
from tracking import ekf
from trilink.geodesy import FloatArray

BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Blends:
    """Which detections of a scan blend unresolved objects, and how they are read."""

    mask: BoolArray  # (m,) one per detection row
    model: MeasurementModel  # the sensor's model widened by its cell (``blended``)

    @property
    def rows(self) -> NDArray[np.intp]:
        return np.flatnonzero(self.mask)


@dataclass(frozen=True, slots=True)
class Reading:
    """Every (track model, detection) pair's d² and ln|S|, blends read as such."""

    d2: FloatArray  # (2n, m)
    logdet: FloatArray  # (2n, m)
    blend: ekf.Predicted | None  # the tracks' predictions under the blends' model

    def pairs(
        self, rows: NDArray[np.intp], cols: NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray]:
        """(d², ln|S|) of the pairs (``rows[k]``, ``cols[k]``)."""
        return self.d2[rows, cols], self.logdet[rows, cols]


def read(
    pred: ekf.Predicted,
    nu: FloatArray,
    x: FloatArray,
    p: FloatArray,
    blends: Blends | None,
) -> Reading:
    """The d² and ln|S| of innovations ``nu`` (2n, m, dim) of states ``x``, ``p`` (2n, ...)
    whose predictions under the sensor's own model are ``pred``."""
    d2 = np.einsum("nmi,nij,nmj->nm", nu, pred.s_inv, nu)
    # A view, not a copy, on every scan without blends (most of them).
    logdet = np.broadcast_to(pred.logdet[:, None], d2.shape)
    if blends is None or not blends.mask.any():
        return Reading(d2, logdet, None)
    logdet = logdet.copy()
    blend = ekf.Predicted.of(blends.model, x, p)
    cols = blends.rows
    d2[:, cols] = np.einsum("nmi,nij,nmj->nm", nu[:, cols], blend.s_inv, nu[:, cols])
    logdet[:, cols] = blend.logdet[:, None]
    return Reading(d2, logdet, blend)
