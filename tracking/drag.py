"""The trackers' model of atmospheric drag: a nominal re-entry body in an exponential air.

The trackers never know a missile's ballistic coefficient β = m / (C_d A) (the
simulator's truth ranges from ~3,000 kg/m² for a tumbling Scud body to ~12,000 for
an ICBM's re-entry vehicle). They fly every track with the *nominal* body of
:mod:`trilink.air` (β 6,000 kg/m² in a single-exponential atmosphere) and carry
what that nominal model can get wrong as process noise: the drag deceleration is
uncertain by ``DRAG_SPREAD`` of itself (β between half and twice the nominal), as a
first-order Markov acceleration of ``DRAG_TAU_S`` correlation time, whose
white-noise equivalent spectral density is ``2 σ² τ``. Outside the air (above
``CEILING_M``) both vanish and the filters fly the vacuum dynamics as before.

The national trackers estimate the scale of the nominal drag a body has as a state
of their filters (``TrackerConfig.estimate_drag``, :func:`tracking.ekf.propagate_many`);
that state's uncertainty then stands for the body's, and the noise above is kept only
for the trackers' air's own error (``TrackerConfig.drag_floor``).
"""

from __future__ import annotations

import numpy as np

from trilink.air import CEILING_M, RHO0, SCALE_H_M, K, drag_coefficient, height_rows
from trilink.geodesy import FloatArray
from trilink.jit import kernel

DRAG_SPREAD = 0.5  # 1-sigma relative error of the nominal drag
DRAG_TAU_S = 3.0


@kernel
def drag_q(h_m: float, speed_mps: float) -> float:
    """Spectral density (m²/s³) of the nominal drag's error at this height and speed."""
    sigma = DRAG_SPREAD * drag_coefficient(h_m) * speed_mps * speed_mps
    return 2.0 * sigma * sigma * DRAG_TAU_S


def drag_coefficient_rows(r: FloatArray) -> FloatArray:
    """:func:`drag_coefficient` over position rows (3, n)."""
    h = height_rows(r)
    k: FloatArray = np.where(h < CEILING_M, RHO0 * np.exp(-np.maximum(h, 0.0) / SCALE_H_M) * K, 0.0)
    return k
