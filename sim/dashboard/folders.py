"""Which results folders the dashboard may read: those under the folders named on its command line.

The dashboard is given folders (``run.py dashboard results/a results/``); each is a results
folder or holds results folders (up to :data:`DEPTH` levels down). Every path it opens is
resolved (symbolic links followed) and refused unless it lies inside one of those folders, so
a page cannot be made to read elsewhere on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.geography import DEFAULT_MAP, Map, MapError, load_map

__all__ = ["DEPTH", "Outside", "Roots", "map_of"]

DEPTH = 2  # how far below a given folder results folders are looked for


class Outside(ValueError):
    """A path outside the folders the dashboard was given, or not a results folder."""


class Roots:
    """The folders given on the command line, resolved, and the results folders within them."""

    def __init__(self, given: Sequence[str | Path]) -> None:
        """Resolve the given folders.

        Raises:
            Outside: a given path that is not a folder.
        """
        self.roots: list[Path] = []
        for g in given:
            p = Path(g).expanduser()
            if not p.is_dir():
                raise Outside(f"{g}: not a folder")
            self.roots.append(p.resolve())

    def holds(self, path: str | Path) -> bool:
        """Whether ``path``, resolved, is one of the roots or inside one."""
        try:
            p = Path(path).resolve()
        except (OSError, RuntimeError):
            return False
        return any(p == r or p.is_relative_to(r) for r in self.roots)

    def check(self, path: str | Path) -> Path:
        """The resolved results folder at ``path``.

        Raises:
            Outside: it is outside every root, or holds no manifest.
        """
        if not self.holds(path):
            raise Outside(f"{path}: refused: outside the folders given to the dashboard")
        p = Path(path).resolve()
        if not (p / "manifest.json").is_file():
            raise Outside(f"{path}: not a results folder (no manifest.json)")
        return p

    def results(self) -> list[Path]:
        """Every results folder in the roots (a root itself, or up to DEPTH levels below), sorted."""
        found: set[Path] = set()
        for r in self.roots:
            level = [r]
            for _ in range(DEPTH + 1):
                nxt = []
                for d in level:
                    if (d / "manifest.json").is_file():
                        found.add(d)
                    else:
                        nxt += [c for c in sorted(d.iterdir()) if c.is_dir() and not c.name.startswith(".")]
                level = nxt
        return sorted(p for p in found if self.holds(p))

    def name(self, folder: Path) -> str:
        """A folder's name as the page shows it: relative to its root's parent."""
        for r in self.roots:
            if folder == r or folder.is_relative_to(r):
                return str(folder.relative_to(r.parent))
        return folder.name


def map_of(manifest: dict) -> Map | None:
    """The map a results folder ran on, when it is one of the maps shipped under sim/data; else None.

    A results folder names its map by its folder's name only; a user's map elsewhere is not
    looked for (the dashboard reads nothing outside the folders it was given).
    """
    name = str(manifest.get("map", ""))
    folder = DEFAULT_MAP.parent / name
    if not name or "/" in name or name.startswith(".") or not folder.is_dir():
        return None
    try:
        return load_map(folder)
    except MapError:
        return None
