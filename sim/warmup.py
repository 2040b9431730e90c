"""Load the compiled submodels before a batch's workers start: :func:`warm_up`.

Importing this module runs nothing. The fork server of a batch's process pool calls
:func:`warm_up` once, through :mod:`sim.preload`; the workers it forks inherit the
compiled kernels and run their first chunk at full speed instead of each spending most
of a second loading the kernels from numba's disk cache. The model below is tiny but
calls every kernel with the argument types every scenario uses (the phases call each
kernel every step, whatever the actors), so nothing is left to load. It draws from its
own seed and writes nothing.
"""

from __future__ import annotations

from sim.geography import DEFAULT_MAP, load_map
from sim.model import ConflictModel
from sim.scenario import ScenarioSpec
from sim.tables import chunk_tables

_SCENARIO = {
    "name": "warm-up",
    "start": "2022-01-01",
    "months": 1,
    "map": "afghanistan",
    "factions": {
        "gov": {"label": "Government", "kind": "government", "strength": 10000, "funds": 50, "materiel": 20,
                "holds_remainder": True, "capital": "Kabul", "home": ["Kabul"], "alignment": -1,
                "cohesion": 0.8},
        "rebels": {"label": "Rebels", "kind": "resistance", "strength": 1500, "funds": 2, "materiel": 3,
                   "control": {"Panjshir": 0.2}, "home": ["Panjshir"], "alignment": 1, "front": True},
        "partisans": {"label": "Partisans", "kind": "resistance", "strength": 1500, "funds": 2, "materiel": 3,
                      "control": {"Badakhshan": 0.2}, "home": ["Badakhshan"], "alignment": 1, "front": True},
        "cell": {"label": "Cell", "kind": "jihadist", "territorial": False, "strength": 300,
                 "home": ["Kunar"], "patrons": ["gov"], "capacity": 1000, "attack_rate": 0.5,
                 "targets": {"north": 1.0}},
    },
    "donors": {
        "north": {"label": "Northland", "country": "Tajikistan", "budget": 2, "arms_willingness": 0.5,
                  "sanctuary_willingness": 0.5, "affinity": {"gov": -0.3, "rebels": 0.5}, "strike_capacity": 0.5},
        "south": {"label": "Southland", "country": "Pakistan", "budget": 1, "affinity": {"gov": 0.5}, "trade": 3},
    },
}


def warm_up() -> None:
    """Run the tiny model for its one month, so every kernel is compiled or loaded."""
    spec = ScenarioSpec.model_validate(_SCENARIO)
    m = load_map(DEFAULT_MAP)
    result = ConflictModel(spec, m, 0).run()
    chunk_tables([result], 0, {})  # imports what writing Parquet needs

