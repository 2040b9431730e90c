"""Alliances and cohesion: resistance fronts form and break; the government may split (ODD 7.6).

Summary of rule (resistance unity, mechanism 2; Christia 2012): groups willing to unite
join a front with a monthly hazard that grows with the government's dominance (alone
they are too weak: minimum winning coalitions) and shrinks with leadership rivalry.
A member that has come to hold most of the front's strength no longer needs it and
may leave, more readily the more rivalrous it is. Members pool funds and arms,
shared in proportion to fighters, and fight as one coalition (see combat).

Summary of rule (government cohesion, mechanism 7 and the Kandahari-Haqqani feud):
``dkappa = rev (kappa0 - kappa) + leg * L - press * pressure - loss * max(0, -momentum) - tension``.
Below ``split_threshold`` the government splits with monthly hazard
``split_rate * (threshold - kappa) / threshold``; the breakaway takes a share of the
fighters and funds and of the control, more in its home provinces.
"""

from __future__ import annotations

import numpy as np

from sim.jit import jit


@jit
def front_changes(members: np.ndarray, eligible: np.ndarray, rivalry: np.ndarray, strength: np.ndarray,
                  gov_strength: float, draws: np.ndarray, formation_rate: float, breakup_rate: float,
                  dominance: float, dt: float) -> tuple:
    """One month of front formation and break-up.

    Args:
        members: current front members (bool, factions).
        eligible: active groups willing to unite (bool, factions).
        rivalry: leadership rivalry per faction in [0, 1].
        strength: fighters per faction.
        gov_strength: the government's fighters.
        draws: uniform draws, one per faction plus one for the founding pair (always
            drawn, so the stream stays aligned across scenarios).
        formation_rate: hazard at no rivalry and full dominance.
        breakup_rate: hazard for a fully rivalrous dominant member.
        dominance: share of the front's strength above which a member may leave.
        dt: step length in months.

    Returns:
        (members, joined, left): new membership and who joined or left (bool arrays).
    """
    F = members.shape[0]
    cur = members & eligible
    new = cur.copy()
    joined = np.zeros(F, dtype=np.bool_)
    left = np.zeros(F, dtype=np.bool_)
    opp = 0.0
    n_cur = 0
    for f in range(F):
        if eligible[f]:
            opp += strength[f]
        if cur[f]:
            n_cur += 1
    need = gov_strength / (gov_strength + opp) if gov_strength + opp > 0.0 else 0.0
    if n_cur < 2:
        # no front (a lone survivor of a front is no front): the two strongest willing
        # groups may found one
        for f in range(F):
            new[f] = False
        a = -1
        b = -1
        for f in range(F):
            if eligible[f]:
                if a < 0 or strength[f] > strength[a]:
                    b = a
                    a = f
                elif b < 0 or strength[f] > strength[b]:
                    b = f
        if b >= 0:
            hazard = formation_rate * dt * need * (1.0 - rivalry[a]) * (1.0 - rivalry[b])
            if draws[F] < hazard:
                new[a] = True
                new[b] = True
        for f in range(F):
            joined[f] = new[f] and not cur[f]
            left[f] = cur[f] and not new[f]
        return new, joined, left
    total = 0.0
    for f in range(F):
        if cur[f]:
            total += strength[f]
    for f in range(F):
        if eligible[f] and not cur[f]:
            if draws[f] < formation_rate * dt * need * (1.0 - rivalry[f]):
                new[f] = True
                joined[f] = True
        elif cur[f] and total > 0.0 and strength[f] / total > dominance:
            if draws[f] < breakup_rate * dt * rivalry[f]:
                new[f] = False
                left[f] = True
    n_new = 0
    for f in range(F):
        if new[f]:
            n_new += 1
    if n_new < 2:
        for f in range(F):
            if new[f]:
                left[f] = True
                new[f] = False
    return new, joined, left


@jit
def front_month(front: np.ndarray, willing: np.ndarray, rivalry: np.ndarray, strength: np.ndarray,
                funds: np.ndarray, materiel: np.ndarray, gov: int, draws: np.ndarray, formation_rate: float,
                breakup_rate: float, dominance: float, dt: float, joined: np.ndarray, left: np.ndarray) -> int:
    """Phase 6a: front changes, then members pool funds and arms. Updates front, funds, materiel in place.

    Returns:
        How many groups joined or left (0 in most months).
    """
    F = front.shape[0]
    eligible = np.zeros(F, dtype=np.bool_)
    for f in range(F):
        eligible[f] = willing[f] and strength[f] > 0.0
    new, j, lft = front_changes(front, eligible, rivalry, strength, strength[gov], draws, formation_rate,
                                breakup_rate, dominance, dt)
    n = 0
    for f in range(F):
        front[f] = new[f]
        joined[f] = j[f]
        left[f] = lft[f]
        if j[f] or lft[f]:
            n += 1
    funds[:] = pool(funds, front, strength)
    materiel[:] = pool(materiel, front, strength)
    return n


@jit
def pool(values: np.ndarray, members: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Share a resource among front members in proportion to their fighters (total kept)."""
    out = values.copy()
    total_v = 0.0
    total_s = 0.0
    n = 0
    for f in range(values.shape[0]):
        if members[f]:
            total_v += values[f]
            total_s += strength[f]
            n += 1
    if n < 2 or total_s <= 0.0:
        return out
    for f in range(values.shape[0]):
        if members[f]:
            out[f] = total_v * strength[f] / total_s
    return out


def update_cohesion(cohesion: float, initial: float, legitimacy: float, pressure: float, momentum: float,
                    *, reversion: float, gain_legitimacy: float, loss_pressure: float, loss_ground: float,
                    tension: float, dt: float) -> float:
    """One step of the cohesion equation in the module docstring, clipped to [0, 1]."""
    d = (reversion * (initial - cohesion) + gain_legitimacy * legitimacy - loss_pressure * pressure
         - tension - loss_ground * max(0.0, -momentum)) * dt
    return min(max(cohesion + d, 0.0), 1.0)


def split_hazard(cohesion: float, threshold: float, rate: float, dt: float) -> float:
    """Monthly chance the government splits at this cohesion."""
    if cohesion >= threshold or threshold <= 0:
        return 0.0
    return min(1.0, rate * dt * (threshold - cohesion) / threshold)
