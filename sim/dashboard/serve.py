"""``run.py dashboard``: summarise the given folders, then serve the page on this machine.

The page is a Solara app (:mod:`sim.dashboard.app`) served by ``solara run`` in this
process, in production mode: every asset comes from the installed solara and solara-assets
packages (pinned to 1.58.2, the last release that does not load its front-end from a CDN), so
it works offline. It binds 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from sim.dashboard.app import ROOTS_ENV, open_summary
from sim.dashboard.folders import Outside, Roots, map_of
from sim.dashboard.summary import Summary
from sim.dashboard.svgmap import MODES, map_svg, outline
from sim.dashboard.views import Pick, fan_figure, figure_png
from sim.scenario import ScenarioError

__all__ = ["DashboardError", "serve"]

LOCAL = ("127.0.0.1", "localhost", "::1")


class DashboardError(ScenarioError):
    """Bad dashboard input (a folder that is missing, outside, or holds no results): one line, exit 2."""


def prepare(given: Sequence[str]) -> Roots:
    """Resolve the given folders and summarise every results folder in them (cached beside the results).

    Raises:
        DashboardError: a path that is not a folder, or folders holding no results.
    """
    try:
        roots = Roots(given or ["results"])
    except Outside as exc:
        raise DashboardError(f"dashboard: {exc}") from None
    found = roots.results()
    if not found:
        raise DashboardError(f"dashboard: no results folder (no manifest.json) in {', '.join(given or ['results'])}")
    for folder in found:
        t = time.perf_counter()
        # a new or changed folder is summarised now, a minute or so for 20,000 runs: say so first
        print(f"{roots.name(folder)}: opening...", end=" ", flush=True)
        s = open_summary(folder)
        runs = sum(g.replications for g in s.groups)
        how = "read from its cache" if s.cached else f"summarised into {folder.name}/dashboard/"
        print(f"{len(s.groups)} group(s), {runs} runs, {how} in {time.perf_counter() - t:.1f} s", flush=True)
        _warm(s)
    return roots


def _warm(s: Summary) -> None:
    """Pay at start what the first page would: matplotlib's import, fonts and palettes, the map's outlines."""
    m = map_of(s.manifest)
    o = outline(m) if m is not None else None
    if o is not None:
        for mode in MODES:
            map_svg(o, np.zeros(len(o.names)), mode, "")
    if s.groups:
        figure_png(fan_figure([Pick(s, s.groups[0].label)], s.keys[:1], True))


def serve(given: Sequence[str], host: str, port: int) -> int:
    """Serve the dashboard until interrupted; returns the exit code."""
    from solara.__main__ import run

    roots = prepare(given)
    if host not in LOCAL:
        print(f"warning: serving on {host}: anyone who can reach this machine can read these results", file=sys.stderr)
    os.environ[ROOTS_ENV] = json.dumps([str(r) for r in roots.roots])
    print(f"dashboard: http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    run.main(["sim.dashboard.app", "--host", host, "--port", str(port), "--production", "--no-open",
              "--no-check-version", "--log-level", "warning"], standalone_mode=False)
    return 0
