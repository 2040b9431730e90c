"""Sentiment and population: who the people side with, and where they go (ODD 7.5).

Summary of rule: the anti-Taliban share ``sigma_i`` of each province drifts back to its
structural prior (mechanism 4: the north is most opposed), toward whoever controls the
province (Kalyvas 2006: control breeds collaboration), up under repression, and up next
to well-governed liberated zones, which also draw opponents of the government to move
there (mechanism 5, role-model zones). Civilian harm turns people against whoever is
blamed for it (Bennett 2008; Kalyvas 2006: indiscriminate violence backfires) through a
provincial anger stock that decays within months (Condra & Shapiro 2012) and whose pull
on sentiment saturates toward a bounded target, so harm alone never pins a province at
unanimity.

Anger (a signed stock per province, in harm per 1000 inhabitants; positive when
pro-Taliban shooters are blamed)::

    a_i   = sum_g harm_ig (-alignment_g) / (pop_i / 1000)          this step's blamed harm
    A_i  <- A_i 2^(-dt / anger_half_life) + a_i
    g_i   = A_i / (|A_i| + anger_saturation)                       in (-1, 1)

Sentiment, with ``c = sum_f C_f alignment_f`` split into its positive and negative parts
and ``lib_i = sum_f C_if governance_f`` over resistance factions::

    dsigma = dt [nu (prior - sigma) + chi (c+ (1 - sigma) - c- sigma)
                 + anger_rate * repression * C_gov (1 - sigma) + role * (neighbour mean of lib) (1 - sigma)]
             + phi_i (U_i - sigma)+   if g_i > 0,   - phi_i (sigma - L_i)+   if g_i < 0
    phi_i = 1 - exp(-harm_anger dt |g_i|)                            share of the way per step
    U_i   = prior_i + anger_max_shift (1 - prior_i),   L_i = prior_i (1 - anger_max_shift)

so harm moves sentiment a saturating share of the way toward a target that lies at most
``anger_max_shift`` of the way from the prior to 1 (or to 0), and never past it.

Migration: ``movers_i = rate dt pop_i sigma_i C_gov,i min(1, sum lib)`` go to liberated
zones in proportion to ``lib``; they are opponents, so sentiment at the destination is
the population-weighted mix. Total population is conserved; anger stays where the harm was.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.space import neighbour_mean_1d


class Opinion(NamedTuple):
    """The constants sentiment reads, by their :class:`Const` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    dt: float
    gov: int
    governance_weight: np.ndarray
    nb_ptr: np.ndarray
    nb_idx: np.ndarray
    alignment: np.ndarray
    prior: np.ndarray


class Populace(NamedTuple):
    """The state sentiment reads and writes, by their :class:`State` names (a view on the bundle).

    A compiled call with a bundle touches the reference count of every array in it
    (see ``offensives.Arena``).
    """

    control: np.ndarray
    sentiment: np.ndarray
    anger: np.ndarray
    population: np.ndarray
    harm: np.ndarray


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 5: one step of anger, sentiment change and migration; updates them in place.

    The rules read views of the bundles (:class:`Opinion`, :class:`Populace`).
    """
    sway(Opinion(c.dt, c.gov, c.governance_weight, c.nb_ptr, c.nb_idx, c.alignment, c.prior),
         p, Populace(s.control, s.sentiment, s.anger, s.population, s.harm))


@jit
def sway(c: Opinion, p: Pars, s: Populace) -> None:
    """The body of :func:`step`, on the views."""
    P, F = s.control.shape
    dt = c.dt
    accumulate_anger(c, p, s)
    lib = np.zeros(P)
    for i in range(P):
        for f in range(F):
            lib[i] += s.control[i, f] * c.governance_weight[f]
    total_lib = lib.sum()
    nb_lib = neighbour_mean_1d(lib, c.nb_ptr, c.nb_idx)
    new = np.empty(P)
    for i in range(P):
        x = s.sentiment[i]
        k = 0.0
        for f in range(F):
            k += s.control[i, f] * c.alignment[f]
        dx = p.sentiment_reversion * (c.prior[i] - x)
        dx += p.collaboration_rate * (max(k, 0.0) * (1.0 - x) + min(k, 0.0) * x)
        dx += p.anger_rate * p.repression * s.control[i, c.gov] * (1.0 - x)
        dx += p.role_model_rate * nb_lib[i] * (1.0 - x)
        new[i] = min(max(x + dx * dt + harm_pull(p, c.prior[i], x, s.anger[i], dt), 0.0), 1.0)
    if total_lib <= 0.0 or p.migration_rate <= 0.0:
        s.sentiment[:] = new
        return
    migrate(c, s, new, lib, p.migration_rate * dt * min(1.0, total_lib))


@jit
def accumulate_anger(c: Const, p: Pars, s: State) -> None:
    """Decay each province's anger stock by its half-life, then add this step's blamed harm."""
    P, F = s.harm.shape
    # exact exponential decay over the step, so the half-life holds whatever the step length
    keep = math.exp(-math.log(2.0) * c.dt / p.anger_half_life)
    for i in range(P):
        h = 0.0
        for f in range(F):
            # blame by alignment: harm by a pro-Taliban shooter (alignment < 0) angers people against the Taliban
            h -= s.harm[i, f] * c.alignment[f]
        s.anger[i] = s.anger[i] * keep + h / max(s.population[i] * 1e-3, 1e-9)


@jit
def harm_pull(p: Pars, prior: float, x: float, anger: float, dt: float) -> float:
    """Change of sentiment ``x`` from the anger stock: a saturating pull toward a bounded target.

    Args:
        p: the parameters (``harm_anger``, ``anger_saturation``, ``anger_max_shift``).
        prior: the province's structural prior, which anchors the target.
        x: the sentiment before this step.
        anger: the province's anger stock after this step's harm (signed).
        dt: months per step.

    Returns:
        The change, never carrying sentiment past the target (``U`` above, ``L`` below).
    """
    g = anger / (abs(anger) + p.anger_saturation)
    share = 1.0 - math.exp(-p.harm_anger * dt * abs(g))
    if g > 0.0:
        return share * max(prior + p.anger_max_shift * (1.0 - prior) - x, 0.0)
    # blame on the Taliban's enemies (g < 0) pulls toward the lower target; g == 0 gives 0 here too
    return -share * max(x - prior * (1.0 - p.anger_max_shift), 0.0)


@jit
def migrate(c: Const, s: State, new: np.ndarray, lib: np.ndarray, reach: float) -> None:
    """Opponents under the government move to liberated zones, in proportion to their governance."""
    P = new.shape[0]
    total_lib = lib.sum()
    movers = np.empty(P)
    moved = 0.0
    for i in range(P):
        movers[i] = reach * s.population[i] * new[i] * s.control[i, c.gov]
        moved += movers[i]
    for i in range(P):
        arrivals = moved * lib[i] / total_lib
        opponents = s.population[i] * new[i] - movers[i] + arrivals
        s.population[i] = s.population[i] - movers[i] + arrivals
        s.sentiment[i] = min(max(opponents / s.population[i], 0.0), 1.0)
