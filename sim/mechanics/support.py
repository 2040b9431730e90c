"""Foreign support and pressure: what each donor gives and to whom (ODD 7.1).

Summary of rule: each donor (foreign state or the diaspora) forms a stance toward the
government from its interests, then backs opposition groups in proportion to its
sympathy, their battlefield success and its hostility to the government, cut by the
reputation cost of sharing a patron it dislikes.

Equations (s donor, f faction, g government):

* stance ``v_s = affinity[s,g] + econ_s + ct_s - theta_s * T_s`` (threat ``T_s`` from
  exported terror, mechanism 6; economic deals and counter-terrorism pull the other way);
* hostility ``h_s = max(0, -v_s)``, engagement ``e_s = max(0, v_s)``;
* success ``q_f = tanh(k_m * momentum_f) + S_f / (S_f + S_half)``: recent gains and
  viability (the Catch-22, mechanism 1; Salehyan et al. 2011: moderately strong groups), plus
  the attention a group's recent attacks draw (``raids.add_attention``, ODD 7.7.1);
* rival pull ``r_s = w_r * sum_{s' rival of s} e_{s'}`` (Byman et al. 2001: support
  follows rivals backing the other side);
* intensity ``x[s,f] = clip(arms_will_s * (affinity[s,f] + h_s + r_s) * (1 + beta_s q_f)
  * (1 - sum_p backlash[s,p] * patron_share[f,p]), 0, 1)`` for eligible f: success
  amplifies an inclination to back a group but creates none (mechanism 8 in the last factor);
* spending ``budget_s * x[s,f] / max(1, sum_f x[s,f])``, split into arms and money;
* sanctuary ``sanct_will_s * x[s,f]``, effective only in provinces on the donor's border;
* recognition when ``v_s`` exceeds the donor's threshold, withdrawn only below the
  threshold minus a hysteresis; legitimacy ``L = sum_s weight_s rec_s / sum_s weight_s``
  (mechanism 7);
* pressure ``p_s = min(1, h_s)``: sanctions and border closure leave the government
  ``prod_s (1 - sanctions_s p_s)(1 - closure_s p_s)`` of its revenue; trade brings it
  ``trade_s * min(1, e_s)``.
"""

from __future__ import annotations

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.raids import add_attention


@jit
def success_signal(momentum: np.ndarray, strength: np.ndarray, momentum_scale: float,
                   viability_scale: float) -> np.ndarray:
    """What donors see of a group: recent territorial momentum plus viability."""
    return np.tanh(momentum_scale * momentum) + strength / (strength + viability_scale)


@jit
def decide(c: Const, p: Pars, s: State, success: np.ndarray, eligible: np.ndarray) -> tuple:
    """Decide every donor's support and pressure for one step (module docstring).

    Reads the donors' constants from ``c``, their threat, recognition and last month's
    patron shares from ``s``; writes this step's stance, money, arms, sanctuary, trade and
    pressure into ``s`` and updates ``s.recognised``.

    Args:
        c: constants (donor interests, budgets, instruments; ``c.dt`` months per step).
        p: parameters (``recognition_hysteresis``).
        s: state, updated in place.
        success: success signal of each faction.
        eligible: 1 for factions a donor may back this month.

    Returns:
        (revenue_factor, legitimacy, number of donors whose recognition changed).
    """
    D, F = c.affinity.shape
    dt = c.dt
    engagement = np.empty(D)
    hostility = np.empty(D)
    for d in range(D):
        v = c.affinity[d, c.gov] + c.econ[d] + c.ct[d] - c.threat_sensitivity[d] * s.threat[d]
        s.stance[d] = v
        hostility[d] = max(-v, 0.0)
        engagement[d] = max(v, 0.0)
    x = np.zeros(F)
    revenue_factor = 1.0
    legit = 0.0
    wsum = 0.0
    changed = 0
    for d in range(D):
        pull = 0.0
        for r in range(D):
            pull += c.rivals[d, r] * engagement[r]
        pull *= c.rival_weight[d]
        total = 0.0
        for f in range(F):
            x[f] = 0.0
            if eligible[f] > 0.0 and c.arms_willingness[d] > 0.0:
                reputation = 1.0
                for q in range(D):
                    reputation -= c.backlash[d, q] * s.patron_share[f, q]
                # success amplifies an inclination to back a group; it creates none by itself
                inclination = c.affinity[d, f] + hostility[d] + pull
                v = c.arms_willingness[d] * inclination * (1.0 + c.success_weight[d] * success[f]) * reputation
                x[f] = min(max(v, 0.0), 1.0)
                total += x[f]
        scale = c.budget[d] * dt / max(total, 1.0)
        for f in range(F):
            spend = x[f] * scale
            s.arms[d, f] = spend * c.arms_share[d]
            s.money[d, f] = spend - s.arms[d, f]
            s.sanctuary[d, f] = c.sanctuary_willingness[d] * x[f]
        p_d = min(hostility[d], 1.0)
        s.pressure[d] = p_d
        revenue_factor *= (1.0 - c.sanctions[d] * p_d) * (1.0 - c.closure[d] * p_d)
        s.trade[d] = c.trade[d] * dt * min(engagement[d], 1.0)
        rec = s.recognised[d]
        if s.stance[d] > c.recognition_threshold[d]:
            rec = True
        elif s.stance[d] < c.recognition_threshold[d] - p.recognition_hysteresis:
            rec = False
        if rec != s.recognised[d]:
            changed += 1
            s.recognised[d] = rec
        wsum += c.weight[d]
        if rec:
            legit += c.weight[d]
    legitimacy = legit / wsum if wsum > 0.0 else 0.0
    return revenue_factor, legitimacy, changed


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phases 1 and 2: donors decide, then money, arms and trade are paid and sanctuary takes effect.

    Updates funds, materiel, recognised, patron_share, protection, the government's
    revenue factor and legitimacy in place; this step's flows stay in the state (amounts
    per step: monthly budgets and trade times ``dt`` months) until the recorder takes them.
    """
    F = s.strength.shape[0]
    success = success_signal(s.momentum, s.strength, p.momentum_scale, p.viability_scale)
    add_attention(p, s.notice, success)
    eligible = np.zeros(F)
    for f in range(F):
        if s.strength[f] > 0.0:
            eligible[f] = c.donor_eligible[f]
    revenue_factor, legitimacy, r.recognitions[t] = decide(c, p, s, success, eligible)
    s.revenue_factor[0] = revenue_factor
    s.legitimacy[0] = legitimacy
    D = s.money.shape[0]
    for f in range(F):
        for q in range(D):
            s.funds[f] += s.money[q, f]
            s.materiel[f] += s.arms[q, f]
    for q in range(D):
        s.funds[c.gov] += s.trade[q]
    s.patron_share[:, :] = patron_shares(s.money, s.arms)
    s.protection[:, :] = sanctuary_protection(c.donor_border, s.sanctuary, p.sanctuary_protection)


@jit
def patron_shares(money: np.ndarray, arms: np.ndarray) -> np.ndarray:
    """Share of each faction's outside support coming from each donor (factions x donors)."""
    D, F = money.shape
    out = np.zeros((F, D))
    for f in range(F):
        total = 0.0
        for q in range(D):
            total += money[q, f] + arms[q, f]
        if total > 0.0:
            for q in range(D):
                out[f, q] = (money[q, f] + arms[q, f]) / total
    return out


@jit
def sanctuary_protection(donor_border: np.ndarray, sanctuary: np.ndarray, protection: float) -> np.ndarray:
    """Protection of each faction in each province from sanctuary across a border (provinces x factions).

    ``protection * min(1, sum_d border[d,i] * sanctuary[d,f])``: sanctuary only reaches
    provinces on the giver's border (Salehyan 2007).
    """
    D, P = donor_border.shape
    F = sanctuary.shape[1]
    out = np.zeros((P, F))
    for q in range(D):
        for f in range(F):
            g = sanctuary[q, f]
            if g > 0.0:
                for i in range(P):
                    out[i, f] += donor_border[q, i] * g
    for i in range(P):
        for f in range(F):
            out[i, f] = protection * min(out[i, f], 1.0)
    return out
