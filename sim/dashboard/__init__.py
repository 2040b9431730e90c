"""The dashboard: results folders explored in a browser (``run.py dashboard``).

:mod:`~sim.dashboard.folders` says which folders may be read, :mod:`~sim.dashboard.summary`
reduces and caches what each folder's panels show, :mod:`~sim.dashboard.views` computes each
panel from the summaries, :mod:`~sim.dashboard.svgmap` draws the province map, and
:mod:`~sim.dashboard.app` lays them out as a Solara page that :mod:`~sim.dashboard.serve` serves.
"""

from __future__ import annotations

from typing import Any

TELEMETRY = "SOLARA_TELEMETRY_MIXPANEL_ENABLE"


def add_parser(sub: Any) -> None:
    """The ``dashboard`` subcommand of run.py's parser."""
    db = sub.add_parser("dashboard", help="explore results folders in a browser (a page served on this machine)")
    db.add_argument("folders", nargs="*", help="results folders, or folders holding them (default: results/)")
    db.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    db.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    db.set_defaults(func=command)


def command(args: Any) -> int:
    """``run.py dashboard``: imported here only when run, so other commands never load Solara."""
    import os

    os.environ.setdefault(TELEMETRY, "false")  # read when Solara is imported: no usage reports sent
    from sim.dashboard.serve import serve

    return serve(args.folders, args.host, args.port)
