"""Compile every flight kernel once, ahead of the first report (``python -m tracking.warmup``).

The kernels of :mod:`trilink.jit` compile on their first call and cache the machine
code beside their source; a cold cache costs a process tens of seconds before its
first impact point. ``make install`` runs this module so that services, tests and the
demo start from a warm cache; a service that finds it cold still works, only late.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from tracking import ekf
from tracking.impact import crossing
from tracking.propagate import ground_crossing, propagate, propagate_state
from trilink.jit import available

log = logging.getLogger(__name__)

# A missile 60 km up over the Sea of Japan, climbing east (ECEF, m and m/s).
_STATE = np.array([-3.16e6, 3.93e6, 3.98e6, 1200.0, 800.0, 1500.0])


def warm_up() -> float:
    """Run each kernel on every argument type the trackers and the bridge use; the
    seconds it took (compiling on a cold cache, loading on a warm one)."""
    t0 = time.perf_counter()
    x, p = _STATE, np.diag([100.0] * 3 + [10.0] * 3)
    for air in (0.0, 1.0):
        crossing(x, p, air=air)
        crossing(x, air=air)
    crossing(x, p, backwards=True)
    for flag in (False, True):
        propagate(x, p, 3.0, 10.0, air=flag)
        propagate_state(x, 3.0, air=flag)
        ground_crossing(x, p, air=flag)
    one = np.ones(1)
    ekf.propagate_many(x[None], p[None], one, one, thrust=one)
    x7 = np.append(x, 1.0)[None]
    p7 = np.diag([100.0] * 3 + [10.0] * 3 + [0.1])[None]
    ekf.propagate_many(x7, p7, one, one, air=True, thrust=one, drag_noise=one, body_drift=1e-3)
    ekf.propagate_many(x[None], p[None], one, one, air=True)
    return time.perf_counter() - t0


def main() -> None:
    """Warm the cache and say how long it took."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not available():
        log.info("numba is not installed: the flight kernels run as plain Python")
        return
    log.info("flight kernels ready in %.1f s", warm_up())


if __name__ == "__main__":
    main()
