"""Combat: deployment, contest for control, and attrition (ODD 7.4).

Summary of rule: each territorial faction spreads its fighters over the provinces it
holds, their neighbours and its home, concentrating on contested provinces and drawn to
the front, where enemies hold ground next to its own (armies mass at the front, not in
quiet rear provinces: the Taliban's lines north of Kabul and at Kunduz, 1997-2001). In every
province the factions' fighting power decides a contest (Hirshleifer's contest
success function) whose outcome the control shares move toward, slowly in rugged
terrain. Fighters die by Lanchester attrition in Deitchman's asymmetric form: a
visible (conventional) force loses to aimed fire in proportion to the enemy's
numbers; hidden guerrillas lose only to area fire, in proportion to both sides'
numbers, the shooter's intelligence and the inverse of the area, and less in rugged
terrain (Deitchman 1962; Kress & Szechtman 2009). Fire without intelligence harms
civilians, which turns sentiment against the shooter (Bennett 2008).

Equations (i province, f and g factions):

* deployment ``D_if = S_f W_if / sum_j W_jf``, with
  ``W = (C + spillover * (neighbour mean of C) + home_weight * Home) (1 + focus * (1 - sum_f C_if^2))
  + front_pull * (C_if + neighbour mean of C_f) * sum_{g hostile to f} C_ig``;
* power ``E_if = D_if * q_f * arms_f * proj_if * (1 - w + 2 w support_if) * noise_if``
  where ``support_if = 0.5 + alignment_f (sigma_i - 0.5)`` and noise is lognormal
  with mean 1;
* a united front pools its members' power, times ``1 + front_synergy``, and shares
  the coalition's outcome in proportion to each member's power;
* contest ``p_if = E_if^m / sum_g E_ig^m``; ``dC = rate (1 - drag rug_i) (p - C)``;
  gains are scaled by offensive capacity, losses by ``1 - sanctuary protection``, and
  the two balanced so each province's shares still sum to 1;
* intelligence ``I_ig = C_ig support_ig``; guerrilla losses
  ``a (1 - stealth_f) (A_ref / A_i) D_if (sum_g H_fg D_ig q_g I_ig / 1000) / (1 + concealment rug_i)``;
  conventional losses ``b sum_g H_fg D_ig q_g``; each times ``1 - protection`` and
  capped at ``max_loss * D_if``; civilian harm caused by g is ``collateral_rate`` times its area
  fire times ``1 - I_ig`` (a clandestine target's stealth saves it, not the civilians around it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.capitals import dissolve, garrisons
from sim.mechanics.offensives import Arena, Forces, Quality, concentrate, product, unit_power
from sim.mechanics.space import neighbour_mean


@jit
def deploy(nb_ptr: np.ndarray, nb_idx: np.ndarray, territorial: np.ndarray, home: np.ndarray, p: Pars,
           control: np.ndarray, strength: np.ndarray, hostility: np.ndarray) -> np.ndarray:
    """Fighters per province and faction (provinces x factions), from the arrays it reads."""
    P, F = control.shape
    nb_control = neighbour_mean(control, nb_ptr, nb_idx)
    w = np.zeros((P, F))
    total = np.zeros(F)
    for i in range(P):
        herf = 0.0
        for f in range(F):
            herf += control[i, f] * control[i, f]
        boost = 1.0 + p.deployment_focus * (1.0 - herf)
        for f in range(F):
            if territorial[f] > 0.0:
                w[i, f] = (control[i, f] + p.spillover * nb_control[i, f] + p.home_weight * home[i, f]) * boost
                if p.front_pull > 0.0:
                    enemy = 0.0
                    for g in range(F):
                        if hostility[f, g] > 0.0:
                            enemy += control[i, g]
                    w[i, f] += p.front_pull * (control[i, f] + nb_control[i, f]) * enemy
                total[f] += w[i, f]
    for f in range(F):
        scale = strength[f] / total[f] if total[f] > 0.0 else 0.0
        for i in range(P):
            w[i, f] *= scale
    return w


@jit
def local_support(sentiment: np.ndarray, alignment: np.ndarray) -> np.ndarray:
    """Share of each province's people on each faction's side (provinces x factions)."""
    P, F = sentiment.shape[0], alignment.shape[0]
    out = np.empty((P, F))
    for i in range(P):
        for f in range(F):
            out[i, f] = 0.5 + alignment[f] * (sentiment[i] - 0.5)
    return out


@jit
def contest_shares(power: np.ndarray, control: np.ndarray, front: np.ndarray, synergy: float,
                   decisiveness: float) -> np.ndarray:
    """Contest success function, with a united front fighting as one coalition.

    Args:
        power: E, provinces x factions.
        control: current shares (kept where nobody has any power).
        front: boolean mask of front members (fewer than two means no front).
        synergy: extra coalition power.
        decisiveness: exponent m.

    Returns:
        Target shares p, rows summing to 1.
    """
    P, F = power.shape
    n_front = 0
    for f in range(F):
        if front[f]:
            n_front += 1
    out = np.zeros((P, F))
    for i in range(P):
        total = 0.0
        pooled = 0.0
        for f in range(F):
            e = power[i, f]
            if e <= 0.0:
                continue
            if n_front >= 2 and front[f]:
                pooled += e
            else:
                out[i, f] = _pow(e, decisiveness)
                total += out[i, f]
        coalition = _pow(pooled * (1.0 + synergy), decisiveness) if pooled > 0.0 else 0.0
        total += coalition
        if total <= 0.0:
            for f in range(F):
                out[i, f] = control[i, f]
            continue
        for f in range(F):
            if n_front >= 2 and front[f]:
                out[i, f] = coalition * power[i, f] / pooled / total if pooled > 0.0 else 0.0
            elif out[i, f] != 0.0:  # a faction without power keeps its 0 (and a division is saved)
                out[i, f] /= total
    return out


@jit
def _pow(x: float, m: float) -> float:
    """x**m, with the common exponents computed exactly and fast (x >= 0)."""
    if m == 1.0:
        return x
    if m == 2.0:
        return x * x
    if m == 1.5:
        return x * np.sqrt(x)
    return x**m


@jit
def shift_control(control: np.ndarray, target: np.ndarray, rate: np.ndarray, offensive: np.ndarray,
                  protection: np.ndarray) -> np.ndarray:
    """Move control toward the contest outcome, keeping each province's shares summing to 1.

    Args:
        control: C, provinces x factions.
        target: p from :func:`contest_shares`.
        rate: speed per province, already slowed by terrain.
        offensive: share of its gains each faction can take (supplies).
        protection: share of its losses each faction avoids (sanctuary), provinces x factions.

    Returns:
        New control shares.
    """
    out = control.copy()
    shift_in_place(out, target, rate, offensive, protection)
    return out


@jit
def shift_in_place(control: np.ndarray, target: np.ndarray, rate: np.ndarray, offensive: np.ndarray,
                   protection: np.ndarray) -> None:
    """:func:`shift_control` writing the new shares over ``control`` (each row reads only its own old values).

    A share that neither gains nor loses is kept as it is (``C + 0 - 0``), and a zero share
    stays zero when the row is normalised: that saves the divisions of factions absent
    from a province, with the same result.
    """
    P, F = control.shape
    gains = np.empty(F)
    losses = np.empty(F)
    for i in range(P):
        g = 0.0
        lo = 0.0
        for f in range(F):
            d = rate[i] * (target[i, f] - control[i, f])
            gains[f] = max(d, 0.0) * offensive[f]
            losses[f] = max(-d, 0.0) * (1.0 - protection[i, f])
            g += gains[f]
            lo += losses[f]
        moved = min(g, lo)
        if moved <= 0.0:
            continue
        total = 0.0
        for f in range(F):
            v = control[i, f]
            if gains[f] != 0.0 or losses[f] != 0.0:
                v = v + gains[f] * moved / g - losses[f] * moved / lo
            control[i, f] = max(v, 0.0)  # rounding can leave -1e-17
            total += control[i, f]
        for f in range(F):
            if control[i, f] != 0.0:
                control[i, f] /= total


@jit
def attrition(c: Const, p: Pars, deployed: np.ndarray, intel: np.ndarray, protection: np.ndarray) -> tuple:
    """Fighters lost and civilian harm caused in one step, per province and faction.

    Args:
        c: constants (effectiveness, hostility, guerrilla, stealth, area ratio, ruggedness, dt).
        p: parameters (aimed and area fire, concealment, loss cap, collateral rate).
        deployed: D, provinces x factions.
        intel: I, provinces x factions: the shooter's knowledge of where the enemy is.
        protection: sanctuary protection, provinces x factions.

    Returns:
        (losses, harm), both provinces x factions; harm is indexed by the shooter.
    """
    P, F = deployed.shape
    losses = np.zeros((P, F))
    harm = np.zeros((P, F))
    fire_into(Fire(c.dt, c.hostility, c.effectiveness, c.guerrilla, c.stealth, c.area_ratio, c.ruggedness), p,
              deployed, intel, protection, losses, harm, np.zeros(F))
    return losses, harm


class Fire(NamedTuple):
    """The constants attrition reads, by their :class:`Const` names."""

    dt: float
    hostility: np.ndarray
    effectiveness: np.ndarray
    guerrilla: np.ndarray
    stealth: np.ndarray
    area_ratio: np.ndarray
    ruggedness: np.ndarray


@jit
def fire_into(c: Fire, p: Pars, deployed: np.ndarray, intel: np.ndarray, protection: np.ndarray,
              losses: np.ndarray, harm: np.ndarray, lost: np.ndarray) -> None:
    """:func:`attrition` into zeroed ``losses`` and ``harm``, adding each faction's total loss to ``lost``.

    ``lost`` gets ``losses.sum(axis=0)``, summed in the same (province) order.
    """
    P, F = deployed.shape
    aimed = p.aimed_fire * c.dt
    area = p.area_fire * c.dt
    present = np.empty(F, dtype=np.int64)
    shots = np.empty(F)  # each present faction's fire, computed once per province, not once per target
    for i in range(P):
        n = 0
        for f in range(F):
            if deployed[i, f] > 0.0:
                present[n] = f
                shots[n] = deployed[i, f] * c.effectiveness[f]
                n += 1
        if n < 2:
            continue
        scale = area * c.area_ratio[i] / (1.0 + p.concealment * c.ruggedness[i]) * 1e-3
        for a in range(n):
            f = present[a]
            loss = 0.0
            hidden = c.guerrilla[f] > 0.0
            # the products' leading factors, in their order (the same roundings), once per shooter's target
            exposed = scale * (1.0 - c.stealth[f]) * deployed[i, f]
            blind = p.collateral_rate * scale * deployed[i, f]
            for b in range(n):
                g = present[b]
                if c.hostility[f, g] <= 0.0:
                    continue
                fire = shots[b]
                if hidden:
                    loss += exposed * fire * intel[i, g]
                    harm[i, g] += blind * fire * (1.0 - intel[i, g])
                else:
                    loss += aimed * fire
            losses[i, f] = min(loss * (1.0 - protection[i, f]), p.max_loss_share * deployed[i, f])
            lost[f] += losses[i, f]  # the other cells of the column are 0 and add nothing


@jit
def defections(strength: np.ndarray, momentum: np.ndarray, propensity: np.ndarray, hostility: np.ndarray,
               scale: float) -> np.ndarray:
    """Change in strength from fighters switching to the strongest enemy when their side loses ground.

    ``defect_f = S_f * min(0.5, propensity_f * scale * max(0, -momentum_f))``, all of it
    joining the enemy with the most fighters (bandwagoning, Christia 2012).
    """
    F = strength.shape[0]
    out = np.zeros(F)
    for f in range(F):
        rate = min(propensity[f] * scale * max(-momentum[f], 0.0), 0.5)
        if rate <= 0.0:
            continue
        best = -1
        best_s = 0.0
        for g in range(F):
            if hostility[f, g] > 0.0 and strength[g] > best_s:
                best = g
                best_s = strength[g]
        if best >= 0:
            moved = strength[f] * rate
            out[f] -= moved
            out[best] += moved
    return out


@jit
def capital_check(c: Const, p: Pars, s: State) -> np.ndarray:
    """Factions whose own capital's garrison surrendered this step: a share of their fighters deserts.

    Returns:
        Bool per faction: lost its capital in this step (GeoSim state collapse).
    """
    F = s.strength.shape[0]
    news = np.zeros(F, dtype=np.bool_)
    for f in range(F):
        k = c.capital[f]
        if k < 0:
            continue
        lost = s.holder[k] != f
        if lost and not s.capital_lost[f] and s.strength[f] > 0.0:
            s.strength[f] *= 1.0 - p.capital_collapse
            news[f] = True
        s.capital_lost[f] = lost
    if s.capital_lost[c.gov] and s.cohesion[0] < p.dissolution_cohesion and s.strength[c.gov] > 0.0:
        dissolve(c, p, s)
    return news


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 4: deploy, contest, shift control, attrition, defections, surrenders, capital loss, dissolution.

    Deployment is the spread force plus the mobile forces (:mod:`sim.mechanics.offensives`).

    Updates control, strength, materiel and the capitals' holders in place, fills ``s.harm``
    (provinces x shooting faction) and marks own capitals lost in ``r.capital_lost[t]``.
    The rules read views of the bundles (``offensives.Arena``, ``offensives.Forces``): this
    body is one call, so the bundles' arrays are not counted.
    """
    fight(Arena(c.dt, c.gov, c.territorial, c.noise_column, c.effectiveness, c.extraction, c.air_decay, c.alignment,
                c.nb_ptr, c.nb_idx, c.home, c.hostility, c.ruggedness, c.terrain_rate, c.area_ratio, c.guerrilla,
                c.stealth, c.defection, c.capital, c.held0),
          p,
          Forces(s.control, s.strength, s.funds, s.materiel, s.sentiment, s.air, s.cohesion, s.holder, s.front,
                 s.protection, s.offensive, s.harm, s.momentum, s.capital_lost, s.security_pool),
          d.luck, d.luck_month, d.capture, r.capital_lost, t)


@jit
def fight(c: Arena, p: Pars, s: Forces, luck: np.ndarray, luck_month: np.ndarray, capture: np.ndarray,
          capital_lost: np.ndarray, t: int) -> None:
    """The body of :func:`step`, on the views.

    ``luck``, ``luck_month`` and ``capture`` are the draws', ``capital_lost`` the record's.
    """
    P, F = s.control.shape
    for f in range(F):
        if c.air_decay[f] > 0.0:  # aircraft without their contractors are grounded one by one
            s.air[f] *= np.exp(-c.air_decay[f] * c.dt)
    support = local_support(s.sentiment, c.alignment)
    u = unit_power(Quality(c.noise_column, c.effectiveness, c.extraction, c.gov, s.materiel, s.strength, s.air,
                           s.cohesion), p, support, luck[luck_month[t - 1]])
    spread = np.empty(F)
    for f in range(F):
        spread[f] = s.strength[f] * (1.0 - p.mobile_share)
    d0 = deploy(c.nb_ptr, c.nb_idx, c.territorial, c.home, p, s.control, spread, c.hostility)
    deployed = concentrate(c, p, s, d0, u)
    e = product(deployed, u)
    target = contest_shares(e, s.control, s.front, p.front_synergy, p.contest_decisiveness)
    rate = np.empty(P)
    for i in range(P):
        rate[i] = c.terrain_rate[i] * c.dt
    intel = product(s.control, support)
    lost = np.zeros(F)
    for i in range(P):  # a loop: numba's slice assignment costs twice as much
        for f in range(F):
            s.harm[i, f] = 0.0
    fire_into(Fire(c.dt, c.hostility, c.effectiveness, c.guerrilla, c.stealth, c.area_ratio, c.ruggedness), p,
              deployed, intel, s.protection, np.zeros((P, F)), s.harm, lost)
    shift_in_place(s.control, target, rate, s.offensive, s.protection)
    for f in range(F):
        s.strength[f] = max(s.strength[f] - lost[f], 0.0)
    moved = defections(s.strength, s.momentum, c.defection, c.hostility, p.defection_scale * c.dt)
    for f in range(F):
        s.strength[f] += moved[f]
    garrisons(c, p, s, e, deployed, capture[t - 1])
    capital_lost[t] = capital_check(c, p, s)
