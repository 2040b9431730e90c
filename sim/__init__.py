"""Afghan conflict scenario laboratory: an agent-based model on Mesa.

The package follows one data flow: a scenario file is loaded and validated
(:mod:`sim.scenario`), built into a :class:`sim.model.ConflictModel` with a seed,
stepped month by month, recorded into a :class:`sim.recorder.RunResult`, stored as
Parquet (:mod:`sim.store`) and analysed (:mod:`sim.analysis`, :mod:`sim.plots`).
"""

__version__ = "0.2.0"
