"""Measured effects of the mechanisms, and the robustness of the headline conclusions.

The mechanisms and the scenario claims are data (``mechanisms/effects.yaml``), as are the
judgement parameters and the headline conclusions (``mechanisms/robustness.yaml``). Each
comparison runs two *arms* (a scenario file with overrides) with the same seed, so runs pair
by replication (common random numbers), and is judged with the project's paired statistics.

One job per module, data flowing one way (files -> arms -> results folders -> outcomes ->
paired statistics -> tables):

* :mod:`~sim.effects.schema`: the files' fields, as strict pydantic models;
* :mod:`~sim.effects.load`: reading and checking the files, one-line errors; :class:`Arm`;
* :mod:`~sim.effects.outcomes`: the outcome vocabulary, read from one results folder;
* :mod:`~sim.effects.arms`: running arms through :func:`sim.batch.run_batch`; paired statistics;
* :mod:`~sim.effects.table`: the effects table and ``run.py effects``;
* :mod:`~sim.effects.robustness`: the judgement parameters at +-50% and ``run.py robustness``.
"""

from sim.effects.load import Arm, Effect, EffectsError, load_effects, load_robustness

__all__ = ["Arm", "Effect", "EffectsError", "load_effects", "load_robustness"]
