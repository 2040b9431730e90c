"""The lever figure: outcomes against a swept lever, in its own unit and in what was delivered.

A lever's value (``donors.us.arms_willingness = 0.1``) says little by itself: what it bought is
the support delivered. The figure has two rows: the lever's value (its unit read from the
scenario schema) and the mean support delivered to the resistance (million USD a month, from
the results' flows table); two columns: the resistance's territory (median, 50% and 90% bands)
and P(the resistance holds at least one province) with Wilson 95% intervals. Points are drawn
only where runs were made, with their intervals, and never joined: between two swept values
nothing was measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import figstyle
from sim.outcomes import RESISTANCE_TERRITORY, side
from sim.plots import new_figure, save
from sim.statistics import wilson

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.analysis import Results

SUPPORT = ("money", "arms")  # the flows counted as support delivered (both in million USD per step)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def delivered(out: pd.DataFrame, res: Results, folders: Sequence[str | Path], path: str,
              month: float) -> pd.DataFrame:
    """Mean support (money and arms) delivered to the resistance per month, per scenario point.

    Counted from the first step up to ``month`` (the month the lever's outcomes are read at):
    per run, the sum of the flows divided by the months covered (a run that delivered nothing
    counts as 0); then the mean over the runs of ``out``. A lever of a donor
    (``donors.<key>.…``) counts that donor's deliveries; any other lever counts every donor's.

    Args:
        out: outcome rows (:func:`sim.analysis.outcomes`), for the runs of each point.
        res: the folders' metadata (:func:`sim.analysis.load_outcomes`).
        folders: the results folders, in the order of ``res.manifests``.
        path: the lever's path.
        month: up to which month support is counted.

    Returns:
        Columns scenario, point, value (the lever's), runs, delivered (million USD a month).
    """
    from sim.store import read_parts  # here: the store imports numba, importing the figures needs not

    donor = path.split(".")[1] if path.startswith("donors.") else None
    runs = out.groupby(["scenario", "point"], observed=True)["replication"].unique()
    rows = []
    for folder, man in zip(map(Path, folders), res.manifests, strict=True):
        for p in man["points"]:
            s, reps = p["scenario"], runs.get((p["scenario"], p["point"]))
            if reps is None or path not in p["values"]:
                continue
            last = round(month / res.months_per_step[s] + 1e-9)
            f = read_parts(folder, "flows", ["replication", "step", "source", "target", "kind", "amount"],
                           [("kind", "in", list(SUPPORT)), ("step", "<=", last)], scenario=s, point=p["point"])
            keep = np.array([side(res.kinds.get((s, a), "")) == "resistance" for a in f["target"].astype(str)],
                            dtype=bool)
            if donor is not None:
                keep &= (f["source"].astype(str) == donor).to_numpy()
            total = f[keep].groupby("replication")["amount"].sum().reindex(sorted(reps), fill_value=0.0)
            rows.append({"scenario": s, "point": p["point"], "value": p["values"][path], "runs": len(reps),
                         "delivered": float(total.mean()) / (last * res.months_per_step[s])})
    return pd.DataFrame(rows)


def lever_unit(path: str) -> str:
    """What a lever's value means: its path, then the schema's words for it and its unit.

    The unit is the parameter's declared one (:mod:`sim.parameters`) or, for a scenario field
    bounded to [0, 1], "a share, 0-1"; the field's description says the rest (a budget's
    description names million USD/month).
    """
    from sim.parameters import Parameters
    from sim.scenario.schema import DonorSpec, FactionSpec

    parts = path.split(".")
    model = {"donors": DonorSpec, "factions": FactionSpec, "parameters": Parameters}.get(parts[0])
    field = model.model_fields.get(parts[-1]) if model is not None else None
    if field is None:
        return path
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    bounds = {type(m).__name__: getattr(m, "ge", getattr(m, "le", None)) for m in field.metadata}
    unit = extra.get("unit") or ("a share, 0-1" if bounds.get("Ge") == 0 and bounds.get("Le") == 1 else None)
    return f"{path}\n({field.description or parts[-1]}{'; ' + str(unit) if unit else ''})"


def lever_figure(table: pd.DataFrame, given: pd.DataFrame, path_name: str, path: Path,
                 donor_label: str | None = None) -> Path:
    """Write :func:`draw_lever` as PNG and return its path."""
    return save(draw_lever(table, given, path_name, donor_label), path)


def draw_lever(table: pd.DataFrame, given: pd.DataFrame, path_name: str, donor_label: str | None = None) -> Figure:
    """Resistance territory and P(holds a province) against a lever's value and against support delivered.

    Args:
        table: :func:`sim.analysis.lever_table` (one row per scenario and value).
        given: :func:`delivered` (columns scenario, value, delivered), joined to the table.
        path_name: the lever's path.
        donor_label: the lever's donor, for the delivered axis (none: every donor).
    """
    t = table.merge(given[["scenario", "value", "delivered"]], on=["scenario", "value"], how="left")
    t["value"] = pd.to_numeric(t["value"], errors="coerce")
    scen = list(dict.fromkeys(t["scenario"]))
    colours = dict(zip(scen, figstyle.categorical(len(scen)), strict=True))
    fig = new_figure(10, 7.4)
    axes = fig.subplots(2, 2)
    who = donor_label or "all donors"
    xs = (("value", lever_unit(path_name)), ("delivered", f"support delivered by {who} to the resistance\n"
                                                          "(money and arms, mean M USD/month)"))
    for row, (col, words) in zip(axes, xs, strict=True):
        # on the lever's axis every scenario sits on the same values: set side by side, not on top;
        # on the delivered axis each point stays where it was measured
        dodge = 0.012 * float(np.ptp(t[col].to_numpy(float)) or 1.0) if col == "value" else 0.0
        for k, s in enumerate(scen):
            d = t[t["scenario"] == s]
            x = d[col].to_numpy(float) + (k - (len(scen) - 1) / 2) * dodge  # side by side, not on top
            style = {"color": colours[s], "marker": MARKERS[k % len(MARKERS)], "label": s}
            _territory(row[0], x, d, style)
            _probability(row[1], x, d, style)
        for ax in row:
            if col == "delivered":  # an amount: from zero, and said in words when nothing was delivered
                top = float(np.nanmax(t[col].to_numpy(float), initial=0.0))
                ax.set_xlim(-0.03 * (top or 1.0), 1.06 * top if top > 0 else 1.0)
                if top == 0:
                    ax.text(0.5, 0.5, f"{who} delivered nothing to the resistance in any run", ha="center",
                            transform=ax.transAxes, fontsize=8, color="#555555")
            ax.set_xlabel(words, fontsize=7.5)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    month = f"at month {t['month'].iloc[0]:g}"
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{RESISTANCE_TERRITORY.label}\n{month} (% of the country)", fontsize=7.5)
        ax.set_ylim(*figstyle.limits(t[["q05", "q95"]].to_numpy(), True))
        figstyle.percent_axis(ax)
    for ax in axes[:, 1]:
        ax.set_ylabel(f"P(resistance holds ≥ 1 province)\n{month}", fontsize=7.5)
        ax.set_ylim(-0.02, 1.02)
        figstyle.percent_axis(ax)
    axes[0][1].legend(fontsize=7, loc="best")
    fig.suptitle("Where does the lever tip the outcome? Points where runs were made (not joined); territory: "
                 "median, bars 50% (thick) and 90% (thin);\nP: share of runs, bar Wilson 95% interval",
                 fontsize=9)
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.11, hspace=0.45, wspace=0.3)
    return fig


def _territory(ax: Axes, x: np.ndarray, d: pd.DataFrame, style: dict[str, Any]) -> None:
    """Median with its 90% (thin) and 50% (thick) bands as bars, no line."""
    med = d["median"].to_numpy(float)
    ax.errorbar(x, med, yerr=[med - d["q05"].to_numpy(float), d["q95"].to_numpy(float) - med], fmt="none",
                ecolor=style["color"], elinewidth=0.8, capsize=2)
    ax.errorbar(x, med, yerr=[med - d["q25"].to_numpy(float), d["q75"].to_numpy(float) - med], fmt="none",
                ecolor=style["color"], elinewidth=3, alpha=0.6)
    ax.plot(x, med, ls="none", ms=6, **style)


def _probability(ax: Axes, x: np.ndarray, d: pd.DataFrame, style: dict[str, Any]) -> None:
    """The share of runs holding a province, with its Wilson 95% interval as a bar, no line."""
    k = np.rint(d["p_holds_province"].to_numpy(float) * d["runs"].to_numpy()).astype(int)
    n = d["runs"].to_numpy()
    p = k / n
    ci = np.array([wilson(int(a), int(b)) for a, b in zip(k, n, strict=True)])
    ax.errorbar(x, p, yerr=[p - ci[:, 0], ci[:, 1] - p], fmt="none", ecolor=style["color"], elinewidth=1.2,
                capsize=3)
    ax.plot(x, p, ls="none", ms=6, **style)
