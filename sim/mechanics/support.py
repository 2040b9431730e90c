"""Foreign policy, support and pressure: how each state moves and what it gives (ODD 7.1).

Summary of rule: each donor (foreign state or the diaspora) holds a stance toward the
government, a stock that moves month by month toward a target set by its interests, the
threat it blames on the government, its rivals' moves and the government's hold on the
country (partial adjustment: foreign policy has inertia). The stance carries it through
four stages of recognition, one at a time: 0 none, 1 engagement, 2 an ambassador
accepted, 3 formal recognition. It backs opposition groups in proportion to its sympathy,
their battlefield success and viability and its hostility to the government, cut by the
reputation cost of sharing a patron it dislikes and by its own diplomatic ties.

Equations (s donor, f faction, g government):

* target ``v*_s = affinity[s,g] + econ_s + ct_s - theta_s T^sh_s + kappa_s T^en_s
  - w_r,s sum_{r rival of s} v_r - hold_weight (1 - tau_g)``: threat from groups the
  government shelters turns a state against it (mechanism 6), threat from its armed
  enemies (ISKP) draws a state to it, a rival's warmth cools a state and a rival's
  hostility warms it, and states deal with whoever controls the ground (share ``tau_g``);
* stance ``v_s <- v_s + (1 - exp(-stance_rate dt)) (v*_s - v_s)`` (it starts at its target
  unless the scenario gives it);
* stage thresholds ``t_k,s = min_{j >= k} threshold_j,s - bandwagon * W_k,s`` with
  ``W_k,s`` the share of the other states' recognition weight already at stage ``k`` or
  beyond: the cost of a step falls as others take it;
* a state at stage ``k`` moves to ``k + 1`` once ``v_s > t_{k+1},s`` has held for
  ``stage_dwell`` months (deterministic: diplomatic steps are deliberate), and back to
  ``k - 1`` when ``v_s < t_k,s - recognition_hysteresis``; stage 3 is formal recognition
  and legitimacy ``L = sum_s weight_s [stage_s = 3] / sum_s weight_s`` (mechanism 7);
* hostility ``h_s = max(0, -v_s)``, engagement ``e_s = max(0, v_s)``;
* success ``q_f = tanh(k_m * momentum_f) + 4 x_f / (1 + x_f)^2`` with ``x_f = (S_f / S_g) /
  viability_peak``: recent gains and an inverted U in strength relative to the government
  (the Catch-22, mechanism 1; Salehyan, Gleditsch & Cunningham 2011: donors back
  moderately strong groups, not hopeless ones nor those that can win alone), plus the
  attention a group's recent attacks draw (``raids.add_attention``, ODD 7.7.1);
* rival pull ``r_s = w_r,s * sum_{s' rival of s} e_{s'}`` (Salehyan et al. 2011, Byman et
  al. 2001: support goes where rivals back the other side);
* intensity ``x[s,f] = clip(arms_will_s * (affinity[s,f] + h_s + r_s) * (1 + beta_s q_f)
  * (1 - sum_p backlash[s,p] * patron_share[f,p]) * a_s, 0, 1)`` for eligible f, with
  ``a_s = 1 - ambassador_support_cut`` once the state has accepted the government's
  ambassador (stage 2 or 3), else 1;
* spending ``budget_s * x[s,f] / max(1, sum_f x[s,f])``, split into arms and money;
* sanctuary ``sanct_will_s * x[s,f]``, effective only in provinces on the donor's border;
* pressure ``p_s = min(1, h_s)``: sanctions and border closure leave the government
  ``prod_s (1 - sanctions_s p_s)(1 - closure_s p_s)`` of its revenue; trade brings it
  ``trade_s * min(1, e_s)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.raids import add_attention


@jit
def viability(strength: float, gov_strength: float, peak: float) -> float:
    """Inverted U in a group's strength relative to the government's: 1 at ``peak``, 0 at 0 and far above.

    ``4 x / (1 + x)^2`` with ``x = (strength / gov_strength) / peak``: symmetric in the
    logarithm of ``x``, so a group ten times weaker than the peak and one ten times
    stronger look equally (un)worth backing.
    """
    x = strength / max(gov_strength, 1.0) / peak
    return 4.0 * x / ((1.0 + x) * (1.0 + x))


@jit
def success_signal(momentum: np.ndarray, strength: np.ndarray, gov_strength: float, momentum_scale: float,
                   viability_peak: float) -> np.ndarray:
    """What donors see of a group: recent territorial momentum plus viability (an inverted U)."""
    out = np.empty(strength.shape[0])
    for f in range(strength.shape[0]):
        out[f] = math.tanh(momentum_scale * momentum[f]) + viability(strength[f], gov_strength, viability_peak)
    return out


@jit
def move_stances(c: Donors, p: Pars, s: Diplomacy) -> None:
    """Every stance moves part of the way to its target (module docstring; targets read last month's stances).

    The target ``v*_s`` sums the state's interests, the threat it blames on the government's
    guests (against) and the threat from the government's enemies (for), its rivals' stances
    (the other way) and the share of the country the government does not hold (against).
    One loop over all donors: the bundles are passed once, not once per donor.
    """
    D = s.stance.shape[0]
    target = np.empty(D)
    lost = p.hold_weight * (1.0 - s.territory[c.gov])
    for d in range(D):
        v = c.affinity[d, c.gov] + c.econ[d] + c.ct[d]
        v += c.enemy_pull[d] * s.enemy_threat[d] - c.threat_sensitivity[d] * s.sheltered_threat[d]
        rival = 0.0
        for r in range(D):
            if c.rivals[d, r] > 0.0 and not math.isnan(s.stance[r]):
                rival += c.rivals[d, r] * s.stance[r]
        target[d] = v - c.rival_weight[d] * rival - lost
    w = c.stance_weight  # 1 - exp(-stance_rate dt), computed once per scenario
    for d in range(D):
        if math.isnan(s.stance[d]):
            s.stance[d] = target[d]
        else:
            s.stance[d] += w * (target[d] - s.stance[d])


@jit
def stage_threshold(engagement: float, ambassador: float, recognition: float, k: int, others: float,
                    bandwagon: float) -> float:
    """Stance a state needs for stage ``k`` (1-3): the lowest of its own and later thresholds, less the bandwagon.

    ``others`` is the share of the other states' recognition weight at stage ``k`` or beyond.
    """
    th = recognition
    if k <= 2:
        th = min(th, ambassador)
    if k <= 1:
        th = min(th, engagement)
    return th - bandwagon * others


@jit
def move_stages(c: Donors, p: Pars, s: Diplomacy) -> int:
    """Each state takes one step up after ``stage_dwell`` months above the next threshold, or one down.

    Down when the stance is below the current stage's threshold by more than
    ``recognition_hysteresis``. Everyone reads the stages of last month (the weights ``w[k]`` of
    the states at stage ``k`` or beyond). Keeps ``s.recognised`` equal to stage 3.

    Returns:
        The number of states whose stage changed.
    """
    D = s.stage.shape[0]
    w = np.zeros(4)
    for d in range(D):
        for k in range(s.stage[d] + 1):
            w[k] += c.weight[d]
    changed = 0
    for d in range(D):
        k = s.stage[d]
        rest = w[0] - c.weight[d]
        e, a, f = c.engagement_threshold[d], c.ambassador_threshold[d], c.recognition_threshold[d]
        up = False
        if k < 3:
            others = w[k + 1] / rest if rest > 0.0 else 0.0
            up = s.stance[d] > stage_threshold(e, a, f, k + 1, others, p.bandwagon)
            s.dwell[d] = s.dwell[d] + c.dt if up else 0.0
            if up and s.dwell[d] >= p.stage_dwell - 1e-9:
                s.stage[d] = k + 1
                s.dwell[d] = 0.0
                changed += 1
        if k > 0 and not up:
            others = (w[k] - c.weight[d]) / rest if rest > 0.0 else 0.0
            if s.stance[d] < stage_threshold(e, a, f, k, others, p.bandwagon) - p.recognition_hysteresis:
                s.stage[d] = k - 1
                changed += 1
        s.recognised[d] = s.stage[d] == 3
    return changed


@jit
def decide(c: Donors, p: Pars, s: Diplomacy, success: np.ndarray, eligible: np.ndarray) -> tuple:
    """Decide every donor's stance, stage of recognition, support and pressure for one step (module docstring).

    Reads the donors' constants from ``c``, their threat, stance, stage and last month's
    patron shares from ``s``; writes this step's stance, stage, money, arms, sanctuary,
    trade and pressure into ``s`` and keeps ``s.recognised`` equal to stage 3.

    Args:
        c: constants (donor interests, thresholds, budgets, instruments; ``c.dt`` months per step;
            ``c.stance_weight`` the share of the gap a stance closes per step, from ``stance_rate``).
        p: parameters (``stage_dwell``, ``bandwagon``, ``hold_weight``, ``recognition_hysteresis``,
            ``ambassador_support_cut``).
        s: state, updated in place.
        success: success signal of each faction.
        eligible: 1 for factions a donor may back this month.

    Returns:
        (revenue_factor, legitimacy, number of donors whose stage of recognition changed).
    """
    D, F = c.affinity.shape
    dt = c.dt
    move_stances(c, p, s)
    engagement = np.empty(D)
    hostility = np.empty(D)
    for d in range(D):
        hostility[d] = max(-s.stance[d], 0.0)
        engagement[d] = max(s.stance[d], 0.0)
    changed = move_stages(c, p, s)
    x = np.zeros(F)
    revenue_factor = 1.0
    legit = 0.0
    wsum = 0.0
    for d in range(D):
        pull = 0.0
        for r in range(D):
            pull += c.rivals[d, r] * engagement[r]
        pull *= c.rival_weight[d]
        ties = 1.0 - p.ambassador_support_cut if s.stage[d] >= 2 else 1.0
        total = 0.0
        for f in range(F):
            x[f] = 0.0
            if eligible[f] > 0.0 and c.arms_willingness[d] > 0.0:
                reputation = 1.0
                for q in range(D):
                    # most pairs have no backlash: subtracting 0 * share (a finite share) changes no bit
                    if c.backlash[d, q] != 0.0:
                        reputation -= c.backlash[d, q] * s.patron_share[f, q]
                # success amplifies an inclination to back a group; it creates none by itself
                inclination = c.affinity[d, f] + hostility[d] + pull
                v = c.arms_willingness[d] * inclination * (1.0 + c.success_weight[d] * success[f]) * reputation
                x[f] = min(max(v * ties, 0.0), 1.0)
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
        wsum += c.weight[d]
        if s.recognised[d]:
            legit += c.weight[d]
    legitimacy = legit / wsum if wsum > 0.0 else 0.0
    return revenue_factor, legitimacy, changed


class Donors(NamedTuple):
    """The constants the donors' rules read, by their :class:`Const` names (a view on the bundle).

    The step hands its rules these views instead of the bundles: every compiled call (inlined
    or not) with a bundle touches the reference count of every array in it.
    """

    affinity: np.ndarray
    ambassador_threshold: np.ndarray
    arms_share: np.ndarray
    arms_willingness: np.ndarray
    backlash: np.ndarray
    budget: np.ndarray
    closure: np.ndarray
    ct: np.ndarray
    donor_border: np.ndarray
    donor_eligible: np.ndarray
    dt: float
    econ: np.ndarray
    enemy_pull: np.ndarray
    engagement_threshold: np.ndarray
    gov: int
    recognition_threshold: np.ndarray
    rival_weight: np.ndarray
    rivals: np.ndarray
    sanctions: np.ndarray
    sanctuary_willingness: np.ndarray
    stance_weight: np.ndarray
    success_weight: np.ndarray
    threat_sensitivity: np.ndarray
    trade: np.ndarray
    weight: np.ndarray


class Diplomacy(NamedTuple):
    """The state the donors' rules read and write, by their :class:`State` names (a view on the bundle)."""

    arms: np.ndarray
    dwell: np.ndarray
    enemy_threat: np.ndarray
    funds: np.ndarray
    legitimacy: np.ndarray
    materiel: np.ndarray
    momentum: np.ndarray
    money: np.ndarray
    notice: np.ndarray
    patron_share: np.ndarray
    pressure: np.ndarray
    protection: np.ndarray
    recognised: np.ndarray
    revenue_factor: np.ndarray
    sanctuary: np.ndarray
    sheltered_threat: np.ndarray
    stage: np.ndarray
    stance: np.ndarray
    strength: np.ndarray
    territory: np.ndarray
    trade: np.ndarray


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phases 1 and 2: donors decide, then money, arms and trade are paid and sanctuary takes effect.

    Updates stance, stage, recognised, funds, materiel, patron_share, protection, the government's
    revenue factor and legitimacy in place; this step's flows stay in the state (amounts
    per step: monthly budgets and trade times ``dt`` months) until the recorder takes them.
    The body is one call on views of the bundles (:class:`Donors`, :class:`Diplomacy`).
    """
    donors = Donors(c.affinity, c.ambassador_threshold, c.arms_share, c.arms_willingness, c.backlash, c.budget,
                    c.closure, c.ct, c.donor_border, c.donor_eligible, c.dt, c.econ, c.enemy_pull,
                    c.engagement_threshold, c.gov, c.recognition_threshold, c.rival_weight, c.rivals, c.sanctions,
                    c.sanctuary_willingness, c.stance_weight, c.success_weight, c.threat_sensitivity, c.trade,
                    c.weight)
    diplomacy = Diplomacy(s.arms, s.dwell, s.enemy_threat, s.funds, s.legitimacy, s.materiel, s.momentum, s.money,
                          s.notice, s.patron_share, s.pressure, s.protection, s.recognised, s.revenue_factor,
                          s.sanctuary, s.sheltered_threat, s.stage, s.stance, s.strength, s.territory, s.trade)
    donate(donors, p, diplomacy, r.recognitions, t)


@jit
def donate(c: Donors, p: Pars, s: Diplomacy, recognitions: np.ndarray, t: int) -> None:
    """The body of :func:`step`, on the views (``recognitions`` is the record's row of stage changes)."""
    F = s.strength.shape[0]
    success = success_signal(s.momentum, s.strength, s.strength[c.gov], p.momentum_scale, p.viability_peak)
    add_attention(p, s.notice, success)
    eligible = np.zeros(F)
    for f in range(F):
        if s.strength[f] > 0.0:
            eligible[f] = c.donor_eligible[f]
    revenue_factor, legitimacy, recognitions[t] = decide(c, p, s, success, eligible)
    s.revenue_factor[0] = revenue_factor
    s.legitimacy[0] = legitimacy
    D = s.money.shape[0]
    for f in range(F):
        for q in range(D):
            s.funds[f] += s.money[q, f]
            s.materiel[f] += s.arms[q, f]
    for q in range(D):
        s.funds[c.gov] += s.trade[q]
    patron_shares(s.money, s.arms, s.patron_share)
    protection(c.donor_border, s.sanctuary, p.sanctuary_protection, s.protection)


@jit
def patron_shares(money: np.ndarray, arms: np.ndarray, out: np.ndarray) -> None:
    """Share of each faction's outside support coming from each donor, written over ``out`` (factions x donors).

    ``out`` is the state's array: no new array each step.
    """
    D, F = money.shape
    for f in range(F):
        total = 0.0
        for q in range(D):
            total += money[q, f] + arms[q, f]
        for q in range(D):
            out[f, q] = (money[q, f] + arms[q, f]) / total if total > 0.0 else 0.0


@jit
def protection(donor_border: np.ndarray, sanctuary: np.ndarray, share: float, out: np.ndarray) -> None:
    """Protection of each faction in each province from sanctuary across a border, written over ``out``.

    ``out[i, f] = share * min(1, sum_d border[d,i] * sanctuary[d,f])`` (provinces x factions),
    with ``share`` the parameter ``sanctuary_protection``: sanctuary only reaches provinces on
    the giver's border (Salehyan 2007). ``out`` is the state's array: no new array each step.
    """
    D, P = donor_border.shape
    F = sanctuary.shape[1]
    for i in range(P):
        for f in range(F):
            out[i, f] = 0.0
    for q in range(D):
        for f in range(F):
            g = sanctuary[q, f]
            if g > 0.0:
                for i in range(P):
                    out[i, f] += donor_border[q, i] * g
    for i in range(P):
        for f in range(F):
            out[i, f] = share * min(out[i, f], 1.0)
