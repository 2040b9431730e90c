"""Combat: deployment, contest for control, and attrition (ODD 7.4).

Summary of rule: each territorial faction spreads its fighters over the provinces it
holds, their neighbours and its home, concentrating on contested provinces. In every
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
  ``W = (C + spillover * (neighbour mean of C) + home_weight * Home) (1 + focus * (1 - sum_f C_if^2))``;
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

import numpy as np

from sim.jit import jit
from sim.mechanics.resources import materiel_bonus
from sim.mechanics.space import neighbour_mean


@jit
def deploy(control: np.ndarray, nb_control: np.ndarray, home: np.ndarray, strength: np.ndarray,
           territorial: np.ndarray, spillover: float, home_weight: float, focus: float) -> np.ndarray:
    """Fighters per province and faction (provinces x factions)."""
    P, F = control.shape
    w = np.zeros((P, F))
    total = np.zeros(F)
    for i in range(P):
        herf = 0.0
        for f in range(F):
            herf += control[i, f] * control[i, f]
        boost = 1.0 + focus * (1.0 - herf)
        for f in range(F):
            if territorial[f] > 0.0:
                w[i, f] = (control[i, f] + spillover * nb_control[i, f] + home_weight * home[i, f]) * boost
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
            else:
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
    P, F = control.shape
    out = control.copy()
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
            v = control[i, f] + gains[f] * moved / g - losses[f] * moved / lo
            out[i, f] = max(v, 0.0)  # rounding can leave -1e-17
            total += out[i, f]
        for f in range(F):
            out[i, f] /= total
    return out


@jit
def attrition(deployed: np.ndarray, effectiveness: np.ndarray, intel: np.ndarray, hostility: np.ndarray,
              guerrilla: np.ndarray, stealth: np.ndarray, area_ratio: np.ndarray, ruggedness: np.ndarray,
              protection: np.ndarray,
              aimed: float, area: float, concealment: float, max_loss: float, collateral: float) -> tuple:
    """Fighters lost and civilian harm caused, per province and faction.

    Args:
        deployed: D, provinces x factions.
        effectiveness: q_f.
        intel: I, provinces x factions: the shooter's knowledge of where the enemy is.
        hostility: factions x factions, 1 where two factions fight each other.
        guerrilla: 1 for guerrilla factions, 0 for conventional ones.
        stealth: share of area fire a faction's clandestine structure escapes.
        area_ratio: A_ref / A_i per province.
        ruggedness: per province.
        protection: sanctuary protection, provinces x factions.
        aimed: b, aimed-fire coefficient (per month).
        area: a, area-fire coefficient (per month).
        concealment: terrain concealment of guerrillas.
        max_loss: cap on the share of a deployment lost in a month.
        collateral: civilian harm per unit of fire without intelligence.

    Returns:
        (losses, harm), both provinces x factions; harm is indexed by the shooter.
    """
    P, F = deployed.shape
    losses = np.zeros((P, F))
    harm = np.zeros((P, F))
    present = np.empty(F, dtype=np.int64)
    for i in range(P):
        n = 0
        for f in range(F):
            if deployed[i, f] > 0.0:
                present[n] = f
                n += 1
        if n < 2:
            continue
        scale = area * area_ratio[i] / (1.0 + concealment * ruggedness[i]) * 1e-3
        for a in range(n):
            f = present[a]
            loss = 0.0
            for b in range(n):
                g = present[b]
                if hostility[f, g] <= 0.0:
                    continue
                fire = deployed[i, g] * effectiveness[g]
                if guerrilla[f] > 0.0:
                    loss += scale * (1.0 - stealth[f]) * deployed[i, f] * fire * intel[i, g]
                    harm[i, g] += collateral * scale * deployed[i, f] * fire * (1.0 - intel[i, g])
                else:
                    loss += aimed * fire
            losses[i, f] = min(loss * (1.0 - protection[i, f]), max_loss * deployed[i, f])
    return losses, harm


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
def fight(control: np.ndarray, strength: np.ndarray, materiel: np.ndarray, sentiment: np.ndarray,
          noise: np.ndarray, noise_column: np.ndarray, front: np.ndarray, offensive: np.ndarray,
          protection: np.ndarray,
          momentum: np.ndarray, nb_ptr: np.ndarray, nb_idx: np.ndarray, home: np.ndarray, territorial: np.ndarray,
          effectiveness: np.ndarray, extraction: np.ndarray, alignment: np.ndarray, guerrilla: np.ndarray,
          stealth: np.ndarray,
          hostility: np.ndarray, defection: np.ndarray, area_ratio: np.ndarray, ruggedness: np.ndarray,
          terrain_rate: np.ndarray, spillover: float, home_weight: float, focus: float,
          support_weight: float, materiel_reference: float, materiel_boost: float, synergy: float,
          decisiveness: float, aimed: float, area: float, concealment: float, max_loss: float,
          collateral: float, defection_scale: float, dt: float, harm: np.ndarray, lost: np.ndarray) -> None:
    """One month of combat: deploy, contest, shift control, attrition, defections.

    Updates control and strength in place; fills ``harm`` (provinces x shooting
    faction) and ``lost`` (fighters killed per faction).
    """
    P, F = control.shape
    deployed = deploy(control, neighbour_mean(control, nb_ptr, nb_idx), home, strength, territorial, spillover,
                      home_weight, focus)
    support = local_support(sentiment, alignment)
    arms = materiel_bonus(materiel, strength, materiel_reference, materiel_boost)
    power = np.empty((P, F))
    for f in range(F):
        col = noise_column[f]
        if col < 0:
            for i in range(P):
                power[i, f] = 0.0
            continue
        for i in range(P):
            power[i, f] = deployed[i, f] * effectiveness[f] * arms[f] * extraction[i, f] \
                * (1.0 - support_weight + 2.0 * support_weight * support[i, f]) * noise[i, col]
    target = contest_shares(power, control, front, synergy, decisiveness)
    rate = terrain_rate * dt
    intel = control * support
    losses, h = attrition(deployed, effectiveness, intel, hostility, guerrilla, stealth, area_ratio, ruggedness,
                          protection, aimed * dt, area * dt, concealment, max_loss, collateral)
    control[:, :] = shift_control(control, target, rate, offensive, protection)
    harm[:, :] = h
    lost[:] = losses.sum(axis=0)
    for f in range(F):
        strength[f] = max(strength[f] - lost[f], 0.0)
    strength += defections(strength, momentum, defection, hostility, defection_scale * dt)



