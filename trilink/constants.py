"""Constants shared by every package: time units, the sharing nations, array types."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from trilink.model import Nation
from trilink.timeutil import US_PER_S

US: Final = US_PER_S
"""Microseconds per second: every timestamp on the wire is an integer count of µs."""

NATIONS: Final = (Nation.KOR, Nation.JPN, Nation.USA)
"""The three nations of the trilateral arrangement, in the order tables show them."""

FloatArray = NDArray[np.float64]
"""A float64 numpy array: states, covariances, positions."""
