"""Compile the bridge's kernels and the flight kernels once (``python -m bridge.warmup``).

The bridge's small-matrix arithmetic (covariance intersection, Mahalanobis
distances) runs in compiled kernels like the flight's (:mod:`trilink.jit`), which
compile on their first call and cache the machine code beside their source.
``make install`` runs this module so that a service's first report meets a warm
cache.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from bridge.association import Gate, mahalanobis2
from bridge.estimate import Estimate
from bridge.fusion import CovarianceIntersection
from tracking.warmup import warm_up as warm_flight
from trilink.jit import available

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Run every kernel of the bridge and of the flight once; the seconds it took."""
    t0 = time.perf_counter()
    warm_flight()
    x = np.array([-3.16e6, 3.93e6, 3.98e6, 1200.0, 800.0, 1500.0])
    a = Estimate(0, x, np.diag([100.0] * 3 + [10.0] * 3))
    b = Estimate(0, x + 50.0, np.diag([10.0] * 3 + [100.0] * 3))
    for criterion in ("det", "fast"):
        CovarianceIntersection(criterion)([a, b])
    mahalanobis2(a, b)
    Gate().cost(a, b)
    return time.perf_counter() - t0


def main() -> None:
    """Warm the cache and say how long it took."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not available():
        log.info("numba is not installed: the kernels run as plain Python")
        return
    log.info("bridge and flight kernels ready in %.1f s", warm_up())


if __name__ == "__main__":
    main()
