"""Figures of a run: each actor's measures with bands across replications, and control maps.

Figures are made from the tables in a results folder (never from live models), so they can
be redrawn from results produced elsewhere. Bands are computed once per scenario point with
numpy (:func:`trajectory_bands`) and drawn as a few lines and fills, so a figure costs the
same for 1 or 1,000 replications.

Drawing uses matplotlib's object API, a :class:`matplotlib.figure.Figure` printed by the Agg
canvas, and never pyplot. This was chosen over selecting a backend inside the drawing entry
point because it needs no backend at all: no module chooses one (a notebook keeps its own), no
figure is left open in a global registry, and matplotlib is imported only when a figure is
drawn, so ``import sim.plots`` costs nothing.

What a figure cost, and what was cut (profiled with cProfile): ``tight_layout``, which lays out
every text to measure it, about a quarter of a panel figure (fixed margins instead); on the maps,
one patch and one line per pie slice and border edge, each updating the axes' limits (one
collection of each instead); and the ticks, whose labels are laid out one by one (at most five
dated ticks, about five on the y axis).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import figstyle, maps
from sim.outcomes import FIGURE_MEASURES, TERRITORY, Measure
from sim.statistics import bands

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
PNG_METADATA = {"Software": None}  # no software version in the PNG, so identical runs give identical files
DPI = 110
FIGURES = ("none", "summary", "all")  # what make_figures draws: nothing, the summary set, every figure
FIGURE_REPLICATIONS = 1000  # bands are drawn from at most this many replications per point
# a map shows mean control: 200 replications put its standard error well under a point of
# control share, and reading a batch's provinces parts is most of what a figure costs
MAP_REPLICATIONS = 200


def colour(actor: str, i: int = 0) -> str:
    """The colour of an actor (a fixed palette, then matplotlib's tab20 cycle)."""
    if actor in PALETTE:
        return PALETTE[actor]
    from matplotlib import colormaps

    r, g, b = colormaps["tab20"].colors[i % 20][:3]
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, outside pyplot (nothing to close, no backend chosen)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """Write a figure as PNG (fixed dpi, no software version) and return its path.

    Drawn in memory, then written whole and renamed: a full disk never leaves half a figure.
    """
    import io

    from sim.atomic import write_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_METADATA)
    return write_atomic(path, buf.getvalue(), sync=False)


percent_axis = figstyle.percent_axis  # kept here: the report's level plots import it from this module


@dataclass(frozen=True)
class TrajectoryBands:
    """Quantile bands across replications, per actor and step, of some trajectory columns.

    Attributes:
        actors: the actors that ever hold ground, in first-seen order.
        dates: the date of each step.
        replications: how many runs the bands summarise.
        values: column -> array (5, actors, steps) of the quantiles :data:`sim.statistics.QUANTILES`.
    """

    actors: list[str]
    dates: np.ndarray
    replications: int
    values: dict[str, np.ndarray]


def trajectory_bands(traj: pd.DataFrame, columns: Sequence[str]) -> TrajectoryBands:
    """Bands of ``columns`` across replications for each territorial actor and step (numpy, once).

    Args:
        traj: trajectory rows: actor, step, date, replication (and scenario and point, when
            the rows hold several points) and ``columns``.
        columns: the measures to summarise.
    """
    held = traj.groupby("actor", observed=True, sort=False)[TERRITORY.column].max()
    actors = [str(a) for a in held.index if held[a] > 0]
    rows = traj[traj["actor"].astype(str).isin(actors)]
    a = pd.Categorical(rows["actor"].astype(str), categories=actors).codes
    steps, s = np.unique(rows["step"].to_numpy(), return_inverse=True)
    # a run is a replication of one scenario point (rows of several points are runs of each)
    r = rows.groupby([c for c in ("scenario", "point", "replication") if c in rows], observed=True,
                     sort=False).ngroup().to_numpy()
    runs = int(r.max()) + 1 if len(r) else 0
    dates = pd.to_datetime(rows.groupby("step", observed=True)["date"].first().loc[steps]).to_numpy()
    values = {}
    for col in columns:
        cube = np.full((len(actors), len(steps), runs), np.nan)
        cube[a, s, r] = rows[col].to_numpy(float)
        values[col] = bands(cube, axis=2)  # a run missing at a step (a failed run) is NaN
    return TrajectoryBands(actors, dates, runs, values)


@dataclass(frozen=True)
class PanelNotes:
    """What a run's figure writes besides the bands: the actors' labels and the scenario's events.

    Attributes:
        labels: actor key -> label (from the scenario; a key without one is shown as is).
        markers: the events that fired in the runs (:func:`sim.figstyle.event_markers`).
    """

    labels: dict[str, str] = field(default_factory=dict)
    markers: list[figstyle.Marker] = field(default_factory=list)


def draw_trajectories(b: TrajectoryBands, measure: Measure, notes: PanelNotes | None = None,
                      shared: bool = False, title: str | None = None) -> Figure:
    """One panel per territorial actor: median line, 50% and 90% bands across replications.

    Panels are titled with the actors' labels, dated, and marked at the scenario's events. A
    share is drawn on an axis of at least 10 percentage points (:data:`sim.figstyle.MIN_SHARE_SPAN`)
    around the data, so a dip of a tenth of a point stays a tenth of a point; a count from zero.

    Args:
        b: the bands, from :func:`trajectory_bands` (with ``measure.column`` among its columns).
        measure: which measure to draw.
        notes: labels and event markers (none: keys, no markers).
        shared: one y scale for every panel (default: one a panel, by the same rule).
        title: figure title.
    """
    notes = notes or PanelNotes()
    n = len(b.actors)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig = new_figure(3.6 * cols, 2.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    q = b.values[measure.column]
    lims = figstyle.panel_limits(q, measure.is_share, shared)
    for k, (actor, c) in enumerate(zip(b.actors, figstyle.actor_colours(b.actors), strict=True)):
        ax = axes[k // cols][k % cols]
        ax.fill_between(b.dates, q[0, k], q[4, k], color=c, alpha=0.25, lw=0, label="90% band")
        ax.fill_between(b.dates, q[1, k], q[3, k], color=c, alpha=0.5, lw=0, label="50% band")
        ax.plot(b.dates, q[2, k], color=figstyle.line_colour(c), lw=1.8, label="median")
        ax.set_title(figstyle.wrap(notes.labels.get(actor, actor), 40), fontsize=8.5)
        ax.set_ylim(*lims[k])
        ax.grid(alpha=0.3)
        (figstyle.percent_axis if measure.is_share else figstyle.count_axis)(ax)
        if k % cols == 0:
            ax.set_ylabel(figstyle.unit_words(measure.unit, measure.column), fontsize=8)
        ax.locator_params(axis="y", nbins=5)  # few tick labels: each costs a text layout
        ax.tick_params(labelsize=8)
        figstyle.mark_events(ax, notes.markers)
    figstyle.date_ticks(axes[-1][0])
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
        if k >= cols:  # the panel above an empty slot is the last of its column: give it dates
            axes[k // cols - 1][k % cols].xaxis.set_tick_params(labelbottom=True)
    for k in range(max(0, n - cols), n):  # the lowest panel of each column says what its x axis is
        axes[k // cols][k % cols].set_xlabel("date", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="best")
    # fixed margins in inches (not tight_layout, which measures every text: most of a figure's cost)
    height = 2.7 * rows
    scale = (f"y axes span at least {100 * figstyle.MIN_SHARE_SPAN:g} percentage points" if measure.is_share
             else "y axes from zero")
    fig.suptitle(title or f"{measure.label[0].upper() + measure.label[1:]}: median and bands over {b.replications} "
                 f"replication(s); {scale}", fontsize=10, y=1 - 0.12 / height)
    fig.subplots_adjust(left=0.85 / (3.6 * cols), right=1 - 0.15 / (3.6 * cols), top=1 - 0.8 / height,
                        bottom=0.55 / height, wspace=0.35, hspace=0.55)
    return fig


def plot_trajectories(b: TrajectoryBands, measure: Measure, path: Path, title: str | None = None,
                      notes: PanelNotes | None = None) -> Path:
    """Draw :func:`draw_trajectories` (one scale a panel) and write it as PNG.

    Returns:
        The path written.
    """
    return save(draw_trajectories(b, measure, notes, title=title), path)


def plot_control_map(prov: pd.DataFrame, m: Map, step: int, path: Path, title: str | None = None) -> Path:
    """Provinces at their capitals, border edges between neighbours, pies of mean control.

    Each province is a pie of the control shares averaged over replications at
    ``step``, sized by population: the drawing of a map without outlines (the Afghan map's
    ``polygons.geojson`` gets :mod:`sim.maps`' figure).

    Args:
        prov: the provinces table.
        m: the map (coordinates and adjacency).
        step: which step to draw.
        path: PNG file to write.
        title: figure title.

    Returns:
        The path written.
    """
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Wedge

    at = prov[prov["step"] == step]
    mean = at.groupby(["province", "actor"], observed=True)["control"].mean().unstack(fill_value=0.0)
    actors = [a for a in mean.columns if mean[a].max() > 0]
    colours = [colour(str(a), k) for k, a in enumerate(actors)]
    fig = new_figure(8.5, 6.8)
    ax = fig.add_axes((0.08, 0.07, 0.9, 0.87))
    ii, jj = np.nonzero(np.triu(m.adjacency))
    edges = np.stack([np.column_stack([m.lon[ii], m.lat[ii]]), np.column_stack([m.lon[jj], m.lat[jj]])], axis=1)
    ax.add_collection(LineCollection(edges, colors="#bbbbbb", linewidths=0.8, zorder=1))
    radius = 0.12 + 0.22 * np.sqrt(m.population / m.population.max())
    wedges, faces = [], []
    for i, name in enumerate(m.names):
        if name not in mean.index:
            continue
        shares = mean.loc[name, actors].to_numpy()
        start = 90.0
        for share, c in zip(shares, colours, strict=True):
            if share > 0:
                wedges.append(Wedge((m.lon[i], m.lat[i]), radius[i], start, start + 360 * share))
                faces.append(c)
                start += 360 * share
        # the largest share not held by the province's main ruler, printed when visible at all
        ranked = np.sort(shares)[::-1]
        other = f"\n{1 - ranked[0]:.0%} contested" if len(ranked) > 1 and 1 - ranked[0] >= 0.005 else ""
        ax.text(m.lon[i], m.lat[i] - radius[i] - 0.04, name + other, ha="center", va="top", fontsize=6)
    ax.add_collection(PatchCollection(wedges, facecolors=faces, edgecolors="none", zorder=2))
    handles = [Line2D([], [], ls="", marker="o", color=c, label=str(a)) for a, c in zip(actors, colours, strict=True)]
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=True)
    ax.set_aspect("equal")
    ax.set_xlim(m.lon.min() - 1, m.lon.max() + 1)
    ax.set_ylim(m.lat.min() - 1, m.lat.max() + 1)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    date = str(at["date"].iloc[0])[:10] if len(at) else ""
    reps = prov["replication"].nunique()
    ax.set_title(title or f"Control on {date} (step {step}), mean of {reps} replication(s)", fontsize=11)
    return save(fig, path)


def default_map_months(horizon_months: int) -> list[int]:
    """Months to draw maps at: start, one, three and five years, and the horizon."""
    return sorted({s for s in (0, 12, 36, 60, horizon_months) if s <= horizon_months})


def figure_plan(which: str, horizon_months: int,
                map_months: Sequence[int] | None = None) -> list[tuple[str, Measure | int]]:
    """The files :func:`make_figures` writes for one scenario point, in order: (name, measure or map month).

    Args:
        which: "none"; "summary": the territory figure and the maps at the start and the
            horizon; "all": every measure's figure and the maps of :func:`default_map_months`.
        horizon_months: the point's horizon in months.
        map_months: months to draw maps at instead of the defaults (with "summary" or "all").

    Raises:
        ValueError: for a ``which`` not in :data:`FIGURES`.
    """
    if which not in FIGURES:
        raise ValueError(f"figures: expected one of {', '.join(FIGURES)}, found {which!r}")
    if which == "none":
        return []
    measures = [TERRITORY] if which == "summary" else list(FIGURE_MEASURES)
    if map_months is None:
        map_months = sorted({0, horizon_months}) if which == "summary" else default_map_months(horizon_months)
    months = [mo for mo in dict.fromkeys(map_months) if 0 <= mo <= horizon_months]
    return [(f"{ms.figure}.png", ms) for ms in measures] + [(f"map_month_{mo:03d}.png", mo) for mo in months]


def make_figures(folder: Path, m: Map, map_months: Sequence[int] | None = None, months_per_step: float = 1.0,
                 scenario: str | None = None, point: int | None = None, subdir: str | None = None,
                 which: str = "summary", progress: Callable[[str], None] | None = None) -> list[Path]:
    """The figures of one scenario point of a results folder.

    Args:
        folder: a results folder.
        m: the map the results were produced on.
        map_months: months (since the start) at which to draw control maps (default: see
            :func:`figure_plan`).
        months_per_step: the scenario's step length in months.
        scenario: which scenario (default: all rows).
        point: which sweep point (default: all rows).
        subdir: where under ``folder/figures`` to write (default: directly there).
        which: "none", "summary" or "all" (see :func:`figure_plan`).
        progress: called with each file's name once it is written.

    Returns:
        The files written.
    """
    from sim.store import read_parts  # here: the store imports numba, which importing the figures needs not

    figure_plan(which, 0)  # refuse a bad ``which`` before reading anything
    if which == "none":
        return []
    figs = folder / "figures" / subdir if subdir else folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    # only the parts of this point that hold the first replications are opened
    filt = [("replication", "<", FIGURE_REPLICATIONS)]
    sel = {"scenario": scenario, "point": point, "below_replication": FIGURE_REPLICATIONS}
    measures = [TERRITORY] if which == "summary" else list(FIGURE_MEASURES)
    columns = list(dict.fromkeys([TERRITORY.column, *(ms.column for ms in measures)]))
    keys = [c for c, chosen in (("scenario", scenario), ("point", point)) if chosen is None]
    traj = read_parts(folder, "trajectories", [*keys, "actor", "date", "step", "replication", *columns], filt, **sel)
    horizon = int(traj["step"].max())
    horizon_months = round(horizon * months_per_step)
    b = trajectory_bands(traj, columns)
    plan = figure_plan(which, horizon_months, map_months)
    steps = {what: min(round(what / months_per_step), horizon) for _, what in plan if not isinstance(what, Measure)}
    # every map's rows in one pass over the provinces parts (each part is read once, not once a map)
    # (and the start's, for the change since then on a real map)
    at = [("replication", "<", MAP_REPLICATIONS), ("step", "in", sorted({*steps.values(), 0}))]
    map_sel = {**sel, "below_replication": MAP_REPLICATIONS}
    prov = read_parts(folder, "provinces", ["province", "actor", "date", "step", "replication", "control"], at,
                      **map_sel) if steps else None
    caps = read_parts(folder, "capitals", ["province", "holder", "step", "replication"], at, **map_sel) \
        if steps and m.outlines is not None else None
    actors = maps.actors_of(folder, scenario) if caps is not None else {}
    notes = PanelNotes({k: a.label for k, a in maps.actors_of(folder, scenario).items()},
                       figstyle.event_markers(folder, b.replications, scenario, point))
    out = []
    for name, what in plan:
        if isinstance(what, Measure):
            out.append(plot_trajectories(b, what, figs / name, notes=notes))
        elif caps is not None:
            out.append(save(maps.build_figure(maps.map_data(prov, caps, m, steps[what], actors), m, DPI), figs / name))
        else:
            out.append(plot_control_map(prov[prov["step"] == steps[what]], m, steps[what], figs / name))
        if progress is not None:
            progress(name)
    return out


class FigureProgress:
    """A progress bar over the figures to draw, on standard error when it is a terminal; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if total and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="figure", file=sys.stderr, desc="  figures", leave=False)

    def __call__(self, name: str) -> None:
        """Count one figure written."""
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
