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
  viability (the Catch-22, mechanism 1; Salehyan et al. 2011: moderately strong groups);
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

from sim.jit import jit


@jit
def success_signal(momentum: np.ndarray, strength: np.ndarray, momentum_scale: float,
                   viability_scale: float) -> np.ndarray:
    """What donors see of a group: recent territorial momentum plus viability."""
    return np.tanh(momentum_scale * momentum) + strength / (strength + viability_scale)


@jit
def decide(affinity: np.ndarray, gov: int, econ: np.ndarray, ct: np.ndarray, theta: np.ndarray,
           threat: np.ndarray, success: np.ndarray, eligible: np.ndarray, arms_willingness: np.ndarray,
           success_weight: np.ndarray, rivals: np.ndarray, rival_weight: np.ndarray, backlash: np.ndarray,
           patron_share: np.ndarray, budget: np.ndarray, arms_share: np.ndarray,
           sanctuary_willingness: np.ndarray, trade: np.ndarray, sanctions: np.ndarray, closure: np.ndarray,
           recognised: np.ndarray, recognition_threshold: np.ndarray, hysteresis: float, weight: np.ndarray,
           stance: np.ndarray, money: np.ndarray, arms: np.ndarray, sanct: np.ndarray, paid: np.ndarray,
           pressure: np.ndarray, dt: float = 1.0) -> tuple:
    """Decide every donor's support and pressure for one month (module docstring).

    Args:
        affinity: donors x factions baseline sympathy in [-1, 1].
        gov: index of the government faction.
        econ: economic interest in deals with the government.
        ct: counter-terrorism interest in cooperating with the government.
        theta: threat sensitivity.
        threat: current threat perception.
        success: success signal of each faction.
        eligible: 1 for factions a donor may back (resistance groups and a government breakaway with fighters).
        arms_willingness: willingness to back an armed opposition at all.
        success_weight: beta_s.
        rivals: donors x donors, 1 where the column is a rival of the row.
        rival_weight: w_r.
        backlash: donors x donors, cut per share of a group's aid coming from the column.
        patron_share: factions x donors, share of each faction's aid from each donor last month.
        budget: million USD per month.
        arms_share: share given as arms.
        sanctuary_willingness: willingness to host (zero for non-neighbours).
        trade: trade potential with the government, million USD per month.
        sanctions: share of government revenue full pressure removes.
        closure: share removed by closing the border under full pressure.
        recognised: who recognises the government (bool, updated in place).
        recognition_threshold: stance needed to recognise.
        hysteresis: how far below the threshold recognition is withdrawn.
        weight: weight of each donor's recognition.
        stance: output, stance toward the government.
        money: output, cash given (donors x factions).
        arms: output, arms given (donors x factions).
        sanct: output, sanctuary offered (donors x factions).
        paid: output, trade revenue paid to the government.
        pressure: output, pressure on the government.
        dt: months per step (budgets and trade are monthly).

    Returns:
        (revenue_factor, legitimacy, number of donors whose recognition changed).
    """
    S, F = affinity.shape
    engagement = np.empty(S)
    hostility = np.empty(S)
    for s in range(S):
        v = affinity[s, gov] + econ[s] + ct[s] - theta[s] * threat[s]
        stance[s] = v
        hostility[s] = max(-v, 0.0)
        engagement[s] = max(v, 0.0)
    x = np.zeros(F)
    revenue_factor = 1.0
    legit = 0.0
    wsum = 0.0
    changed = 0
    for s in range(S):
        pull = 0.0
        for r in range(S):
            pull += rivals[s, r] * engagement[r]
        pull *= rival_weight[s]
        total = 0.0
        for f in range(F):
            x[f] = 0.0
            if eligible[f] > 0.0 and arms_willingness[s] > 0.0:
                reputation = 1.0
                for p in range(S):
                    reputation -= backlash[s, p] * patron_share[f, p]
                # success amplifies an inclination to back a group; it creates none by itself
                inclination = affinity[s, f] + hostility[s] + pull
                v = arms_willingness[s] * inclination * (1.0 + success_weight[s] * success[f]) * reputation
                x[f] = min(max(v, 0.0), 1.0)
                total += x[f]
        scale = budget[s] * dt / max(total, 1.0)
        for f in range(F):
            spend = x[f] * scale
            arms[s, f] = spend * arms_share[s]
            money[s, f] = spend - arms[s, f]
            sanct[s, f] = sanctuary_willingness[s] * x[f]
        p_s = min(hostility[s], 1.0)
        pressure[s] = p_s
        revenue_factor *= (1.0 - sanctions[s] * p_s) * (1.0 - closure[s] * p_s)
        paid[s] = trade[s] * dt * min(engagement[s], 1.0)
        rec = recognised[s]
        if stance[s] > recognition_threshold[s]:
            rec = True
        elif stance[s] < recognition_threshold[s] - hysteresis:
            rec = False
        if rec != recognised[s]:
            changed += 1
            recognised[s] = rec
        wsum += weight[s]
        if rec:
            legit += weight[s]
    legitimacy = legit / wsum if wsum > 0.0 else 0.0
    return revenue_factor, legitimacy, changed


@jit
def support_month(affinity: np.ndarray, gov: int, econ: np.ndarray, ct: np.ndarray, theta: np.ndarray,
                  threat: np.ndarray, momentum: np.ndarray, strength: np.ndarray, funds: np.ndarray,
                  materiel: np.ndarray, donor_eligible: np.ndarray, arms_willingness: np.ndarray,
                  success_weight: np.ndarray, rivals: np.ndarray, rival_weight: np.ndarray,
                  backlash: np.ndarray, patron_share: np.ndarray, budget: np.ndarray, arms_share: np.ndarray,
                  sanctuary_willingness: np.ndarray, trade: np.ndarray, sanctions: np.ndarray,
                  closure: np.ndarray, recognised: np.ndarray, recognition_threshold: np.ndarray,
                  weight: np.ndarray, donor_border: np.ndarray, protection: np.ndarray, t: int,
                  stance_rec: np.ndarray, money_rec: np.ndarray, arms_rec: np.ndarray, sanct_rec: np.ndarray,
                  paid_rec: np.ndarray, pressure_rec: np.ndarray, momentum_scale: float, viability_scale: float,
                  hysteresis: float,
                  sanctuary_protection_share: float, dt: float) -> tuple:
    """Phases 1 and 2: donors decide, then money, arms and trade are paid and sanctuary takes effect.

    Updates funds, materiel, recognised, patron_share and protection in place and
    writes the step's ledger into row ``t`` of the record arrays (``*_rec``): amounts
    per step, i.e. monthly budgets and trade times ``dt`` months.

    Returns:
        (revenue_factor, legitimacy, number of recognition changes).
    """
    F = strength.shape[0]
    stance = stance_rec[t]
    money = money_rec[t]
    arms = arms_rec[t]
    sanct = sanct_rec[t]
    paid = paid_rec[t]
    pressure = pressure_rec[t]
    success = success_signal(momentum, strength, momentum_scale, viability_scale)
    eligible = np.zeros(F)
    for f in range(F):
        if strength[f] > 0.0:
            eligible[f] = donor_eligible[f]
    out = decide(affinity, gov, econ, ct, theta, threat, success, eligible, arms_willingness, success_weight,
                 rivals, rival_weight, backlash, patron_share, budget, arms_share, sanctuary_willingness, trade,
                 sanctions, closure, recognised, recognition_threshold, hysteresis, weight, stance, money, arms,
                 sanct, paid, pressure, dt)
    S = money.shape[0]
    for f in range(F):
        for s in range(S):
            funds[f] += money[s, f]
            materiel[f] += arms[s, f]
    for s in range(S):
        funds[gov] += paid[s]
    patron_share[:, :] = patron_shares(money, arms)
    protection[:, :] = sanctuary_protection(donor_border, sanct, sanctuary_protection_share)
    return out


@jit
def patron_shares(money: np.ndarray, arms: np.ndarray) -> np.ndarray:
    """Share of each faction's outside support coming from each donor (factions x donors)."""
    S, F = money.shape
    out = np.zeros((F, S))
    for f in range(F):
        total = 0.0
        for s in range(S):
            total += money[s, f] + arms[s, f]
        if total > 0.0:
            for s in range(S):
                out[f, s] = (money[s, f] + arms[s, f]) / total
    return out


@jit
def sanctuary_protection(donor_border: np.ndarray, sanctuary: np.ndarray, protection: float) -> np.ndarray:
    """Protection of each faction in each province from sanctuary across a border (provinces x factions).

    ``protection * min(1, sum_s border[s,i] * sanctuary[s,f])``: sanctuary only reaches
    provinces on the giver's border (Salehyan 2007).
    """
    S, P = donor_border.shape
    F = sanctuary.shape[1]
    out = np.zeros((P, F))
    for s in range(S):
        for f in range(F):
            g = sanctuary[s, f]
            if g > 0.0:
                for i in range(P):
                    out[i, f] += donor_border[s, i] * g
    for i in range(P):
        for f in range(F):
            out[i, f] = protection * min(out[i, f], 1.0)
    return out
