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

from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import dot, jit


@jit
def front_changes(c: Const, p: Pars, members: np.ndarray, eligible: np.ndarray, strength: np.ndarray,
                  draws: np.ndarray) -> tuple:
    """One step of front formation and break-up.

    Args:
        c: constants (leadership rivalry per faction, the government's index, dt).
        p: parameters (formation and break-up rates, dominance share).
        members: current front members (bool, factions).
        eligible: active groups willing to unite (bool, factions).
        strength: fighters per faction.
        draws: uniform draws, one per faction plus one for the founding pair (always
            drawn, so the stream stays aligned across scenarios).

    Returns:
        (members, joined, left): new membership and who joined or left (bool arrays).
    """
    rivalry, dt, gov_strength = c.rivalry, c.dt, strength[c.gov]
    formation_rate, breakup_rate, dominance = p.front_formation_rate, p.front_breakup_rate, p.front_dominance
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
def front(c: Const, p: Pars, s: State, draws: np.ndarray) -> int:
    """Phase 6a: front changes, then members pool funds and arms. Updates front, funds, materiel in place.

    Returns:
        The number of front members before the changes.
    """
    F = s.front.shape[0]
    before = 0
    eligible = np.zeros(F, dtype=np.bool_)
    for f in range(F):
        eligible[f] = c.front_willing[f] and s.strength[f] > 0.0
        if s.front[f]:
            before += 1
    new, j, lft = front_changes(c, p, s.front, eligible, s.strength, draws)
    for f in range(F):
        s.front[f] = new[f]
        s.joined[f] = j[f]
        s.left[f] = lft[f]
    s.funds[:] = pool(s.funds, s.front, s.strength)
    s.materiel[:] = pool(s.materiel, s.front, s.strength)
    return before


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


@jit
def cohesion_change(c: Const, p: Pars, cohesion: float, legitimacy: float, pressure: float,
                    momentum: float) -> float:
    """One step of the cohesion equation in the module docstring, clipped to [0, 1]."""
    d = (p.cohesion_reversion * (c.cohesion0 - cohesion) + p.cohesion_legitimacy * legitimacy
         - p.cohesion_pressure * pressure - p.factional_tension - p.cohesion_losses * max(0.0, -momentum)) * c.dt
    return min(max(cohesion + d, 0.0), 1.0)


@jit
def split_hazard(p: Pars, cohesion: float, dt: float) -> float:
    """Chance the government splits in one step at this cohesion."""
    threshold = p.split_threshold
    if cohesion >= threshold or threshold <= 0:
        return 0.0
    return min(1.0, p.split_rate * dt * (threshold - cohesion) / threshold)


@jit
def split(c: Const, s: State) -> None:
    """The breakaway takes its share of control (more at home), fighters, funds and arms."""
    g, k = c.gov, c.split_child
    P = s.control.shape[0]
    for i in range(P):
        share = c.split_home_share if c.home[i, k] > 0 else c.split_other_share
        moved = s.control[i, g] * share
        s.control[i, g] -= moved
        s.control[i, k] += moved
    for arr in (s.strength, s.funds, s.materiel):
        take = arr[g] * c.split_strength
        arr[g] -= take
        arr[k] += take
    s.split[0] = True


class Ties(NamedTuple):
    """The constants alliances read, by their :class:`Const` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    dt: float
    gov: int
    split_child: int
    cohesion0: float
    split_strength: float
    split_home_share: float
    split_other_share: float
    rivalry: np.ndarray
    front_willing: np.ndarray
    pressure_weight: np.ndarray
    home: np.ndarray


class Coalition(NamedTuple):
    """The state alliances read and write, by their :class:`State` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    front: np.ndarray
    joined: np.ndarray
    left: np.ndarray
    strength: np.ndarray
    funds: np.ndarray
    materiel: np.ndarray
    control: np.ndarray
    pressure: np.ndarray
    cohesion: np.ndarray
    legitimacy: np.ndarray
    momentum: np.ndarray
    split: np.ndarray


class Marks(NamedTuple):
    """The draws alliances read and the record's rows they mark (a view on those bundles)."""

    alliance: np.ndarray  # draws [T, F+1]
    split_draws: np.ndarray  # draws [T]
    front_size: np.ndarray  # record [T+1]
    joined: np.ndarray  # record [T+1, F]
    left: np.ndarray  # record [T+1, F]
    split: np.ndarray  # record [T+1]


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 6: fronts form or break and pool resources; the government's cohesion moves; it may split.

    The rules read views of the bundles (:class:`Ties`, :class:`Coalition`, :class:`Marks`).
    """
    ally(Ties(c.dt, c.gov, c.split_child, c.cohesion0, c.split_strength, c.split_home_share, c.split_other_share,
              c.rivalry, c.front_willing, c.pressure_weight, c.home),
         p, Coalition(s.front, s.joined, s.left, s.strength, s.funds, s.materiel, s.control, s.pressure, s.cohesion,
                      s.legitimacy, s.momentum, s.split),
         Marks(d.alliance, d.split, r.front_size, r.joined, r.left, r.split), t)


@jit
def ally(c: Ties, p: Pars, s: Coalition, m: Marks, t: int) -> None:
    """The body of :func:`step`, on the views."""
    m.front_size[t] = front(c, p, s, m.alliance[t - 1])
    m.joined[t] = s.joined
    m.left[t] = s.left
    pressure = min(1.0, dot(s.pressure, c.pressure_weight))
    s.cohesion[0] = cohesion_change(c, p, s.cohesion[0], s.legitimacy[0], pressure, s.momentum[c.gov])
    hazard = split_hazard(p, s.cohesion[0], c.dt)
    if not s.split[0] and c.split_child >= 0 and m.split_draws[t - 1] < hazard:
        split(c, s)
        m.split[t] = True
