"""The live model: an ensemble of replications stepped month by month, and an analyst's moves.

A :class:`Session` holds two ensembles of the same scenario, seeds and horizon, stepped
together with Mesa's ``model.step()``: the *unplayed* one, as the scenario says, and the
*played* one, which carries the analyst's moves as scenario events (:mod:`sim.dashboard.moves`).
Replication i has the seed the command line gives replication i (``sim.random.replication_seed``),
so the dashboard's runs are the batch's runs.

A move made at step t is an event at the start of step t + 1. The played ensemble is then
rebuilt from the played scenario's YAML text (the file the page exports) and stepped again to
t: a run is deterministic given its scenario and seed, and the event has not fired yet, so the
rebuilt runs are in the state they were, with the same random streams, and the move is the only
difference from then on. Rebuilding costs a few milliseconds a run.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.dashboard.moves import Move, played_data, played_yaml
from sim.geography import Map
from sim.model import ConflictModel
from sim.outcomes import side
from sim.random import replication_seed
from sim.recorder import RunResult
from sim.scenario import ScenarioSpec, load_scenario
from sim.statistics import bootstrap_ci

__all__ = ["Ensemble", "Session", "load_text"]

STATE_COMPARED = ("control", "strength", "funds", "materiel")  # what "a run the moves changed" compares
MAX_REPLICATIONS = 200  # live runs are held in memory and stepped in the page's process


def load_text(text: str) -> tuple[ScenarioSpec, Map]:
    """A scenario from YAML text, through the same loader as ``run.py run`` (a file in a fresh folder)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "played.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path)


class Ensemble:
    """Replications 0..n-1 of one scenario, stepped together."""

    def __init__(self, spec: ScenarioSpec, m: Map, seed: int, replications: int, months: int) -> None:
        """Build the runs at step 0."""
        self.spec = spec
        self.models = [ConflictModel(spec, m, replication_seed(seed, r), months=months, replication=r)
                       for r in range(replications)]

    @property
    def step(self) -> int:
        """Steps done."""
        return int(self.models[0].steps)

    @property
    def horizon(self) -> int:
        """Steps in a run."""
        return int(self.models[0].horizon)

    def advance(self, steps: int = 1) -> None:
        """Step every run ``steps`` times (Mesa's ``model.step()``), stopping at the horizon."""
        for model in self.models:
            for _ in range(steps):
                if not model.running:
                    break
                model.step()

    def results(self) -> list[RunResult]:
        """Each run's record up to now."""
        return [m.result() for m in self.models]


@dataclass
class Session:
    """One analyst's game: a scenario, its levers, seeds, the moves made and both ensembles.

    Attributes:
        base: the resolved scenario with the levers applied (plain data).
        seed: the base seed.
        replications: runs in each ensemble.
        months: the horizon.
        moves: the moves made, in order.
    """

    base: dict[str, Any]
    seed: int
    replications: int
    months: int
    moves: list[Move] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Check the size and build both ensembles at step 0."""
        if not 1 <= self.replications <= MAX_REPLICATIONS:
            raise ValueError(f"replications: {self.replications} is outside 1 to {MAX_REPLICATIONS}")
        self.base = {**self.base, "months": self.months, "replications": self.replications}
        self.lock = threading.RLock()  # the page's play loop steps in a thread; one change at a time
        spec, self.map = load_text(played_yaml(self.base, self.seed, self.replications, self.base["name"]))
        self.unplayed = Ensemble(spec, self.map, self.seed, self.replications, self.months)
        self.played = Ensemble(spec, self.map, self.seed, self.replications, self.months)

    @classmethod
    def start(cls, scenario: str | Path, levers: list[str], seed: int, replications: int,
              months: int) -> Session:
        """A session on a scenario file with ``--set``-style levers (``path=value``)."""
        spec, _ = load_scenario(scenario, levers)
        return cls(spec.resolved(), seed, replications, months)

    @property
    def name(self) -> str:
        """The played scenario's name."""
        return f"{self.base['name']}_played"

    @property
    def step(self) -> int:
        """Steps done."""
        return self.played.step

    def advance(self, steps: int = 1) -> None:
        """Step both ensembles."""
        self.unplayed.advance(steps)
        self.played.advance(steps)

    def move(self, mv: Move) -> None:
        """Make a move now: it fires at the start of the next step.

        Raises:
            ValueError: the move does not fit the scenario, or the runs are at their horizon.
        """
        if self.step >= self.played.horizon:
            raise ValueError("the runs are at their horizon: no step is left for a move")
        mv.check(self.base)
        moves = [*self.moves, mv]
        spec, _ = load_text(self.scenario_yaml(moves))
        played = Ensemble(spec, self.map, self.seed, self.replications, self.months)
        played.advance(self.step)
        self.moves, self.played = moves, played

    def scenario_yaml(self, moves: list[Move] | None = None) -> str:
        """The played scenario as the YAML the page exports."""
        data = played_data(self.base, self.moves if moves is None else moves, self.name)
        return played_yaml(data, self.seed, self.replications, self.base["name"])

    def resistance(self, ensemble: Ensemble) -> np.ndarray:
        """(replications, steps so far + 1) the resistance side's territory share."""
        mask = np.array([side(f["kind"]) == "resistance" for f in self.base["factions"].values()])
        return np.array([r.territory_share[:, mask].sum(axis=1) for r in ensemble.results()])

    def difference(self) -> tuple[float, float, float]:
        """Mean paired difference (played minus unplayed) of resistance territory now, and its 95% CI."""
        d = self.resistance(self.played)[:, -1] - self.resistance(self.unplayed)[:, -1]
        lo, hi = bootstrap_ci(d)
        return float(d.mean()), lo, hi

    def changed(self) -> int:
        """How many runs the moves have changed so far (control, fighters, funds or arms differ anywhere)."""
        return sum(any(not np.array_equal(getattr(a.state, f), getattr(b.state, f)) for f in STATE_COMPARED)
                   for a, b in zip(self.played.models, self.unplayed.models, strict=True))

    def mean_control(self, ensemble: Ensemble) -> np.ndarray:
        """(provinces, factions) mean control share now."""
        return np.mean([m.state.control for m in ensemble.models], axis=0)


def save(session: Session, workspace: Path, stamp: str) -> tuple[Path, Path]:
    """Write the played scenario as ``<workspace>/<name>_<stamp>.yaml`` and run it as the command line would.

    The runs go to ``<workspace>/<name>_<stamp>/`` through :func:`sim.batch.run_batch`, with the
    session's seed, replications and horizon: the results folder ``run.py run`` would write from
    the file, which the explorer then shows.

    Returns:
        The scenario file and the results folder.
    """
    from sim.batch import run_batch
    from sim.manifest import scenario_entries
    from sim.plan import plan_points

    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / f"{session.name}_{stamp}.yaml"
    path.write_text(session.scenario_yaml(), encoding="utf-8")
    out = workspace / f"{session.name}_{stamp}"
    loaded = [load_scenario(path)]
    points = plan_points([(spec, m, spec.model_dump(mode="python")) for spec, m in loaded], [], session.months)
    run_batch(points, session.replications, session.seed, out, workers=1, progress=False,
              describe={"scenarios": scenario_entries(loaded, [path]), "overrides": [], "sweeps": []},
              command="run.py dashboard")
    return path, out
