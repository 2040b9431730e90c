"""Recorder: per-step observation into preallocated arrays, and the RunResult it yields.

The recorder is the last phase of every step: it copies the state and the step's flows
into a :class:`sim.bundles.Record` sized for the whole run, and nothing reads the record
back as state during a run. Everything derived (territory by area and by population,
provinces held) is computed once at the end with a few array expressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced (T+1 rows: step 0 is the initial state).

    Attributes:
        scenario: scenario name.
        scenario_hash: short hash of the resolved scenario.
        replication: index of the run in its batch.
        seed: the run's seed.
        factions, donors, provinces: names, in array order.
        dates: datetime64[D] per step.
        control: [T+1, P, F] control shares.
        strength, funds, materiel, in_front: [T+1, F].
        population, sentiment: [T+1, P].
        cohesion, legitimacy: [T+1] government cohesion and international legitimacy.
        threat, stance, recognised: [T+1, D].
        recognition_stage: [T+1, D] int, 0 none, 1 engagement, 2 an ambassador accepted, 3 formal
            recognition (``recognised`` is stage 3).
        money, arms, sanctuary, strikes: [T+1, D, F] flows from donors to factions.
        trade, pressure: [T+1, D] flows between donors and the government.
        attacks: [T+1, F, D] attacks by factions on states.
        raids: [T+1, P, F] attacks by factions on the government's forces, by province (counts).
        holder: [T+1, P] the faction holding each province's capital.
        held_threshold: share at or above which a province counts as held.
        area: [P] province areas.
        gov: index of the government faction.
        events: (step, text) in plain words.
        point: index of the sweep point the run belongs to (0 without a sweep).
    """

    scenario: str
    scenario_hash: str
    replication: int
    seed: int
    factions: tuple[str, ...]
    donors: tuple[str, ...]
    provinces: tuple[str, ...]
    dates: np.ndarray
    control: np.ndarray
    strength: np.ndarray
    funds: np.ndarray
    materiel: np.ndarray
    in_front: np.ndarray
    population: np.ndarray
    sentiment: np.ndarray
    cohesion: np.ndarray
    legitimacy: np.ndarray
    threat: np.ndarray
    stance: np.ndarray
    recognised: np.ndarray
    recognition_stage: np.ndarray
    money: np.ndarray
    arms: np.ndarray
    sanctuary: np.ndarray
    strikes: np.ndarray
    trade: np.ndarray
    pressure: np.ndarray
    attacks: np.ndarray
    raids: np.ndarray
    holder: np.ndarray
    held_threshold: float
    area: np.ndarray
    gov: int
    events: list[tuple[int, str]] = field(default_factory=list)
    point: int = 0

    @property
    def steps(self) -> int:
        """Number of recorded steps after the initial state."""
        return self.control.shape[0] - 1

    @property
    def territory_share(self) -> np.ndarray:
        """[T+1, F] share of the country's area controlled by each faction."""
        return self.control.transpose(0, 2, 1) @ (self.area / self.area.sum())

    @property
    def population_share(self) -> np.ndarray:
        """[T+1, F] share of the population living under each faction's control."""
        people = np.einsum("tpf,tp->tf", self.control, self.population)
        return people / self.population.sum(axis=1, keepdims=True)

    @property
    def provinces_held(self) -> np.ndarray:
        """[T+1, F] number of provinces whose capital a faction holds ("holds a province", ODD 7.4.1)."""
        return (self.holder[:, :, None] == np.arange(len(self.factions))).sum(axis=1)


#: The record's arrays that a RunResult carries (the others say what happened, for the event log).
RECORDED = ("control", "strength", "funds", "materiel", "in_front", "population", "sentiment", "cohesion",
             "legitimacy", "threat", "stance", "recognised", "recognition_stage", "money", "arms", "sanctuary",
             "strikes", "trade", "pressure", "attacks", "raids", "holder")

#: A view of the recorded arrays, one field each in the order of :data:`RECORDED`. The same
#: fields view both sides: the state's arrays (``in_front`` is ``State.front`` and
#: ``recognition_stage`` is ``State.stage``) and the record's, of which row ``t`` is written.
Rows = NamedTuple("Rows", [(name, np.ndarray) for name in RECORDED])


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """The last phase: copy the state and this step's flows into row ``t`` of the record.

    The body is one call on views of the two bundles (:class:`Rows` of each): a compiled
    call that takes a bundle touches the reference count of every array in it.
    """
    taken = Rows(s.control, s.strength, s.funds, s.materiel, s.front, s.population, s.sentiment, s.cohesion,
                 s.legitimacy, s.threat, s.stance, s.recognised, s.stage, s.money, s.arms, s.sanctuary, s.strikes,
                 s.trade, s.pressure, s.attacks, s.raids, s.holder)
    rows = Rows(r.control, r.strength, r.funds, r.materiel, r.in_front, r.population, r.sentiment, r.cohesion,
                r.legitimacy, r.threat, r.stance, r.recognised, r.recognition_stage, r.money, r.arms, r.sanctuary,
                r.strikes, r.trade, r.pressure, r.attacks, r.raids, r.holder)
    write_row(taken, rows, t)


@jit
def write_row(s: Rows, r: Rows, t: int) -> None:
    """Row ``t`` of every recorded array from the state (cohesion and legitimacy are one-element arrays)."""
    r.control[t] = s.control
    r.strength[t] = s.strength
    r.funds[t] = s.funds
    r.materiel[t] = s.materiel
    r.in_front[t] = s.in_front
    r.population[t] = s.population
    r.sentiment[t] = s.sentiment
    r.threat[t] = s.threat
    r.recognised[t] = s.recognised
    r.recognition_stage[t] = s.recognition_stage
    r.cohesion[t] = s.cohesion[0]
    r.legitimacy[t] = s.legitimacy[0]
    r.stance[t] = s.stance
    r.money[t] = s.money
    r.arms[t] = s.arms
    r.sanctuary[t] = s.sanctuary
    r.strikes[t] = s.strikes
    r.trade[t] = s.trade
    r.pressure[t] = s.pressure
    r.attacks[t] = s.attacks
    r.raids[t] = s.raids
    r.holder[t] = s.holder


