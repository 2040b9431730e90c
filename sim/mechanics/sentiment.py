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

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit
from sim.mechanics.space import neighbour_mean_1d


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 5: one step of sentiment change and migration; updates sentiment and population in place."""
    P, F = s.control.shape
    dt = c.dt
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
        h = 0.0
        for f in range(F):
            k += s.control[i, f] * c.alignment[f]
            h -= s.harm[i, f] * c.alignment[f]
        dx = p.sentiment_reversion * (c.prior[i] - x)
        dx += p.collaboration_rate * (max(k, 0.0) * (1.0 - x) + min(k, 0.0) * x)
        dx += p.anger_rate * p.repression * s.control[i, c.gov] * (1.0 - x)
        dx += p.role_model_rate * nb_lib[i] * (1.0 - x)
        dx = dx * dt + p.harm_anger * h / max(s.population[i] * 1e-3, 1e-9)
        new[i] = min(max(x + dx, 0.0), 1.0)
    if total_lib <= 0.0 or p.migration_rate <= 0.0:
        s.sentiment[:] = new
        return
    migrate(c, s, new, lib, p.migration_rate * dt * min(1.0, total_lib))


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
