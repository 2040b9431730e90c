"""Analysis of results folders: outcomes, paired comparisons, end-state probabilities, adequacy.

Everything here reads results folders only, so batches run elsewhere can be analysed
anywhere, and every function is importable for notebooks::

    from sim.analysis import load, outcomes, paired_differences
    res = load("results/batch_a", "results/batch_b")
    out = outcomes(res)                        # one row per (group, replication, step)
    paired_differences(out, baseline="baseline", months=[12, 36, 60])

A *group* is one scenario at one sweep point. Comparisons against the baseline pair
runs by replication: replication i used the same seed and random streams in every
group (common random numbers), so the paired difference removes the shared noise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calendar import STEP_MONTHS
from sim.outcomes import (
    COMPARED,
    OUTCOMES,
    RESISTANCE_PROVINCES,
    RESISTANCE_TERRITORY,
    SPLIT,
    side,
)
from sim.statistics import Z95, a12, a12_magnitude, bands, bootstrap_ci, runs_needed, wilson


@dataclass
class Results:
    """Tables and metadata of one or more results folders.

    Attributes:
        trajectories: the trajectories table of every folder.
        government: the government table (cohesion, legitimacy).
        manifests: the manifest of each folder.
        kinds: (scenario, actor) -> faction kind, from the resolved scenarios.
        splits: scenario -> key of the government's breakaway, if it has one.
        months_per_step: scenario -> step length in months.
        swept: the swept paths (columns of trajectories).
    """

    trajectories: pd.DataFrame
    government: pd.DataFrame
    manifests: list[dict[str, Any]]
    kinds: dict[tuple[str, str], str]
    splits: dict[str, str]
    months_per_step: dict[str, float]
    swept: list[str]


def _read_meta(folders: Sequence[str | Path]) -> Results:
    """Manifests and what they say of the scenarios; tables left empty."""
    mans: list[dict[str, Any]] = []
    kinds: dict[tuple[str, str], str] = {}
    splits: dict[str, str] = {}
    mps: dict[str, float] = {}
    swept: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for folder in map(Path, folders):
        man_path = folder / "manifest.json"
        if not man_path.is_file():
            raise FileNotFoundError(f"{folder}: not a results folder (no manifest.json)")
        man = json.loads(man_path.read_text(encoding="utf-8"))
        mans.append(man)
        for sc in man["scenarios"]:
            spec = sc["resolved_scenario"]
            for key, f in spec["factions"].items():
                kinds[(spec["name"], key)] = f["kind"]
                if f.get("splits_into"):
                    splits[spec["name"]] = f["splits_into"]
            mps[spec["name"]] = STEP_MONTHS[spec.get("time_step", "month")]
        for p in man["points"]:
            k = (p["scenario"], p["point"])
            if k in seen:
                raise ValueError(f"{folder}: scenario {k[0]} point {k[1]} is also in {seen[k]}")
            seen[k] = str(folder)
        swept += [s["path"] for s in man.get("sweeps", []) if s["path"] not in swept]
    return Results(pd.DataFrame(), pd.DataFrame(), mans, kinds, splits, mps, swept)


def load(*folders: str | Path) -> Results:
    """Read results folders (their trajectories and government tables, and manifests).

    This holds every row in memory; for the outcomes of large batches use
    :func:`load_outcomes`, which reads the tables a part at a time.

    Raises:
        FileNotFoundError: a folder without a manifest.
        ValueError: two folders holding the same scenario and point (ambiguous groups).
    """
    res = _read_meta(folders)
    trajs, govs = [], []
    for folder in map(Path, folders):
        t = pd.read_parquet(folder / "trajectories.parquet")
        t["scenario"] = t["scenario"].astype(str)
        t["actor"] = t["actor"].astype(str)
        trajs.append(t)
        g = pd.read_parquet(folder / "government.parquet")
        g["scenario"] = g["scenario"].astype(str)
        govs.append(g)
    res.trajectories = pd.concat(trajs, ignore_index=True)
    res.government = pd.concat(govs, ignore_index=True)
    return res


def group_label(scenario: str, point: int, values: dict[str, Any] | None) -> str:
    """Readable name of a group: the scenario, and its swept values if any."""
    if not values:
        return scenario if point == 0 else f"{scenario}#{point}"
    return f"{scenario}[" + ", ".join(f"{k}={v}" for k, v in values.items()) + "]"


_KEYS = ["scenario", "point", "replication", "seed", "step", "date"]
REDUCE_ROWS = 1_000_000  # trajectory rows read before they are reduced to outcomes (bounds memory)
_OUTCOME_INPUTS = [*_KEYS, "actor", *dict.fromkeys(o.measure.column for o in OUTCOMES)]


def _row_masks(t: pd.DataFrame, kinds: dict[tuple[str, str], str], splits: dict[str, str]) -> dict[str, np.ndarray]:
    """Which trajectory rows are the resistance's, the government's and the breakaway's.

    Looked up in a small table of (scenario, actor) pairs by the columns' category codes, not
    row by row: a part of a large batch holds hundreds of thousands of rows.
    """
    scen, actor = t["scenario"].astype("category"), t["actor"].astype("category")
    scens, actors = [str(v) for v in scen.cat.categories], [str(v) for v in actor.cat.categories]
    pair_side = np.full((len(scens), len(actors)), "", dtype=object)
    split = np.zeros((len(scens), len(actors)), dtype=bool)
    for i, sc in enumerate(scens):
        for j, a in enumerate(actors):
            pair_side[i, j] = side(kinds[(sc, a)]) if (sc, a) in kinds else ""
            split[i, j] = splits.get(sc) == a
    si, ai = scen.cat.codes.to_numpy(), actor.cat.codes.to_numpy()
    sides = pair_side[si, ai]
    return {"resistance": sides == "resistance", "government": sides == "government", "breakaway": split[si, ai]}


def _outcome_rows(t: pd.DataFrame, kinds: dict[tuple[str, str], str], splits: dict[str, str]) -> pd.DataFrame:
    """Trajectory rows (any subset of whole runs) -> one row per run and step, the columns of OUTCOMES."""
    rows = _row_masks(t, kinds, splits)
    sums: dict[str, pd.DataFrame] = {}
    for who in dict.fromkeys(o.actors for o in OUTCOMES if o.how == "sum"):
        cols = list(dict.fromkeys(o.measure.column for o in OUTCOMES if o.how == "sum" and o.actors == who))
        sums[who] = t[rows[who]].groupby(_KEYS, observed=True)[cols].sum()
    out = pd.DataFrame({o.name: sums[o.actors][o.measure.column] for o in OUTCOMES if o.how == "sum"}).reset_index()
    for o in (o for o in OUTCOMES if o.how == "active"):
        flag = (t[rows[o.actors]].set_index(_KEYS)[o.measure.column] > 0).rename(o.name)
        out = out.merge(flag.reset_index(), on=_KEYS, how="left")
        out[o.name] = out[o.name].astype("boolean").fillna(False).astype(bool)  # runs without the actor: False
    out["scenario"] = out["scenario"].astype(str)
    return out


def _finish_outcomes(out: pd.DataFrame, res: Results) -> pd.DataFrame:
    """Add month, group and the swept values to outcome rows."""
    out["month"] = out["step"] * out["scenario"].map(res.months_per_step).astype(float)
    values = _point_values(res)
    out["group"] = [group_label(s, p, values.get((s, p))) for s, p in zip(out["scenario"], out["point"], strict=True)]
    for path in res.swept:
        out[path] = [values.get((s, p), {}).get(path) for s, p in zip(out["scenario"], out["point"], strict=True)]
    return out


def outcomes(res: Results) -> pd.DataFrame:
    """One row per group, replication and step, with the outcomes the report uses.

    Columns: group, scenario, point, replication, seed, step, month, date; one column per
    outcome of :data:`sim.outcomes.OUTCOMES` (resistance_territory: share of the country held
    by the factions on the resistance side, resistance_population, resistance_provinces,
    resistance_strength, government_territory, split: whether the government's breakaway has
    fighters); and the swept values.
    """
    return _finish_outcomes(_outcome_rows(res.trajectories, res.kinds, res.splits), res)


def load_outcomes(*folders: str | Path) -> tuple[pd.DataFrame, Results]:
    """The outcomes of results folders, read one Parquet part at a time.

    Same rows as ``outcomes(load(*folders))``, but only the columns the outcomes need are
    read and each part is reduced (actors summed) before the next is read: memory grows with
    runs x steps, not runs x steps x actors x columns, so batches of tens of thousands of
    runs compare on a laptop.

    Returns:
        The outcomes, and the folders' metadata (tables left empty).
    """
    from sim.store import part_files, read_part

    res = _read_meta(folders)
    parts, pending = [], []

    def reduce() -> None:
        parts.append(_outcome_rows(pd.concat(pending, ignore_index=True), res.kinds, res.splits))
        pending.clear()

    for folder in map(Path, folders):
        for f in part_files(folder, "trajectories"):
            pending.append(read_part(f, _OUTCOME_INPUTS))
            if sum(map(len, pending)) >= REDUCE_ROWS:  # reduced together: pandas' cost per call paid less often
                reduce()
    if pending:
        reduce()
    out = pd.concat(parts, ignore_index=True).sort_values(["scenario", "point", "replication", "step"],
                                                         kind="stable", ignore_index=True)
    return _finish_outcomes(out, res), res


def _point_values(res: Results) -> dict[tuple[str, int], dict[str, Any]]:
    return {(p["scenario"], p["point"]): p["values"] for m in res.manifests for p in m["points"]}


def at_months(out: pd.DataFrame, months: Sequence[float]) -> pd.DataFrame:
    """Rows at (or, with finer steps, nearest after) each requested month, with a ``at_month`` column."""
    parts = []
    for m in months:
        sel = out[out["month"] >= m - 1e-9]
        if sel.empty:
            continue
        first = sel.groupby(["group", "replication"], observed=True)["month"].transform("min")
        part = sel[sel["month"] == first].copy()
        part["at_month"] = m
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else out.iloc[0:0].assign(at_month=[])


# ------------------------------------------------------------------------------------------------ tables


def summary_table(out: pd.DataFrame, months: Sequence[float]) -> pd.DataFrame:
    """Per group and month: median, 50% and 90% bands and mean of each compared outcome."""
    rows = []
    for (g, m), d in at_months(out, months).groupby(["group", "at_month"], observed=True, sort=False):
        for o in COMPARED:
            v = d[o.name].to_numpy(float)
            q = bands(v)
            rows.append({"group": g, "month": m, "outcome": o.name, "n": v.size, "mean": v.mean(), "median": q[2],
                         "q05": q[0], "q25": q[1], "q75": q[3], "q95": q[4]})
    return pd.DataFrame(rows)


HOLDS = (0.01, 0.05, 0.10)  # default end states: the resistance holds at least these shares of the country
WIPED_OUT = 1e-4  # default: the resistance is "wiped out" below this share of the country (0.01%)


def end_state_probabilities(out: pd.DataFrame, months: Sequence[float], thresholds: Sequence[float] = HOLDS,
                            wiped_out: float = WIPED_OUT) -> pd.DataFrame:
    """Per group and month: probability of each end state, with a Wilson 95% interval.

    Args:
        out: outcomes, from :func:`outcomes` or :func:`load_outcomes`.
        months: months at which to evaluate.
        thresholds: shares of the country; one end state "the resistance holds at least x" each.
        wiped_out: the share of the country under which the resistance counts as wiped out
            (control is partial, so it rarely reaches exactly zero).
    """
    rows = []
    for (g, m), d in at_months(out, months).groupby(["group", "at_month"], observed=True, sort=False):
        n = len(d)
        territory = d[RESISTANCE_TERRITORY.name]
        states = {f"resistance holds >= {_pct(x)} of the country": territory >= x for x in thresholds}
        states["resistance holds at least one province"] = d[RESISTANCE_PROVINCES.name] >= 1
        states[f"resistance wiped out (under {_pct(wiped_out)} of the country)"] = territory < wiped_out
        states["the government has split"] = d[SPLIT.name]
        for name, hit in states.items():
            k = int(hit.sum())
            lo, hi = wilson(k, n)
            rows.append({"group": g, "month": m, "end_state": name, "n": n, "probability": k / n if n else math.nan,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    """A share as a short percentage: 0.05 -> '5%', 0.0001 -> '0.01%'."""
    return f"{x * 100:.4g}%"


def time_to_event(out: pd.DataFrame) -> pd.DataFrame:
    """Per group: months until the resistance first holds a province and until the split (censored at the end)."""
    rows = []
    events = {"resistance first holds a province": out[RESISTANCE_PROVINCES.name] >= 1,
              "the government splits": out[SPLIT.name]}
    for name, hit in events.items():
        d = out.assign(hit=hit.to_numpy())
        for g, dg in d.groupby("group", observed=True, sort=False):
            firsts = dg[dg["hit"]].groupby("replication")["month"].min()
            n = dg["replication"].nunique()
            k = len(firsts)
            q = np.quantile(firsts, [0.25, 0.5, 0.75]) if k else [math.nan] * 3
            rows.append({"group": g, "event": name, "runs": n, "runs_with_event": k,
                         "share_with_event": k / n if n else math.nan, "median_month_if_any": q[1],
                         "q25_month": q[0], "q75_month": q[2], "horizon_month": float(dg["month"].max())})
    return pd.DataFrame(rows)


def paired_differences(out: pd.DataFrame, baseline: str, months: Sequence[float],
                       columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Each group minus the baseline group, paired by replication, with bootstrap CIs and A12.

    Args:
        out: one row per group, replication and step (as :func:`outcomes` gives), with a
            ``month`` column.
        baseline: the group the others are compared with.
        months: months at which to compare.
        columns: the outcome columns compared (default: those of :data:`sim.outcomes.COMPARED`);
            any numeric column of ``out`` will do (:mod:`sim.effects` adds its own).

    Raises:
        ValueError: when the baseline group is not in the results.
    """
    names = [o.name for o in COMPARED] if columns is None else list(columns)
    if baseline not in set(out["group"]):
        raise ValueError(f"baseline {baseline!r} is not among the groups {sorted(set(out['group']))}")
    sel = at_months(out, months)
    base = sel[sel["group"] == baseline].set_index(["at_month", "replication"])
    rows = []
    for (g, m), d in sel[sel["group"] != baseline].groupby(["group", "at_month"], observed=True, sort=False):
        d = d.set_index("replication")
        b = base.loc[m] if m in base.index.get_level_values(0) else None
        if b is None:
            continue
        common = d.index.intersection(b.index)
        for name in names:
            x = d.loc[common, name].to_numpy(float)
            y = b.loc[common, name].to_numpy(float)
            rows.append(paired_row({"group": g, "baseline": baseline, "month": m}, name, x, y, bootstrap_ci(x - y)))
    return pd.DataFrame(rows)


def paired_row(pair: dict[str, Any], outcome: str, x: np.ndarray, y: np.ndarray,
               ci: tuple[float, float]) -> dict[str, Any]:
    """One row of :func:`paired_differences`: ``x - y``, paired by replication, with its 95% interval ``ci``.

    ``pair`` names the group, the baseline and the month. The dashboard builds its rows
    with this too, with the intervals of every outcome bootstrapped at once.
    """
    diff = x - y
    lo, hi = ci
    a = a12(x, y)
    return {**pair, "outcome": outcome, "pairs": diff.size,
            "mean_difference": float(diff.mean()) if diff.size else math.nan,
            "ci_low": lo, "ci_high": hi, "ci_excludes_zero": bool(lo > 0 or hi < 0) if np.isfinite(lo) else False,
            "a12": a, "effect": a12_magnitude(a) if np.isfinite(a) else "",
            "sd_of_difference": float(diff.std(ddof=1)) if diff.size > 1 else math.nan}


def adequacy(out: pd.DataFrame, month: float, paired: pd.DataFrame | None = None,
             precision: float = 0.001) -> pd.DataFrame:
    """Are there enough replications? CI half-width now and runs needed for a stated precision.

    For each group's mean resistance territory at ``month``: the 95% CI half-width now and
    the runs needed for +-``precision`` (0.1 percentage point of the country by default). For
    each paired difference: the runs needed to tell it from zero (half-width = |difference|/2).
    """
    rows = []
    for g, d in at_months(out, [month]).groupby("group", observed=True, sort=False):
        v = d[RESISTANCE_TERRITORY.name].to_numpy(float)
        sd = float(v.std(ddof=1)) if v.size > 1 else math.nan
        hw = Z95 * sd / math.sqrt(v.size) if v.size > 1 else math.nan
        rows.append({"what": f"mean resistance territory, {g}", "runs": v.size, "ci_half_width": hw,
                     "target_half_width": precision, "runs_needed": runs_needed(sd, precision),
                     "enough": bool(hw <= precision) if np.isfinite(hw) else False})
    if paired is not None and len(paired):
        p = paired[(paired["month"] == month) & (paired["outcome"] == RESISTANCE_TERRITORY.name)]
        for _, r in p.iterrows():
            hw = Z95 * r["sd_of_difference"] / math.sqrt(r["pairs"]) if r["pairs"] > 1 else math.nan
            target = abs(r["mean_difference"]) / 2
            rows.append({"what": f"paired difference, {r['group']} - {r['baseline']}", "runs": int(r["pairs"]),
                         "ci_half_width": hw, "target_half_width": target,
                         "runs_needed": runs_needed(r["sd_of_difference"], target),
                         "enough": bool(hw <= target) if np.isfinite(hw) and target > 0 else False})
    return pd.DataFrame(rows)


def lever_table(out: pd.DataFrame, path: str, month: float) -> pd.DataFrame:
    """Outcome against a swept lever's value: median and bands per scenario and value."""
    sel = at_months(out, [month])
    rows = []
    for (s, v), d in sel.groupby(["scenario", path], observed=True, sort=True):
        q = bands(d[RESISTANCE_TERRITORY.name].to_numpy(float))
        rows.append({"scenario": s, "value": v, "month": month, "runs": len(d), "median": q[2], "q05": q[0],
                     "q25": q[1], "q75": q[3], "q95": q[4],
                     "p_holds_province": float((d[RESISTANCE_PROVINCES.name] >= 1).mean())})
    return pd.DataFrame(rows)

