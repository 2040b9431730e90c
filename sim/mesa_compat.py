"""ConflictModel with keyword parameters and a DataCollector, for users of ``mesa.batch_run``.

    import mesa
    from sim.mesa_compat import BatchConflictModel
    rows = mesa.batch_run(BatchConflictModel,
                          {"scenario": "scenarios/baseline.yaml", "months": 36, "base_seed": 1,
                           "donors__us__arms_willingness": [0.0, 0.5]},
                          rng=[0, 1, 2], number_processes=2, data_collection_period=12)

Keyword names other than ``scenario``, ``months`` and ``base_seed`` are dotted scenario
paths written with ``__`` (``donors__us__arms_willingness`` is
``donors.us.arms_willingness``); they are validated like ``--set``. ``rng`` is the
replication index: ``rng=i`` runs with ``replication_seed(base_seed, i)``, the seed of
replication ``i`` of ``run.py run --seed <base_seed>``, so its rows pair with that
command's replication ``i`` (common random numbers). The project's own batch runner
(``run.py run``, :func:`sim.batch.run_batch`) is faster, streams results to disk and can
resume; this class is for users who start from Mesa's tools.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from mesa import DataCollector

from sim.model import ConflictModel
from sim.random import replication_seed
from sim.scenario import load_scenario

DEFAULT_BASE_SEED = 0


def _territory_of(i: int) -> Callable[[ConflictModel], float]:
    return lambda mdl: float(mdl.territory[i])


class BatchConflictModel(ConflictModel):
    """A ConflictModel built from keyword parameters, collecting outcomes every step.

    Attributes:
        datacollector: Mesa DataCollector with one ``territory_<faction key>`` reporter per
            faction (share of the country's area), the resistance's summed territory and
            provinces held, and the government's cohesion and legitimacy.
        base_seed: the batch seed the replication seeds come from.
    """

    def __init__(self, scenario: str = "scenarios/baseline.yaml", rng: int | None = None, months: int | None = None,
                 base_seed: int = DEFAULT_BASE_SEED, **overrides: Any) -> None:
        """Load the scenario with overrides and build replication ``rng`` of it.

        Args:
            scenario: scenario file.
            rng: replication index ``i``: the run's seed is ``replication_seed(base_seed, i)``.
                None: a replication index drawn from entropy (kept in ``self.replication``).
            months: horizon override.
            base_seed: the batch seed, as ``run.py run --seed`` (default 0).
            **overrides: dotted paths with ``__`` for dots, e.g. ``parameters__control_rate=0.2``.
        """
        sets = [f"{k.replace('__', '.')}={json.dumps(v)}" for k, v in overrides.items()]
        spec, m = load_scenario(scenario, sets)
        replication = int(np.random.SeedSequence().entropy % (2**31)) if rng is None else int(rng)
        super().__init__(spec, m, replication_seed(base_seed, replication), months=months, replication=replication)
        self.base_seed = base_seed
        keys = self.setup.faction_keys
        res = self.setup.resistance  # the kind rule, computed once with the setup
        self.datacollector = DataCollector(model_reporters={
            **{f"territory_{k}": _territory_of(i) for i, k in enumerate(keys)},
            "government_territory": _territory_of(self.setup.gov),
            "resistance_territory": lambda mdl: float(mdl.territory[res].sum()),
            "resistance_provinces": lambda mdl: int(res[mdl.state.holder].sum()),
            "cohesion": lambda mdl: float(mdl.government.cohesion),
            "legitimacy": lambda mdl: float(mdl.legitimacy),
        })
        self.datacollector.collect(self)

    def step(self) -> None:
        """One month, then collect."""
        super().step()
        self.datacollector.collect(self)
