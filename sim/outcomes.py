"""Outcomes and per-actor measures, declared once (as EMA workbench's ``ScalarOutcome``).

A :class:`Measure` is a per-actor column of the trajectories table (territory share,
strength, ...): the run's figures and its summary table show measures. An :class:`Outcome`
is one number per run and step computed from a measure over a set of actors (the
resistance's summed territory, whether the government's breakaway has fighters): the
comparison report's tables and figures show outcomes. Column names, labels and units come
from these objects everywhere, so a new outcome is one line of :data:`OUTCOMES`.

Which faction kinds count as the resistance is said once, by :func:`side`, which reads it from
the actor classes of :mod:`sim.actors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["resistance", "government", "breakaway"]


def side(kind: str) -> str:
    """The side a faction of this kind counts on in the outcomes: 'resistance', 'government' or ''.

    The rule is the actor classes' (:mod:`sim.actors`): a kind whose class says ``resistance``
    is the resistance's, the government's class is the government's; an unknown kind neither.
    """
    from sim.actors import FACTION_CLASSES, Government  # here: the actors import Mesa, declaring outcomes not

    cls = FACTION_CLASSES.get(kind)
    if cls is None:
        return ""
    return "resistance" if cls.resistance else "government" if issubclass(cls, Government) else ""


def kinds(of: str) -> list[str]:
    """The faction kinds on a side ('resistance' or 'government'), in the actor classes' order."""
    from sim.actors import FACTION_CLASSES

    return [k for k in FACTION_CLASSES if side(k) == of]


@dataclass(frozen=True)
class Measure:
    """A per-actor column of the trajectories table, as figures and the run summary show it.

    Attributes:
        column: the column of the trajectories table.
        label: words for axes and headers ("territory share").
        unit: "share" (a fraction, shown as a percentage), "fighters" or "provinces".
        figure: the file stem of its figure in ``figures/`` (none: drawn in no figure).
    """

    column: str
    label: str
    unit: str
    figure: str | None = None

    @property
    def is_share(self) -> bool:
        """Whether values are fractions (shown as percentages)."""
        return self.unit == "share"


TERRITORY = Measure("territory_share", "territory share", "share", "territory")
POPULATION = Measure("population_share", "population share", "share", "population")
STRENGTH = Measure("strength", "strength", "fighters", "strength")
PROVINCES = Measure("provinces_held", "provinces held", "provinces")
MEASURES = (TERRITORY, POPULATION, STRENGTH, PROVINCES)
FIGURE_MEASURES = tuple(m for m in MEASURES if m.figure)


@dataclass(frozen=True)
class Outcome:
    """One number per run and step: a measure over one side's actors.

    Attributes:
        name: its column in :func:`sim.analysis.outcomes` and the report's CSV files.
        label: words for axes and tables.
        unit: "share" (a fraction of the country or its population), "provinces", "fighters"
            or "yes/no".
        measure: the per-actor column it is computed from.
        actors: whose rows: factions on the "resistance" or "government" side (see
            :func:`side`), or the "breakaway" the government splits into.
        how: "sum" over the actors, or "active": whether they have a value above zero.
        compared: whether the summary and the paired differences of the report include it.
    """

    name: str
    label: str
    unit: str
    measure: Measure
    actors: Side
    how: Literal["sum", "active"] = "sum"
    compared: bool = True

    @property
    def is_share(self) -> bool:
        """Whether values are fractions (shown as percentages)."""
        return self.unit == "share"


RESISTANCE_TERRITORY = Outcome("resistance_territory", "resistance share of the country's area", "share",
                               TERRITORY, "resistance")
RESISTANCE_POPULATION = Outcome("resistance_population", "resistance share of the population", "share",
                                POPULATION, "resistance")
RESISTANCE_PROVINCES = Outcome("resistance_provinces", "provinces held by resistance groups", "provinces",
                               PROVINCES, "resistance")
RESISTANCE_STRENGTH = Outcome("resistance_strength", "fighters of the resistance groups", "fighters", STRENGTH,
                              "resistance", compared=False)
GOVERNMENT_TERRITORY = Outcome("government_territory", "government share of the country's area", "share",
                               TERRITORY, "government")
SPLIT = Outcome("split", "the government has split (its breakaway has fighters)", "yes/no", STRENGTH,
                "breakaway", how="active", compared=False)
OUTCOMES = (RESISTANCE_TERRITORY, RESISTANCE_POPULATION, RESISTANCE_PROVINCES, RESISTANCE_STRENGTH,
            GOVERNMENT_TERRITORY, SPLIT)
COMPARED = tuple(o for o in OUTCOMES if o.compared)


def outcome(name: str) -> Outcome:
    """The declared outcome of this name.

    Raises:
        KeyError: for a name that is not in :data:`OUTCOMES`.
    """
    for o in OUTCOMES:
        if o.name == name:
            return o
    raise KeyError(f"no outcome {name!r}; outcomes are {[o.name for o in OUTCOMES]}")
