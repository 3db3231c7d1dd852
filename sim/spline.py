"""Piecewise cubic Hermite interpolation of a flight's state, vectorised over time."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from trilink.geodesy import FloatArray


@dataclass(frozen=True, slots=True)
class Spline:
    """Piecewise cubic Hermite interpolant of the state (r, v) on a time grid.

    On each interval the 6-state is a cubic in s = (t - t_i) / h_i matching the state
    and its derivative (v, a) at both knots; a knot is duplicated where the thrust
    jumps (staging, burnout) so each side keeps its own acceleration.
    """

    knots: FloatArray
    knot_list: list[float]
    inv_h: FloatArray
    coef: FloatArray  # (intervals, 4, 6): y = c0 + c1 s + c2 s² + c3 s³

    @classmethod
    def fit(cls, t: FloatArray, y: FloatArray, dy: FloatArray) -> Spline:
        h = np.diff(t)
        h_safe = np.where(h > 0.0, h, 1.0)
        y0, y1 = y[:-1], y[1:]
        d0, d1 = dy[:-1] * h_safe[:, None], dy[1:] * h_safe[:, None]
        coef = np.stack(
            [y0, d0, 3.0 * (y1 - y0) - 2.0 * d0 - d1, 2.0 * (y0 - y1) + d0 + d1], axis=1
        )
        return cls(t, t.tolist(), 1.0 / h_safe, coef)

    def scalar(self, t: float) -> FloatArray:
        i = min(max(bisect.bisect_right(self.knot_list, t) - 1, 0), len(self.knot_list) - 2)
        s = (t - self.knot_list[i]) * self.inv_h[i]
        c = self.coef[i]
        result: FloatArray = ((c[3] * s + c[2]) * s + c[1]) * s + c[0]
        return result

    def vector(self, t: FloatArray) -> FloatArray:
        i = np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, len(self.knots) - 2)
        s = ((t - self.knots[i]) * self.inv_h[i])[:, None]
        c = self.coef[i]
        result: FloatArray = ((c[:, 3] * s + c[:, 2]) * s + c[:, 1]) * s + c[:, 0]
        return result
