"""Attacks as events: armed groups raid the government's forces, as counts per month (ODD 7.7.1).

Summary of rule: every guerrilla faction hostile to the government (the resistance
groups, ISKP, a breakaway) attacks the government's forces in the provinces where both are
present. A conventional army (the United Front's Junbish of 1996, a government) fights on
its front lines only, through the contest and attrition of combat (7.4): raids are the
weapon of groups that cannot hold a front, the hit-and-run attacks the UN counts every
quarter.
The number of attacks by group f in province i this step is Poisson with intensity

* ``lambda_if = raid_rate dt (S_f / 1000) g(A_f, raid_arms_half) g(M_f, raid_funds_half)
  (1 + raid_sanctuary min(1, sum_s sanctuary_sf)) w_if / sum_k w_kf``,
* ``g(x, h) = raid_floor + (1 - raid_floor) x / (x + h)``: arms (materiel ``A``) and funds
  (``M``) raise the tempo with diminishing returns; a group with neither still fights at
  ``raid_floor`` of it;
* ``w_if = C_if + 0.01 home_if`` where the government holds ground (``C_i,gov > 0``),
  0 elsewhere: a group attacks where it holds pockets, and from its home valleys.

So a group's monthly total is Poisson with the sum of its provinces' intensities; no
fighters, no attacks. Counts are drawn by inverting the Poisson CDF at this step's
uniform of the ``raids`` stream (one per province and ground-holding faction, drawn
before the run: only a faction that holds ground can be hostile to the government).

Feedback, this step: each attack harms ``raid_harm`` civilians in its province (added to
``s.harm`` by the attacker, read by sentiment next phase) and kills ``raid_losses``
government fighters. Attacks build the attacker's notice ``N_f <- N_f (1 - raid_memory)^dt
+ n_f``, which donors see as attention ``raid_attention tanh(N_f / raid_attention_scale)``
added to the success signal (7.1). Jihadist attacks abroad and the threat they raise stay
in the terror phase (7.7).

The phase allocates nothing: the counts go into the state's ``raids`` array, and a
province without the group or the government costs one comparison.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit

#: Weight of a group's home province in its presence where it holds no ground there.
HOME_PRESENCE = 0.01


@jit
def poisson_count(u: float, lam: float) -> int:
    """The Poisson(``lam``) count at the uniform ``u`` (inverse CDF; 0 for ``lam <= 0``).

    Args:
        u: a uniform on [0, 1).
        lam: the mean.

    Returns:
        The smallest ``k`` with ``P(X <= k) >= u``.
    """
    if lam <= 0.0 or u <= 1.0 - lam:  # 1 - lam <= exp(-lam) = P(0): zero, without the exponential
        return 0
    k = 0
    pk = math.exp(-lam)
    cdf = pk
    while u > cdf and k < 10000:
        k += 1
        pk *= lam / k
        cdf += pk
        if pk < 1e-300 and k > lam:  # the tail carries no more mass in double precision
            break
    return k


@jit
def saturating(x: float, half: float, floor: float) -> float:
    """``floor + (1 - floor) x / (x + half)`` for ``x >= 0`` (1 when ``half`` is 0)."""
    x = max(x, 0.0)
    return floor + (1.0 - floor) * (x / (x + half) if half > 0.0 else 1.0)


@jit
def tempo(strength: float, materiel: float, funds: float, boost: float, rate: float, arms_half: float,
          funds_half: float, floor: float) -> float:
    """Expected attacks per month of a hostile group (``boost`` is sanctuary's factor)."""
    if strength <= 0.0:
        return 0.0
    return rate * strength * 1e-3 * saturating(materiel, arms_half, floor) * saturating(funds, funds_half, floor) \
        * boost


@jit
def sanctuary_boost(sanctuary: np.ndarray, f: int, gain: float) -> float:
    """``1 + gain min(1, sum_s sanctuary[s, f])``: rear bases across a border raise the tempo."""
    cover = 0.0
    for q in range(sanctuary.shape[0]):
        cover += sanctuary[q, f]
    return 1.0 + gain * min(cover, 1.0)


@jit
def raider(hostility: np.ndarray, guerrilla: np.ndarray, g: int, f: int) -> bool:
    """Whether faction ``f`` raids the government ``g``: a guerrilla group hostile to it."""
    return f != g and hostility[f, g] > 0.0 and guerrilla[f] > 0.0


@jit
def intensity(c: Const, p: Pars, s: State, f: int) -> float:
    """Expected attacks by faction f this step, over all its provinces (0 if it is not hostile).

    For callers outside the phase (tests, analysis); :func:`raid` computes the same from arrays.
    """
    if not raider(c.hostility, c.guerrilla, c.gov, f):
        return 0.0
    boost = sanctuary_boost(s.sanctuary, f, p.raid_sanctuary)
    return c.dt * tempo(s.strength[f], s.materiel[f], s.funds[f], boost, p.raid_rate, p.raid_arms_half,
                        p.raid_funds_half, p.raid_floor)


@jit
def presence(control: np.ndarray, home: np.ndarray, gov: int, f: int, i: int) -> float:
    """Faction f's presence weight in province i: its ground plus a trace at home, where the government is."""
    if control[i, gov] <= 0.0:
        return 0.0
    return control[i, f] + HOME_PRESENCE * home[i, f]


@jit
def presence_total(control: np.ndarray, home: np.ndarray, gov: int, f: int) -> float:
    """Faction f's presence summed over the provinces where the government holds ground."""
    total = 0.0
    for i in range(control.shape[0]):
        total += presence(control, home, gov, f, i)
    return total


class Theatre(NamedTuple):
    """Where attacks can happen: control shares [P, F], home provinces [P, F] and the government."""

    control: np.ndarray
    home: np.ndarray
    gov: int


@jit
def counts(w: Theatre, f: int, lam: float, u: np.ndarray, raids: np.ndarray, harm: np.ndarray,
           per_attack: float) -> int:
    """Draw faction f's counts by province into ``raids[:, f]`` from ``u`` and add their harm; return the total.

    Args:
        w: control, home provinces and the government.
        f: the attacking faction.
        lam: its expected attacks this step over all provinces.
        u: [P] this step's uniforms for f.
        raids: [P, F] this step's counts, written in place.
        harm: [P, F] civilian harm by faction, added to in place.
        per_attack: civilians harmed per attack.

    Returns:
        f's attacks this step.
    """
    control, home, gov = w.control, w.home, w.gov
    wsum = presence_total(control, home, gov, f)
    if wsum <= 0.0:
        return 0
    per_weight = lam / wsum
    n = 0
    for i in range(control.shape[0]):
        w = presence(control, home, gov, f, i)
        if w > 0.0:
            k = poisson_count(u[i], per_weight * w)
            if k > 0:
                raids[i, f] = k
                harm[i, f] += per_attack * k
                n += k
    return n


class Raiders(NamedTuple):
    """The constants the raids read, by their :class:`Const` names (a view on the bundle)."""

    gov: int
    dt: float
    hostility: np.ndarray
    guerrilla: np.ndarray
    noise_column: np.ndarray
    home: np.ndarray


class Raided(NamedTuple):
    """The state the raids read and write, by their :class:`State` names (a view on the bundle)."""

    raids: np.ndarray
    notice: np.ndarray
    strength: np.ndarray
    materiel: np.ndarray
    funds: np.ndarray
    control: np.ndarray
    sanctuary: np.ndarray
    harm: np.ndarray


@jit
def raid(c: Const, p: Pars, s: State, u: np.ndarray) -> None:
    """This step's attack counts ``s.raids [P, F]`` from the uniforms ``u [P, ground-holding factions]``.

    One call on views of the bundles (:class:`Raiders`, :class:`Raided`): a compiled call that
    takes a bundle touches the reference count of every array in it.

    Args:
        c: constants (hostility, mode, home provinces, the government, ``noise_column``, ``dt``).
        p: parameters (the ``raid_*`` values).
        s: state: raids, harm, notice and the government's strength updated in place.
        u: this step's uniforms of the ``raids`` stream, one column per ground-holding faction.
    """
    raid_on(Raiders(c.gov, c.dt, c.hostility, c.guerrilla, c.noise_column, c.home), p,
            Raided(s.raids, s.notice, s.strength, s.materiel, s.funds, s.control, s.sanctuary, s.harm), u)


@jit
def raid_on(c: Raiders, p: Pars, s: Raided, u: np.ndarray) -> None:
    """The body of :func:`raid`, on the views."""
    raids, notice, strength, materiel, funds = s.raids, s.notice, s.strength, s.materiel, s.funds
    hostility, column, sanctuary, guerrilla = c.hostility, c.noise_column, s.sanctuary, c.guerrilla
    theatre = Theatre(s.control, c.home, c.gov)
    g, dt, F = c.gov, c.dt, raids.shape[1]
    rate, arms_half, funds_half, floor = p.raid_rate, p.raid_arms_half, p.raid_funds_half, p.raid_floor
    gain, per_attack, keep = p.raid_sanctuary, p.raid_harm, (1.0 - p.raid_memory) ** dt
    for i in range(raids.shape[0]):  # a loop: numba's slice assignment costs twice as much
        for f in range(F):
            raids[i, f] = 0
    total = 0
    for f in range(F):
        n = 0
        col = column[f]
        if raider(hostility, guerrilla, g, f) and strength[f] > 0.0 and col >= 0 and col < u.shape[1]:
            lam = dt * tempo(strength[f], materiel[f], funds[f], sanctuary_boost(sanctuary, f, gain), rate,
                             arms_half, funds_half, floor)
            n = counts(theatre, f, lam, u[:, col], raids, s.harm, per_attack) if lam > 0.0 else 0
        notice[f] = notice[f] * keep + n
        total += n
    if total > 0:
        strength[g] = max(strength[g] - p.raid_losses * total, 0.0)


@jit
def add_attention(p: Pars, notice: np.ndarray, success: np.ndarray) -> None:
    """Add to ``success`` what donors see of groups' attacks: ``raid_attention tanh(N_f / raid_attention_scale)``."""
    for f in range(notice.shape[0]):
        if notice[f] > 0.0:
            success[f] += p.raid_attention * math.tanh(notice[f] / p.raid_attention_scale)


@jit
def attention(p: Pars, notice: np.ndarray) -> np.ndarray:
    """What donors see of groups' attacks, per faction (:func:`add_attention` onto zeros)."""
    out = np.zeros(notice.shape[0])
    add_attention(p, notice, out)
    return out


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 4b: groups hostile to the government attack its forces; harm, losses, notice."""
    raid(c, p, s, d.raid[t - 1])
