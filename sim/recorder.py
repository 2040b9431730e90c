"""Recorder: per-step observation into preallocated arrays, and the RunResult it yields.

The recorder copies raw state into arrays sized for the whole run; everything
derived (territory by area and by population, provinces held) is computed once at
the end with a few array expressions instead of every month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.jit import jit

if TYPE_CHECKING:
    from sim.model import ConflictModel


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
        money, arms, sanctuary, strikes: [T+1, D, F] flows from donors to factions.
        trade, pressure: [T+1, D] flows between donors and the government.
        attacks: [T+1, F, D] attacks by factions on states.
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
    money: np.ndarray
    arms: np.ndarray
    sanctuary: np.ndarray
    strikes: np.ndarray
    trade: np.ndarray
    pressure: np.ndarray
    attacks: np.ndarray
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
        """[T+1, F] number of provinces where a faction's share is at least the held threshold."""
        return (self.control >= self.held_threshold).sum(axis=1)


@jit
def record_state(t: int, control: np.ndarray, strength: np.ndarray, funds: np.ndarray, materiel: np.ndarray,
                 front: np.ndarray, population: np.ndarray, sentiment: np.ndarray, threat: np.ndarray,
                 recognised: np.ndarray, r_control: np.ndarray, r_strength: np.ndarray, r_funds: np.ndarray,
                 r_materiel: np.ndarray, r_front: np.ndarray, r_population: np.ndarray, r_sentiment: np.ndarray,
                 r_threat: np.ndarray, r_recognised: np.ndarray) -> None:
    """Copy the state arrays into row ``t`` of the record (one compiled call instead of nine copies)."""
    r_control[t] = control
    r_strength[t] = strength
    r_funds[t] = funds
    r_materiel[t] = materiel
    r_front[t] = front
    r_population[t] = population
    r_sentiment[t] = sentiment
    r_threat[t] = threat
    r_recognised[t] = recognised


class Recorder:
    """Keeps the state of each step in arrays preallocated for the run.

    The month's ledger (stance, money, arms, sanctuary, trade, pressure, strikes,
    attacks) is written straight into these arrays by the kernels, at row t.
    """

    def __init__(self, model: ConflictModel, steps: int) -> None:
        """Allocate arrays for ``steps`` months plus the initial state."""
        st = model.setup
        n, P, F, D = steps + 1, st.map.n, len(st.faction_keys), len(st.donor_keys)
        self.control = np.zeros((n, P, F))
        self.strength = np.zeros((n, F))
        self.funds = np.zeros((n, F))
        self.materiel = np.zeros((n, F))
        self.in_front = np.zeros((n, F), dtype=bool)
        self.population = np.zeros((n, P))
        self.sentiment = np.zeros((n, P))
        self.cohesion = np.zeros(n)
        self.legitimacy = np.zeros(n)
        self.threat = np.zeros((n, D))
        self.stance = np.zeros((n, D))
        self.recognised = np.zeros((n, D), dtype=bool)
        self.money = np.zeros((n, D, F))
        self.arms = np.zeros((n, D, F))
        self.sanctuary = np.zeros((n, D, F))
        self.strikes = np.zeros((n, D, F))
        self.trade = np.zeros((n, D))
        self.pressure = np.zeros((n, D))
        self.attacks = np.zeros((n, F, D))

    def observe(self, m: ConflictModel, t: int) -> None:
        """Copy the model's state at step ``t`` (the ledger of step t is written by the kernels)."""
        record_state(t, m.control, m.strength, m.funds, m.materiel, m.front, m.population, m.sentiment,
                     m.threat, m.recognised, self.control, self.strength, self.funds, self.materiel,
                     self.in_front, self.population, self.sentiment, self.threat, self.recognised)
        self.cohesion[t] = m.government.cohesion
        self.legitimacy[t] = m.legitimacy

    def finish(self, m: ConflictModel) -> RunResult:
        """Freeze the record into a RunResult."""
        st = m.setup
        if m.steps:
            self.stance[0] = self.stance[1]  # stance is decided during a step; step 0 shows the first decision
        return RunResult(
            scenario=st.spec.name,
            scenario_hash=st.digest,
            replication=m.replication,
            seed=m.seed,
            factions=st.faction_keys,
            donors=st.donor_keys,
            provinces=st.map.names,
            dates=m.dates[: m.steps + 1],
            control=self.control[: m.steps + 1],
            strength=self.strength[: m.steps + 1],
            funds=self.funds[: m.steps + 1],
            materiel=self.materiel[: m.steps + 1],
            in_front=self.in_front[: m.steps + 1],
            population=self.population[: m.steps + 1],
            sentiment=self.sentiment[: m.steps + 1],
            cohesion=self.cohesion[: m.steps + 1],
            legitimacy=self.legitimacy[: m.steps + 1],
            threat=self.threat[: m.steps + 1],
            stance=self.stance[: m.steps + 1],
            recognised=self.recognised[: m.steps + 1],
            money=self.money[: m.steps + 1],
            arms=self.arms[: m.steps + 1],
            sanctuary=self.sanctuary[: m.steps + 1],
            strikes=self.strikes[: m.steps + 1],
            trade=self.trade[: m.steps + 1],
            pressure=self.pressure[: m.steps + 1],
            attacks=self.attacks[: m.steps + 1],
            held_threshold=m.pars.held_threshold,
            area=st.map.area,
            gov=st.gov,
            events=list(m.events),
        )
