"""The manifest of a results folder: what was run, with which seed and code, and how far it got.

``manifest.json`` is written twice by :func:`sim.batch.run_batch` (at the start with
``"status": "running"``, at the end with ``complete``, ``incomplete`` or
``interrupted``), each time to a temporary file renamed over the old one, so a reader
never sees half a manifest. The plan hash identifies the batch (points, horizons,
replications, seed): ``--resume`` refuses a folder whose plan differs.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sim
from sim.atomic import write_text_atomic
from sim.plan import Point
from sim.random import STREAM_NAMES

MANIFEST = "manifest.json"


def git_commit(path: Path) -> str | None:
    """The commit of the code's repository, with '-dirty' if it has changes; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions and commit of the code that produced a batch."""
    import mesa
    import numpy as np

    return {
        "package_version": sim.__version__,
        "git_commit": git_commit(Path(sim.__file__).parent),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "random_streams": list(STREAM_NAMES),
    }


def plan(points: Sequence[Point], replications: int, seed: int) -> dict[str, Any]:
    """The batch as data: every point with its swept values, scenario hash and horizon."""
    horizons = {p.months for p in points}
    data = {"points": [{"scenario": p.scenario, "point": p.point, "values": p.values, "months": p.months,
                        "scenario_hash": p.scenario_hash} for p in points],
            "replications": replications,
            "months": horizons.pop() if len(horizons) == 1 else None,  # None: each point has its own
            "base_seed": seed}
    drawn = next((p.posterior for p in points if p.posterior is not None), None)
    if drawn is not None:  # only then: the plans (and hashes) of other batches stay as they were
        data["posterior_sha256"] = drawn.digest  # the folder's path may change; its file may not
    return data


def scenario_entries(loaded: Sequence[tuple[Any, Any]], files: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The manifest's ``scenarios``: each scenario's name, file, hash and resolved data (what analysis reads)."""
    return [{"name": s.name, "file": str(f), "scenario_hash": s.digest(), "resolved_scenario": s.resolved()}
            for (s, _), f in zip(loaded, files, strict=True)]


def plan_hash(data: dict[str, Any]) -> str:
    """A short hash of a plan: two batches with the same hash write the same files."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_manifest(out: Path, data: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically: a temporary file, flushed, then renamed over the old one."""
    return write_text_atomic(out / MANIFEST, json.dumps(data, indent=2, default=str) + "\n")
