"""Province labels on a map panel that never overlap: a name where it fits, else a number and a key.

Labels are placed in display space on the drawn axes, greedily, largest provinces first: a
name goes where its whole box lies inside its province and clear of every label and capital
dot placed so far (at the province's most inland point, or beside its capital); a province
too small for its name gets a number instead, inside it or, failing that, beside it with a
leader line to its capital; the numbers are spelled out in a key. Every box is measured from
the rendered text (``get_window_extent``), so what is checked is what is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.transforms import Bbox

    from sim.geography import Map

NAME_SIZES = (6.5, 5.5)  # points: a name is tried at its full size, then smaller
NUMBER_SIZE = 6.5
DOT_RADIUS_PT = 3.0  # a capital dot's radius, with a margin
PAD_PX = 1.5  # clearance kept around every box
LEADER_STEPS_PT = (9, 14, 20, 27, 35)  # distances from the capital tried for a number outside its province
ALIGN = {"left": 0.0, "bottom": 0.0, "center": 0.5, "right": 1.0, "top": 1.0}  # share of a box before its anchor
DIRECTIONS = [(np.cos(a), np.sin(a)) for a in np.radians([90, 270, 0, 180, 45, 135, 225, 315])]


def outline_paths(m: Map, transform=None) -> list:
    """Each province's outline as one compound matplotlib path (in display space under ``transform``)."""
    from matplotlib.path import Path as MPath

    out = []
    for rings in m.outlines:
        verts = np.concatenate(rings)
        codes = np.concatenate([[MPath.MOVETO] + [MPath.LINETO] * (len(r) - 2) + [MPath.CLOSEPOLY] for r in rings])
        out.append(MPath(verts if transform is None else transform.transform(verts), codes))
    return out


def _inland_points(path, keep: int = 40) -> np.ndarray:
    """Points of a grid inside ``path``, farthest from its boundary first (display coordinates)."""
    v = path.vertices
    (x0, y0), (x1, y1) = v.min(axis=0), v.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 24), np.linspace(y0, y1, 24))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[path.contains_points(pts)]
    if not len(pts):
        return v.mean(axis=0)[None, :]
    a, b = v[:-1], v[1:]
    ab = b - a
    t = np.clip(((pts[:, None, :] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
    d = np.linalg.norm(pts[:, None, :] - (a + t[..., None] * ab), axis=-1).min(axis=1)
    return pts[np.argsort(-d, kind="stable")[:keep]]


def _clear(box: np.ndarray, taken: list[np.ndarray]) -> bool:
    """Whether ``box`` overlaps none of ``taken``."""
    return all(box[2] <= t[0] or t[2] <= box[0] or box[3] <= t[1] or t[3] <= box[1] for t in taken)


def _inside(box: np.ndarray, path) -> bool:
    """Whether the corners, edge midpoints and centre of ``box`` are inside ``path``."""
    xs, ys = (box[0], (box[0] + box[2]) / 2, box[2]), (box[1], (box[1] + box[3]) / 2, box[3])
    return bool(path.contains_points([(x, y) for x in xs for y in ys]).all())


def _spots(inland: np.ndarray, dot: np.ndarray, gap: float) -> list[tuple[np.ndarray, str, str]]:
    """Where a label may go: (anchor, ha, va) at the most inland points, then below, above, right, left of the dot."""
    down, right = np.array([0.0, gap]), np.array([gap, 0.0])
    return [*((p, "center", "center") for p in inland), (dot - down, "center", "top"),
            (dot + down, "center", "bottom"), (dot + right, "left", "center"), (dot - right, "right", "center")]


class _Placer:
    """The texts placed so far on one axes, and the boxes they and the capital dots take."""

    def __init__(self, ax: Axes, m: Map, avoid: list[Bbox]) -> None:
        self.ax, self.m = ax, m
        self.renderer = ax.figure.canvas.get_renderer()
        self.pt = ax.figure.dpi / 72
        self.paths = outline_paths(m, ax.transData)
        self.dots = ax.transData.transform(np.column_stack([m.lon, m.lat]))
        r = DOT_RADIUS_PT * self.pt
        self.taken = [np.array([x - r, y - r, x + r, y + r]) for x, y in self.dots]
        self.taken += [np.array([b.x0, b.y0, b.x1, b.y1]) for b in avoid]
        self.probe = ax.text(0, 0, "", transform=None)  # measures texts; removed before anything is drawn
        self.extents: dict[tuple[str, float], tuple[float, float]] = {}

    def _extent(self, s: str, size: float) -> tuple[float, float]:
        """Width and height (pixels) of ``s`` drawn at ``size``, measured once on a probe text."""
        if (s, size) not in self.extents:
            self.probe.set_text(s)
            self.probe.set_fontsize(size)
            e = self.probe.get_window_extent(self.renderer)
            self.extents[s, size] = (e.width, e.height)
        return self.extents[s, size]

    def _try(self, s: str, size: float, at: np.ndarray, ha: str, va: str, path=None):
        """Put ``s`` at ``at`` if it is clear (and inside ``path`` when given); the text or None.

        The box is computed from the measured extent, so a text is made only where it goes.
        """
        w, h = self._extent(s, size)
        x0, y0 = at[0] - w * ALIGN[ha], at[1] - h * ALIGN[va]
        box = np.array([x0 - PAD_PX, y0 - PAD_PX, x0 + w + PAD_PX, y0 + h + PAD_PX])
        if not _clear(box, self.taken) or (path is not None and not _inside(box, path)):
            return None
        self.taken.append(box)
        x, y = self.ax.transData.inverted().transform(at)
        return self.ax.text(x, y, s, fontsize=size, ha=ha, va=va, zorder=4)

    def name(self, i: int, inland: np.ndarray) -> bool:
        """Put the province's name inside it; whether it fitted."""
        spots = _spots(inland, self.dots[i], 3.5 * self.pt)
        return any(self._try(self.m.names[i], size, at, ha, va, self.paths[i])
                   for size in NAME_SIZES for at, ha, va in spots)

    def number(self, i: int, k: int, inland: np.ndarray) -> None:
        """Put the number ``k`` inside the province, else beside it with a leader line to its capital."""
        s, path = str(k), self.paths[i]
        for at, ha, va in _spots(inland, self.dots[i], 3.5 * self.pt):
            if path.contains_point(at) and self._try(s, NUMBER_SIZE, at, ha, va):
                return
        for step in LEADER_STEPS_PT:
            for dx, dy in DIRECTIONS:
                at = self.dots[i] + np.array([dx, dy]) * step * self.pt
                if self._try(s, NUMBER_SIZE, at, "center", "center"):
                    self.ax.plot(*self.ax.transData.inverted().transform([self.dots[i], at]).T, color="#333333",
                                 lw=0.5, zorder=3.5)
                    return
        self._try(s, NUMBER_SIZE, self.dots[i], "center", "center")  # nowhere clear: on the dot (never seen)


def place_labels(ax: Axes, m: Map, avoid: Sequence[Bbox] = ()) -> list[tuple[int, str]]:
    """Name or number every province of ``m`` on ``ax``, with no two labels overlapping.

    Call once the axes' limits and aspect are final. Texts are added to ``ax.texts``.

    Args:
        ax: the map panel, its outlines and capital dots drawn.
        m: the map (outlines, capital coordinates, areas).
        avoid: display boxes no label may touch (a legend).

    Returns:
        The numbered key: (number, province) for each province labelled by a number.
    """
    ax.apply_aspect()
    p = _Placer(ax, m, list(avoid))
    inland = [_inland_points(path) for path in p.paths]
    small = []
    for i in np.argsort(-m.area, kind="stable"):
        if not p.name(int(i), inland[i]):
            small.append(int(i))
    key = [(k, m.names[i]) for k, i in enumerate(sorted(small, key=lambda j: m.names[j]), start=1)]
    for k, name in key:
        i = m.names.index(name)
        p.number(i, k, inland[i])
    p.probe.remove()
    return key
