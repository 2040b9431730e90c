"""Batch: replications of a scenario, each with its own seed and streams.

Replication ``i`` of a batch with base seed ``S`` always runs with
``replication_seed(S, i)``, whatever the number of replications asked for, so the
same replication draws the same random numbers in every scenario that has the same
actors in the same order (common random numbers).
"""

from __future__ import annotations

import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mesa
import numpy as np

import sim
from sim.geography import Map
from sim.model import ConflictModel
from sim.random import STREAM_NAMES, replication_seed
from sim.recorder import RunResult
from sim.scenario import ScenarioSpec


def run_one(spec: ScenarioSpec, map_: Map, base_seed: int, replication: int, months: int | None = None) -> RunResult:
    """Run replication ``replication`` of a scenario to its horizon."""
    seed = replication_seed(base_seed, replication)
    return ConflictModel(spec, map_, seed, months=months, replication=replication).run()


def run_replications(spec: ScenarioSpec, map_: Map, base_seed: int, replications: int, months: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[RunResult]:
    """Run replications 0..n-1 in this process, in order."""
    out = []
    for i in range(replications):
        out.append(run_one(spec, map_, base_seed, i, months))
        if progress is not None:
            progress(i + 1, replications)
    return out


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


def manifest(spec: ScenarioSpec, map_: Map, scenario_file: str, base_seed: int, results: list[RunResult],
             months: int, wall_time: float, seed_drawn: bool) -> dict[str, Any]:
    """Run metadata: resolved scenario, seeds, versions, commit, wall time."""
    return {
        "scenario": spec.name,
        "scenario_hash": spec.digest(),
        "scenario_file": scenario_file,
        "map": map_.folder.name,
        "months": months,
        "time_step": spec.time_step,
        "start": spec.start.isoformat(),
        "base_seed": base_seed,
        "seed_drawn_from_entropy": seed_drawn,
        "replications": len(results),
        "runs": [{"replication": r.replication, "seed": r.seed} for r in results],
        "random_streams": list(STREAM_NAMES),
        "package_version": sim.__version__,
        "git_commit": git_commit(Path(sim.__file__).parent),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_time_s": round(wall_time, 3),
        "resolved_scenario": spec.resolved(),
    }
