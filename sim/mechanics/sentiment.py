"""Sentiment and population: who the people side with, and where they go (ODD 7.5).

Summary of rule: the anti-Taliban share ``sigma_i`` of each province drifts back to its
structural prior (mechanism 4: the north is most opposed), toward whoever controls the
province (Kalyvas 2006: control breeds collaboration), up under repression, against
whoever harms civilians (Bennett 2008; Kress & Szechtman 2009), and up next to
well-governed liberated zones, which also draw opponents of the government to move
there (mechanism 5, role-model zones).

``dsigma = dt [nu (prior - sigma) + chi (c+ (1 - sigma) - c- sigma)
+ anger * repression * C_gov (1 - sigma) + role * (neighbour mean of lib) (1 - sigma)]
+ harm_anger * sum_g harm_ig (-alignment_g) / (pop_i / 1000)``, with ``c = sum_f C_f alignment_f``
split into its positive and negative parts, and ``lib_i = sum_f C_if governance_f``
over resistance factions (the well-governed liberated share).

Migration: ``movers_i = rate dt pop_i sigma_i C_gov,i min(1, sum lib)`` go to liberated
zones in proportion to ``lib``; they are opponents, so sentiment at the destination is
the population-weighted mix. Total population is conserved.
"""

from __future__ import annotations

import numpy as np

from sim.jit import jit
from sim.mechanics.space import neighbour_mean_1d


@jit
def update(sentiment: np.ndarray, prior: np.ndarray, control: np.ndarray, alignment: np.ndarray,
           governance_weight: np.ndarray, gov: int, harm: np.ndarray, population: np.ndarray,
           nb_ptr: np.ndarray, nb_idx: np.ndarray, reversion: float, collaboration: float, repression: float,
           anger: float, harm_anger: float, role_model: float, migration: float, dt: float) -> float:
    """One month of sentiment change and migration; updates sentiment and population in place.

    Returns:
        The number of people who moved.
    """
    P, F = control.shape
    lib = np.zeros(P)
    for i in range(P):
        for f in range(F):
            lib[i] += control[i, f] * governance_weight[f]
    total_lib = lib.sum()
    nb_lib = neighbour_mean_1d(lib, nb_ptr, nb_idx)
    new = np.empty(P)
    for i in range(P):
        s = sentiment[i]
        c = 0.0
        h = 0.0
        for f in range(F):
            c += control[i, f] * alignment[f]
            h -= harm[i, f] * alignment[f]
        d = reversion * (prior[i] - s)
        d += collaboration * (max(c, 0.0) * (1.0 - s) + min(c, 0.0) * s)
        d += anger * repression * control[i, gov] * (1.0 - s)
        d += role_model * nb_lib[i] * (1.0 - s)
        d = d * dt + harm_anger * h / max(population[i] * 1e-3, 1e-9)
        new[i] = min(max(s + d, 0.0), 1.0)
    if total_lib <= 0.0 or migration <= 0.0:
        sentiment[:] = new
        return 0.0
    movers = np.empty(P)
    moved = 0.0
    reach = migration * dt * min(1.0, total_lib)
    for i in range(P):
        movers[i] = reach * population[i] * new[i] * control[i, gov]
        moved += movers[i]
    for i in range(P):
        arrivals = moved * lib[i] / total_lib
        opponents = population[i] * new[i] - movers[i] + arrivals
        population[i] = population[i] - movers[i] + arrivals
        sentiment[i] = min(max(opponents / population[i], 0.0), 1.0)
    return moved
