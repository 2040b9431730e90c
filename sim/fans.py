"""The comparison report's figures over time and of paired differences: one panel per group.

Six fans on one axis turn to mud, so every figure here is a grid of small panels, one per
group (a scenario at a sweep point), titled with the scenario's title and its swept values,
on dated x axes with the scenarios' events marked (:func:`sim.figstyle.event_markers`).
Share axes follow :mod:`sim.figstyle`'s rule (at least 10 percentage points, never autoscaled
to the data's wiggle), and by default every panel shares one scale so panels compare at a
glance; ``shared=False`` gives each panel its own (still at least 10 points).

Matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import analysis, figstyle
from sim.outcomes import RESISTANCE_PROVINCES, RESISTANCE_TERRITORY, Outcome
from sim.plots import new_figure, save
from sim.statistics import bands, wilson

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.headline import Contrast

PANEL_W, PANEL_H = 3.5, 2.6  # inches a panel, titles and tick labels included
MAX_COLUMNS = 3


@dataclass(frozen=True)
class GroupView:
    """How the figures show each group: its words, its colour and its scenario's events.

    Attributes:
        groups: the groups in the results' order.
        labels: group -> panel title (the scenario's title, then its swept values).
        colours: group -> colour (sequential by value for one numeric lever, else Okabe-Ito).
        markers: group -> the events that fired in its runs.
    """

    groups: list[str]
    labels: dict[str, str]
    colours: dict[str, str]
    markers: dict[str, list[figstyle.Marker]]


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def group_view(out: pd.DataFrame, folders: Sequence[str | Path], manifests: Sequence[dict[str, Any]],
               swept: Sequence[str]) -> GroupView:
    """Titles, colours and event markers of the groups of ``out`` (from the folders' manifests)."""
    first = out.drop_duplicates("group")
    groups = list(first["group"])
    titles = {sc["resolved_scenario"]["name"]: sc["resolved_scenario"].get("title") or sc["resolved_scenario"]["name"]
              for m in manifests for sc in m["scenarios"]}
    where = {(p["scenario"], p["point"]): Path(f) for f, m in zip(folders, manifests, strict=True)
             for p in m["points"]}
    runs = out.groupby("group", observed=True)["replication"].nunique()
    labels, markers = {}, {}
    for _, r in first.iterrows():
        values = ", ".join(f"{p.rsplit('.', 1)[-1]} = {r[p]:g}" if _numeric([r[p]]) else f"{p} = {r[p]}"
                           for p in swept if pd.notna(r.get(p)))
        labels[r["group"]] = figstyle.wrap(titles.get(r["scenario"], r["scenario"])) + (f"\n{values}" if values else "")
        markers[r["group"]] = figstyle.event_markers(where[(r["scenario"], r["point"])], int(runs[r["group"]]),
                                                     r["scenario"], int(r["point"]))
    levels = [first[p].tolist() for p in swept if first[p].notna().all()] if len(swept) == 1 else []
    if levels and _numeric(levels[0]) and len(set(levels[0])) > 1:  # one numeric lever: colour shows its value
        colours = dict(zip(groups, figstyle.sequential(levels[0]), strict=True))
    else:
        colours = dict(zip(groups, figstyle.categorical(len(groups)), strict=True))
    return GroupView(groups, labels, colours, markers)


def _grid(n: int, width: float = PANEL_W, height: float = PANEL_H, top: float = 0.85) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels, at most MAX_COLUMNS a row, unused slots hidden; fixed margins in inches."""
    cols = min(MAX_COLUMNS, max(n, 1))
    rows = -(-max(n, 1) // cols)
    w, h = width * cols + 0.3, height * rows + top
    fig = new_figure(w, h)
    axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.axis("off")
    # between rows, room in inches for three lines of panel title and the dates and "date" under a panel
    gap, usable = 0.95, height * rows - 0.45
    axes_h = (usable - (rows - 1) * gap) / rows
    fig.subplots_adjust(left=0.75 / w, right=1 - 0.15 / w, top=1 - top / h, bottom=0.45 / h, wspace=0.55 / width,
                        hspace=gap / axes_h)
    return fig, axes[:n]


def _by_date(d: pd.DataFrame, column: str) -> pd.DataFrame:
    """Dates x replications of one group's column."""
    return d.pivot(index="date", columns="replication", values=column)


def fan_figure(out: pd.DataFrame, o: Outcome, view: GroupView, path: Path, shared: bool = True) -> Path:
    """Write :func:`draw_fans` as PNG and return its path."""
    return save(draw_fans(out, o, view, shared), path)


def draw_fans(out: pd.DataFrame, o: Outcome, view: GroupView, shared: bool = True) -> Figure:
    """Median, 50% and 90% bands across replications of an outcome over time, one panel per group.

    Args:
        out: outcome rows (:func:`sim.analysis.outcomes`).
        o: the outcome.
        view: the groups' titles, colours and events.
        shared: one y scale for every panel (default), else one a panel; both by
            :mod:`sim.figstyle`'s rule (a share spans at least 10 percentage points).
    """
    cubes = {g: _by_date(d, o.name) for g, d in out.groupby("group", observed=True, sort=False)}
    q = {g: bands(c.to_numpy(float), axis=1) for g, c in cubes.items()}
    fig, axes = _grid(len(view.groups))
    every = np.concatenate([q[g][[0, 4]].ravel() for g in view.groups])
    for ax, g in zip(axes, view.groups, strict=True):
        x, c = pd.to_datetime(cubes[g].index), view.colours[g]
        ax.fill_between(x, q[g][0], q[g][4], color=c, alpha=0.2, lw=0, label="90% band")
        ax.fill_between(x, q[g][1], q[g][3], color=c, alpha=0.45, lw=0, label="50% band")
        ax.plot(x, q[g][2], color=figstyle.line_colour(c), lw=1.8, label="median")
        ax.set_ylim(*figstyle.limits(every if shared else q[g][[0, 4]], o.is_share))
        _style(ax, view, g, figstyle.unit_words(o.unit, o.name) if ax.get_subplotspec().is_first_col() else "")
        (figstyle.percent_axis if o.is_share else figstyle.count_axis)(ax)
    axes[0].legend(fontsize=6, loc="best")
    reps = out.groupby("group", observed=True)["replication"].nunique()
    n = f"{reps.min()}-{reps.max()}" if reps.min() != reps.max() else f"{reps.min()}"
    fig.suptitle(f"{o.label[0].upper() + o.label[1:]}: median, 50% and 90% bands over {n} replications\n"
                 f"(y axes span at least {100 * figstyle.MIN_SHARE_SPAN:g} percentage points"
                 f"{', shared by every panel' if shared else ''}; dashed: scenario events)"
                 if o.is_share else f"{o.label}: median, 50% and 90% bands over {n} replications", fontsize=9.5,
                 y=1 - 0.08 / fig.get_figheight(), va="top")  # in inches from the top: clear of the panels
    return fig


def _style(ax: Axes, view: GroupView, g: str, ylabel: str) -> None:
    """A panel's title, axis labels, dated ticks, grid and event markers."""
    ax.set_title(view.labels[g], fontsize=7.5)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.set_xlabel("date", fontsize=7)
    figstyle.date_ticks(ax)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    figstyle.mark_events(ax, view.markers.get(g, []))


def probability_curve(d: pd.DataFrame) -> pd.DataFrame:
    """P(the resistance holds at least one province) per date of one group, with its Wilson 95% interval.

    Returns:
        Columns date, k (runs holding one), n (runs), p, low, high.
    """
    hit = (d[RESISTANCE_PROVINCES.name] >= 1).groupby(d["date"]).agg(["sum", "size"])
    ci = [wilson(int(k), int(n)) for k, n in zip(hit["sum"], hit["size"], strict=True)]
    return pd.DataFrame({"date": pd.to_datetime(hit.index), "k": hit["sum"].to_numpy(), "n": hit["size"].to_numpy(),
                         "p": (hit["sum"] / hit["size"]).to_numpy(), "low": [c[0] for c in ci],
                         "high": [c[1] for c in ci]})


def probability_figure(out: pd.DataFrame, view: GroupView, path: Path) -> Path:
    """Write :func:`draw_probability` as PNG and return its path."""
    return save(draw_probability(out, view), path)


def draw_probability(out: pd.DataFrame, view: GroupView) -> Figure:
    """P(the resistance holds at least one province) over time with Wilson 95% bands, one panel per group."""
    fig, axes = _grid(len(view.groups))
    for ax, (g, d) in zip(axes, ((g, out[out["group"] == g]) for g in view.groups), strict=True):
        p = probability_curve(d)
        c = view.colours[g]
        ax.fill_between(p["date"], p["low"], p["high"], color=c, alpha=0.3, lw=0, label="Wilson 95% interval")
        ax.plot(p["date"], p["p"], color=figstyle.line_colour(c), lw=1.8, label="share of runs")
        ax.set_ylim(-0.02, 1.02)
        _style(ax, view, g, "% of runs" if ax.get_subplotspec().is_first_col() else "")
        figstyle.percent_axis(ax)
    axes[0].legend(fontsize=6, loc="best")
    fig.suptitle("P(the resistance holds at least one province), share of runs with Wilson 95% band", fontsize=10,
                 y=1 - 0.15 / fig.get_figheight(), va="top")
    return fig


def paired_differences(out: pd.DataFrame, c: Contrast, months: Sequence[float],
                       o: Outcome = RESISTANCE_TERRITORY) -> pd.DataFrame:
    """Per replication and compared month: the group's outcome minus its matched reference's (same replication).

    Returns:
        Columns at_month, replication, difference (in the outcome's unit).
    """
    sel = analysis.at_months(out[out["group"].isin([c.group, c.reference])], months)
    wide = sel.pivot_table(index=["at_month", "replication"], columns="group", values=o.name, observed=True)
    diff = (wide[c.group] - wide[c.reference]).dropna().rename("difference")
    return diff.reset_index()


def difference_figure(out: pd.DataFrame, found: Sequence[Contrast], months: Sequence[float], view: GroupView,
                      path: Path, min_effect: float) -> Path | None:
    """Each paired contrast's per-replication differences in resistance territory, one panel per compared month.

    Each row is a contrast (group minus its matched reference, same replication): the runs as
    dots, a box of the middle half with whiskers at 5% and 95%, the mean as a diamond. The band
    around zero is the minimum meaningful effect; the axis spans at least twice it either side.
    Unpaired contrasts have no per-replication difference and are left out (the caller says so).

    Returns:
        The path written, or None when no contrast is paired.
    """
    pairs = [c for c in found if c.paired]
    if not pairs:
        return None
    diffs = {c: paired_differences(out, c, months) for c in pairs}
    width = 3.2
    height = 1.3 + 0.42 * len(pairs)
    fig = new_figure(2.25 + width * len(months), height)
    axes = fig.subplots(1, len(months), squeeze=False, sharey=True)[0]
    top = max([min_effect * 2] + [float(np.abs(d["difference"]).max()) for d in diffs.values() if len(d)]) * 1.08
    rng = np.random.default_rng(0)  # the dots' vertical jitter only: fixed, so a report redraws identically
    for ax, m in zip(axes, months, strict=True):
        ax.axvspan(-min_effect, min_effect, color="#dddddd", lw=0)
        ax.axvline(0, color="#555555", lw=0.8)
        for i, c in enumerate(pairs):
            v = diffs[c].loc[diffs[c]["at_month"] == m, "difference"].to_numpy(float)
            _difference_row(ax, v, len(pairs) - 1 - i, view.colours.get(c.group, "#333333"), rng)
        ax.set_xlim(-top, top)
        ax.set_title(f"month {m:g}", fontsize=9)
        ax.set_xlabel(f"{RESISTANCE_TERRITORY.label}:\ngroup − reference (pp of the country)", fontsize=7)
        ax.xaxis.set_major_formatter(_pp())
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(range(len(pairs)), list(reversed(_contrast_labels(out, pairs))), fontsize=7)
    axes[0].set_ylim(-0.6, len(pairs) - 0.4)
    fig.suptitle("Paired differences in resistance territory: each run minus the same replication of its reference\n"
                 "(dots: runs; box: middle half; whiskers: 5-95%; ◆: mean; grey: within the minimum meaningful effect)",
                 fontsize=9)
    w = 2.25 + width * len(months)
    fig.subplots_adjust(left=2.1 / w, right=1 - 0.15 / w, top=1 - 0.75 / height, bottom=0.6 / height, wspace=0.08)
    return save(fig, path)


def levels_figure(out: pd.DataFrame, months: Sequence[float], view: GroupView, path: Path,
                  o: Outcome = RESISTANCE_TERRITORY) -> Path:
    """Write :func:`draw_levels` as PNG and return its path."""
    return save(draw_levels(out, months, view, o), path)


def draw_levels(out: pd.DataFrame, months: Sequence[float], view: GroupView,
                o: Outcome = RESISTANCE_TERRITORY) -> Figure:
    """An outcome's runs per group at each compared month: dots, box, whiskers at 5% and 95%, mean.

    One row per group (its scenario and swept values), one panel per month, on one x scale by
    :mod:`sim.figstyle`'s rule (a share spans at least 10 percentage points).
    """
    sel = analysis.at_months(out, months)
    first = out.drop_duplicates("group").set_index("group")
    names = ["\n".join([str(first.loc[g, "scenario"])] + [f"{p.rsplit('.', 1)[-1]} = {first.loc[g, p]}"
                                                          for p in first.columns if p.count(".")
                                                          and pd.notna(first.loc[g, p])]) for g in view.groups]
    height = 1.2 + 0.42 * len(view.groups)
    w = 2.25 + 3.2 * len(months)
    fig = new_figure(w, height)
    axes = fig.subplots(1, len(months), squeeze=False, sharey=True)[0]
    lim = figstyle.limits(sel[o.name].to_numpy(float), o.is_share)
    rng = np.random.default_rng(0)  # the dots' vertical jitter only: fixed, so a report redraws identically
    for ax, m in zip(axes, months, strict=True):
        for i, g in enumerate(view.groups):
            v = sel.loc[(sel["group"] == g) & (sel["at_month"] == m), o.name].to_numpy(float)
            _difference_row(ax, v, len(view.groups) - 1 - i, view.colours[g], rng)
        ax.set_xlim(*lim)
        ax.set_title(f"month {m:g}", fontsize=9)
        ax.set_xlabel(f"{o.label}\n({figstyle.unit_words(o.unit, o.name)})", fontsize=7)
        if o.is_share:
            figstyle.percent_axis(ax, "x")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(range(len(names)), list(reversed(names)), fontsize=7)
    axes[0].set_ylim(-0.6, len(names) - 0.4)
    fig.suptitle(f"{o.label[0].upper() + o.label[1:]} at the compared months (dots: runs; box: middle half; "
                 "whiskers: 5-95%; ◆: mean)", fontsize=9)
    fig.subplots_adjust(left=2.1 / w, right=1 - 0.2 / w, top=1 - 0.55 / height, bottom=0.6 / height, wspace=0.08)
    return fig


def _difference_row(ax: Axes, v: np.ndarray, y: float, colour: str, rng: np.random.Generator) -> None:
    """One contrast's runs, box and mean on row ``y``."""
    if not v.size:
        return
    ax.scatter(v, y + rng.uniform(-0.15, 0.15, v.size), s=5, color=colour, alpha=0.6, lw=0, zorder=3)
    ax.boxplot([v], positions=[y], vert=False, whis=(5, 95), widths=0.5, showfliers=False, manage_ticks=False,
               medianprops={"color": "#000000"}, zorder=2)
    ax.plot([v.mean()], [y], marker="D", color="#000000", ms=4, ls="none", zorder=4)


def _contrast_labels(out: pd.DataFrame, pairs: Sequence[Contrast]) -> list[str]:
    """Each contrast in words that tell it apart: the two scenarios at a lever value, or the two values of a lever."""
    first = out.drop_duplicates("group").set_index("group")
    labels = []
    for c in pairs:
        g, r = first.loc[c.group], first.loc[c.reference]
        if c.kind == "scenario":
            at = ", ".join(f"{p.rsplit('.', 1)[-1]} = {g[p]}" for p in first.columns
                           if p.count(".") and pd.notna(g[p]))
            labels.append(f"{g['scenario']} − {r['scenario']}" + (f"\nat {at}" if at else ""))
        else:
            lever = c.kind.removeprefix("lever ")
            labels.append(f"{lever.rsplit('.', 1)[-1]} {g[lever]} − {r[lever]}\nin {g['scenario']}")
    return labels


def _pp() -> Any:
    """Tick labels of a difference of shares in percentage points (0.01 -> '+1')."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _: f"{100 * x:+.3g}" if abs(x) > 1e-12 else "0")
