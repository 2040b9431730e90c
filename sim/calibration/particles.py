"""Particles on the batch engine: run a batch of parameter sets on the patterns' scenarios, measure, score.

Each batch of candidates is one batch of the engine per scenario (``<runs>/<name>/<scenario>/``):
each candidate is a sweep point, run ``replications`` times with the calibration's base seed,
so every candidate sees the same random numbers (common random numbers) and two candidates
differ by their parameters only. A batch folder that exists already is resumed, so an
interrupted calibration redoes only the runs it had not finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.calibration.distance import miss as miss_of
from sim.calibration.schema import CalibrationError
from sim.patterns.load import Pattern
from sim.patterns.measures import NotMeasured, Results, measure
from sim.patterns.scorecard import quantiles


@dataclass
class Particles:
    """Runs and scores candidates (the ``simulate`` of :func:`sim.calibration.smc.run_smc`).

    Attributes:
        paths: the scenario fields the parameters set, in the prior's order.
        patterns: the patterns measured on each candidate (targets, or targets and held-out ones).
        replications: runs per candidate and scenario.
        seed: the runs' base seed.
        runs: the folder of the batch folders.
        workers: worker processes (None: the engine's default).
        executor: ``local`` or ``dask`` (:func:`sim.batch.run_batch`).
        scheduler: a running Dask scheduler's address (None: a LocalCluster).
        log: every batch scored, in order: (folder name, misses (m, patterns), medians (m, patterns)).
    """

    paths: Sequence[str]
    patterns: Sequence[Pattern]
    replications: int
    seed: int
    runs: Path
    workers: int | None = None
    executor: str = "local"
    scheduler: str | None = None

    def __post_init__(self) -> None:
        self.log: list[tuple[str, np.ndarray, np.ndarray]] = []
        self._scenarios: dict[Path, tuple[Any, Any]] = {}  # loaded once, not once a batch

    def misses(self, theta: np.ndarray, name: str) -> np.ndarray:
        """Each candidate's miss of each pattern, (m, patterns), from a batch in ``runs/<name>/``.

        Also logs the candidates' medians of each pattern's measure (:attr:`log`).
        """
        miss = np.zeros((len(theta), len(self.patterns)))
        median = np.full((len(theta), len(self.patterns)), np.nan)
        for scenario in dict.fromkeys(p.scenario.resolve() for p in self.patterns):
            folder = self.runs / name / scenario.stem
            here = [j for j, p in enumerate(self.patterns) if p.scenario.resolve() == scenario]
            for k, values in enumerate(self._run(theta, scenario, folder, [self.patterns[j] for j in here])):
                for j, v in zip(here, values, strict=True):
                    median[k, j] = quantiles(v)[0] if v.size else np.nan
                    miss[k, j] = miss_of(median[k, j], self.patterns[j])  # as pattern_distance, the median once
        self.log.append((name, miss, median))
        return miss

    def _run(self, theta: np.ndarray, scenario: Path, folder: Path, patterns: Sequence[Pattern]) -> list[list]:
        """Run the candidates as sweep points of one batch (resumed if the folder holds one), and measure them.

        The workers measure the patterns on their chunks' runs (:class:`Probe`), so the
        measuring runs in parallel with the runs; a point with a chunk done by an earlier,
        interrupted attempt is measured from its stored tables instead, to the same values.

        Returns:
            Per candidate, each pattern's values over its replications.
        """
        from sim.batch import run_batch
        from sim.plan import plan_chunks, plan_design
        from sim.scenario import ScenarioError, load_scenario

        if scenario not in self._scenarios:
            self._scenarios[scenario] = load_scenario(scenario)
        spec, m = self._scenarios[scenario]
        rows = [[float(v) for v in row] for row in theta]
        try:
            points = plan_design([(spec, m, spec.model_dump(mode="python"))], list(self.paths), rows,
                                 label="calibration particle")
        except ScenarioError as exc:
            raise CalibrationError(f"priors: {exc}") from None
        area, held = dict(zip(m.names, m.area.tolist(), strict=True)), spec.parameters.held_threshold
        probe = Probe(tuple(patterns), tuple(area.items()), held)
        s = run_batch(points, self.replications, self.seed, folder, workers=self.workers, executor=self.executor,
                      scheduler=self.scheduler, resume=(folder / "manifest.json").exists(), command="run.py calibrate",
                      probe=probe)
        if s.failed_runs:
            raise CalibrationError(f"{s.failed_runs} run(s) failed; see {folder / 'errors.jsonl'}")
        out = []
        for p in points:
            keys = [c.key for c in plan_chunks([p], self.replications)]
            if all(k in s.probed for k in keys):  # replication order: the chunks' order
                out.append([np.concatenate([s.probed[k][j] for k in keys]) for j in range(len(patterns))])
            else:
                res = Results.from_folder(folder, area, held, point=p.point)
                out.append([_values(res, pat) for pat in patterns])
        return out


@dataclass(frozen=True)
class Probe:
    """Measures patterns on a chunk's runs, in the worker (the ``probe`` of :func:`sim.batch.run_batch`).

    Attributes:
        patterns: the patterns measured (all on the batch's scenario).
        area: (province, area) pairs, in the map's order.
        held: the scenario's held threshold.
    """

    patterns: tuple[Pattern, ...]
    area: tuple[tuple[str, float], ...]
    held: float

    def __call__(self, results: Sequence[Any]) -> list[np.ndarray]:
        """Each pattern's values over the chunk's replications, in their order."""
        res = Results.from_runs(sorted(results, key=lambda r: r.replication), dict(self.area), self.held)
        return [_values(res, p) for p in self.patterns]


def _values(res: Results, p: Pattern) -> np.ndarray:
    """A pattern's measure over a candidate's replications (none if the results cannot give it)."""
    try:
        return measure(res, p.spec.measure).values
    except NotMeasured:
        return np.zeros(0)
