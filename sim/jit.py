"""The compiler for the submodels: numba's ``njit``, cached on disk.

The rules run as compiled loops over provinces and actors: a month of the whole
model costs tens of microseconds, so thousands of replications fit in a sweep.
Setting the environment variable ``SIM_NO_JIT=1`` runs the same functions as
plain Python (slow, but steppable in a debugger and visible to coverage).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

if os.environ.get("SIM_NO_JIT") == "1":

    def jit(func: Callable[..., Any]) -> Callable[..., Any]:
        """Return the function unchanged (JIT disabled)."""
        return func

else:
    from numba import njit

    def jit(func: Callable[..., Any]) -> Callable[..., Any]:
        """Compile a submodel function (no fast-math, so results are bit-reproducible)."""
        return njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(func)
