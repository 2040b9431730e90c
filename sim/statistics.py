"""Statistics of replications: quantile bands, intervals, effect sizes, replication counts.

Pure functions on numpy arrays; :mod:`sim.analysis`, :mod:`sim.plots` and :mod:`sim.report`
all take their bands from :func:`bands`, so a median in a table and in a figure is one number.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as st

BOOTSTRAP = 2000  # resamples for confidence intervals
BOOTSTRAP_SEED = 20221001  # fixed: a report is reproducible to the digit
Z95 = 1.959963984540054
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # the 90% band, the 50% band and the median
BAND_NAMES = ("q05", "q25", "median", "q75", "q95")  # column names of QUANTILES in every table


def bands(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The quantiles QUANTILES of ``x`` along ``axis``: an array of 5 on the first axis.

    Args:
        x: values, e.g. replications x steps; NaN (a replication missing at a step, after a
            failed run) is left out of its step's bands.
        axis: the axis of the replications.

    Returns:
        ``out[k]`` is quantile QUANTILES[k] (numpy's default, linear interpolation).
    """
    x = np.asarray(x, dtype=float)
    return np.nanquantile(x, QUANTILES, axis=axis) if np.isnan(x).any() else np.quantile(x, QUANTILES, axis=axis)


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion k/n (``scipy.stats.binomtest``'s, without continuity correction)."""
    if n == 0:
        return (math.nan, math.nan)
    ci = st.binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return (max(0.0, float(ci.low)), min(1.0, float(ci.high)))


def bootstrap_ci(x: np.ndarray, stat=np.mean, resamples: int = BOOTSTRAP,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of a statistic (seeded: reproducible)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    # resamples drawn in blocks of about 4 million indices, so memory stays bounded for large
    # samples (one call for 2,000 or fewer values); the blocks depend on the sample size only,
    # so the interval is reproducible
    block = max(1, min(resamples, 4_000_000 // x.size))
    stats = np.concatenate([stat(x[rng.integers(0, x.size, size=(min(block, resamples - k), x.size))], axis=1)
                            for k in range(0, resamples, block)])
    return (float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975)))


_COUNTS: dict[tuple[int, int, int], np.ndarray] = {}  # (n, resamples, seed) -> resample counts, the last few


def _resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) how often each value is drawn in each resample of :func:`bootstrap_ci` (float32: exact)."""
    key = (n, resamples, seed)
    if key not in _COUNTS:
        rng = np.random.default_rng(seed)
        block = max(1, min(resamples, 4_000_000 // n))  # the same blocks, so the same draws, as bootstrap_ci
        parts = []
        for k in range(0, resamples, block):
            idx = rng.integers(0, n, size=(min(block, resamples - k), n))
            flat = (idx + np.arange(idx.shape[0])[:, None] * n).ravel()
            parts.append(np.bincount(flat, minlength=idx.size).reshape(idx.shape).astype(np.float32))
        counts = np.concatenate(parts)
        if len(_COUNTS) >= 4:
            _COUNTS.pop(next(iter(_COUNTS)))
        _COUNTS[key] = counts
    return _COUNTS[key]


def bootstrap_mean_cis(x: np.ndarray, resamples: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """:func:`bootstrap_ci` of the mean of each column of ``x`` (n, k), at once: a (k, 2) array.

    The resamples are :func:`bootstrap_ci`'s (same seed, same draws); each resample's means
    are one row of a matrix product of how often each value was drawn with ``x``, which an
    interactive page can afford for 10,000 pairs where drawing 2,000 x 10,000 indices per
    column cannot. The product is in single precision: bounds agree with :func:`bootstrap_ci`'s
    to about 1e-6 of the values' spread.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        return np.full((x.shape[1] if x.ndim == 2 else 1, 2), math.nan)
    centre = x.mean(axis=0)
    means = _resample_counts(x.shape[0], resamples, seed) @ (x - centre).astype(np.float32) / x.shape[0] + centre
    return np.quantile(means, [0.025, 0.975], axis=0).T


def a12(x: np.ndarray, y: np.ndarray) -> float:
    """Vargha-Delaney A12: the probability that a draw from x exceeds one from y (ties count half).

    0.5 means no effect; 0.56, 0.64 and 0.71 are the conventional small, medium and large
    thresholds (Vargha & Delaney 2000).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size == 0 or y.size == 0:
        return math.nan
    ranks = pd.Series(np.concatenate([x, y])).rank().to_numpy()
    r1 = ranks[: x.size].sum()
    return float((r1 / x.size - (x.size + 1) / 2) / y.size)


def a12_magnitude(a: float) -> str:
    """Vargha-Delaney's verbal scale for |A12 - 0.5|."""
    d = abs(a - 0.5)
    return "negligible" if d < 0.06 else "small" if d < 0.14 else "medium" if d < 0.21 else "large"


def runs_needed(sd: float, half_width: float) -> int:
    """Replications for a 95% CI of the mean no wider than +-half_width (normal approximation)."""
    if not half_width > 0 or not np.isfinite(sd):
        return 0
    return max(2, math.ceil((Z95 * sd / half_width) ** 2))
