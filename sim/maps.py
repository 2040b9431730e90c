"""Control maps on the provinces' outlines: choropleths per bloc, capital holders, ensemble odds.

A map figure (:func:`plot_map`) has one large panel, the holder of each provincial capital
(a dot at the capital, coloured by holder, the province tinted alike, every province named
or numbered; :mod:`sim.maplabels` places the names), and beside it small multiples, one
column per bloc (the actors of one ``kind``: the government, the resistance groups...):

* mean control share (% of province, 0-100% shared by every panel);
* for an ensemble (several replications): P(capital held by the bloc) (% of replications);
* after the start: the change of mean control since the start (percentage points).

Colours are colour-blind safe: Okabe-Ito for the holders, a sequential ColorBrewer map
(YlGnBu) for shares and a diverging one (PuOr) for changes. The numbers come from the
tables (:func:`map_data`), so maps are redrawn from any results folder.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.geography import Map

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
# fixed holder colours for the actors of the shipped scenarios, so maps compare across scenarios
HOLDER_COLOURS = {"taliban": "#E69F00", "nrf": "#009E73", "northern_alliance": "#009E73", "republic": "#0072B2",
                  "aff": "#56B4E9", "hazara": "#CC79A7", "ainlm": "#F0E442", "haqqani": "#D55E00",
                  "iskp": "#000000"}
SHARE_CMAP = "YlGnBu"  # sequential, colour-blind safe
CHANGE_CMAP = "PuOr"  # diverging, colour-blind safe
BLOC_ORDER = ("government", "insurgent", "resistance", "jihadist")
BLOC_WORDS = {"government": "Government", "insurgent": "Breakaway insurgents", "resistance": "Resistance",
              "jihadist": "Jihadists"}
BIG_W, SMALL_W, BAR_W = 6.6, 2.45, 1.0  # inches: holder panel, one small panel, colour bar column


@dataclass(frozen=True)
class Actor:
    """What a map says of an actor: its label and kind (from the run's resolved scenario)."""

    label: str
    kind: str


@dataclass(frozen=True)
class MapData:
    """The numbers one map figure shows, per bloc and province (arrays in the map's order).

    Attributes:
        date: the date drawn (YYYY-MM-DD).
        step: the step drawn.
        replications: how many runs the numbers summarise.
        blocs: the label of each bloc.
        control: (blocs, provinces) mean control share.
        change: (blocs, provinces) change of mean control since step 0; None at the start.
        odds: (blocs, provinces) share of runs in which the bloc holds the capital; None for one run.
        holders: the label of each actor holding a capital somewhere.
        holder_keys: the key of each of ``holders``.
        holder: (provinces,) index into ``holders`` of the most frequent holder (-1: none).
    """

    date: str
    step: int
    replications: int
    blocs: list[str]
    control: np.ndarray
    change: np.ndarray | None
    odds: np.ndarray | None
    holders: list[str]
    holder_keys: list[str]
    holder: np.ndarray


def actors_of(folder: Path, scenario: str | None = None) -> dict[str, Actor]:
    """Key -> label and kind of every faction of a results folder's scenario (all scenarios: None).

    Read from the resolved scenarios of the folder's ``manifest.json``; empty when there is none.
    """
    import json

    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    out = {}
    for sc in json.loads(path.read_text(encoding="utf-8")).get("scenarios", []):
        spec = sc.get("resolved_scenario", {})
        if scenario is None or spec.get("name") == scenario:
            out.update({k: Actor(str(f.get("label", k)), str(f.get("kind", ""))) for k, f in spec["factions"].items()})
    return out


def blocs_of(keys: list[str], actors: Mapping[str, Actor]) -> dict[str, list[str]]:
    """Bloc label -> its actors' keys: one bloc per kind, named by its one actor or by the kind."""
    kinds = {k: actors[k].kind if k in actors else k for k in keys}
    order = [*BLOC_ORDER, *sorted(set(kinds.values()) - set(BLOC_ORDER))]
    out = {}
    for kind in order:
        members = [k for k in keys if kinds[k] == kind]
        if len(members) == 1:
            out[actors[members[0]].label if members[0] in actors else members[0]] = members
        elif members:
            out[f"{BLOC_WORDS.get(kind, kind)} ({len(members)} groups)"] = members
    return out


def _mean_control(prov: pd.DataFrame, step: int, m: Map) -> pd.DataFrame:
    """Mean control share at ``step``: provinces (map order) x actors."""
    at = prov[prov["step"] == step]
    mean = at.groupby(["province", "actor"], observed=True)["control"].mean().unstack(fill_value=0.0)
    mean.columns = [str(c) for c in mean.columns]
    return mean.reindex([str(n) for n in m.names], fill_value=0.0)


def _capital_odds(caps: pd.DataFrame, m: Map) -> pd.DataFrame:
    """Share of runs each actor holds each capital: provinces (map order) x holders."""
    n = caps.groupby("replication", observed=True).ngroups
    count = caps.groupby(["province", "holder"], observed=True).size().unstack(fill_value=0)
    count.columns = [str(c) for c in count.columns]
    return (count / max(n, 1)).reindex([str(x) for x in m.names], fill_value=0.0)


def _by_bloc(table: pd.DataFrame, blocs: dict[str, list[str]]) -> np.ndarray:
    """(blocs, provinces): the summed columns of each bloc's actors."""
    return np.array([table.reindex(columns=keys, fill_value=0.0).sum(axis=1).to_numpy() for keys in blocs.values()])


def map_data(prov: pd.DataFrame, caps: pd.DataFrame, m: Map, step: int, actors: Mapping[str, Actor]) -> MapData:
    """The numbers of the map at ``step`` from the provinces and capitals tables.

    Args:
        prov: provinces rows (province, actor, step, date, replication, control) at ``step``
            and, for the change since the start, at step 0.
        caps: capitals rows (province, holder, step, replication) at ``step``.
        m: the map.
        step: the step drawn.
        actors: key -> label and kind (actors missing here are named by their key).
    """
    mean, start = _mean_control(prov, step, m), _mean_control(prov, 0, m)
    # the actors holding ground now or at the start (a bloc that lost everything shows its loss)
    keys = [k for k in dict.fromkeys([*start.columns, *mean.columns])
            if max(mean.get(k, pd.Series([0.0])).max(), start.get(k, pd.Series([0.0])).max()) > 0]
    blocs = blocs_of(keys, actors)
    control = _by_bloc(mean, blocs)
    change = control - _by_bloc(start, blocs) if step > 0 else None
    at = caps[caps["step"] == step]
    odds = _capital_odds(at, m)
    reps = int(prov.loc[prov["step"] == step, "replication"].nunique())
    held = [k for k in odds.columns if odds[k].max() > 0]
    odds = odds[held]
    share = odds.to_numpy() if held else np.zeros((m.n, 1))
    top = np.where(share.max(axis=1) > 0, share.argmax(axis=1), -1)  # the most frequent holder; -1: none recorded
    dates = prov.loc[prov["step"] == step, "date"]
    return MapData(date=str(dates.iloc[0])[:10] if len(dates) else "", step=step, replications=reps,
                   blocs=list(blocs), control=control, change=change,
                   odds=_by_bloc(odds, blocs) if reps > 1 else None,
                   holders=[actors[k].label if k in actors else k for k in held], holder_keys=held, holder=top)


def holder_colours(keys: list[str]) -> list[str]:
    """One Okabe-Ito colour per holder: the fixed ones, then the unused ones in order, then grey."""
    spare = [c for c in OKABE_ITO if c not in {HOLDER_COLOURS.get(k) for k in keys}]
    out: list[str] = []
    for k in keys:
        fixed = HOLDER_COLOURS.get(k)
        out.append(fixed if fixed and fixed not in out else spare.pop(0) if spare else "#999999")
    return out


def outline_collection(m: Map, **style: object):
    """The provinces' outlines as one PathCollection (one compound path a province)."""
    from matplotlib.collections import PathCollection

    from sim.maplabels import outline_paths

    return PathCollection(outline_paths(m), **style)


def frame(ax: Axes, m: Map) -> None:
    """Limits around the outlines, a map's aspect, no axes furniture."""
    allv = np.concatenate([r for rings in m.outlines for r in rings])
    (x0, y0), (x1, y1) = allv.min(axis=0), allv.max(axis=0)
    pad = 0.02 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))  # a degree of longitude is shorter away from the equator
    ax.set_axis_off()


def _choropleth(ax: Axes, m: Map, values: np.ndarray, cmap: str, norm) -> object:
    """One small panel: provinces filled by ``values`` on ``cmap``."""
    coll = outline_collection(m, cmap=cmap, norm=norm, edgecolors="#555555", linewidths=0.25)
    coll.set_array(values)
    ax.add_collection(coll)
    frame(ax, m)
    return coll


def _rows(d: MapData) -> list[tuple[str, np.ndarray, str, str]]:
    """The small-multiple rows: (what, values, colour map, colour bar label)."""
    rows = [("mean control", d.control, SHARE_CMAP, "control\n(% of province)")]
    if d.odds is not None:
        rows.append(("P(capital held)", d.odds, SHARE_CMAP, "P(capital held)\n(% of replications)"))
    if d.change is not None:
        rows.append(("change since start", d.change, CHANGE_CMAP, "change of control since\nstart (percentage points)"))
    return rows


def figure_size(d: MapData) -> tuple[float, float]:
    """Width and height (inches) of the map figure of ``d``."""
    return BIG_W + 0.3 + SMALL_W * max(len(d.blocs), 1) + BAR_W, max(6.9, 0.9 + 2.15 * len(_rows(d)))


def _points(x: float, _pos: int | None = None) -> str:
    """A change of share as signed percentage points ("+10", "0", "-5")."""
    return f"{100 * x:+.0f}" if round(100 * x) else "0"


def _small_multiples(fig: Figure, m: Map, d: MapData) -> None:
    """The grid of choropleths, one row per measure, one column per bloc, a colour bar per row."""
    from matplotlib.colors import Normalize
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    w, h = figure_size(d)
    rows = _rows(d)
    for r, (what, values, cmap, bar_label) in enumerate(rows):
        if cmap == CHANGE_CMAP:
            span = max(0.1, float(np.ceil(np.abs(values).max(initial=0) * 10) / 10))
            norm = Normalize(-span, span)
        else:
            norm = Normalize(0.0, 1.0)
        top = 1 - (0.75 + 2.15 * r) / h
        for b, bloc in enumerate(d.blocs):
            ax = fig.add_axes(((BIG_W + 0.3 + SMALL_W * b) / w, top - 1.75 / h, (SMALL_W - 0.1) / w, 1.75 / h))
            coll = _choropleth(ax, m, values[b], cmap, norm)
            ax.set_title(f"{bloc}\n{what}", fontsize=7.5)
        cax = fig.add_axes(((w - BAR_W + 0.1) / w, top - 1.6 / h, 0.12 / w, 1.45 / h))
        bar = fig.colorbar(coll, cax=cax)
        bar.ax.yaxis.set_major_formatter(FuncFormatter(_points) if cmap == CHANGE_CMAP
                                         else PercentFormatter(1.0, decimals=0))
        bar.ax.tick_params(labelsize=7)
        bar.set_label(bar_label, fontsize=7)


def _holder_panel(fig: Figure, m: Map, d: MapData) -> Axes:
    """The large panel: provinces tinted by their capital's holder, a dot at each capital, names."""
    from matplotlib.lines import Line2D

    from sim.maplabels import place_labels

    w, h = figure_size(d)
    ax = fig.add_axes((0.15 / w, 1 - 5.95 / h, BIG_W / w, 5.3 / h))
    colours = holder_colours(d.holder_keys)
    fill = [colours[k] if k >= 0 else "#ffffff" for k in d.holder]
    ax.add_collection(outline_collection(m, facecolors=fill, alpha=0.35, edgecolors="none"))
    ax.add_collection(outline_collection(m, facecolors="none", edgecolors="#444444", linewidths=0.4))
    ax.scatter(m.lon, m.lat, s=22, c=fill, edgecolors="black", linewidths=0.5, zorder=3)
    frame(ax, m)
    many = f" (most frequent of {d.replications} replications)" if d.replications > 1 else ""
    ax.set_title(f"Holder of each provincial capital{many}", fontsize=9)
    handles = [Line2D([], [], ls="", marker="o", mfc=c, mec="black", mew=0.5, label=textwrap.fill(lab, 30))
               for k, (lab, c) in enumerate(zip(d.holders, colours, strict=True)) if k in d.holder]
    # in the corner that is Pakistan, clear of the provinces; the labels keep clear of it too
    legend = ax.legend(handles=handles, loc="lower right", fontsize=7, frameon=False, title="capital held by",
                       title_fontsize=7, alignment="left")
    ax.set_label("holders")
    key = place_labels(ax, m, avoid=[legend.get_window_extent(fig.canvas.get_renderer())])
    if key:
        ax.text(0.0, -0.01, _key_text(key), transform=ax.transAxes, ha="left", va="top", fontsize=6.5,
                linespacing=1.3)
    return ax


def _key_text(key: list[tuple[int, str]], per_line: int = 6) -> str:
    """The numbered key, a few provinces a line."""
    items = [f"{k} {name}" for k, name in key]
    return "\n".join("   ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def build_figure(d: MapData, m: Map, dpi: float, title: str | None = None) -> Figure:
    """The map figure of ``d`` on the Agg canvas (outside pyplot), laid out for ``dpi``.

    Args:
        d: the numbers, from :func:`map_data`.
        m: the map; ``m.outlines`` must not be None.
        dpi: the resolution the figure will be written at (labels are placed for it).
        title: figure title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figure_size(d), dpi=dpi)
    FigureCanvasAgg(fig)
    _small_multiples(fig, m, d)
    _holder_panel(fig, m, d)
    fig.suptitle(title or f"Control on {d.date} (step {d.step}), mean of {d.replications} replication(s)",
                 fontsize=11, x=0.02, ha="left", y=1 - 0.12 / figure_size(d)[1])
    return fig
