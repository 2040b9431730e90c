"""Concentrated offensives: where each faction's mobile force goes (ODD 7.4.2).

Summary of rule: a faction does not spread all its fighters evenly. It keeps
``1 - mobile_share`` of them spread over its ground (``combat.deploy``) and sends the rest,
its mobile force, where the stakes are, as states in Cederman's GeoSim pick the front
where their local superiority passes a threshold (Cederman 1997, 2003). A faction keeps
``seat_guard`` of its mobile force at its own seat while it holds it (governments garrison
their capital with their best units); the guard is a standing garrison that every faction
sees, as it sees the spread force. With the rest, a faction whose own capitals are
threatened defends first: it sends each the fighters that bring its garrison to
``defence_margin`` times the strongest hostile force there (the ANDSF's commandos were
sent from city to city in July 2021, SIGAR 22-22-IP; the Taliban held Kunduz from 1997
while their offensives went on), and attacks with what is left. Its objectives are the
capitals an enemy holds next to its ground, and the valleys an enemy holds inside a
province whose capital it holds, ranked by the local superiority its mobile force would
give it there; it attacks the ``offensive_objectives`` best of those where that
superiority reaches ``offensive_threshold``, capitals before valleys (a city is what a
campaign is for), sharing the force equally among them. With
nothing to defend or attack, the mobile force stays with the spread force. Every faction
decides on the spread deployment (simultaneously) and the mobile forces arrive together.
Rugged terrain multiplies a stake's defender (``capitals.stake_defence``), both in this
choice and in the garrison's surrender, and still slows whoever takes ground (``combat``).

Equations (f faction, i province, D0 the spread deployment, u per-fighter power):

* spread ``D0 = deploy(C, (1 - mobile_share) S)``; mobile ``M_f = mobile_share S_f``, of
  which ``seat_guard M_f`` stays at f's own capital while f holds it (the rest is ``M_f`` below;
  the guard is counted in ``D0`` from here on);
* per-fighter power ``u_if = q_f arms_f reach_if (1 - w + 2 w support_if) luck_if``, for
  the government times ``1 - cohesion_power (1 - cohesion)`` (its will to fight);
  ``E0 = D0 u``;
* f reaches i when ``C_if >= offensive_presence`` or f holds the capital of a neighbour of i;
* stake of i for f: its capital, if a hostile h holds it (defender h); or a valley, if
  f holds the capital and the hostile h with most control there has at least
  ``valley_share``;
* prospective superiority ``r_if = (E0_if + M_f u_if) / (E0_ih (1 + rugged_defence rug_i))``;
* defence first: capital i that f holds is threatened when ``T_i = max_g hostile E0_ig >
  E0_if``; it needs ``n_i = (defence_margin T_i - E0_if) / u_if`` fighters; with
  ``N = sum n``, capital i receives ``n_i min(1, M_f / N)`` and ``L_f = M_f - min(N, M_f)``
  is left;
* objectives, with ``L_f`` in place of ``M_f`` in ``r_if``: the ``offensive_objectives``
  stakes of largest ``r_if``, among those with ``r_if >= offensive_threshold``, capitals
  first and valleys only to fill the count; each gets ``L_f / n`` fighters;
* without objectives, ``L_f D0_if / sum_i D0_if``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Pars, State
from sim.jit import jit
from sim.mechanics.capitals import stake_defence
from sim.mechanics.resources import materiel_bonus

_NONE = 1e6  # superiority against a stake nobody defends


class Quality(NamedTuple):
    """The arrays unit power reads, by their :class:`Const` and :class:`State` names (no bundle to count)."""

    noise_column: np.ndarray
    effectiveness: np.ndarray
    extraction: np.ndarray
    gov: int
    materiel: np.ndarray
    strength: np.ndarray
    air: np.ndarray
    cohesion: np.ndarray


@jit
def unit_power(q: Quality, p: Pars, support: np.ndarray, luck: np.ndarray) -> np.ndarray:
    """Fighting power of one fighter per province and faction: quality, arms, reach, support, luck.

    The government's also rests on its cohesion (its will to fight).
    """
    P, F = q.extraction.shape
    arms = materiel_bonus(q.materiel, q.strength, p.materiel_reference, p.materiel_boost)
    w = p.popular_support_weight
    out = np.zeros((P, F))
    for f in range(F):
        col = q.noise_column[f]
        if col < 0:
            continue
        k = q.effectiveness[f] * arms[f] * (1.0 + q.air[f])
        if f == q.gov:  # a government's will to fight rests on its cohesion
            k *= 1.0 - p.cohesion_power * (1.0 - q.cohesion[0])
        for i in range(P):
            out[i, f] = k * q.extraction[i, f] * (1.0 - w + 2.0 * w * support[i, f]) * luck[i, col]
    return out


@jit
def product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` of two provinces x factions arrays, as a plain loop (numba's array expression costs twice as much)."""
    P, F = a.shape
    out = np.empty((P, F))
    for i in range(P):
        for f in range(F):
            out[i, f] = a[i, f] * b[i, f]
    return out


class Arena(NamedTuple):
    """The constants combat (phase 4) reads, by their :class:`Const` names (a view on the bundle).

    The step hands its rules these instead of the bundles: every compiled call (inlined
    or not) with a bundle touches the reference count of every array in it, about 4 ns
    an array, which cost more than most of the rules themselves.
    """

    dt: float
    gov: int
    territorial: np.ndarray
    noise_column: np.ndarray
    effectiveness: np.ndarray
    extraction: np.ndarray
    air_decay: np.ndarray
    alignment: np.ndarray
    nb_ptr: np.ndarray
    nb_idx: np.ndarray
    home: np.ndarray
    hostility: np.ndarray
    ruggedness: np.ndarray
    terrain_rate: np.ndarray
    area_ratio: np.ndarray
    guerrilla: np.ndarray
    stealth: np.ndarray
    defection: np.ndarray
    capital: np.ndarray
    held0: np.ndarray


class Forces(NamedTuple):
    """The state combat (phase 4) reads and writes, by their :class:`State` names (a view on the bundle)."""

    control: np.ndarray
    strength: np.ndarray
    funds: np.ndarray
    materiel: np.ndarray
    sentiment: np.ndarray
    air: np.ndarray
    cohesion: np.ndarray
    holder: np.ndarray
    front: np.ndarray
    protection: np.ndarray
    offensive: np.ndarray
    harm: np.ndarray
    momentum: np.ndarray
    capital_lost: np.ndarray
    security_pool: np.ndarray


class Ground(NamedTuple):
    """The few arrays the objective rules read, gathered once a step.

    Handing a compiled call these instead of the whole bundles saves touching the
    reference count of every array in them, once per faction and province.
    """

    hostility: np.ndarray
    holder: np.ndarray
    control: np.ndarray
    nb_ptr: np.ndarray
    nb_idx: np.ndarray
    ruggedness: np.ndarray
    alignment: np.ndarray
    sentiment: np.ndarray


@jit
def near(nb_ptr: np.ndarray, nb_idx: np.ndarray, control: np.ndarray, holder: np.ndarray, presence: float, i: int,
         f: int) -> bool:
    """Whether faction ``f`` can reach province ``i``'s stake: ground there, or a neighbouring capital as a base.

    Ground there is a share of at least ``presence``. A band in the hills next door is no base
    for an assault on a city; a neighbouring province's capital is (GeoSim's states attack from
    the provinces they hold).
    """
    if control[i, f] >= presence:
        return True
    for e in range(nb_ptr[i], nb_ptr[i + 1]):
        if holder[nb_idx[e]] == f:
            return True
    return False


@jit
def defender(hostility: np.ndarray, holder: np.ndarray, control: np.ndarray, valley: float, i: int, f: int) -> int:
    """The faction defending province ``i``'s stake against ``f`` (-1: no stake for ``f`` there).

    The stake is the capital if a hostile holds it, else a valley: a hostile's share of at
    least ``valley`` (``valley_share``) in a province whose capital ``f`` holds.
    """
    h = holder[i]
    if h != f:
        return h if hostility[f, h] > 0.0 else -1
    best, share = -1, valley
    for g in range(control.shape[1]):
        if hostility[f, g] > 0.0 and control[i, g] >= share:
            best, share = g, control[i, g]
    return best


@jit
def superiority(g: Ground, p: Pars, e0: np.ndarray, u: np.ndarray, mobile: float, f: int, r: np.ndarray) -> None:
    """Prospective superiority ``r_if`` of ``f``'s whole mobile force at each of its stakes, into ``r`` (0: none)."""
    for i in range(e0.shape[0]):
        r[i] = 0.0
        if not near(g.nb_ptr, g.nb_idx, g.control, g.holder, p.offensive_presence, i, f):
            continue
        h = defender(g.hostility, g.holder, g.control, p.valley_share, i, f)
        if h < 0:
            continue
        mine = e0[i, f] + mobile * u[i, f]
        theirs = e0[i, h] * stake_defence(g.ruggedness[i], p.rugged_defence, g.alignment[h], g.sentiment[i],
                                          p.popular_support_weight)
        r[i] = min(mine / theirs, _NONE) if theirs > 0.0 else _NONE


@jit
def attack(p: Pars, r: np.ndarray, holder: np.ndarray, f: int, mobile: float, out: np.ndarray,
           picked: np.ndarray) -> bool:
    """Share the mobile force among the best objectives (``out`` gets the fighters); False if none.

    Capitals (stakes ``f`` does not hold, per ``holder``) come before valleys: a valley is
    picked only when fewer capitals than ``offensive_objectives`` pass the threshold.
    ``picked`` is scratch space for ``offensive_objectives`` province indices.
    """
    k = int(p.offensive_objectives)
    n = 0
    for city in (True, False):  # capitals first, then valleys
        n = best_stakes(r, holder, f, city, p.offensive_threshold, picked, n, k)
    for j in range(n):
        out[picked[j]] += mobile / n
    return n > 0


@jit
def best_stakes(r: np.ndarray, holder: np.ndarray, f: int, city: bool, threshold: float, picked: np.ndarray,
                n: int, k: int) -> int:
    """Append to ``picked[:n]`` the stakes of one kind (capitals or valleys) of largest ``r``, up to ``k`` in all.

    One pass keeping the best so far in order (largest ``r`` first; of equal ones the lower
    province first): the provinces repeated selection of the largest would pick, without a
    pass over all provinces for each. Returns the new count.
    """
    m = n
    if n >= k:
        return n
    for i in range(r.shape[0]):
        v = r[i]
        if (holder[i] != f) != city or not (v >= threshold and v > 0.0):
            continue
        if m == k and not v > r[picked[m - 1]]:
            continue  # not better than the worst kept (ties go to the lower province, kept first)
        j = m if m < k else m - 1  # the slot freed at the end, then moved up past the smaller ones
        while j > n and v > r[picked[j - 1]]:
            picked[j] = picked[j - 1]
            j -= 1
        picked[j] = i
        m = min(m + 1, k)
    return m


@jit
def defend(g: Ground, p: Pars, e0: np.ndarray, u: np.ndarray, mobile: float, f: int, out: np.ndarray,
           need: np.ndarray) -> float:
    """Reinforce ``f``'s threatened capitals with what each needs; returns the mobile force left to attack.

    A capital is threatened when a hostile's spread power there beats the garrison's; it
    needs the fighters that bring the garrison to ``defence_margin`` times that power. With
    less than the sum of needs, each gets the same share of its need and nothing is left.
    ``need`` is scratch space, one per province.
    """
    P, F = e0.shape
    total = 0.0
    for i in range(P):
        need[i] = 0.0
        if g.holder[i] != f:
            continue
        worst = 0.0
        for k in range(F):
            if g.hostility[f, k] > 0.0:
                worst = max(worst, e0[i, k])
        gap = p.defence_margin * worst - e0[i, f]
        if worst > e0[i, f]:
            need[i] = gap / u[i, f] if u[i, f] > 0.0 else mobile
            total += need[i]
    if total <= 0.0:
        return mobile
    scale = min(mobile / total, 1.0)
    for i in range(P):
        out[i] += need[i] * scale
    return mobile - total * scale


@jit
def spread(d0: np.ndarray, mobile: float, out: np.ndarray) -> None:
    """Nothing to attack or defend: the mobile force goes with the spread force."""
    total = 0.0
    for i in range(d0.shape[0]):  # d0.sum(), in the same order, without numba's generic iterator
        total += d0[i]
    if total > 0.0:
        for i in range(d0.shape[0]):
            out[i] += mobile * d0[i] / total


@jit
def concentrate(c: Const, p: Pars, s: State, d0: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The full deployment: the spread force ``d0`` plus every faction's mobile force (module docstring).

    A faction first reinforces its threatened capitals with what they need, then attacks its
    best objectives with the rest, or keeps the rest with the spread force.
    """
    P, F = d0.shape
    held = d0.copy()  # the spread force and the seat guards: what every faction sees
    mobile = np.empty(F)  # what is left to defend or attack with
    for f in range(F):
        mobile[f] = p.mobile_share * s.strength[f]
        if guarded(c.capital[f], s.holder, p.seat_guard, s.strength[f], f):
            held[c.capital[f], f] += p.seat_guard * p.mobile_share * s.strength[f]
            mobile[f] = p.mobile_share * s.strength[f] * (1.0 - p.seat_guard)
    e0 = product(held, u)
    out = held.copy()
    g = Ground(c.hostility, s.holder, s.control, c.nb_ptr, c.nb_idx, c.ruggedness, c.alignment, s.sentiment)
    scratch = np.empty(P)
    picked = np.empty(int(p.offensive_objectives), dtype=np.int64)
    for f in range(F):
        if c.territorial[f] <= 0.0 or s.strength[f] <= 0.0:
            continue
        left = defend(g, p, e0, u, mobile[f], f, out[:, f], scratch)
        if left <= 0.0:
            continue
        superiority(g, p, e0, u, left, f, scratch)
        if not attack(p, scratch, s.holder, f, left, out[:, f], picked):
            spread(d0[:, f], left, out[:, f])
    return out


@jit
def guarded(seat: int, holder: np.ndarray, guard: float, strength: float, f: int) -> bool:
    """Whether ``f`` keeps a seat guard: it has a seat and holds it (the seat of power is always held strongly).

    Takes numbers and one array, not the bundles: it is called once per faction and step, and a
    compiled call with a bundle touches the reference count of every array in it.
    """
    return seat >= 0 and holder[seat] == f and guard > 0.0 and strength > 0.0
