"""The schedule (ODD element 3): the phases of a step, in order, as data.

Every phase is a compiled function ``step(c, p, s, d, r, t)`` of a mechanism module
(constants, parameters, state, draws, record, step number), and each is one full pass
over all actors. A step runs them in the order of :data:`PHASES`; the model's docstring,
the ODD's schedule and the tests all read this tuple. Adding a phase is one line here.

Scenario events (phase 0) are checked in Python at the start of a step, before the
compiled phases run (:mod:`sim.events`); between events the model runs whole spans of
steps in one compiled call (:func:`run_steps`), without returning to Python each month.
"""

from __future__ import annotations

from numba import literal_unroll

from sim import recorder
from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import entry
from sim.mechanics import alliances, combat, raids, resources, sentiment, space, support, terror

#: The phases of a step, in order (ODD element 3).
PHASES = (
    support.step,    # 1-2. donors decide; money, arms, trade paid; sanctuary, recognition, pressure (7.1)
    resources.step,  # 3. taxes, upkeep, recruits, arms purchases (7.3)
    combat.step,     # 4. deployment, contest for control, attrition, defections, capital loss (7.4)
    raids.step,      # 4b. groups attack the government's forces: counts, harm, losses, notice (7.7.1)
    sentiment.step,  # 5. sentiment and migration (7.5)
    alliances.step,  # 6. fronts form or break; cohesion; the government may split (7.6)
    terror.step,     # 7. sheltered groups grow, states strike, attacks raise threat (7.7)
    space.step,      # 8. territory, momentum and held provinces (7.2)
    recorder.step,   # 9. the recorder takes the step
)


def phase_names() -> list[str]:
    """``module.step`` of each phase, in order (for documents and tests)."""
    return [f"{getattr(ph, 'py_func', ph).__module__.rsplit('.', 1)[-1]}.step" for ph in PHASES]


@entry
def run_step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """One step: every phase of :data:`PHASES` in order."""
    for phase in literal_unroll(PHASES):
        phase(c, p, s, d, r, t)


@entry
def run_steps(c: Const, p: Pars, s: State, d: Draws, r: Record, first: int, last: int) -> None:
    """Steps ``first`` to ``last`` (inclusive) in one compiled call."""
    for t in range(first, last + 1):
        run_step(c, p, s, d, r, t)
