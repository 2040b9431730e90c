"""Scenario discovery: which combinations of uncertainties and levers lead to an outcome (PRIM).

The Patient Rule Induction Method (Friedman & Fisher 1999; Bryant & Lempert 2010), as EMA
workbench implements it (``ema_workbench.analysis.prim``), peels the design space into a box
of the inputs where the outcome of interest concentrates. Each run is a case: ``y`` says
whether its outcome passes the experiment's threshold. A box is read by its **coverage** (the
share of all the cases of interest that fall inside it) and its **density** (the share of
the runs inside it that are cases of interest); along the peeling trajectory, density rises
as coverage falls. The box chosen is the one of largest coverage whose density reaches the
experiment's ``density``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def discover(x: pd.DataFrame, y: np.ndarray, density: float) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """PRIM on the runs: the peeling trajectory, and the limits of the chosen box (None: no box reaches ``density``).

    Args:
        x: one row per run, one column per uncertainty or lever.
        y: whether each run's outcome is of interest.
        density: the density the chosen box must reach.
    """
    y = np.asarray(y, bool)
    if y.all() or not y.any():  # nothing to tell apart: PRIM needs cases of both kinds
        share = float(y.mean()) if y.size else 0.0
        return pd.DataFrame({"coverage": [1.0], "density": [share], "mass": [1.0], "res_dim": [0]}), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA workbench warns about optional parallel back-ends it lacks
        from ema_workbench.analysis import prim

        box = prim.Prim(x.reset_index(drop=True), y, threshold=density).find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].copy()
    good = trajectory[trajectory["density"] >= density]
    if good.empty:
        return trajectory, None
    best = int(good["coverage"].idxmax())
    limits = box.box_lims[best].T.set_axis(["low", "high"], axis=1).rename_axis("variable").reset_index()
    limits["restricted"] = [(lo > x[v].min() + 1e-12) or (hi < x[v].max() - 1e-12)
                            for v, lo, hi in zip(limits["variable"], limits["low"], limits["high"], strict=True)]
    limits["coverage"], limits["density"] = trajectory.loc[best, "coverage"], trajectory.loc[best, "density"]
    return trajectory, limits


def words(limits: pd.DataFrame | None, share: float, what: str, density: float) -> str:
    """The box in a sentence."""
    if limits is None:
        return (f"{what} in {share:.0%} of runs; no box of the inputs reaches a density of {density:.0%}: the "
                "outcome does not concentrate in any region of the design.")
    rules = [f"{r.variable} in [{r.low:.3g}, {r.high:.3g}]" for r in limits.itertuples() if r.restricted]
    r0 = limits.iloc[0]
    return (f"{what} in {share:.0%} of runs. Where {' and '.join(rules) or 'anywhere'}, it happens in "
            f"{r0.density:.0%} of runs (density), and that region holds {r0.coverage:.0%} of all such runs "
            "(coverage).")
