"""How far a run's measure of a pattern lies from the record, for ABC (0: the scorecard passes it).

A pattern passes when the median over replications lies within its expected range widened
by its tolerance (:func:`sim.patterns.scorecard.passes`). The distance says by how much it
misses, in units of the pattern's scale, so patterns of different units add up:

``d = max(0, (low - tol) - med, med - (high + tol)) / scale``, at most :data:`CAP`,

where ``scale`` is the tolerance, or, for a pattern without one, :data:`UNIT_SCALE` of its
unit (a share: 5 percentage points; a date or a number of days: 7 days; a count or a yes/no:
1). A median of "never" against a date that came, or a date against "never", is a miss of
:data:`CAP`: the pattern's whole weight. Inside the tolerance every value is as good as
another, so ABC's tolerance 0 keeps the parameters under which the pattern passes (an ABC
with a uniform kernel as wide as the record's own uncertainty).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.patterns.load import Pattern
from sim.patterns.scorecard import quantiles

CAP = 10.0  # a miss of more than ten scales counts as ten: one wild pattern cannot swamp the others
UNIT_SCALE = {"share": 0.05, "date": 7.0, "days": 7.0, "count": 1.0, "yes/no": 1.0, "value": 1.0}


def scale(p: Pattern) -> float:
    """The pattern's scale: its tolerance, else its unit's :data:`UNIT_SCALE`."""
    return float(p.spec.tolerance) if p.spec.tolerance > 0 else UNIT_SCALE[p.unit]


def miss(median: float, p: Pattern) -> float:
    """How far a median lies outside the pattern's widened range, in scales (0 inside, at most CAP)."""
    if math.isnan(median):
        return CAP  # not measured
    lo, hi = p.low - p.spec.tolerance, p.high + p.spec.tolerance
    if lo <= median <= hi:
        return 0.0
    gap = lo - median if median < lo else median - hi
    return CAP if math.isinf(gap) else min(gap / scale(p), CAP)


def pattern_distance(values: np.ndarray, p: Pattern) -> float:
    """The distance of one parameter set's replications of a pattern's measure (their median) to the record."""
    if values.size == 0:
        return CAP
    return miss(quantiles(values)[0], p)


def total(misses: Sequence[float], weights: Sequence[float]) -> float:
    """The weighted mean of the patterns' misses: the particle's distance."""
    w = np.asarray(weights, dtype=float)
    return float(np.dot(np.asarray(misses, dtype=float), w) / w.sum())
