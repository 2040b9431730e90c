"""Figures: territory trajectories with bands across replications, and control maps.

Figures are made from the tables in a results folder (never from live models), so
they can be redrawn from results produced elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Wedge

from sim.geography import Map

# Fixed colours per actor key so that figures are comparable across scenarios.
PALETTE = {
    "taliban": "#6b6b6b",
    "haqqani": "#8c564b",
    "nrf": "#2ca02c",
    "aff": "#1f77b4",
    "ainlm": "#ff7f0e",
    "hazara": "#9467bd",
    "iskp": "#d62728",
    "republic": "#17becf",
    "northern_alliance": "#2ca02c",
}
_FALLBACK = plt.get_cmap("tab20").colors
# PNG metadata without a software version, so identical runs give identical files
_META = {"Software": None}


def colour(actor: str, i: int = 0) -> str:
    """The colour of an actor (a fixed palette, then a fallback cycle)."""
    if actor in PALETTE:
        return PALETTE[actor]
    r, g, b = _FALLBACK[i % len(_FALLBACK)][:3]
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def territorial_actors(traj: pd.DataFrame) -> list[str]:
    """Actors that ever hold ground in the trajectories, in first-seen order."""
    held = traj.groupby("actor", observed=True, sort=False)["territory_share"].max()
    return [str(a) for a in held.index if held[a] > 0]


def trajectory_bands(traj: pd.DataFrame, value: str = "territory_share") -> pd.DataFrame:
    """Median and 50% / 90% bands across replications, per actor and step."""
    g = traj.groupby(["actor", "date"], observed=True)[value]
    out = g.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    out.columns = ["q05", "q25", "median", "q75", "q95"]
    return out.reset_index()


def plot_trajectories(traj: pd.DataFrame, path: Path, value: str = "territory_share",
                      title: str | None = None) -> Path:
    """One panel per territorial actor: median line, 50% and 90% bands across replications.

    Args:
        traj: the trajectories table (one or more replications of one scenario).
        path: PNG file to write.
        value: which column to plot (territory_share, population_share, strength, ...).
        title: figure title.

    Returns:
        The path written.
    """
    actors = territorial_actors(traj)
    bands = trajectory_bands(traj[traj["actor"].isin(actors)], value)
    n = len(actors)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False, sharex=True)
    reps = traj["replication"].nunique()
    for k, actor in enumerate(actors):
        ax = axes[k // cols][k % cols]
        b = bands[bands["actor"] == actor]
        c = colour(actor, k)
        ax.fill_between(b["date"], b["q05"], b["q95"], color=c, alpha=0.18, lw=0, label="90% band")
        ax.fill_between(b["date"], b["q25"], b["q75"], color=c, alpha=0.35, lw=0, label="50% band")
        ax.plot(b["date"], b["median"], color=c, lw=1.8, label="median")
        ax.set_title(actor, fontsize=10)
        ax.grid(alpha=0.3)
        if value.endswith("share"):
            ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=None))
        if k // cols == rows - 1:
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7, loc="best")
    label = value.replace("_", " ")
    fig.suptitle(title or f"{label}: median and bands over {reps} replication(s)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path


def plot_control_map(prov: pd.DataFrame, m: Map, step: int, path: Path, title: str | None = None) -> Path:
    """Provinces at their capitals, border edges between neighbours, pies of mean control.

    Each province is a pie of the control shares averaged over replications at
    ``step``, sized by population; the Afghan map needs no shapefile for this.

    Args:
        prov: the provinces table.
        m: the map (coordinates and adjacency).
        step: which step to draw.
        path: PNG file to write.
        title: figure title.

    Returns:
        The path written.
    """
    at = prov[prov["step"] == step]
    mean = at.groupby(["province", "actor"], observed=True)["control"].mean().unstack(fill_value=0.0)
    actors = [a for a in mean.columns if mean[a].max() > 0]
    fig, ax = plt.subplots(figsize=(8.5, 6.8))
    ii, jj = np.nonzero(np.triu(m.adjacency))
    for i, j in zip(ii, jj, strict=True):
        ax.plot([m.lon[i], m.lon[j]], [m.lat[i], m.lat[j]], color="#bbbbbb", lw=0.8, zorder=1)
    radius = 0.12 + 0.22 * np.sqrt(m.population / m.population.max())
    for i, name in enumerate(m.names):
        if name not in mean.index:
            continue
        shares = mean.loc[name, actors].to_numpy()
        start = 90.0
        for k, (actor, share) in enumerate(zip(actors, shares, strict=True)):
            if share <= 0:
                continue
            ax.add_patch(Wedge((m.lon[i], m.lat[i]), radius[i], start, start + 360 * share,
                               facecolor=colour(str(actor), k), edgecolor="none", zorder=2))
            start += 360 * share
        # the largest share not held by the province's main ruler, printed when visible at all
        ranked = np.sort(shares)[::-1]
        other = f"\n{1 - ranked[0]:.0%} contested" if len(ranked) > 1 and 1 - ranked[0] >= 0.005 else ""
        ax.annotate(name + other, (m.lon[i], m.lat[i] - radius[i] - 0.04), ha="center", va="top", fontsize=6)
    for k, actor in enumerate(actors):
        ax.scatter([], [], color=colour(str(actor), k), label=str(actor), s=40)
    ax.legend(loc="lower left", fontsize=7, frameon=True)
    ax.set_aspect("equal")
    ax.set_xlim(m.lon.min() - 1, m.lon.max() + 1)
    ax.set_ylim(m.lat.min() - 1, m.lat.max() + 1)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    date = str(at["date"].iloc[0])[:10] if len(at) else ""
    reps = prov["replication"].nunique()
    ax.set_title(title or f"Control on {date} (step {step}), mean of {reps} replication(s)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path


def default_map_months(horizon_months: int) -> list[int]:
    """Months to draw maps at: start, one, three and five years, and the horizon."""
    return sorted({s for s in (0, 12, 36, 60, horizon_months) if s <= horizon_months})


FIGURE_REPLICATIONS = 1000  # bands are drawn from at most this many replications per point


def make_figures(folder: Path, m: Map, map_months: Sequence[int] | None = None, months_per_step: float = 1.0,
                 scenario: str | None = None, point: int | None = None, subdir: str | None = None) -> list[Path]:
    """The standard figures of one scenario point of a results folder.

    Args:
        folder: a results folder.
        m: the map the results were produced on.
        map_months: months (since the start) at which to draw control maps.
        months_per_step: the scenario's step length in months.
        scenario: which scenario (default: all rows).
        point: which sweep point (default: all rows).
        subdir: where under ``folder/figures`` to write (default: directly there).

    Returns:
        The files written.
    """
    figs = folder / "figures" / subdir if subdir else folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    from sim.store import read_parts

    # only the parts of this point that hold the first replications are opened
    filt = [("replication", "<", FIGURE_REPLICATIONS)]
    sel = {"scenario": scenario, "point": point, "below_replication": FIGURE_REPLICATIONS}
    cols = ["actor", "date", "step", "replication", "territory_share", "population_share", "strength"]
    traj = read_parts(folder, "trajectories", cols, filt, **sel)
    out = [
        plot_trajectories(traj, figs / "territory.png", "territory_share"),
        plot_trajectories(traj, figs / "population.png", "population_share"),
        plot_trajectories(traj, figs / "strength.png", "strength"),
    ]
    horizon = int(traj["step"].max())
    horizon_months = round(horizon * months_per_step)
    for month in map_months if map_months is not None else default_map_months(horizon_months):
        step = min(round(month / months_per_step), horizon)
        if 0 <= month <= horizon_months:
            prov = read_parts(folder, "provinces", ["province", "actor", "date", "step", "replication", "control"],
                              [*filt, ("step", "==", step)], **sel)
            out.append(plot_control_map(prov, m, step, figs / f"map_month_{month:03d}.png"))
    return out
