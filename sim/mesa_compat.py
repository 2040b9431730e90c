"""ConflictModel with keyword parameters and a DataCollector, for users of ``mesa.batch_run``.

    import mesa
    from sim.mesa_compat import BatchConflictModel
    rows = mesa.batch_run(BatchConflictModel,
                          {"scenario": "scenarios/baseline.yaml", "months": 36,
                           "donors__us__arms_willingness": [0.0, 0.5]},
                          rng=[1, 2, 3], number_processes=2, data_collection_period=12)

Keyword names other than ``scenario`` and ``months`` are dotted scenario paths written
with ``__`` (``donors__us__arms_willingness`` is ``donors.us.arms_willingness``); they are
validated like ``--set``. ``rng`` is the run's integer seed. The project's own batch
runner (``run.py run``) is faster, streams results to disk and can resume; this class is
for users who start from Mesa's tools.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from mesa import DataCollector

from sim.model import ConflictModel
from sim.scenario import load_scenario


def _resistance(model: ConflictModel) -> np.ndarray:
    return np.array([model.spec.factions[k].kind == "resistance" for k in model.setup.faction_keys])


class BatchConflictModel(ConflictModel):
    """A ConflictModel built from keyword parameters, collecting a few outcomes every step.

    Attributes:
        datacollector: Mesa DataCollector with government and resistance territory, provinces
            held by the resistance, government cohesion and legitimacy.
    """

    def __init__(self, scenario: str = "scenarios/baseline.yaml", rng: int | None = None, months: int | None = None,
                 **overrides: Any) -> None:
        """Load the scenario with overrides and build the model.

        Args:
            scenario: scenario file.
            rng: integer seed (drawn from entropy and kept in ``self.seed`` when None).
            months: horizon override.
            **overrides: dotted paths with ``__`` for dots, e.g. ``parameters__control_rate=0.2``.
        """
        sets = [f"{k.replace('__', '.')}={json.dumps(v)}" for k, v in overrides.items()]
        spec, m = load_scenario(scenario, sets)
        seed = int(np.random.SeedSequence().entropy % (2**63)) if rng is None else int(rng)
        super().__init__(spec, m, seed, months=months)
        self._res_mask = _resistance(self)
        self.datacollector = DataCollector(model_reporters={
            "government_territory": lambda mdl: float(mdl.territory[mdl.setup.gov]),
            "resistance_territory": lambda mdl: float(mdl.territory[mdl._res_mask].sum()),
            "resistance_provinces": lambda mdl: int(mdl.held[:, mdl._res_mask].sum()),
            "cohesion": lambda mdl: float(mdl.government.cohesion),
            "legitimacy": lambda mdl: float(mdl.legitimacy),
        })
        self.datacollector.collect(self)

    def step(self) -> None:
        """One month, then collect."""
        super().step()
        self.datacollector.collect(self)
