"""Compile the float kernels of flight propagation to machine code with Numba.

Propagating a state to the ground is hundreds of Runge-Kutta steps of scalar
arithmetic: in CPython each step costs microseconds of interpreter overhead, and
impact prediction was two thirds of a simulation's time (BENCHMARKS.md, section 5).
:func:`kernel` compiles such a function with Numba (``nopython`` mode, no fast-math)
on its first call and caches the machine code beside the source, so later processes
load it instead of compiling.

Two consequences for whoever works on a kernel:

* module constants are compiled in: patching ``trilink.air.K`` in a test changes
  nothing a kernel computes (pass the quantity as an argument instead);
* results agree with the Python body to rounding, not bit for bit (the compiler may
  evaluate ``x**3`` as two products, where CPython calls ``pow``). Runs stay
  deterministic: the same inputs give the same bytes in one environment.

The Python body stays the reference: ``python(fn)`` runs it uncompiled, and with
``NUMBA_DISABLE_JIT=1`` in the environment, or without Numba, every kernel runs as
written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

try:  # pragma: no cover - which branch runs depends on the environment
    import numba
except ImportError:  # pragma: no cover
    numba = None  # type: ignore[assignment]


def available() -> bool:
    """Whether kernels are compiled (Numba is importable)."""
    return numba is not None


def kernel(fn: F) -> F:
    """``fn`` compiled by Numba (lazily, on first call; cached on disk), or ``fn`` itself
    without Numba. ``fn`` may use only floats, ints, tuples, small numpy arrays,
    ``math`` and other kernels."""
    if numba is None:
        return fn
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def contiguous(a: Any) -> Any:
    """``a`` as a C-contiguous float64 array, the one layout kernels taking arrays are
    compiled for (a transposed or sliced argument would compile a second version)."""
    return np.ascontiguousarray(a, dtype=np.float64)


def python(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The pure-Python body of a kernel (itself if it is not compiled)."""
    return cast(Callable[..., Any], getattr(fn, "py_func", fn))
