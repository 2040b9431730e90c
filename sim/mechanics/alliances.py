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


def front_changes(members: np.ndarray, eligible: np.ndarray, rivalry: np.ndarray, strength: np.ndarray,
                  gov_strength: float, draws: np.ndarray, *, formation_rate: float, breakup_rate: float,
                  dominance: float, dt: float) -> tuple[np.ndarray, list[int], list[int]]:
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
        New members, factions that joined, factions that left.
    """
    members = members & eligible
    opp = float(strength[eligible].sum())
    need = gov_strength / (gov_strength + opp) if gov_strength + opp > 0 else 0.0
    joined: list[int] = []
    left: list[int] = []
    new = members.copy()
    if members.sum() < 2:
        candidates = np.flatnonzero(eligible)
        if candidates.size >= 2:
            a, b = candidates[np.argsort(-strength[candidates], kind="stable")[:2]]
            hazard = formation_rate * dt * need * (1 - rivalry[a]) * (1 - rivalry[b])
            if draws[-1] < hazard:
                new[[a, b]] = True
                joined = sorted({int(a), int(b)} - set(np.flatnonzero(members).tolist()))
        return new, joined, left
    for f in np.flatnonzero(eligible & ~members):
        if draws[f] < formation_rate * dt * need * (1 - rivalry[f]):
            new[f] = True
            joined.append(int(f))
    total = float(strength[members].sum())
    for f in np.flatnonzero(members):
        share = strength[f] / total if total > 0 else 0.0
        if share > dominance and draws[f] < breakup_rate * dt * rivalry[f]:
            new[f] = False
            left.append(int(f))
    if new.sum() < 2:
        left += [int(f) for f in np.flatnonzero(new)]
        new[:] = False
    return new, joined, left


def pool(values: np.ndarray, members: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Share a resource among front members in proportion to their fighters (total kept)."""
    if members.sum() < 2:
        return values
    s = strength[members]
    total_s = float(s.sum())
    if total_s <= 0:
        return values
    out = values.copy()
    out[members] = float(values[members].sum()) * s / total_s
    return out


def update_cohesion(cohesion: float, initial: float, legitimacy: float, pressure: float, momentum: float,
                    *, reversion: float, gain_legitimacy: float, loss_pressure: float, loss_ground: float,
                    tension: float, dt: float) -> float:
    """One step of the cohesion equation in the module docstring, clipped to [0, 1]."""
    d = (reversion * (initial - cohesion) + gain_legitimacy * legitimacy - loss_pressure * pressure
         - tension) * dt - loss_ground * max(0.0, -momentum)
    return min(max(cohesion + d, 0.0), 1.0)


def split_hazard(cohesion: float, threshold: float, rate: float, dt: float) -> float:
    """Monthly chance the government splits at this cohesion."""
    if cohesion >= threshold or threshold <= 0:
        return 0.0
    return min(1.0, rate * dt * (threshold - cohesion) / threshold)
