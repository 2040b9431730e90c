"""Running arms through the batch API, and the paired statistics of two arms.

Every arm runs once, with :func:`sim.batch.run_batch`, into ``<out>/runs/<arm>/``, with the
same base seed and replications as every other arm: replication ``i`` draws the same random
numbers in every arm (common random numbers), so a comparison pairs runs by replication.
The statistics are the project's: :func:`sim.analysis.paired_differences` (mean paired
difference, percentile bootstrap 95% interval, Vargha-Delaney A12) and
:func:`sim.statistics.bootstrap_ci` for the level of one arm.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import at_months, paired_differences
from sim.effects.load import Arm
from sim.effects.outcomes import values
from sim.statistics import bootstrap_ci

RUNS = "runs"  # the subfolder of --out holding one results folder per arm


def folder_name(arm: Arm) -> str:
    """The arm's results folder: the scenario file's stem, and a digest of its overrides if any."""
    if not arm.overrides:
        return arm.scenario.stem
    return f"{arm.scenario.stem}-{hashlib.sha1('\n'.join(arm.overrides).encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class ArmRuns:
    """What running the arms did: each arm's folder, the failed runs, the runs done."""

    folders: dict[Arm, Path]
    failed_runs: int
    runs: int


def run_arms(arms: Iterable[Arm], replications: int, seed: int, out: Path, *, workers: int | None = None,
             log: Callable[[str], None] | None = None, command: str = "sim.effects") -> ArmRuns:
    """Run each distinct arm once (its scenario's own horizon), all with one seed: paired by replication.

    Raises:
        BatchError, ScenarioError: as :func:`sim.batch.run_batch` and :func:`sim.batch.load_points`.
    """
    from sim.batch import load_points, run_batch

    folders: dict[Arm, Path] = {}
    failed = runs = 0
    for arm in dict.fromkeys(arms):
        points = load_points([arm.scenario], arm.overrides)
        spec = points[0].spec
        describe = {"scenarios": [{"name": spec.name, "file": arm.scenario.name, "scenario_hash": spec.digest(),
                                   "resolved_scenario": spec.resolved()}], "overrides": list(arm.overrides)}
        folder = out / RUNS / folder_name(arm)
        s = run_batch(points, replications, seed, folder, workers=workers, describe=describe, log=log,
                      command=command)
        folders[arm] = folder
        failed += s.failed_runs
        runs += s.total_runs
    return ArmRuns(folders, failed, runs)


def _values(folder: Path, m: Any, group: str) -> pd.DataFrame:
    return values(folder, m.outcome, m.donor, m.donors).assign(group=group)


def paired(variant: Path, reference: Path, m: Any) -> dict[str, Any]:
    """The variant minus the reference on ``m``'s outcome at its month, paired by replication.

    Args:
        variant: the variant arm's results folder.
        reference: the reference arm's.
        m: what is measured: ``outcome``, ``month``, ``donor``, ``donors`` (an effect or a conclusion).

    Returns:
        variant_mean, reference_mean, mean_difference, ci_low, ci_high (95% bootstrap), a12, pairs.
    """
    frame = pd.concat([_values(variant, m, "variant"), _values(reference, m, "reference")], ignore_index=True)
    d = paired_differences(frame, "reference", [m.month], columns=["value"]).iloc[0]
    means = at_months(frame, [m.month]).groupby("group")["value"].mean()
    return {"variant_mean": float(means["variant"]), "reference_mean": float(means["reference"]),
            "mean_difference": float(d["mean_difference"]), "ci_low": float(d["ci_low"]),
            "ci_high": float(d["ci_high"]), "a12": float(d["a12"]), "pairs": int(d["pairs"])}


def level(folder: Path, m: Any) -> dict[str, Any]:
    """One arm's outcome at a month: mean, 95% bootstrap interval, the largest value, and how many are above 0."""
    v = at_months(_values(folder, m, "arm"), [m.month])["value"].to_numpy(float)
    lo, hi = bootstrap_ci(v)
    return {"mean": float(v.mean()) if v.size else math.nan, "ci_low": lo, "ci_high": hi,
            "max": float(v.max()) if v.size else math.nan, "positive": int((v > 0).sum()), "runs": int(v.size),
            "all_zero": bool(v.size and np.all(v == 0))}


def excludes_zero(lo: float, hi: float, direction: str) -> bool:
    """Whether the interval lies wholly on the documented side of zero (``increase``: above; ``decrease``: below)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    return lo > 0 if direction == "increase" else hi < 0
