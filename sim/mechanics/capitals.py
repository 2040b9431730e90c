"""Provincial capitals as stakes, and the cascade of surrenders (ODD 7.4.1).

Summary of rule: each province's capital (its city and district centre) has one holder,
distinct from the countryside's shares. The holder keeps at least ``capital_share`` of
the province's control (the city and the roads out of it), so the countryside can be
lost around a garrison that holds: the resistance of 2022 held valleys, not capitals,
and in July 2021 the Taliban held the countryside around every capital the republic
still held. A capital changes hands only when its garrison surrenders to a hostile
attacker with arms. Taking it by force needs ``capture_superiority`` times the garrison's
fighting power (the 3:1 rule of attack, Mearsheimer 1989), the garrison's power counted
with the terrain (mountain stakes resist) and the city's walls (an unpopular garrison
does not lose power for want of the countryside's support). What made the August 2021
cascade (SIGAR 22-22-IP; Cederman 2003 on capital loss in GeoSim; Christia 2012 on
bandwagoning) multiplies the superiority the garrison feels: neighbouring capitals
already lost (encirclement), the share of its capitals the government has lost
nationally, the government's lost cohesion, wages its holder cannot pay, and the fall of
the holder's own capital; so a demoralised garrison negotiates its surrender even to a
weaker besieger, as many did in August 2021 without a battle. Victories steady a government as
falls shake it: each capital it takes restores ``cohesion_victory / P`` of its cohesion (a
movement holds together while it wins; the Taliban of 1996-2001 did not split). Beyond the felt threshold
the garrison surrenders with a hazard that grows with the margin. The whole garrison is
lost: a share of its fighters and of their arms passes to the victor, the rest go home,
and the city's share of the province passes with the holder; a friend of the holder that is
stronger there than the attacker takes the city over instead (the Panjshir in August 2021).
A government that has lost its capital and its cohesion dissolves (:func:`dissolve`).

Equations (province i held by h, attacker a = the hostile faction with most power there):

* floor: if ``C_ih < k`` (``k = capital_share``), ``C_ih = k`` and the others' shares are
  scaled by ``(1 - k) / (1 - C_ih_old)``;
* superiority ``R = E_ia / (E_ih (1 + rugged_defence rug_i) W_ih)``, with the walls
  ``W_ih = 1 / min(1, 1 - w + 2 w support_ih)``; surrender needs arms;
* demoralisation ``M = (1 + cascade_neighbours lost_i) (1 + cascade_national national_h)
  (1 + cascade_cohesion (1 - cohesion_h)) (1 + cascade_unpaid unpaid_h)
  (1 + cascade_centre centre_lost_h)``, with ``lost_i`` the share of i's neighbours whose
  capital h does not hold, ``national_h`` the share of the capitals the government held at
  the start that it no longer holds (0 for other holders), ``cohesion_h`` the government's
  cohesion (1 for other holders), ``unpaid_h`` 1 when h has no cash, ``centre_lost_h`` 1 once
  h has lost its own capital;
* felt superiority ``phi = R M / capture_superiority``; if ``phi > 1`` the garrison surrenders
  with probability ``1 - exp(-surrender_rate dt (phi - 1))`` (this step's uniform draw); a
  government garrison's fall costs the government ``cohesion_capitals / P`` of its cohesion,
  a capital the government takes gives it ``cohesion_victory / P``;
* surrender: of the garrison ``G = min(D_ih, S_h)``, ``x = surrender_transfer G`` fighters and
  ``x / S_h`` of h's arms pass to a, ``G - x`` go home (the former-security pool); the holder
  becomes a (or the friend of h, at war with a, with more power than a there, who then
  gets the x fighters), and the floor moves the city's share to it.
"""

from __future__ import annotations

import numpy as np

from sim.bundles import Const, Pars, State
from sim.jit import jit


@jit
def hold_capitals(control: np.ndarray, holder: np.ndarray, share: float) -> None:
    """Raise each capital's holder to at least ``share`` of its province, in place (rows still sum to 1)."""
    P, F = control.shape
    for i in range(P):
        h = holder[i]
        have = control[i, h]
        if have >= share:
            continue
        rest = 1.0 - have
        scale = (1.0 - share) / rest if rest > 0.0 else 0.0
        for f in range(F):
            control[i, f] = share if f == h else control[i, f] * scale


# The helpers called once per province take arrays and numbers, not the bundles: passing a
# bundle to a compiled call touches the reference count of every array in it.
@jit
def stake_defence(rug: float, rugged_defence: float, alignment: float, sentiment: float, w: float) -> float:
    """How much terrain and a city's walls multiply the power of a stake's defender.

    Terrain: ``1 + rugged_defence rug``. Walls: the support an unpopular garrison lacks does
    not weaken it (a popular one keeps its gain), ``1 / min(1, 1 - w + 2 w support)`` (7.4's
    support factor, ``support = 0.5 + alignment (sentiment - 0.5)``).
    """
    factor = 1.0 - w + 2.0 * w * (0.5 + alignment * (sentiment - 0.5))
    walls = 1.0 / factor if 0.0 < factor < 1.0 else 1.0
    return (1.0 + rugged_defence * rug) * walls


@jit
def attacker(hostility: np.ndarray, e: np.ndarray, i: int, h: int) -> int:
    """The hostile faction with the most fighting power in province ``i`` against holder ``h`` (-1: none)."""
    best, best_e = -1, 0.0
    for g in range(e.shape[1]):
        if hostility[h, g] > 0.0 and e[i, g] > best_e:
            best, best_e = g, e[i, g]
    return best


@jit
def successor(hostility: np.ndarray, e: np.ndarray, i: int, h: int, a: int) -> int:
    """Who takes province ``i``'s city when ``h``'s garrison gives up to ``a``: ``a``, or a stronger friend of ``h``.

    A faction at peace with ``h`` and at war with ``a`` that has more fighting power in the
    province than ``a`` takes the city over (in August 2021 the Panjshir's garrison passed to
    the NRF, not to the few Taliban at the valley's mouth).
    """
    best, best_e = a, e[i, a]
    for g in range(e.shape[1]):
        if g != h and hostility[h, g] <= 0.0 and hostility[g, a] > 0.0 and e[i, g] > best_e:
            best, best_e = g, e[i, g]
    return best


@jit
def lost_neighbours(nb_ptr: np.ndarray, nb_idx: np.ndarray, holder: np.ndarray, i: int, h: int) -> float:
    """Share of province ``i``'s neighbours whose capital ``h`` does not hold (encirclement)."""
    n = nb_ptr[i + 1] - nb_ptr[i]
    if n == 0:
        return 0.0
    lost = 0
    for e in range(nb_ptr[i], nb_ptr[i + 1]):
        if holder[nb_idx[e]] != h:
            lost += 1
    return lost / n


@jit
def national_loss(c: Const, holder: np.ndarray, h: int) -> float:
    """Share of the capitals the government held at the start that it has lost (0 for other holders)."""
    if h != c.gov or c.held0[h] <= 0.0:
        return 0.0
    held = 0
    for i in range(holder.shape[0]):
        if holder[i] == h:
            held += 1
    return max(0.0, 1.0 - held / c.held0[h])


@jit
def morale(c: Const, p: Pars, s: State, national: float, h: int) -> float:
    """The holder's part of the demoralisation: national losses, cohesion, pay and its own capital.

    Args:
        c: constants (the government).
        p: parameters (the cascade factors).
        s: state (cohesion, funds, capitals lost).
        national: the government's national loss (:func:`national_loss`); ignored for other holders.
        h: the holder.
    """
    return holder_morale(p, h == c.gov, s.cohesion[0], s.funds[h], s.capital_lost[h], national)


@jit
def holder_morale(p: Pars, gov: bool, cohesion: float, funds: float, centre_lost: bool, national: float) -> float:
    """:func:`morale` from the holder's numbers, not the bundles (called once per holder and step).

    ``gov``: the holder is the government; its ``cohesion`` and ``funds``; ``centre_lost``: it
    has lost its own capital; ``national``: the government's national loss.
    """
    cohesion = cohesion if gov else 1.0
    lost = national if gov else 0.0
    unpaid = 1.0 if funds <= 0.0 else 0.0
    centre = 1.0 if centre_lost else 0.0
    return (1.0 + p.cascade_national * lost) * (1.0 + p.cascade_cohesion * (1.0 - cohesion)) \
        * (1.0 + p.cascade_unpaid * unpaid) * (1.0 + p.cascade_centre * centre)


@jit
def demoralisation(c: Const, p: Pars, s: State, before: np.ndarray, i: int, h: int) -> float:
    """How much the cascade multiplies the superiority a garrison feels (1: not at all; module docstring).

    Args:
        c: constants (neighbours, the government).
        p: parameters (the cascade factors).
        s: state (cohesion, funds, capitals lost).
        before: the capitals' holders at the start of the step.
        i: the province.
        h: its holder.
    """
    return (1.0 + p.cascade_neighbours * lost_neighbours(c.nb_ptr, c.nb_idx, before, i, h)) \
        * morale(c, p, s, national_loss(c, before, h), h)


@jit
def surrender(s: State, deployed: np.ndarray, share: float, i: int, h: int, a: int) -> None:
    """Province ``i``'s garrison of ``h`` surrenders to ``a``: fighters and arms pass, the rest go home.

    The whole garrison is lost to ``h``: ``share`` of it and of its arms joins the victor,
    and the others go home (in August 2021, to the pool of former security forces).
    """
    if s.strength[h] > 0.0:
        garrison = min(deployed[i, h], s.strength[h])
        moved = share * garrison
        arms = s.materiel[h] * moved / s.strength[h]
        s.strength[h] -= garrison
        s.strength[a] += moved
        s.security_pool[0] += garrison - moved
        s.materiel[h] -= arms
        s.materiel[a] += arms
    s.holder[i] = a


@jit
def dissolve(c: Const, p: Pars, s: State) -> None:
    """The government dissolves: its fighters go home, its capitals and ground pass to whoever is there.

    ``dissolution_allies`` of its remaining fighters join its allies (in proportion to their
    strength: soldiers who refused to surrender went to the Panjshir); the others go home,
    into the pool of former security forces (from which a resistance may recruit them, 7.3).
    Each capital it still holds passes to the faction with the most control in that province,
    and its share of every province to that province's capital holder (in August 2021 the
    Taliban walked into what the republic had held).
    """
    g = c.gov
    P, F = s.control.shape
    allied = 0.0
    for f in range(F):
        if f != g and c.territorial[f] > 0.0 and c.hostility[g, f] <= 0.0:
            allied += s.strength[f]
    joined = p.dissolution_allies * s.strength[g] if allied > 0.0 else 0.0
    for f in range(F):  # those who refuse to surrender join its allies, in proportion to their size
        if f != g and c.territorial[f] > 0.0 and c.hostility[g, f] <= 0.0:
            s.strength[f] += joined * s.strength[f] / allied
    s.security_pool[0] += s.strength[g] - joined
    s.strength[g] = 0.0
    for i in range(P):
        if s.holder[i] == g:
            best, share = g, -1.0
            for f in range(F):
                if f != g and c.territorial[f] > 0.0 and s.control[i, f] > share:
                    best, share = f, s.control[i, f]
            s.holder[i] = best
        h = s.holder[i]
        if h != g:
            s.control[i, h] += s.control[i, g]
            s.control[i, g] = 0.0


@jit
def garrisons(c: Const, p: Pars, s: State, e: np.ndarray, deployed: np.ndarray, draws: np.ndarray) -> None:
    """Every garrison facing local superiority may surrender; then each holder keeps its capital's share.

    Args:
        c: constants (hostility, neighbours, the government, the step).
        p: parameters (capture_superiority, surrender_rate, the cascade factors, capital_share).
        s: state (strength, materiel, holder and control updated in place).
        e: this step's fighting power, provinces x factions (``combat.power``).
        deployed: this step's deployment, provinces x factions.
        draws: this step's uniforms, one per province.
    """
    P = e.shape[0]
    before = s.holder.copy()  # encirclement is judged on the step's start, whatever the provinces' order
    national = national_loss(c, before, c.gov)
    spirit = np.empty(e.shape[1])  # each holder's morale, once a step
    for h in range(e.shape[1]):
        spirit[h] = holder_morale(p, h == c.gov, s.cohesion[0], s.funds[h], s.capital_lost[h], national)
    for i in range(P):
        h = before[i]
        a = attacker(c.hostility, e, i, h)
        if a < 0 or s.materiel[a] <= 0.0:
            continue  # capture needs an enemy with arms
        defence = e[i, h] * stake_defence(c.ruggedness[i], p.rugged_defence, c.alignment[h], s.sentiment[i],
                                          p.popular_support_weight)
        ratio = min(e[i, a] / defence, 1e6) if defence > 0.0 else 1e6
        felt = ratio * spirit[h] / p.capture_superiority
        if felt * (1.0 + p.cascade_neighbours) <= 1.0:
            continue  # not even full encirclement would make this garrison give up
        felt *= 1.0 + p.cascade_neighbours * lost_neighbours(c.nb_ptr, c.nb_idx, before, i, h)
        if felt > 1.0 and draws[i] < 1.0 - np.exp(-p.surrender_rate * c.dt * (felt - 1.0)):
            victor = successor(c.hostility, e, i, h, a)
            surrender(s, deployed, p.surrender_transfer, i, h, victor)
            if h == c.gov:  # each fall shakes every garrison of the government (the cascade)
                s.cohesion[0] = max(s.cohesion[0] - p.cohesion_capitals / P, 0.0)
            elif victor == c.gov:  # and each victory steadies them (a movement holds together while it wins)
                s.cohesion[0] = min(s.cohesion[0] + p.cohesion_victory / P, 1.0)
    hold_capitals(s.control, s.holder, p.capital_share)
