"""The compiler for the submodels: numba's ``njit``, cached on disk.

The rules run as compiled loops over provinces and actors: a month of the whole
model costs tens of microseconds, so thousands of replications fit in a sweep.
Setting the environment variable ``SIM_NO_JIT=1`` runs the same functions as
plain Python (slow, but steppable in a debugger and visible to coverage).

numba's disk cache knows a function by its own file only, while the schedule's kernel
links in every phase from other files: an edit to a mechanism would leave a stale
schedule in the cache. The cache therefore lives in a folder named by a hash of every
file compiled code comes from (:func:`kernel_sources`), so any edit compiles afresh.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

if os.environ.get("SIM_NO_JIT") == "1":

    def jit(func: Callable[..., Any]) -> Callable[..., Any]:
        """Return the function unchanged (JIT disabled)."""
        return func

    entry = jit

    def fma(a: float, b: float, c: float) -> float:
        """``a * b + c`` rounded once (exact rational arithmetic; slow, for debugging only)."""
        return float(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)))


def kernel_sources() -> list[Path]:
    """The files whose code the compiled kernels are built from."""
    root = Path(__file__).resolve().parent
    return sorted([root / "jit.py", root / "bundles.py", root / "parameters.py", root / "recorder.py",
                   root / "schedule.py", *(root / "mechanics").glob("*.py")])


def cache_folder() -> Path:
    """Where numba caches the kernels: named by a hash of their sources (see the module docstring)."""
    h = hashlib.sha256()
    for f in kernel_sources():
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR") or str(Path(__file__).resolve().parent / "__pycache__")
    return Path(base) / f"kernels-{h.hexdigest()[:16]}"


if os.environ.get("SIM_NO_JIT") != "1":
    import warnings

    import numba
    from llvmlite import ir
    from numba import njit, types
    from numba.core import cgutils
    from numba.core.errors import NumbaExperimentalFeatureWarning
    from numba.extending import intrinsic

    # the schedule calls its phases through a tuple of compiled functions (numba's
    # first-class functions, still called experimental); they are tested like the rest
    warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)
    numba.config.CACHE_DIR = str(cache_folder())  # read when each kernel below is decorated

    def jit(func: Callable[..., Any]) -> Callable[..., Any]:
        """Compile a rule (no fast-math, so results are bit-reproducible), to be inlined where it is called.

        Inlining (at numba's IR level) matters: a compiled call that takes the bundles
        counts a reference to every array in them on the way in and out, which cost a
        third of a month's time before the rules were inlined into the schedule.
        """
        return njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")(func)

    def entry(func: Callable[..., Any]) -> Callable[..., Any]:
        """Compile an entry point of compiled code (called from Python; not inlined)."""
        return njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(func)

    @intrinsic
    def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``: correctly rounded on every CPU)."""
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            double = ir.DoubleType()
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(double, [double] * 3),
                                                "llvm.fma.f64")
            return builder.call(fn, args)

        return sig, codegen


@jit
def dot(x: np.ndarray, y: np.ndarray) -> float:
    """``sum_i x_i y_i`` accumulated in order with fused multiply-adds.

    This is what numpy's ``@`` computes for short vectors on CPUs with FMA (OpenBLAS's
    scalar loop), so results stay those of the earlier Python code; unlike BLAS, it
    gives the same bits on every CPU and for every length.
    """
    out = 0.0
    for i in range(x.shape[0]):
        out = fma(y[i], x[i], out)
    return out
