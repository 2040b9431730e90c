"""The explorer page: results folders on a map, fan charts, paired differences, levers and event logs.

Served by ``run.py dashboard`` (:mod:`sim.dashboard.serve`) with ``solara run``, as Mesa's
SolaraViz pages are; the folders it may read come from the environment variable
:data:`ROOTS_ENV`, which the command sets. Each panel's numbers come from
:mod:`sim.dashboard.views`; this module only lays out widgets. Moving the month slider
redraws only the map and the difference table (SVG and HTML from cached arrays); the fan
charts are drawn in a thread when the groups or actors change, so the map never waits for
them. A folder is opened (its fingerprint checked) when it is chosen or on "reload", not at
each move.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import solara

from sim.dashboard.folders import Roots, map_of
from sim.dashboard.livepage import LivePage
from sim.dashboard.summary import Summary, summarise
from sim.dashboard.svgmap import MODES, map_svg, outline
from sim.dashboard.views import (
    Pick,
    bloc_names,
    differences,
    event_log,
    fan_figure,
    figure_png,
    lever_figure,
    map_values,
)
from sim.outcomes import outcome
from sim.statistics import bootstrap_mean_cis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ROOTS_ENV", "Explorer", "Page", "open_summary"]

ROOTS_ENV = "SIM_DASHBOARD_ROOTS"  # JSON list of the folders given on the command line
VIEWS = ("results", "live model")  # the page's two views
_OPEN: dict[Path, tuple[str, str, Summary]] = {}  # folder -> (glance, fingerprint, summary), per process


def _glance(folder: Path) -> str:
    """A cheap sign of change: the manifest, the run ledger's size and time, the part folders' times.

    Parts are written under a temporary name and renamed, and each chunk appends to the
    ledger, so new or rewritten results change it. A folder of 20,000 runs holds some 16,000
    parts: :func:`~sim.dashboard.summary.fingerprint` stats each (a quarter of a second), this
    a handful of files.
    """
    from sim.dashboard.summary import SOURCES

    h = hashlib.sha256((folder / "manifest.json").read_bytes())
    for p in (folder / "runs.jsonl", *(folder / f"{t}.parquet" for t in SOURCES)):
        st = p.stat() if p.exists() else None
        h.update(f"{p.name}:{st and st.st_size}:{st and st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def open_summary(folder: Path, check: bool = False) -> Summary:
    """A folder's summary, kept in memory while it holds (the cache on disk behind it).

    Args:
        folder: a results folder.
        check: take the full fingerprint even when the glance shows no change ("reload").
    """
    from sim.dashboard.summary import fingerprint

    glance = _glance(folder)
    if folder in _OPEN and _OPEN[folder][0] == glance and not check:
        return _OPEN[folder][2]
    key = fingerprint(folder)
    if folder in _OPEN and _OPEN[folder][1] == key:
        _OPEN[folder] = (glance, key, _OPEN[folder][2])
        return _OPEN[folder][2]
    m = map_of(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    provinces = list(m.names) if m is not None else _provinces_without_map(folder)
    s = summarise(folder, provinces, key)
    for n in {g.replications for g in s.groups}:  # the paired intervals' resamples, drawn once per size
        bootstrap_mean_cis(np.zeros((n, 1)))
    if s.groups:
        s.rows(s.groups[0].label, 0)  # index the outcome rows once, here, rather than at the first slider move
    _OPEN[folder] = (glance, key, s)
    return s


def _provinces_without_map(folder: Path) -> list[str]:
    """Province names from the first provinces part, when the folder's map is not one shipped."""
    import pyarrow.parquet as pq

    from sim.store import part_files

    parts = part_files(folder, "provinces")
    if not parts:
        return []
    col = pq.ParquetFile(parts[0]).read(columns=["province"], use_threads=False).column("province")
    return sorted({str(v) for v in col.to_pylist()})


def _picks(summaries: list[Summary], names: list[str]) -> dict[str, Pick]:
    """Every group of the open folders, by the name the page shows."""
    several = len(summaries) > 1
    out = {}
    for s in summaries:
        for g in s.groups:
            p = Pick(s, g.label)
            out[p.name(several)] = p
    return {n: out[n] for n in names if n in out} if names else out


def _difference_table(base: str, month: int, rows, notes: list[str]) -> str:
    """The paired differences as an HTML table (values in percentage points for shares)."""
    head = (f"<p>Each group minus <b>{html.escape(base)}</b> at month {month}, paired by replication "
            "(common random numbers); 95% bootstrap intervals; A12: the probability that a run of the group "
            "exceeds its paired baseline run.</p>")
    body = ""
    for r in rows.itertuples() if len(rows) else []:
        o = outcome(r.outcome)
        k, unit = (100.0, " pp") if o.is_share else (1.0, "")
        mark = "yes" if r.ci_excludes_zero else "no"
        body += (f"<tr><td>{html.escape(r.group)}</td><td>{html.escape(o.label)}</td>"
                 f"<td>{r.mean_difference * k:+.3f}{unit}</td><td>[{r.ci_low * k:+.3f}, {r.ci_high * k:+.3f}]</td>"
                 f"<td>{mark}</td><td>{r.a12:.2f} ({html.escape(r.effect)})</td><td>{r.pairs}</td></tr>")
    table = ("<table class='differences'><tr><th>group</th><th>outcome</th><th>mean difference</th>"
             "<th>95% CI</th><th>CI excludes 0</th><th>A12</th><th>pairs</th></tr>" + body + "</table>")
    note = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    return head + (table if body else "<p>Pick a second group to compare with the baseline.</p>") + note


@solara.component
def MapPanel(picks: dict[str, Pick], month: int):
    """The province map of one group at the month, in one of three modes."""
    names = list(picks)
    which, set_which = solara.use_state(names[0])
    mode, set_mode = solara.use_state("control")
    p = picks.get(which, picks[names[0]])
    blocs = list(bloc_names(p.summary))
    bloc, set_bloc = solara.use_state(blocs[min(2, len(blocs) - 1)] if blocs else "")
    m = map_of(p.summary.manifest)
    with solara.Card("Map"):
        with solara.Row():
            solara.Select("group", value=which if which in picks else names[0], values=names, on_value=set_which)
            solara.Select("bloc", value=bloc if bloc in blocs else blocs[0], values=blocs, on_value=set_bloc)
            solara.Select("show", value=MODES[mode], values=list(MODES.values()),
                          on_value=lambda v: set_mode(next(k for k, w in MODES.items() if w == v)))
        o = outline(m) if m is not None else None
        if o is None:
            solara.Warning("This folder's map is not one shipped with the tool: no outlines to draw.")
            return
        step = p.step_at(month)
        values = map_values(p, month, mode, bloc if bloc in blocs else blocs[0])
        label = f"{bloc}, {p.group.dates[step][:7]}"
        svg = map_svg(o, values, mode, label).replace("<svg ", f'<svg data-month="{month}" ', 1)
        solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["map"])
        solara.Text(f"{p.name(False)}, month {month} ({p.group.dates[step]}), {p.group.replications} runs")


@solara.component
def Drawn(draw: Callable[[], Figure], dependencies: list, name: str):
    """A matplotlib figure drawn to PNG in a thread when its dependencies change.

    The map and the differences reach the page without waiting for it, and a slider move is
    not held up by a figure that depends on the month (the lever plots).
    """
    png = solara.use_thread(lambda: figure_png(draw()), dependencies=dependencies, intrusive_cancel=False)
    if png.state == solara.ResultState.FINISHED and png.value is not None:
        solara.Image(png.value, format="png", classes=[name])
    elif png.state == solara.ResultState.ERROR:
        solara.Error(f"The {name} figure could not be drawn: {png.error}")
    else:
        solara.Text(f"drawing the {name}...", classes=[f"{name}-pending"])


@solara.component
def FanPanel(picks: dict[str, Pick]):
    """Fan charts of the picked groups, per actor, overlaid or as small multiples."""
    first = next(iter(picks.values())).summary
    labels = {first.actors[k].label if k in first.actors else k: k for k in first.keys}
    shown, set_shown = solara.use_state([lbl for lbl, k in labels.items() if k in ("taliban", "nrf")]
                                        or list(labels)[:2])
    layout, set_layout = solara.use_state("overlaid")
    with solara.Card("Territory share: fan charts"):
        solara.SelectMultiple("actors", values=shown, all_values=list(labels), on_value=set_shown)
        solara.ToggleButtonsSingle(value=layout, values=["overlaid", "small multiples"], on_value=set_layout)
        keys = [labels[s] for s in shown if s in labels]
        Drawn(lambda: fan_figure(list(picks.values()), keys, layout == "overlaid"), [tuple(picks), tuple(keys), layout],
              "fans")


@solara.component
def DifferencePanel(picks: dict[str, Pick], month: int):
    """Paired differences of the compared outcomes against a chosen baseline."""
    names = list(picks)
    default = next((n for n in names if n.endswith("baseline")), names[0])
    base, set_base = solara.use_state(default)
    base = base if base in picks else default
    rows, notes = differences(picks[base], [picks[n] for n in names if n != base], month, False)
    with solara.Card("Paired differences"):
        solara.Select("baseline", value=base, values=names, on_value=set_base)
        solara.HTML(tag="div", unsafe_innerHTML=_difference_table(base, month, rows, notes), classes=["diff"])


@solara.component
def LeverPanel(s: Summary, month: int):
    """Resistance territory against each swept lever of a folder."""
    swept = [sw["path"] for sw in s.manifest.get("sweeps", [])]
    path, set_path = solara.use_state(swept[0] if swept else "")
    if not swept:
        return
    with solara.Card(f"Levers: {s.folder.name}"):
        solara.Select("lever", value=path, values=swept, on_value=set_path)
        Drawn(lambda: lever_figure(s, path, month), [path, month, id(s)], "levers")


@solara.component
def EventPanel(picks: dict[str, Pick]):
    """The event log of one run."""
    names = list(picks)
    which, set_which = solara.use_state(names[0])
    rep, set_rep = solara.use_state(0)
    p = picks.get(which, picks[names[0]])
    with solara.Card("Event log of a run"):
        with solara.Row():
            solara.Select("group", value=which if which in picks else names[0], values=names, on_value=set_which)
            solara.InputInt("replication", value=rep, on_value=lambda v: set_rep(min(max(v, 0),
                                                                                      p.group.replications - 1)))
        lines = solara.use_memo(lambda: event_log(p, rep), [which, rep, id(p.summary)])
        text = "\n".join(html.escape(x) for x in lines) or "(no events recorded in this run)"
        solara.HTML(tag="pre", unsafe_innerHTML=text, classes=["events"], style="max-height: 24em; overflow: auto")


@solara.component
def Explorer(roots: Roots):
    """The whole page: pick folders and groups, then every panel of them."""
    folders = roots.results()
    names = [roots.name(f) for f in folders]
    chosen, set_chosen = solara.use_state(names[:1])
    reloads, set_reloads = solara.use_state(0)
    # opened (the fingerprint taken) when the choice changes or on "reload", not at each slider move
    open_ = solara.use_memo(lambda: [open_summary(f, check=reloads > 0) for f, n in zip(folders, names, strict=True)
                                     if n in chosen], [tuple(chosen), reloads])
    every = _picks(open_, [])
    picked, set_picked = solara.use_state(list(every)[:2])
    picked = [n for n in picked if n in every] or list(every)[:1]
    picks = solara.use_memo(lambda: _picks(open_, picked), [tuple(id(s) for s in open_), tuple(picked)])
    horizon = max((p.group.steps - 1) * p.group.months_per_step for p in picks.values()) if picks else 0
    month, set_month = solara.use_state(int(min(36, horizon)))
    if not folders:
        solara.Error(f"No results folder in {', '.join(map(str, roots.roots))}.")
        return
    solara.Title("Afghan conflict laboratory: results")
    with solara.Columns([1, 4]):
        with solara.Card("Results", classes=["controls"]):
            solara.SelectMultiple("results folders", values=chosen, all_values=names, on_value=set_chosen)
            solara.SelectMultiple("groups", values=picked, all_values=list(every), on_value=set_picked)
            solara.SliderInt("month", value=min(month, int(horizon)), min=0, max=int(horizon), on_value=set_month)
            solara.Text(f"month {min(month, int(horizon))} of {int(horizon)}; "
                        f"{sum(g.replications for s in open_ for g in s.groups)} runs open")
            solara.Button("reload", on_click=lambda: set_reloads(reloads + 1), text=True,
                          icon_name="mdi-refresh", classes=["reload"])
        with solara.Column():
            _panels(open_, picks, min(month, int(horizon)))


def _panels(open_: list[Summary], picks: dict[str, Pick], month: int) -> None:
    """Every panel of the picked groups (laid out inside the caller's container)."""
    if not picks:
        solara.Info("Pick a group.")
        return
    with solara.Columns([1, 1]):
        MapPanel(picks, month)
        DifferencePanel(picks, month)
    FanPanel(picks)
    for s in open_:
        LeverPanel(s, month)
    EventPanel(picks)


@solara.component
def Page():
    """The page ``solara run sim.dashboard.app`` serves, over the folders of :data:`ROOTS_ENV`."""
    roots = solara.use_memo(lambda: Roots(json.loads(os.environ.get(ROOTS_ENV, "[]"))), [])
    view, set_view = solara.use_state(VIEWS[0])
    solara.ToggleButtonsSingle(value=view, values=list(VIEWS), on_value=set_view, classes=["views"])
    if view == VIEWS[0]:
        Explorer(roots)
    else:
        LivePage(roots.roots)
