"""Results folders handed to other tools without glue code: EMA workbench's and SALib's shapes, an actors table.

* :func:`ema` gives EMA workbench's ``(experiments, outcomes)``: one row per run (its scenario,
  point, replication, seed and swept values) and a dict of outcome arrays, one value per run
  at a month, or one row per run over every step (EMA's time series), for
  ``ema_workbench.analysis`` (``prim.Prim``, ``feature_scoring``, ``pairs_plotting``...).
* :func:`salib` gives SALib's ``(problem, X, Y)`` for a folder whose points are a SALib design
  (``run.py sensitivity`` writes one in ``<out>/runs``): the swept columns in point order and each
  point's mean outcome, for ``SALib.analyze.*.analyze(problem, Y)`` (Sobol) or ``(problem, X, Y)``.
* :func:`actors` gives each scenario's actors with their kind, label and side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import at_months, load_outcomes
from sim.outcomes import side


def actors(folder: str | Path) -> pd.DataFrame:
    """Every scenario's factions and donors: scenario, actor, role, kind, label and side."""
    from sim.folder import manifest_of

    man = manifest_of(Path(folder)) or {}
    rows = []
    for sc in man.get("scenarios", []):
        spec = sc["resolved_scenario"]
        for key, f in spec["factions"].items():
            rows.append({"scenario": spec["name"], "actor": key, "role": "faction", "kind": f["kind"],
                         "label": f.get("label") or key, "side": side(f["kind"])})
        for key, d in spec["donors"].items():
            rows.append({"scenario": spec["name"], "actor": key, "role": "donor", "kind": d.get("kind", "state"),
                         "label": d.get("label") or key, "side": ""})
    return pd.DataFrame(rows)


def ema(folder: str | Path, outcomes: Sequence[str] = ("resistance_territory", "government_territory"),
        month: float | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """EMA workbench's ``(experiments, outcomes)`` of a results folder.

    Args:
        folder: a results folder (from ``run.py run``, or ``<out>/runs`` of ``run.py sensitivity``).
        outcomes: outcome columns of :func:`sim.analysis.outcomes`.
        month: one value per run at this month; None: each run's whole trajectory (runs x steps).
    """
    out, res = load_outcomes(folder)
    return ema_of(out, res.swept, outcomes, month)


def ema_of(out: pd.DataFrame, swept: Sequence[str], outcomes: Sequence[str],
           month: float | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """:func:`ema` on outcomes already read (``sim.analysis.load_outcomes``), with the swept paths."""
    keys = ["scenario", "point", "replication"]
    runs = out.drop_duplicates(keys).sort_values(keys, ignore_index=True)
    experiments = runs[[*keys, "seed", *swept]].rename(columns={"point": "policy"}).reset_index(drop=True)
    if month is not None:
        at = at_months(out, [month]).set_index(keys).loc[pd.MultiIndex.from_frame(runs[keys])]
        return experiments, {o: at[o].to_numpy(float) for o in outcomes}
    cubes = {o: out.pivot_table(index=keys, columns="step", values=o, observed=True)
             .loc[pd.MultiIndex.from_frame(runs[keys])].to_numpy(float) for o in outcomes}
    return experiments, cubes


def salib(folder: str | Path, outcome: str, month: float) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """SALib's ``(problem, X, Y)``: the swept columns per point (in point order) and each point's mean outcome.

    The bounds are the swept values' range; the rows must be a SALib design for the indices to
    mean anything (the order matters for Sobol).
    """
    out, res = load_outcomes(folder)
    if not res.swept:
        raise ValueError(f"{folder}: nothing is swept; SALib needs a design of swept values")
    at = at_months(out, [month])
    points = at.groupby("point", sort=True)
    x = points[res.swept].first().to_numpy(float)
    y = points[outcome].mean().to_numpy(float)
    prob = {"num_vars": len(res.swept), "names": list(res.swept),
            "bounds": [[float(x[:, j].min()), float(x[:, j].max())] for j in range(x.shape[1])]}
    return prob, x, y
