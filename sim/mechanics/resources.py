"""Resources and recruitment: taxes, upkeep, arms, recruits and the former-security pool (ODD 7.3).

Summary of rule: every faction taxes the income of the population it controls, less
with distance from its base (Cederman's loss-of-strength gradient), and may have a
steady outside income (ISKP from the Islamic State's core); pays its fighters;
loses fighters to desertion when it cannot pay; buys recruits; and turns part of
what cash is left into arms. Opposition groups recruit from the actively aggrieved
population (Epstein 2002), government-like actors from the people who support them,
and resistance groups also draw on former army, special forces and police
(mechanism 9), more when they are winning.

Epstein's rule, aggregated per province (one departure: individual draws of hardship
and risk aversion are replaced by a logistic spread around the provincial mean, so a
province is a number, not a crowd of agents):

* grievance ``G_i = H * (1 - L_i)`` with the government's local legitimacy
  ``L_i = 1 - sigma_i`` (sigma is the anti-Taliban share);
* arrest probability ``P_i = 1 - exp(-k * gov_i (1 + repression) / (opp_i + 0.05))``,
  the regime's presence against the opposition's;
* active share ``a_i = logistic((G_i - R * P_i - T) / spread)``.

Recruits wanted by faction f: opposition factions (alignment > 0) draw
``rate_f * sum_i pop_i * a_i * reach_if``, with ``reach`` their presence (own control
plus spill-over from neighbours, shared when several are present); the others
(government, breakaway, ISKP) draw ``rate_f * sum_i pop_i (1 - sigma_i) C_if`` from the
people who back them where they rule; both times a pay pull ``min(pay_max, 0.5 + 0.5 * m / pay_months)`` where ``m`` is
the months of wages the faction has in hand (money attracts recruits, Weinstein 2007).
Paying: cash += revenue; upkeep ``u * k_f * S / 1000`` is paid (``k_f`` the faction's factor); a shortfall
costs ``desertion * shortfall share`` of the fighters; recruits are bought at ``c``
per 1000 as far as cash allows; ``arms_purchase`` of what is left becomes materiel.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.space import neighbour_mean


@jit
def active_share(p: Pars, sentiment: np.ndarray, gov_control: np.ndarray, opp_control: np.ndarray) -> np.ndarray:
    """Share of each province's population actively ready to fight the government (Epstein)."""
    P = sentiment.shape[0]
    out = np.empty(P)
    for i in range(P):
        grievance = p.hardship * sentiment[i]
        arrest = 1.0 - math.exp(-p.arrest_constant * gov_control[i] * (1.0 + p.repression)
                                / (opp_control[i] + 0.05))
        out[i] = 1.0 / (1.0 + math.exp(-(grievance - p.risk_aversion * arrest - p.grievance_threshold)
                                       / p.grievance_spread))
    return out


@jit
def offensive_capacity(materiel: np.ndarray, strength: np.ndarray, threshold: float, out: np.ndarray) -> None:
    """Share of its potential gains each faction can take, by arms per fighter (mechanism 3), written over ``out``.

    ``o_f = min(1, materiel_f / (S_f / 1000) / threshold)``: a group without arms and
    ammunition can hold ground but not take it (the Catch-22: without arms no victories);
    even slight outside support in arms lifts it toward the bar. ``out`` is the state's
    array: no new array each step.
    """
    for f in range(materiel.shape[0]):
        out[f] = 0.0
        if strength[f] > 0.0:
            out[f] = 1.0 if threshold <= 0.0 else min(1.0, materiel[f] / (strength[f] * 1e-3) / threshold)


@jit
def materiel_bonus(materiel: np.ndarray, strength: np.ndarray, reference: float, boost: float) -> np.ndarray:
    """Power multiplier from arms stock: ``1 + boost * m / (m + ref)``, m per 1000 fighters."""
    F = materiel.shape[0]
    out = np.ones(F)
    for f in range(F):
        if strength[f] > 0.0:
            m = materiel[f] / (strength[f] * 1e-3)
            out[f] = 1.0 + boost * m / (m + reference)
    return out


@jit
def revenue(c: Const, p: Pars, s: State) -> np.ndarray:
    """Each faction's income this step: taxes where it rules (less far from its base), sanctions, outside income."""
    P, F = s.control.shape
    out = np.zeros(F)
    for i in range(P):
        for f in range(F):
            out[f] += s.population[i] * s.control[i, f] * c.extraction[i, f]
    for f in range(F):
        out[f] *= c.tax_rate[f] * p.income_per_capita * 1e-6 * c.dt
    out[c.gov] *= s.revenue_factor[0] * (1.0 + p.legitimacy_revenue * s.legitimacy[0])
    for f in range(F):
        out[f] += c.income[f] * c.dt
    return out


@jit
def recruits_wanted(c: Const, p: Pars, s: State) -> np.ndarray:
    """People each faction could recruit this month: the aggrieved it reaches, or its supporters."""
    P, F = s.control.shape
    opp = np.zeros(P)
    for i in range(P):
        for f in range(F):
            if c.alignment[f] > 0.0:
                opp[i] += s.control[i, f]
    active = active_share(p, s.sentiment, s.control[:, c.gov].copy(), opp)
    # presence: own control plus spill-over from neighbours; shared where crowded
    wanted = np.zeros(F)
    presence = np.empty(F)
    nb_control = neighbour_mean(s.control, c.nb_ptr, c.nb_idx)
    for i in range(P):
        total = 0.0
        for f in range(F):
            presence[f] = s.control[i, f] + p.spillover * nb_control[i, f]
            total += presence[f]
        share = 1.0 / max(total, 1.0)
        for f in range(F):
            if c.pro_pool[f] > 0.0:
                wanted[f] += s.population[i] * (1.0 - s.sentiment[i]) * s.control[i, f]
            else:
                wanted[f] += s.population[i] * active[i] * presence[f] * share
    return wanted


@jit
def security_draw(c: Const, p: Pars, s: State) -> np.ndarray:
    """Share of the former-security pool each faction draws this month, by success and money (mechanism 9)."""
    F = s.strength.shape[0]
    draw = np.zeros(F)
    total_draw = 0.0
    for f in range(F):
        if s.strength[f] > 0.0 and s.funds[f] > 0.0 and c.security_appeal[f] > 0.0:
            pull = 0.25 + 0.75 * max(math.tanh(p.momentum_scale * s.momentum[f]), 0.0)
            draw[f] = min(p.former_security_uptake * c.dt * c.security_appeal[f] * pull, 1.0)
            total_draw += draw[f]
    if total_draw > 1.0:
        for f in range(F):
            draw[f] /= total_draw
    return draw


class Economy(NamedTuple):
    """The constants resources read, by their :class:`Const` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    dt: float
    gov: int
    extraction: np.ndarray
    tax_rate: np.ndarray
    income: np.ndarray
    alignment: np.ndarray
    nb_ptr: np.ndarray
    nb_idx: np.ndarray
    pro_pool: np.ndarray
    security_appeal: np.ndarray
    upkeep: np.ndarray
    territorial: np.ndarray
    recruit_rate: np.ndarray


class Purse(NamedTuple):
    """The state resources read and write, by their :class:`State` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    control: np.ndarray
    population: np.ndarray
    revenue_factor: np.ndarray
    legitimacy: np.ndarray
    sentiment: np.ndarray
    strength: np.ndarray
    funds: np.ndarray
    momentum: np.ndarray
    materiel: np.ndarray
    security_pool: np.ndarray
    offensive: np.ndarray


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 3: taxes, upkeep, recruits (aggrieved, supporters, former security forces), arms.

    Updates strength, funds, materiel, the former-security pool and the offensive capacity in
    place. The rules read views of the bundles (:class:`Economy`, :class:`Purse`).
    """
    pay(Economy(c.dt, c.gov, c.extraction, c.tax_rate, c.income, c.alignment, c.nb_ptr, c.nb_idx, c.pro_pool,
                c.security_appeal, c.upkeep, c.territorial, c.recruit_rate),
        p, Purse(s.control, s.population, s.revenue_factor, s.legitimacy, s.sentiment, s.strength, s.funds,
                 s.momentum, s.materiel, s.security_pool, s.offensive))


@jit
def pay(c: Economy, p: Pars, s: Purse) -> None:
    """The body of :func:`step`, on the views."""
    F = s.strength.shape[0]
    dt = c.dt
    income = revenue(c, p, s)
    wanted = recruits_wanted(c, p, s)
    draw = security_draw(c, p, s)
    pool = s.security_pool[0]
    taken_pool = 0.0
    for f in range(F):
        if s.strength[f] <= 0.0 and s.funds[f] <= 0.0:
            continue
        s0 = s.strength[f]
        cash = s.funds[f] + income[f]
        bill = p.upkeep * c.upkeep[f] * dt * s0 * 1e-3 * c.territorial[f]
        s1 = s0
        if bill > cash:
            s1 = s0 * (1.0 - p.desertion_rate * dt * (bill - cash) / bill)
            cash = 0.0
        else:
            cash -= bill
        want = 0.0
        if s0 > 0.0:
            # pay pulls recruits: half rate when broke, full with pay_months of wages in hand
            wages = p.upkeep * c.upkeep[f] * s0 * 1e-3
            months = (s.funds[f] + income[f]) / wages if wages > 0.0 else p.pay_months
            pay = min(p.pay_max, 0.5 + 0.5 * months / p.pay_months) if p.pay_months > 0.0 else 1.0
            want = (c.recruit_rate[f] * dt * wanted[f] + pool * draw[f]) * pay
        cost = p.recruit_cost * want * 1e-3
        take = want
        if cost > cash:
            take = want * cash / cost
        cash = max(cash - p.recruit_cost * take * 1e-3, 0.0)
        if want > 0.0:
            taken_pool += pool * draw[f] * take / want
        s.strength[f] = s1 + take
        buy = p.arms_purchase * dt * cash
        s.funds[f] = cash - buy
        s.materiel[f] = s.materiel[f] * (1.0 - p.materiel_decay * dt) + buy
    s.security_pool[0] = (pool - taken_pool) * (1.0 - p.former_security_attrition * dt)
    offensive_capacity(s.materiel, s.strength, p.supply_threshold, s.offensive)
