"""Historical patterns as data, measured on the model's runs: the scorecard.

A pattern file (``patterns/*.yaml`` at the top of the checkout) lists patterns of one
period that the model must reproduce (Grimm et al. 2005, pattern-oriented modelling).
Each pattern names the scenario it is measured on, a measure from a small fixed
vocabulary, the expected value or range, a tolerance in the measure's unit, the statistic
compared and its sources. A user adds a pattern by writing YAML, never code.

One job per module, data flowing one way (pattern files and a results folder -> measures ->
scorecard):

* :mod:`~sim.patterns.schema`: the measure vocabulary and the pattern, as pydantic models;
* :mod:`~sim.patterns.load`: reading and checking pattern files, one-line errors;
* :mod:`~sim.patterns.measures`: a results folder as arrays, and each measure per replication;
* :mod:`~sim.patterns.scorecard`: the pass rule, the tables, and ``run.py patterns``.
"""

from sim.patterns.load import Pattern, PatternError, check_names, expected_range, load_patterns, read_pattern_file
from sim.patterns.schema import EPOCH, MEASURES, NEVER, PatternFileSpec, PatternSpec

__all__ = ["EPOCH", "MEASURES", "NEVER", "Pattern", "PatternError", "PatternFileSpec", "PatternSpec",
           "check_names", "expected_range", "load_patterns", "read_pattern_file"]
