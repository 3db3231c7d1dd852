"""The error root of the measurement package.

A sibling of :class:`tracking.errors.TrackingError` rather than a child: measurement
stands on a lower floor than tracking (the simulator uses it too) and cannot import it.
"""

from __future__ import annotations

from trilink.errors import TrilinkError


class MeasurementError(TrilinkError, ValueError):
    """A measurement model that cannot be built (e.g. the wrong number of sigmas).

    Also a ``ValueError``, which is what it was before it had a family of its own.
    """
