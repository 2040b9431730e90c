"""The typed bundles the compiled rules take: constants, parameters, state, draws and record.

Every kernel of :mod:`sim.mechanics` takes a few of these instead of dozens of positional
arrays and floats that could be swapped silently (Starsim's modules read ``self.pars`` the
same way). They are NamedTuples, which numba compiles as structures: a field is read by
name, an array field is updated in place, and one call hands a whole bundle to compiled
code.

* :class:`Const`: compiled once from the scenario and map (:mod:`sim.setup`); never written.
* :class:`Pars`: the rule coefficients, generated from :class:`sim.parameters.Parameters`
  (one field per parameter, in declaration order; nothing is copied by hand).
* :class:`State`: the run's state arrays, updated in place month by month. Scalars are
  one-element arrays so that compiled code can write them.
* :class:`Draws`: every random number of the run, drawn before it starts (common random numbers).
* :class:`Record`: what the recorder keeps of every step; written by the last phase only.

Array shapes use P provinces, F factions, D donors and T steps.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import NamedTuple

import numpy as np

from sim.parameters import Parameters

#: The rule coefficients as a NamedTuple of floats, one field per parameter of
#: :class:`sim.parameters.Parameters`, generated from it.
Pars = namedtuple("Pars", list(Parameters.model_fields))


def pars_bundle(parameters: Parameters | None = None, **overrides: float) -> Pars:
    """The parameters as a :data:`Pars` bundle (defaults, then ``overrides``, both validated)."""
    p = parameters if parameters is not None else Parameters()
    if overrides:
        p = Parameters.model_validate({**p.model_dump(), **overrides})
    return Pars(*(float(getattr(p, name)) for name in Parameters.model_fields))


class Const(NamedTuple):
    """Constants of a scenario on a map (compiled once per scenario; see :mod:`sim.setup`)."""

    dt: float  # months per step
    gov: int  # index of the government faction
    split_child: int  # the government's breakaway, -1 if it cannot split
    cohesion0: float  # the government's initial cohesion
    split_strength: float  # share of fighters, funds and arms the breakaway takes
    split_home_share: float  # share of control it takes in its home provinces
    split_other_share: float  # and elsewhere
    stance_weight: float  # share of the gap to its target a stance closes per step, 1 - exp(-stance_rate dt)
    # the map [P]
    nb_ptr: np.ndarray  # [P+1] neighbours in compressed sparse rows
    nb_idx: np.ndarray
    ruggedness: np.ndarray
    prior: np.ndarray  # structural anti-Taliban sentiment
    area_weight: np.ndarray  # area / total area
    area_ratio: np.ndarray  # reference area / area
    terrain_rate: np.ndarray  # control_rate * (1 - drag * ruggedness)
    # factions [F]
    territorial: np.ndarray  # 1.0 for factions holding ground
    noise_column: np.ndarray  # column of a faction in the combat luck, -1 if it holds no ground
    guerrilla: np.ndarray
    effectiveness: np.ndarray
    stealth: np.ndarray
    alignment: np.ndarray
    governance_weight: np.ndarray  # governance where alignment > 0
    tax_rate: np.ndarray
    income: np.ndarray  # outside income, million USD/month
    upkeep: np.ndarray  # cost of a fighter relative to the global upkeep
    air_decay: np.ndarray  # 1/month: air support wears off without its maintainers
    recruit_rate: np.ndarray  # per month
    pro_pool: np.ndarray  # 1 where a faction recruits from supporters, not the aggrieved
    security_appeal: np.ndarray
    defection: np.ndarray
    front_willing: np.ndarray  # bool
    rivalry: np.ndarray
    sheltered: np.ndarray  # 1.0 for non-territorial groups with patrons
    growth: np.ndarray
    capacity: np.ndarray
    attack_rate: np.ndarray
    donor_eligible: np.ndarray  # 1 where donors may back a faction
    gov_sheltered: np.ndarray  # 1 for groups the government (or its breakaway) shelters: their attacks are blamed on it
    gov_enemy: np.ndarray  # 1 for armed enemies of the government (ISKP): their attacks make it a partner
    capital: np.ndarray  # province index, -1 without a capital
    held0: np.ndarray  # capitals each faction holds at the start (the national cascade's reference)
    targets: np.ndarray  # [F, D] target weights
    patrons: np.ndarray  # [F, F] 1 where the column shelters the row
    hostility: np.ndarray  # [F, F] 1 where two territorial factions fight
    home: np.ndarray  # [P, F] 1 for home provinces
    home_weight: np.ndarray  # [P, F] home / number of home provinces
    extraction: np.ndarray  # [P, F] loss-of-strength gradient from the base
    # donors [D]
    affinity: np.ndarray  # [D, F]
    econ: np.ndarray
    ct: np.ndarray
    threat_sensitivity: np.ndarray
    arms_willingness: np.ndarray
    success_weight: np.ndarray
    rivals: np.ndarray  # [D, D]
    rival_weight: np.ndarray
    backlash: np.ndarray  # [D, D]
    budget: np.ndarray
    arms_share: np.ndarray
    sanctuary_willingness: np.ndarray
    trade: np.ndarray
    sanctions: np.ndarray
    closure: np.ndarray
    strike_capacity: np.ndarray
    engagement_threshold: np.ndarray  # stance for stage 1 (engagement)
    ambassador_threshold: np.ndarray  # stance for stage 2 (an ambassador accepted)
    recognition_threshold: np.ndarray  # stance for stage 3 (formal recognition)
    enemy_pull: np.ndarray  # stance gained per unit of threat from the government's enemies
    weight: np.ndarray
    donor_border: np.ndarray  # [D, P] 1 where a donor borders a province
    pressure_weight: np.ndarray  # strongest pressure instrument of each donor (cohesion)


class State(NamedTuple):
    """The run's state, updated in place by the phases (this month's flows included)."""

    control: np.ndarray  # [P, F] shares, rows summing to 1
    strength: np.ndarray  # [F] fighters
    funds: np.ndarray  # [F] million USD
    materiel: np.ndarray  # [F] million USD of arms
    sentiment: np.ndarray  # [P] anti-Taliban share
    population: np.ndarray  # [P] people
    threat: np.ndarray  # [D] threat perception
    recognised: np.ndarray  # [D] bool, who recognises the government (stage 3)
    stage: np.ndarray  # [D] int, recognition stage: 0 none, 1 engagement, 2 ambassador, 3 formal
    dwell: np.ndarray  # [D] months the stance has stood above the next stage's threshold
    sheltered_threat: np.ndarray  # [D] threat from groups the government shelters
    enemy_threat: np.ndarray  # [D] threat from the government's armed enemies
    front: np.ndarray  # [F] bool, members of the united front
    momentum: np.ndarray  # [F] smoothed monthly territory change
    territory: np.ndarray  # [F] share of the country's area
    held: np.ndarray  # [P, F] bool, share at or above the held threshold
    patron_share: np.ndarray  # [F, D] share of last month's aid from each donor
    protection: np.ndarray  # [P, F] sanctuary protection
    harm: np.ndarray  # [P, F] civilian harm caused by each faction this month
    anger: np.ndarray  # [P] decaying stock of blamed harm per 1000 people, > 0 against the Taliban (7.5)
    offensive: np.ndarray  # [F] share of potential gains a faction can take
    capital_lost: np.ndarray  # [F] bool
    air: np.ndarray  # [F] extra fighting power from air support (decays at air_decay)
    holder: np.ndarray  # [P] int, the faction holding each province's capital (city and district centre)
    joined: np.ndarray  # [F] bool, joined the front this month
    left: np.ndarray  # [F] bool, left it this month
    stance: np.ndarray  # [D] stance toward the government, a stock (NaN before the first step: starts at its target)
    money: np.ndarray  # [D, F] this month's flows, million USD per step
    arms: np.ndarray  # [D, F]
    sanctuary: np.ndarray  # [D, F] intensity
    trade: np.ndarray  # [D] paid to the government
    pressure: np.ndarray  # [D] on the government
    strikes: np.ndarray  # [D, F] fighters killed
    attacks: np.ndarray  # [F, D] this month's (read next month by event triggers)
    raids: np.ndarray  # [P, F] int32, this step's attacks on the government's forces (counts)
    notice: np.ndarray  # [F] decaying stock of a group's attacks that donors notice (7.7.1)
    security_pool: np.ndarray  # [1] former security forces available to a resistance
    legitimacy: np.ndarray  # [1] the government's international legitimacy
    revenue_factor: np.ndarray  # [1] share of its revenue sanctions and closures leave the government
    cohesion: np.ndarray  # [1] the government's cohesion
    split: np.ndarray  # [1] bool, whether the government has split


class Draws(NamedTuple):
    """Every random number of a run, drawn before it starts from the named streams."""

    luck: np.ndarray  # [months, P, territorial factions] lognormal combat luck, mean 1
    luck_month: np.ndarray  # [T] row of ``luck`` each step uses
    alliance: np.ndarray  # [T, F+1] uniforms for front changes
    split: np.ndarray  # [T] uniforms for the government's split
    attack: np.ndarray  # [T, F] uniforms for attacks abroad
    capture: np.ndarray  # [T, P] uniforms for garrisons' surrender
    raid: np.ndarray  # [T, P, n_territorial] uniforms for attacks on the government's forces (7.7.1)


class Record(NamedTuple):
    """The recorder's arrays: T+1 rows, row 0 the initial state (see :mod:`sim.recorder`)."""

    control: np.ndarray  # [T+1, P, F]
    strength: np.ndarray  # [T+1, F]
    funds: np.ndarray
    materiel: np.ndarray
    in_front: np.ndarray  # bool
    population: np.ndarray  # [T+1, P]
    sentiment: np.ndarray
    cohesion: np.ndarray  # [T+1]
    legitimacy: np.ndarray
    threat: np.ndarray  # [T+1, D]
    stance: np.ndarray
    recognised: np.ndarray  # bool
    recognition_stage: np.ndarray  # int
    money: np.ndarray  # [T+1, D, F]
    arms: np.ndarray
    sanctuary: np.ndarray
    strikes: np.ndarray
    trade: np.ndarray  # [T+1, D]
    pressure: np.ndarray
    attacks: np.ndarray  # [T+1, F, D]
    raids: np.ndarray  # [T+1, P, F] int32, attacks on the government's forces
    holder: np.ndarray  # [T+1, P] int, the holder of each province's capital
    # what happened in a step, for the event log written after compiled months
    recognitions: np.ndarray  # [T+1] donors whose recognition stage the step's decisions changed
    capital_lost: np.ndarray  # [T+1, F] bool, lost its capital in this step
    joined: np.ndarray  # [T+1, F] bool
    left: np.ndarray  # [T+1, F] bool
    front_size: np.ndarray  # [T+1] front members before the step's changes
    split: np.ndarray  # [T+1] bool, the government split in this step


def stance_weight(rate: float, dt: float) -> float:
    """Share of the gap to its target a stance closes in a step of ``dt`` months: ``1 - exp(-rate dt)``.

    Computed once per scenario (an exponential each step cost as much as the rest of the rule).
    """
    return 1.0 - math.exp(-rate * dt)


def blank_state(P: int, F: int, D: int) -> State:
    """A State of zeros with the given sizes (filled by the model, or by a test)."""
    z = np.zeros
    return State(
        control=z((P, F)), strength=z(F), funds=z(F), materiel=z(F), sentiment=z(P), population=z(P),
        threat=z(D), recognised=z(D, dtype=bool), stage=z(D, dtype=np.int64), dwell=z(D), sheltered_threat=z(D),
        enemy_threat=z(D), front=z(F, dtype=bool), momentum=z(F), territory=z(F),
        held=z((P, F), dtype=bool), patron_share=z((F, D)), protection=z((P, F)), harm=z((P, F)), anger=z(P),
        offensive=np.ones(F), capital_lost=z(F, dtype=bool), air=z(F), holder=z(P, dtype=np.int64),
        joined=z(F, dtype=bool), left=z(F, dtype=bool),
        stance=z(D), money=z((D, F)), arms=z((D, F)), sanctuary=z((D, F)), trade=z(D), pressure=z(D),
        strikes=z((D, F)), attacks=z((F, D)), raids=z((P, F), dtype=np.int32), notice=z(F), security_pool=z(1),
        legitimacy=z(1), revenue_factor=np.ones(1),
        cohesion=z(1), split=z(1, dtype=bool),
    )


def blank_record(T: int, P: int, F: int, D: int) -> Record:
    """A Record of zeros for T steps plus the initial state."""
    n, z = T + 1, np.zeros
    return Record(
        control=z((n, P, F)), strength=z((n, F)), funds=z((n, F)), materiel=z((n, F)),
        in_front=z((n, F), dtype=bool), population=z((n, P)), sentiment=z((n, P)), cohesion=z(n),
        legitimacy=z(n), threat=z((n, D)), stance=z((n, D)), recognised=z((n, D), dtype=bool),
        recognition_stage=z((n, D), dtype=np.int64),
        money=z((n, D, F)), arms=z((n, D, F)), sanctuary=z((n, D, F)), strikes=z((n, D, F)), trade=z((n, D)),
        pressure=z((n, D)), attacks=z((n, F, D)), raids=z((n, P, F), dtype=np.int32),
        holder=z((n, P), dtype=np.int64), recognitions=z(n, dtype=np.int64),
        capital_lost=z((n, F), dtype=bool),
        joined=z((n, F), dtype=bool), left=z((n, F), dtype=bool), front_size=z(n, dtype=np.int64),
        split=z(n, dtype=bool),
    )


def blank_const(P: int, F: int, D: int, **fields: object) -> Const:
    """A Const of the given sizes with neutral values, then ``fields`` (for tests of one rule).

    Every faction is territorial and conventional with effectiveness 1; nobody is hostile,
    has a home or a capital; donors have no interests. A chain of neighbours links the
    provinces.
    """
    z, one = np.zeros, np.ones
    ptr = np.array([0] + [min(i, 1) + min(P - 1 - i, 1) for i in range(P)]).cumsum()
    idx = np.array([j for i in range(P) for j in (i - 1, i + 1) if 0 <= j < P], dtype=np.int64)
    base = dict(
        dt=1.0, gov=0, split_child=-1, cohesion0=0.8, split_strength=0.0, split_home_share=0.0,
        split_other_share=0.0, stance_weight=stance_weight(Parameters().stance_rate, 1.0),
        nb_ptr=ptr.astype(np.int64), nb_idx=idx, ruggedness=z(P), prior=np.full(P, 0.5),
        area_weight=np.full(P, 1.0 / P), area_ratio=one(P), terrain_rate=np.full(P, 0.1), territorial=one(F),
        noise_column=np.arange(F, dtype=np.int64), guerrilla=z(F), effectiveness=one(F), stealth=z(F),
        alignment=z(F), governance_weight=z(F), tax_rate=z(F), income=z(F), upkeep=one(F), air_decay=z(F),
        recruit_rate=z(F), pro_pool=z(F),
        security_appeal=z(F), defection=z(F), front_willing=z(F, dtype=bool), rivalry=z(F), sheltered=z(F),
        growth=z(F), capacity=z(F), attack_rate=z(F), donor_eligible=z(F), gov_sheltered=z(F), gov_enemy=z(F),
        capital=np.full(F, -1, np.int64), held0=z(F),
        targets=z((F, D)), patrons=z((F, F)), hostility=z((F, F)), home=z((P, F)), home_weight=z((P, F)),
        extraction=one((P, F)), affinity=z((D, F)), econ=z(D), ct=z(D), threat_sensitivity=z(D),
        arms_willingness=z(D), success_weight=z(D), rivals=z((D, D)), rival_weight=z(D), backlash=z((D, D)),
        budget=z(D), arms_share=z(D), sanctuary_willingness=z(D), trade=z(D), sanctions=z(D), closure=z(D),
        strike_capacity=z(D), engagement_threshold=np.full(D, 10.0),
        ambassador_threshold=np.full(D, 10.0), recognition_threshold=np.full(D, 10.0), enemy_pull=z(D), weight=one(D),
        donor_border=z((D, P)),
        pressure_weight=z(D),
    )
    unknown = set(fields) - set(base)
    if unknown:
        raise TypeError(f"unknown Const fields {sorted(unknown)}; valid: {sorted(base)}")
    base.update(fields)
    return Const(**base)
