"""Experiments beyond grids: an experiment file's uncertainties and levers, sampled and run on the batch engine.

:mod:`~sim.experiments.schema` reads the file; :mod:`~sim.experiments.indices` samples a design
and computes sensitivity indices (SALib); :mod:`~sim.experiments.command` runs ``run.py sensitivity``.
"""


class ExperimentError(ValueError):
    """A bad experiment file or option (one line naming the file and the field)."""
