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
Paying: cash += revenue; upkeep ``u * S / 1000`` is paid; a shortfall
costs ``desertion * shortfall share`` of the fighters; recruits are bought at ``c``
per 1000 as far as cash allows; ``arms_purchase`` of what is left becomes materiel.
"""

from __future__ import annotations

import math

import numpy as np

from sim.jit import jit
from sim.mechanics.space import neighbour_mean


@jit
def active_share(sentiment: np.ndarray, gov_control: np.ndarray, opp_control: np.ndarray, hardship: float,
                 risk_aversion: float, threshold: float, arrest_constant: float, repression: float,
                 spread: float) -> np.ndarray:
    """Share of each province's population actively ready to fight the government (Epstein)."""
    P = sentiment.shape[0]
    out = np.empty(P)
    for i in range(P):
        grievance = hardship * sentiment[i]
        arrest = 1.0 - math.exp(-arrest_constant * gov_control[i] * (1.0 + repression) / (opp_control[i] + 0.05))
        out[i] = 1.0 / (1.0 + math.exp(-(grievance - risk_aversion * arrest - threshold) / spread))
    return out


@jit
def offensive_capacity(materiel: np.ndarray, strength: np.ndarray, threshold: float) -> np.ndarray:
    """Share of its potential gains a faction can take, by arms per fighter (mechanism 3).

    ``o_f = min(1, materiel_f / (S_f / 1000) / threshold)``: a group without arms and
    ammunition can hold ground but not take it (the Catch-22: without arms no victories);
    even slight outside support in arms lifts it toward the bar.
    """
    F = materiel.shape[0]
    out = np.zeros(F)
    for f in range(F):
        if strength[f] > 0.0:
            out[f] = 1.0 if threshold <= 0.0 else min(1.0, materiel[f] / (strength[f] * 1e-3) / threshold)
    return out


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
def raise_resources(control: np.ndarray, population: np.ndarray, sentiment: np.ndarray, extraction: np.ndarray,
                    nb_ptr: np.ndarray, nb_idx: np.ndarray, tax_rate: np.ndarray,
                    outside_income: np.ndarray, alignment: np.ndarray, gov: int,
                    gov_revenue_factor: float, recruit_rate: np.ndarray, pro_pool: np.ndarray,
                    territorial: np.ndarray, security_appeal: np.ndarray, momentum: np.ndarray,
                    strength: np.ndarray, funds: np.ndarray, materiel: np.ndarray, security_pool: float,
                    income_per_capita: float, hardship: float, risk_aversion: float, threshold: float,
                    arrest_constant: float, repression: float, spread: float, spillover: float,
                    momentum_scale: float, uptake: float, pool_attrition: float, upkeep: float,
                    recruit_cost: float, desertion: float, arms_purchase: float, materiel_decay: float,
                    pay_months: float, pay_max: float, dt: float, revenue: np.ndarray,
                    recruits: np.ndarray) -> float:
    """One month of taxes, upkeep, recruitment and arms purchases for every faction.

    Updates strength, funds and materiel in place and fills ``revenue`` and ``recruits``.

    Returns:
        The former-security pool after the month.
    """
    P, F = control.shape
    revenue[:] = 0.0
    opp = np.zeros(P)
    for i in range(P):
        for f in range(F):
            c = control[i, f]
            revenue[f] += population[i] * c * extraction[i, f]
            if alignment[f] > 0.0:
                opp[i] += c
    for f in range(F):
        revenue[f] *= tax_rate[f] * income_per_capita * 1e-6 * dt
    revenue[gov] *= gov_revenue_factor
    for f in range(F):
        revenue[f] += outside_income[f] * dt
    gov_c = control[:, gov].copy()
    active = active_share(sentiment, gov_c, opp, hardship, risk_aversion, threshold, arrest_constant,
                          repression, spread)
    # presence: own control plus spill-over from neighbours; shared where crowded
    wanted = np.zeros(F)
    presence = np.empty(F)
    nb_control = neighbour_mean(control, nb_ptr, nb_idx)
    for i in range(P):
        total = 0.0
        for f in range(F):
            presence[f] = control[i, f] + spillover * nb_control[i, f]
            total += presence[f]
        share = 1.0 / max(total, 1.0)
        for f in range(F):
            if pro_pool[f] > 0.0:
                wanted[f] += population[i] * (1.0 - sentiment[i]) * control[i, f]
            else:
                wanted[f] += population[i] * active[i] * presence[f] * share
    # former army and police: drawn by success and money (mechanism 9)
    draw = np.zeros(F)
    total_draw = 0.0
    for f in range(F):
        if strength[f] > 0.0 and funds[f] > 0.0 and security_appeal[f] > 0.0:
            pull = 0.25 + 0.75 * max(math.tanh(momentum_scale * momentum[f]), 0.0)
            draw[f] = min(uptake * dt * security_appeal[f] * pull, 1.0)
            total_draw += draw[f]
    if total_draw > 1.0:
        for f in range(F):
            draw[f] /= total_draw
    taken_pool = 0.0
    for f in range(F):
        recruits[f] = 0.0
        if strength[f] <= 0.0 and funds[f] <= 0.0:
            continue
        s0 = strength[f]
        cash = funds[f] + revenue[f]
        bill = upkeep * dt * s0 * 1e-3 * territorial[f]
        s1 = s0
        if bill > cash:
            s1 = s0 * (1.0 - desertion * dt * (bill - cash) / bill)
            cash = 0.0
        else:
            cash -= bill
        want = 0.0
        if s0 > 0.0:
            # pay pulls recruits: half rate when broke, full with pay_months of wages in hand
            wages = upkeep * s0 * 1e-3
            months = (funds[f] + revenue[f]) / wages if wages > 0.0 else pay_months
            pay = min(pay_max, 0.5 + 0.5 * months / pay_months) if pay_months > 0.0 else 1.0
            want = (recruit_rate[f] * dt * wanted[f] + security_pool * draw[f]) * pay
        cost = recruit_cost * want * 1e-3
        take = want
        if cost > cash:
            take = want * cash / cost
        cash = max(cash - recruit_cost * take * 1e-3, 0.0)
        if want > 0.0:
            taken_pool += security_pool * draw[f] * take / want
        recruits[f] = take
        strength[f] = s1 + take
        buy = arms_purchase * dt * cash
        funds[f] = cash - buy
        materiel[f] = materiel[f] * (1.0 - materiel_decay * dt) + buy
    return (security_pool - taken_pool) * (1.0 - pool_attrition * dt)
