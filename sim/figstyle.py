"""What every time-series figure shares: honest axis limits, colours, dates, labels and event markers.

Axis rule (the run's figures and the report's): a share of the country or its population is
drawn on an axis that spans at least :data:`MIN_SHARE_SPAN` (10 percentage points), so a dip of
a tenth of a point can never fill a panel; the span grows to hold the data and is clipped to
0-100%. A count (fighters, provinces) is drawn from zero. A probability is drawn on 0-100%.

Colours are colour-blind safe: Okabe-Ito (:data:`sim.maps.OKABE_ITO`) for categories, then
distinct tab20 colours (never a repeat up to 28 categories); a numeric lever's values are
sampled from the sequential ``cividis`` map, darker for lower values.

Matplotlib is imported inside the functions that draw, so importing this module costs nothing.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.maps import OKABE_ITO

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MIN_SHARE_SPAN = 0.10  # 10 percentage points: the least a share axis spans (module docstring)
SEQUENTIAL = "cividis"  # perceptually uniform and readable with any colour vision
SEQUENTIAL_RANGE = (0.0, 0.85)  # the top of cividis is a pale yellow that vanishes on white


def share_limits(lo: float, hi: float, span: float = MIN_SHARE_SPAN) -> tuple[float, float]:
    """Limits of a share axis holding [lo, hi], at least ``span`` wide, within [0, 1].

    The span is centred on the data, then shifted (not shrunk) to stay within 0-100%; a
    little room is added above and below so a line on the edge stays visible.

    Args:
        lo: the lowest value to show (a fraction).
        hi: the highest value to show.
        span: the least width of the axis (a fraction: 0.10 is 10 percentage points).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    width = max(hi - lo, span) * 1.04
    low = (lo + hi) / 2 - width / 2
    low = min(max(low, 0.0), 1.0 - width) if width <= 1 else 0.0
    pad = 0.01 * width
    return (max(low, 0.0) - pad, min(low + width, 1.0) + pad)


def count_limits(hi: float) -> tuple[float, float]:
    """Limits of a count axis: from zero to a little above ``hi`` (a count is never cut off at the bottom)."""
    top = hi * 1.05 if math.isfinite(hi) and hi > 0 else 1.0
    return (0.0, top)


def limits(values: np.ndarray, is_share: bool, span: float = MIN_SHARE_SPAN) -> tuple[float, float]:
    """The axis limits of some values by the module's rule (share or count)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return (0.0, 1.0)
    return share_limits(float(v.min()), float(v.max()), span) if is_share else count_limits(float(v.max()))


def panel_limits(q: np.ndarray, is_share: bool, shared: bool = False) -> list[tuple[float, float]]:
    """The y limits of each panel of bands by the module's rule.

    Args:
        q: bands, (5 quantiles, panels, steps), as :func:`sim.statistics.bands` gives them.
        is_share: whether the values are shares (else counts).
        shared: one scale for every panel (the lowest 5% to the highest 95% of any) instead of one a panel.
    """
    if shared:
        return [limits(q[[0, 4]], is_share)] * q.shape[1]
    return [limits(q[[0, 4], k], is_share) for k in range(q.shape[1])]


def unit_words(unit: str, column: str) -> str:
    """A y axis's words for a measure or outcome: its unit ("% of the country" for a share of territory)."""
    if unit == "share":
        return "% of the population" if "population" in column else "% of the country"
    return unit


def categorical(n: int) -> list[str]:
    """``n`` distinct colours: Okabe-Ito first (colour-blind safe), then tab20's, then greys; never a repeat."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    extra = [to_hex(c) for c in colormaps["tab20"].colors]
    out = list(dict.fromkeys([c.lower() for c in OKABE_ITO] + extra))[:n]
    grey = np.linspace(0.15, 0.75, max(n - len(out), 0))
    return out + [to_hex((g, g, g)) for g in grey]


def sequential(values: Sequence[float]) -> list[str]:
    """One cividis colour per value, by its place between the lowest and the highest (darker = lower)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    v = np.asarray(values, float)
    lo, hi = np.nanmin(v), np.nanmax(v)
    t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    a, b = SEQUENTIAL_RANGE
    return [to_hex(colormaps[SEQUENTIAL](a + (b - a) * x)) for x in t]


def line_colour(c: str) -> str:
    """A colour dark enough for a thin line on white: light ones (Okabe-Ito's yellow) are mixed with black.

    Fills keep the light colour; only the line that must be read against the white is darkened.
    """
    from matplotlib.colors import to_hex, to_rgb

    rgb = np.array(to_rgb(c))
    lum = float(rgb @ [0.2126, 0.7152, 0.0722])
    return to_hex(rgb * 0.6) if lum > 0.7 else to_hex(rgb)


def count_axis(ax: Axes) -> None:
    """Label the y axis in whole numbers with thousands separated (150,000 fighters, not 150000)."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))


def percent_axis(ax: Axes, axis: str = "y") -> None:
    """Label an axis in percent of 1."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=None))


def date_ticks(ax: Axes) -> None:
    """At most five dated ticks, short labels (the year under the axis when the ticks do not say it)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    loc = AutoDateLocator(minticks=2, maxticks=5)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
    ax.xaxis.get_offset_text().set_fontsize(7)  # the year under months-only ticks: small, clear of "date"


def wrap(text: str, width: int = 38, lines: int = 2) -> str:
    """A panel title on at most ``lines`` lines of ``width`` characters (the rest cut with an ellipsis)."""
    return "\n".join(textwrap.wrap(text, width, max_lines=lines, placeholder="…")) or text


@dataclass(frozen=True)
class Marker:
    """A scenario event as a figure marks it.

    Attributes:
        date: when it fired (the median date over the runs in which it fired).
        name: the event's name.
        fired: in how many runs it fired.
        runs: how many runs there were.
    """

    date: np.datetime64
    name: str
    fired: int
    runs: int


def event_markers(folder: Path, runs: int, scenario: str | None = None, point: int | None = None) -> list[Marker]:
    """The events that fired in a scenario point's runs, from the results' event log.

    The log says ``<text> [event: <name>]`` when an event fires. A timed event fires in every
    run on the same date; a conditional one in some runs, on dates that differ: it is marked
    at the median date of the runs in which it fired, and the marker says in how many.

    Args:
        folder: a results folder.
        runs: how many runs the figure shows (of which the event fired in some).
        scenario: the scenario (default: every one in the folder).
        point: the sweep point (default: every one).
    """
    from sim.store import read_parts  # here: the store imports numba, importing the figures needs not

    log = read_parts(folder, "events", ["replication", "date", "text"], scenario=scenario, point=point)
    if log.empty:
        return []
    name = log["text"].astype(str).str.extract(r"\[event: ([^\]]+)\]$")[0]
    log = log.assign(name=name, date=pd.to_datetime(log["date"])).dropna(subset=["name"])
    first = log.groupby(["name", "replication"], sort=False)["date"].min().reset_index()
    out = [Marker(np.datetime64(d["date"].quantile(0.5, interpolation="nearest"), "D"), str(n),
                  int(d["replication"].nunique()), runs) for n, d in first.groupby("name", sort=False)]
    return sorted(out, key=lambda m: m.date)


def mark_events(ax: Axes, markers: Sequence[Marker], names: bool = True) -> None:
    """Vertical lines at the events' dates: dashed where it fired in every run, dotted otherwise.

    Names are written at the top of the panel (in how many runs, when not all), once per panel.
    """
    from matplotlib.transforms import blended_transform_factory

    tr = blended_transform_factory(ax.transData, ax.transAxes)
    for m in markers:
        every = m.fired == m.runs
        ax.axvline(m.date, color="#555555", lw=0.8, ls="--" if every else ":", zorder=1)
        if names:
            text = m.name.replace("_", " ") + ("" if every else f" ({m.fired}/{m.runs} runs)")
            ax.text(m.date, 0.98, " " + text, transform=tr, rotation=90, va="top", ha="right", fontsize=6,
                    color="#333333")


def actor_colours(keys: Sequence[str]) -> list[str]:
    """One colour per actor, never repeated: the maps' fixed Okabe-Ito holder colours, then unused categorical ones."""
    from sim.maps import HOLDER_COLOURS

    spare = iter(c for c in categorical(len(keys) + len(OKABE_ITO)) if c not in
                 {v.lower() for v in HOLDER_COLOURS.values()})
    out: list[str] = []
    for k in keys:
        fixed = HOLDER_COLOURS.get(k, "").lower()
        out.append(fixed if fixed and fixed not in out else next(spare))
    return out
