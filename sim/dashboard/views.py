"""What each panel of the explorer shows, computed from summaries: plain functions, no widgets.

The page (:mod:`sim.dashboard.app`) only lays these out, so each is tested without a browser.
Groups from several folders are kept apart by a :class:`Pick` (folder and group label), and
are named ``<folder>: <group>`` when more than one folder is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import lever_table, paired_row
from sim.dashboard.summary import Group, Summary
from sim.maps import blocs_of
from sim.outcomes import COMPARED
from sim.statistics import bootstrap_mean_cis
from sim.store import part_files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Pick", "bloc_names", "differences", "event_log", "fan_figure", "figure_png", "lever_figure",
           "map_values"]


@dataclass(frozen=True)
class Pick:
    """One group of one open folder."""

    summary: Summary
    label: str

    @property
    def group(self) -> Group:
        """The group picked."""
        return self.summary.group(self.label)

    def name(self, several: bool) -> str:
        """How the page names it: the group, prefixed by its folder when several are open."""
        return f"{self.summary.folder.name}: {self.label}" if several else self.label

    def step_at(self, month: float) -> int:
        """The last step at or before ``month`` (clipped to the group's horizon)."""
        g = self.group
        return int(min(max(month, 0) // g.months_per_step, g.steps - 1))


def bloc_names(s: Summary) -> dict[str, list[str]]:
    """Bloc label -> actor keys of a folder's actors (one bloc per kind, as the map figures)."""
    return blocs_of(s.keys, s.actors)


def map_values(p: Pick, month: float, mode: str, bloc: str) -> np.ndarray:
    """(provinces,) what the map shows for a bloc at a month.

    Args:
        p: the group.
        month: the month shown.
        mode: "control" (mean control share), "capital" (share of runs holding the capital) or
            "change" (mean control now minus at the start).
        bloc: a label of :func:`bloc_names`.
    """
    s = p.summary
    members = bloc_names(s).get(bloc, [])
    idx = [s.keys.index(k) for k in members]
    step = p.step_at(month)
    table = s.capitals[p.label] if mode == "capital" else s.control[p.label]
    now = table[step][:, idx].sum(axis=1)
    return now - table[0][:, idx].sum(axis=1) if mode == "change" else now


def differences(base: Pick, others: list[Pick], month: float, several: bool) -> tuple[pd.DataFrame, list[str]]:
    """Paired differences (group minus baseline, by replication) of the compared outcomes at a month.

    The rows of :func:`sim.analysis.paired_differences` (built by :func:`sim.analysis.paired_row`),
    computed for a slider:
    the groups' rows are looked up, not filtered, and the bootstrap intervals of every outcome
    come from one matrix product (:func:`sim.statistics.bootstrap_mean_cis`, the same resamples).
    Runs pair only when they share seeds: replication i of both groups had the same seed
    (common random numbers). A group whose seeds differ (a batch with another ``--seed``) is
    left out, and named in the notes.

    Returns:
        The rows, and notes for the groups left out.
    """
    names = [o.name for o in COMPARED]
    b = base.summary.rows(base.label, base.step_at(month)).set_index("replication")
    notes, rows = [], []
    for o in others:
        n = min(base.group.replications, o.group.replications)
        if base.group.seeds[:n] != o.group.seeds[:n]:
            notes.append(f"{o.name(several)}: not paired with {base.name(several)} (other seeds); left out")
            continue
        x = o.summary.rows(o.label, o.step_at(month)).set_index("replication")
        common = x.index.intersection(b.index)
        xv, yv = x.loc[common, names].to_numpy(float), b.loc[common, names].to_numpy(float)
        cis = bootstrap_mean_cis(xv - yv)
        pair = {"group": o.name(several), "baseline": base.name(several), "month": float(month)}
        rows += [paired_row(pair, name, xv[:, k], yv[:, k], (float(cis[k, 0]), float(cis[k, 1])))
                 for k, name in enumerate(names)]
    return pd.DataFrame(rows), notes


def _plt():
    """Matplotlib's figure class, without choosing a backend (the figures are rendered to PNG by Solara)."""
    from matplotlib.figure import Figure

    return Figure


def figure_png(fig: Figure) -> bytes:
    """A figure as PNG bytes, at the resolution the page shows (90 dpi)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _dates(g: Group) -> np.ndarray:
    return np.array(g.dates, dtype="datetime64[D]")


def fan_figure(picks: list[Pick], actors: list[str], overlay: bool) -> Figure:
    """Fan charts of territory share: one panel per actor, the groups overlaid or side by side.

    Args:
        picks: the groups drawn.
        actors: the actor keys drawn (one panel each).
        overlay: every group in each actor's panel (True), or one column per group (False).
    """
    from sim.figstyle import categorical, date_ticks, line_colour, percent_axis, share_limits

    several = len({p.summary.folder for p in picks}) > 1
    cols = 1 if overlay else max(len(picks), 1)
    rows = max(len(actors), 1)
    fig = _plt()(figsize=(3.4 * cols + 1.6, 1.9 * rows + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, sharex=True, sharey="row", squeeze=False))
    colours = categorical(len(picks))
    for i, actor in enumerate(actors):
        for j, p in enumerate(picks):
            ax = axes[i, 0 if overlay else j]
            _fan(ax, p, actor, (colours[j], line_colour(colours[j])), p.name(several))
            label = p.summary.actors[actor].label if actor in p.summary.actors else actor
            ax.set_title(label if overlay else f"{label}\n{p.name(several)}", fontsize=8)
            percent_axis(ax)
            date_ticks(ax)
            ax.tick_params(labelsize=7)
        f = fans_of(picks, actor)
        axes[i, 0].set_ylim(*share_limits(f["q05"].min(), f["q95"].max()) if len(f) else (0, 1))
    if overlay and picks:
        axes[0, 0].legend(fontsize=7, loc="best")
    fig.supylabel("territory share (median, 50% and 90% bands)", fontsize=8)
    return fig


def fans_of(picks: list[Pick], actor: str) -> pd.DataFrame:
    """The fan rows of one actor in the picked groups."""
    frames = [p.summary.fans[(p.summary.fans["group"] == p.label) & (p.summary.fans["actor"] == actor)]
              for p in picks]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["q05", "q95"])


def _fan(ax, p: Pick, actor: str, colour: tuple[str, str], name: str) -> None:
    """One group's bands (fill colour) and median (line colour) of one actor."""
    d = fans_of([p], actor).sort_values("step")
    if d.empty:
        return
    x = _dates(p.group)[d["step"].to_numpy()]
    ax.fill_between(x, d["q05"], d["q95"], color=colour[0], alpha=0.18, lw=0)
    ax.fill_between(x, d["q25"], d["q75"], color=colour[0], alpha=0.35, lw=0)
    ax.plot(x, d["median"], color=colour[1], lw=1.4, label=name)


def lever_figure(s: Summary, path: str, month: float) -> Figure:
    """Resistance territory against a swept lever's value: median and bands per scenario."""
    out = s.outcomes
    table = lever_table(out[out["month"] <= month + 1e-9], path, month)
    fig = _plt()(figsize=(5.2, 3.0), layout="constrained")
    ax = fig.subplots()
    for scen, d in table.groupby("scenario", sort=False):
        x = pd.to_numeric(d["value"], errors="coerce")
        xs = x if x.notna().all() else np.arange(len(d))
        ax.fill_between(xs, d["q05"] * 100, d["q95"] * 100, alpha=0.2, lw=0)
        ax.plot(xs, d["median"] * 100, marker="o", label=str(scen))
        if x.isna().any():
            ax.set_xticks(xs, [str(v) for v in d["value"]])
    ax.set_xlabel(path)
    ax.set_ylabel(f"resistance territory at month {month:g} (%)")
    ax.legend(fontsize=7)
    return fig


def event_log(p: Pick, replication: int) -> list[str]:
    """The events of one run, as 'date: text' lines, from the folder's events table."""
    import pyarrow.parquet as pq

    g = p.group
    lines = []
    for f in part_files(Path(p.summary.folder), "events", g.scenario, g.point, replication=replication):
        t = pq.ParquetFile(f).read(columns=["replication", "step", "date", "text"], use_threads=False).to_pandas()
        t = t[t["replication"] == replication].sort_values("step", kind="stable")
        lines += [f"{str(d)[:10]}  {text}" for d, text in zip(t["date"], t["text"], strict=True)]
    return lines
