"""The comparison report: tables (CSV), figures and report.md for one or more results folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim import analysis
from sim.plots import _META

_COLOURS = plt.get_cmap("tab10").colors


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path


def _fan(out: pd.DataFrame, path: Path, col: str = "resistance_territory") -> Path:
    fig, ax = plt.subplots(figsize=(9, 5))
    for k, (g, d) in enumerate(out.groupby("group", observed=True, sort=False)):
        q = d.groupby("month")[col].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        c = _COLOURS[k % len(_COLOURS)]
        ax.fill_between(q.index, q[0.05], q[0.95], color=c, alpha=0.10, lw=0)
        ax.fill_between(q.index, q[0.25], q[0.75], color=c, alpha=0.25, lw=0)
        ax.plot(q.index, q[0.5], color=c, lw=2, label=g)
    ax.set_xlabel("months since start")
    ax.set_ylabel(analysis.OUTCOMES.get(col, col))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=None))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Median, 50% and 90% bands across replications", fontsize=10)
    return _save(fig, path)


def _distributions(out: pd.DataFrame, months: Sequence[float], path: Path) -> Path:
    sel = analysis.at_months(out, months)
    groups = list(dict.fromkeys(sel["group"]))
    fig, axes = plt.subplots(1, len(months), figsize=(4.2 * len(months), 4.5), squeeze=False, sharey=True)
    for ax, m in zip(axes[0], months, strict=True):
        data = [sel[(sel["group"] == g) & (sel["at_month"] == m)]["resistance_territory"].to_numpy() for g in groups]
        ax.boxplot(data, whis=(5, 95), showfliers=True, flierprops={"markersize": 2})
        ax.set_xticks(range(1, len(groups) + 1), groups, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"month {m:g}", fontsize=10)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=None))
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("resistance share of the country")
    return _save(fig, path)


def _probability_over_time(out: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for k, (g, d) in enumerate(out.groupby("group", observed=True, sort=False)):
        p = d.groupby("month")["resistance_provinces"].apply(lambda v: float((v >= 1).mean()))
        ax.plot(p.index, p.to_numpy(), color=_COLOURS[k % len(_COLOURS)], lw=2, label=g)
    ax.set_xlabel("months since start")
    ax.set_ylabel("P(resistance holds at least one province)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _lever(table: pd.DataFrame, path_name: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, (s, d) in enumerate(table.groupby("scenario", sort=False)):
        d = d.sort_values("value")
        x = pd.to_numeric(d["value"], errors="coerce")
        c = _COLOURS[k % len(_COLOURS)]
        ax.fill_between(x, d["q05"], d["q95"], color=c, alpha=0.12, lw=0)
        ax.fill_between(x, d["q25"], d["q75"], color=c, alpha=0.3, lw=0)
        ax.plot(x, d["median"], "o-", color=c, label=s)
    ax.set_xlabel(path_name)
    ax.set_ylabel(f"resistance share at month {table['month'].iloc[0]:g}")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=None))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Where does the lever tip the outcome? (median, 50% and 90% bands)", fontsize=10)
    return _save(fig, path)


def _md(df: pd.DataFrame, pct: Sequence[str] = (), digits: int = 4) -> str:
    if df.empty:
        return "(none)\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c in pct and isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.2%}")
            elif isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.{digits}g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(folders: Sequence[str | Path], out_dir: Path, baseline: str | None = None,
                 months: Sequence[float] = (12, 36, 60), holds: Sequence[float] = analysis.HOLDS,
                 wiped_out: float = analysis.WIPED_OUT) -> Path:
    """Compare the groups of the given results folders and write report.md, CSV tables and figures.

    Args:
        folders: results folders (each from ``run.py run``).
        out_dir: where to write the report.
        baseline: the group the others are compared with (default: 'baseline' if present, else the first).
        months: months at which outcomes are compared.
        holds: shares of the country for the end states "the resistance holds at least x".
        wiped_out: share of the country under which the resistance counts as wiped out.

    Returns:
        The path of report.md.

    Raises:
        ValueError: for an unknown baseline or a month beyond every horizon.
    """
    out, res = analysis.load_outcomes(*folders)
    groups = list(dict.fromkeys(out["group"]))
    baseline = baseline or ("baseline" if "baseline" in groups else groups[0])
    horizon = float(out["month"].max())
    months = [m for m in months if m <= horizon + 1e-9] or [horizon]
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = out_dir / "figures"
    figs.mkdir(exist_ok=True)

    summary = analysis.summary_table(out, months)
    probs = analysis.end_state_probabilities(out, months, holds, wiped_out)
    tte = analysis.time_to_event(out)
    paired = analysis.paired_differences(out, baseline, months) if len(groups) > 1 else pd.DataFrame()
    adequacy = analysis.adequacy(out, months[-1], paired if len(paired) else None)
    levers = {path: analysis.lever_table(out, path, months[-1]) for path in res.swept}
    tables = {"summary": summary, "end_states": probs, "time_to_event": tte, "paired_differences": paired,
              "adequacy": adequacy, **{f"lever_{p}": t for p, t in levers.items()}}
    for name, t in tables.items():
        t.to_csv(out_dir / f"{name}.csv", index=False)
    figures = [_fan(out, figs / "fan_resistance_territory.png"),
               _fan(out, figs / "fan_government_territory.png", "government_territory"),
               _distributions(out, months, figs / "distributions.png"),
               _probability_over_time(out, figs / "probability_holds_province.png")]
    figures += [_lever(t, p, figs / f"lever_{p}.png") for p, t in levers.items() if len(t)]

    reps = out.groupby("group", observed=True)["replication"].nunique()
    lines = [
        "# Scenario comparison",
        "",
        f"Results: {', '.join(str(f) for f in folders)}. Groups (scenario at a sweep point): "
        + ", ".join(f"{g} ({reps[g]} runs)" for g in groups) + f". Baseline: **{baseline}**. "
        f"Months compared: {', '.join(f'{m:g}' for m in months)}.",
        "",
        "Outcomes: the resistance (factions of kind `resistance`) share of the country's area and population, "
        "the provinces they hold, and the government's share. Replication *i* has the same seed and random "
        "streams in every group, so differences against the baseline are paired by replication; 95% "
        f"intervals are percentile bootstraps ({analysis.BOOTSTRAP} resamples, fixed seed) of the mean "
        "paired difference; A12 is Vargha and Delaney's effect size (0.5 = no effect; small, medium, large "
        "from 0.56, 0.64, 0.71). End-state probabilities carry Wilson 95% intervals.",
        "",
        "## Territory over time",
        "",
        "![resistance territory](figures/fan_resistance_territory.png)",
        "",
        "![government territory](figures/fan_government_territory.png)",
        "",
        "## Outcomes at the compared months",
        "",
        _md(summary[summary["outcome"] == "resistance_territory"].drop(columns="outcome"),
            pct=("mean", "median", "q05", "q25", "q75", "q95")),
        "![distributions](figures/distributions.png)",
        "",
        "## End-state probabilities",
        "",
        _md(probs, pct=("probability", "ci_low", "ci_high")),
        "![probability over time](figures/probability_holds_province.png)",
        "",
        "## Time to event",
        "",
        _md(tte, pct=("share_with_event",)),
    ]
    if len(paired):
        key = paired[paired["outcome"] == "resistance_territory"].drop(columns=["outcome", "sd_of_difference"])
        lines += ["## Paired differences against the baseline", "",
                  "Resistance share of the country (all outcomes in `paired_differences.csv`):", "",
                  _md(key, pct=("mean_difference", "ci_low", "ci_high"))]
    lines += ["## Replication adequacy", "",
              f"At month {months[-1]:g}: the 95% CI half-width now, and the runs needed for a half-width of 0.1 "
              "percentage point of the country (group means) or for a paired difference's interval to exclude "
              "zero (half of the difference).", "",
              _md(adequacy, pct=("ci_half_width", "target_half_width"))]
    for p, t in levers.items():
        lines += [f"## Lever: `{p}`", "", _md(t, pct=("median", "q05", "q25", "q75", "q95", "p_holds_province")),
                  f"![lever](figures/lever_{p}.png)", ""]
    lines += ["## Files", "", "Tables: " + ", ".join(f"`{n}.csv`" for n in tables) + ". Figures: "
              + ", ".join(f"`figures/{f.name}`" for f in figures) + ".", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report
