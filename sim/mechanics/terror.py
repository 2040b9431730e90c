"""Terror export: sheltered jihadist groups grow, attack abroad, and raise threat (ODD 7.7).

Summary of rule (mechanism 6): a group sheltered by the government grows
logistically where its patrons rule its home provinces and tolerate it, and withers
without sanctuary; states it threatens strike it. Each month a group attacks abroad
with probability ``1 - exp(-attack_rate * S / 1000 * dt)``; an attack raises the
threat perception of its target states, which also feel a latent threat from the
strength of the groups that target them. Threat decays. In the support rule, threat
turns a state against the government (Pakistan and the TTP, China and the TIP,
Central Asia and the IMU and Jamaat Ansarullah).

* sanctuary ``s_j = tolerance * sum_{i in home_j} sum_{p patron of j} C_ip / |home_j|``,
  with ``tolerance = shelter_tolerance * (1 - ct_restraint * max_s ct_s min(1, e_s))``;
* ``dS_j = dt [growth_j S_j (1 - S_j/K_j) s_j - decay S_j (1 - s_j)]`` (sheltered groups);
* strikes kill ``lethality dt capacity_s min(1, T_s) S_j`` of each group j targeting s;
* ``T_s <- T_s (1 - decay dt) + (1 - T_s) min(1, per_attack * attacks_s + latent dt
  sum_j target_js S_j / 1000)``: threat saturates at 1; under a constant inflow ``i``
  its steady state is ``i / (i + decay)``.
"""

from __future__ import annotations

import math

import numpy as np

from sim.jit import jit


@jit
def step(strength: np.ndarray, control: np.ndarray, threat: np.ndarray, draws: np.ndarray,
         home_weight: np.ndarray, patrons: np.ndarray, sheltered: np.ndarray, growth: np.ndarray,
         capacity: np.ndarray, attack_rate: np.ndarray, targets: np.ndarray, strike_capacity: np.ndarray,
         tolerance: float, decay: float, lethality: float, threat_decay: float, per_attack: float,
         latent: float, dt: float, strikes: np.ndarray, attacks: np.ndarray) -> None:
    """One month of growth, strikes, attacks and threat.

    Args:
        strength: fighters per faction.
        control: provinces x factions.
        threat: per state.
        draws: one uniform per faction (always drawn: keeps the stream aligned).
        home_weight: provinces x factions, 1/|home| on home provinces.
        patrons: factions x factions, 1 where the column shelters the row.
        sheltered: 1 for non-territorial groups that depend on patrons.
        growth: logistic growth rate in full sanctuary.
        capacity: K.
        attack_rate: per month per 1000 fighters.
        targets: factions x states target weights.
        strike_capacity: per state.
        tolerance: the host's tolerance this month.
        decay: withering rate without sanctuary.
        lethality: share killed per month by full strike capacity.
        threat_decay: fading of threat.
        per_attack: threat added by an attack.
        latent: threat per 1000 hostile fighters per month.
        dt: step in months.
        strikes: output, fighters killed by each state's strikes (states x factions).
        attacks: output, attacks by each group on each state (factions x states).

    Updates strength and threat in place; fills ``strikes`` (states x factions,
    fighters killed) and ``attacks`` (factions x states).
    """
    P, F = control.shape
    S = threat.shape[0]
    new = strength
    for j in range(F):
        if sheltered[j] <= 0.0:
            continue
        sanct = 0.0
        for i in range(P):
            if home_weight[i, j] > 0.0:
                for p in range(F):
                    sanct += home_weight[i, j] * patrons[j, p] * control[i, p]
        sanct = min(sanct * tolerance, 1.0)
        fill = strength[j] / capacity[j] if capacity[j] > 0.0 else 1.0
        d = growth[j] * strength[j] * (1.0 - fill) * sanct - decay * strength[j] * (1.0 - sanct)
        new[j] = max(strength[j] + d * dt, 0.0)
    strikes[:, :] = 0.0
    for s in range(S):
        k = min(lethality * dt * strike_capacity[s] * min(threat[s], 1.0), 1.0)
        if k <= 0.0:
            continue
        for j in range(F):
            if targets[j, s] > 0.0:
                strikes[s, j] = k * new[j]
    for j in range(F):
        killed = 0.0
        for s in range(S):
            killed += strikes[s, j]
        new[j] = max(new[j] - killed, 0.0)
    attacks[:, :] = 0.0
    inflow = np.zeros(S)
    for j in range(F):
        hit = draws[j] < 1.0 - math.exp(-attack_rate[j] * new[j] * 1e-3 * dt)
        for s in range(S):
            if hit:
                attacks[j, s] = targets[j, s]
            inflow[s] += per_attack * attacks[j, s] + latent * dt * 1e-3 * targets[j, s] * new[j]
    for s in range(S):
        threat[s] = threat[s] * (1.0 - threat_decay * dt) + (1.0 - threat[s]) * min(inflow[s], 1.0)


@jit
def ct_engagement(ct: np.ndarray, stance: np.ndarray) -> float:
    """Strongest counter-terrorism engagement of any donor: ``max_s ct_s min(1, max(0, v_s))``."""
    out = 0.0
    for s in range(ct.shape[0]):
        out = max(out, ct[s] * min(max(stance[s], 0.0), 1.0))
    return out
