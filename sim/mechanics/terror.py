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
  its steady state is ``i / (i + decay)``;
* the same stock of the inflow from the groups the government shelters alone, ``T^sh_s``,
  and from its armed enemies alone (ISKP), ``T^en_s``: the stance (7.1) reads whom a state
  blames; strikes and event triggers read the total ``T_s``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit


@jit
def grow(c: Const, s: State, tolerance: float, decay: float) -> None:
    """Sheltered groups grow logistically in their patrons' sanctuary and wither without it."""
    P, F = s.control.shape
    for j in range(F):
        if c.sheltered[j] <= 0.0:
            continue
        sanct = 0.0
        for i in range(P):
            if c.home_weight[i, j] > 0.0:
                for q in range(F):
                    sanct += c.home_weight[i, j] * c.patrons[j, q] * s.control[i, q]
        sanct = min(sanct * tolerance, 1.0)
        fill = s.strength[j] / c.capacity[j] if c.capacity[j] > 0.0 else 1.0
        dj = c.growth[j] * s.strength[j] * (1.0 - fill) * sanct - decay * s.strength[j] * (1.0 - sanct)
        s.strength[j] = max(s.strength[j] + dj * c.dt, 0.0)


@jit
def strike(c: Const, p: Pars, s: State) -> None:
    """States kill a share of the groups that target them, by capacity and threat (``s.strikes``)."""
    D, F = s.strikes.shape
    s.strikes[:, :] = 0.0
    for q in range(D):
        k = min(p.strike_lethality * c.dt * c.strike_capacity[q] * min(s.threat[q], 1.0), 1.0)
        if k <= 0.0:
            continue
        for j in range(F):
            if c.targets[j, q] > 0.0:
                s.strikes[q, j] = k * s.strength[j]
    for j in range(F):
        killed = 0.0
        for q in range(D):
            killed += s.strikes[q, j]
        s.strength[j] = max(s.strength[j] - killed, 0.0)


@jit
def attack(c: Const, p: Pars, s: State, draws: np.ndarray) -> None:
    """Groups attack abroad (``s.attacks``); attacks and latent strength raise threat, which decays."""
    D = s.threat.shape[0]
    F = s.strength.shape[0]
    dt = c.dt
    s.attacks[:, :] = 0.0
    inflow = np.zeros(D)
    guests = np.zeros(D)  # the part of the inflow from groups the government shelters
    enemies = np.zeros(D)  # and from its armed enemies
    for j in range(F):
        rate = -c.attack_rate[j] * s.strength[j] * 1e-3 * dt
        hit = rate != 0.0 and draws[j] < 1.0 - math.exp(rate)  # without attacks, 1 - exp(0) = 0: no hit
        for q in range(D):
            if hit:
                s.attacks[j, q] = c.targets[j, q]
            if c.targets[j, q] == 0.0:
                continue  # no attack on q and no latent threat: the inflows would get 0
            i = p.threat_per_attack * s.attacks[j, q] + p.latent_threat * dt * 1e-3 * c.targets[j, q] * s.strength[j]
            inflow[q] += i
            guests[q] += c.gov_sheltered[j] * i
            enemies[q] += c.gov_enemy[j] * i
    keep = 1.0 - p.threat_decay * dt
    for q in range(D):
        s.threat[q] = s.threat[q] * keep + (1.0 - s.threat[q]) * min(inflow[q], 1.0)
        s.sheltered_threat[q] = s.sheltered_threat[q] * keep + (1.0 - s.sheltered_threat[q]) * min(guests[q], 1.0)
        s.enemy_threat[q] = s.enemy_threat[q] * keep + (1.0 - s.enemy_threat[q]) * min(enemies[q], 1.0)


class Havens(NamedTuple):
    """The constants terror reads, by their :class:`Const` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    dt: float
    sheltered: np.ndarray
    home_weight: np.ndarray
    patrons: np.ndarray
    capacity: np.ndarray
    growth: np.ndarray
    strike_capacity: np.ndarray
    targets: np.ndarray
    attack_rate: np.ndarray
    gov_sheltered: np.ndarray
    gov_enemy: np.ndarray
    ct: np.ndarray


class Threats(NamedTuple):
    """The state terror reads and writes, by their :class:`State` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    control: np.ndarray
    strength: np.ndarray
    strikes: np.ndarray
    threat: np.ndarray
    attacks: np.ndarray
    sheltered_threat: np.ndarray
    enemy_threat: np.ndarray
    stance: np.ndarray


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 7: sheltered groups grow, states strike, groups attack, threat moves.

    The host's tolerance falls with its counter-terrorism engagement with donors this month.
    The rules read views of the bundles (:class:`Havens`, :class:`Threats`).
    """
    export(Havens(c.dt, c.sheltered, c.home_weight, c.patrons, c.capacity, c.growth, c.strike_capacity, c.targets,
                  c.attack_rate, c.gov_sheltered, c.gov_enemy, c.ct),
           p, Threats(s.control, s.strength, s.strikes, s.threat, s.attacks, s.sheltered_threat, s.enemy_threat,
                      s.stance), d.attack, t)


@jit
def export(c: Havens, p: Pars, s: Threats, draws: np.ndarray, t: int) -> None:
    """The body of :func:`step`, on the views (``draws``: the attack uniforms of the run)."""
    tolerance = p.shelter_tolerance * (1.0 - p.ct_restraint * ct_engagement(c.ct, s.stance))
    grow(c, s, tolerance, p.jihadist_decay)
    strike(c, p, s)
    attack(c, p, s, draws[t - 1])


@jit
def ct_engagement(ct: np.ndarray, stance: np.ndarray) -> float:
    """Strongest counter-terrorism engagement of any donor: ``max_s ct_s min(1, max(0, v_s))``."""
    out = 0.0
    for q in range(ct.shape[0]):
        out = max(out, ct[q] * min(max(stance[q], 0.0), 1.0))
    return out
