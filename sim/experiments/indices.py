"""Designs and sensitivity indices, through SALib (Herman & Usher 2017; Iwanaga et al. 2022).

* **Designs.** Sobol' (Saltelli's extension of a scrambled Sobol' sequence, first and total
  order: ``N (D + 2)`` points), Morris (``r`` one-at-a-time trajectories on a 4-level grid:
  ``r (D + 1)`` points), Latin hypercube, or a user's table. Seeded: the same file gives the
  same design.
* **Replications.** Each design point runs ``R`` times with common random numbers (replication
  i has the same seed at every point); the indices use the point means. The share of variance
  due to run-to-run noise is ``mean_j var_i(y_ij) / var(y)`` over all runs (the within-point
  variance against the total): near 1, the outcome is noise and the indices mean little; SALib's
  issue #292 asks tools to report it.
* **Indices.** Sobol' first-order ``S1`` and total ``ST`` with bootstrap 95% intervals (SALib's
  ``sobol.analyze``); Morris ``mu_star`` (mean absolute elementary effect) with its bootstrap
  interval, and ``sigma`` (their spread: interactions or non-linearity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

RESAMPLES = 1000  # SALib's bootstrap resamples for the intervals


def problem(names: Sequence[str], bounds: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """SALib's problem dictionary."""
    return {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}


def sample(method: str, prob: dict[str, Any], n: int, seed: int) -> np.ndarray:
    """The design: one row per point, one column per variable (``method``: sobol, morris or lhs)."""
    from SALib.sample import latin, morris, sobol

    if method == "sobol":
        return sobol.sample(prob, n, calc_second_order=False, seed=seed)
    if method == "morris":
        return morris.sample(prob, n, num_levels=4, seed=seed)
    if method == "lhs":
        return latin.sample(prob, n, seed=seed)
    raise ValueError(f"unknown method {method!r}")


def noise_share(y: np.ndarray) -> float:
    """Share of the variance of single runs that lies within design points (``y``: points x replications)."""
    if y.shape[1] < 2:
        return float("nan")
    total = float(np.var(y, ddof=1))
    return float(np.mean(np.var(y, axis=1, ddof=1)) / total) if total > 0 else float("nan")


def analyze(method: str, prob: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int) -> pd.DataFrame:
    """Indices of one outcome (``y``: points x replications) per variable, with 95% intervals.

    Returns:
        One row per variable: for sobol S1, S1_low, S1_high, ST, ST_low, ST_high; for morris
        mu_star, mu_star_low, mu_star_high, sigma; plus the noise share (the same in every row).
    """
    from SALib.analyze import morris, sobol

    mean = y.mean(axis=1)
    rows = pd.DataFrame({"variable": prob["names"]})
    if np.ptp(mean) == 0.0:  # a constant outcome has no variance to apportion
        rows["note"] = "constant outcome: no index"
    elif method == "sobol":
        s = sobol.analyze(prob, mean, calc_second_order=False, num_resamples=RESAMPLES, seed=seed)
        for k in ("S1", "ST"):
            rows[k], rows[f"{k}_low"], rows[f"{k}_high"] = s[k], s[k] - s[f"{k}_conf"], s[k] + s[f"{k}_conf"]
    elif method == "morris":
        s = morris.analyze(prob, x, mean, num_resamples=RESAMPLES, num_levels=4, seed=seed)
        rows["mu_star"] = s["mu_star"]
        rows["mu_star_low"], rows["mu_star_high"] = s["mu_star"] - s["mu_star_conf"], s["mu_star"] + s["mu_star_conf"]
        rows["sigma"] = s["sigma"]
    else:
        raise ValueError(f"{method}: a design without indices (use it for scenario discovery or your own analysis)")
    rows["noise_share"] = noise_share(y)
    return rows
