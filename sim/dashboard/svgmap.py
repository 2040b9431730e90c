"""The province map as SVG: outlines projected once, only the fills change when the month moves.

Drawing a choropleth with matplotlib costs a few hundred milliseconds; a slider has to answer
faster. The outlines are turned into SVG path data once per map (:class:`Outline`), and a map
at a month is those paths with one fill each, a legend and a tooltip (``<title>``) naming the
province and its value: a few kilobytes of text, made in about a millisecond.

Colours are the figures' (:mod:`sim.maps`): sequential YlGnBu for shares and probabilities,
diverging PuOr for changes, both colour-blind safe.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import numpy as np

from sim.geography import Map
from sim.maps import CHANGE_CMAP, SHARE_CMAP

__all__ = ["MODES", "Outline", "map_svg", "outline"]

WIDTH = 640  # px of the map's drawing (the legend is drawn below it)
LEGEND_H = 46
MODES = {"control": "mean control", "capital": "P(capital held)", "change": "change since the start"}


@dataclass(frozen=True)
class Outline:
    """A map's provinces as SVG path data, in a WIDTH-wide frame.

    Attributes:
        names: the province names, in the map's order.
        paths: one ``d`` attribute per province.
        height: the drawing's height in px.
    """

    names: tuple[str, ...]
    paths: tuple[str, ...]
    height: int


@functools.cache
def outline(m: Map) -> Outline | None:
    """The map's outlines projected for SVG (equirectangular, scaled by the cosine of the mean latitude)."""
    if m.outlines is None:
        return None
    allv = np.concatenate([r for rings in m.outlines for r in rings])
    (x0, y0), (x1, y1) = allv.min(axis=0), allv.max(axis=0)
    kx = np.cos(np.radians((y0 + y1) / 2))  # a degree of longitude is shorter away from the equator
    scale = (WIDTH - 8) / ((x1 - x0) * kx)
    height = int(np.ceil((y1 - y0) * scale)) + 8
    paths = []
    for rings in m.outlines:
        parts = []
        for r in rings:
            xy = np.column_stack([4 + (r[:, 0] - x0) * kx * scale, 4 + (y1 - r[:, 1]) * scale])
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
        paths.append("".join(parts))
    return Outline(m.names, tuple(paths), height)


@functools.cache
def _palette(name: str) -> np.ndarray:
    """256 colours of a matplotlib colour map as '#rrggbb' strings."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[name]
    return np.array([to_hex(cmap(i / 255)) for i in range(256)])


def _colours(values: np.ndarray, mode: str, span: float) -> np.ndarray:
    """The fill of each value: shares on 0-1, changes on -span..+span."""
    lo, hi = (-span, span) if mode == "change" else (0.0, 1.0)
    k = np.clip(np.round((values - lo) / (hi - lo) * 255), 0, 255).astype(int)
    return _palette(CHANGE_CMAP if mode == "change" else SHARE_CMAP)[k]


def _legend(mode: str, span: float, y: int) -> str:
    """A colour bar with its end labels, below the map."""
    name = CHANGE_CMAP if mode == "change" else SHARE_CMAP
    pal = _palette(name)
    stops = "".join(f'<stop offset="{i / 10:.1f}" stop-color="{pal[int(i * 25.5)]}"/>' for i in range(11))
    lo, hi = (f"-{span * 100:.0f} pp", f"+{span * 100:.0f} pp") if mode == "change" else ("0%", "100%")
    return (f'<defs><linearGradient id="bar">{stops}</linearGradient></defs>'
            f'<rect x="120" y="{y + 6}" width="400" height="12" fill="url(#bar)" stroke="#555" stroke-width="0.5"/>'
            f'<text x="112" y="{y + 16}" text-anchor="end" font-size="12">{lo}</text>'
            f'<text x="528" y="{y + 16}" font-size="12">{hi}</text>'
            f'<text x="320" y="{y + 36}" text-anchor="middle" font-size="12">{html.escape(MODES[mode])}</text>')


def map_svg(o: Outline, values: np.ndarray, mode: str, label: str) -> str:
    """The map with each province filled by its value.

    Args:
        o: the projected outlines.
        values: (provinces,) shares in [0, 1] (control, capital) or differences (change).
        mode: one of :data:`MODES`.
        label: what the values are, for the tooltips (e.g. "Resistance, 2026-09").
    """
    values = np.nan_to_num(np.asarray(values, dtype=float))
    span = max(0.05, float(np.ceil(np.abs(values).max() * 20) / 20)) if mode == "change" else 1.0
    fills = _colours(values, mode, span)
    text = (lambda v: f"{v * 100:+.1f} pp") if mode == "change" else (lambda v: f"{v * 100:.1f}%")
    shapes = "".join(
        f'<path class="province" data-province="{html.escape(n)}" data-value="{v:.6f}" d="{d}" fill="{f}" '
        f'stroke="#555" stroke-width="0.6"><title>{html.escape(n)}: {text(v)} ({html.escape(label)})</title></path>'
        for n, d, v, f in zip(o.names, o.paths, values, fills, strict=True))
    h = o.height + LEGEND_H
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="province-map" data-mode="{mode}" '
            f'viewBox="0 0 {WIDTH} {h}" width="100%" style="max-width:{WIDTH}px" role="img" '
            f'aria-label="{html.escape(MODES[mode])}, {html.escape(label)}">'
            f'{shapes}{_legend(mode, span, o.height)}</svg>')
