"""Neighbourhood sums on the province graph, in compressed sparse row form.

A province has about five neighbours, so averaging over neighbours with an index
list costs a fraction of a dense provinces x provinces product.
"""

from __future__ import annotations

import numpy as np

from sim.bundles import Const, Draws, Pars, Record, State
from sim.jit import jit


@jit
def neighbour_mean(values: np.ndarray, ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (provinces x k) over each province's neighbours (0 for an isolated province)."""
    P, K = values.shape
    out = np.zeros((P, K))
    for i in range(P):
        n = ptr[i + 1] - ptr[i]
        if n == 0:
            continue
        for e in range(ptr[i], ptr[i + 1]):
            j = idx[e]
            for k in range(K):
                out[i, k] += values[j, k]
        for k in range(K):
            out[i, k] /= n
    return out


@jit
def neighbour_mean_1d(values: np.ndarray, ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of a per-province vector over each province's neighbours."""
    P = values.shape[0]
    out = np.zeros(P)
    for i in range(P):
        n = ptr[i + 1] - ptr[i]
        if n == 0:
            continue
        s = 0.0
        for e in range(ptr[i], ptr[i + 1]):
            s += values[idx[e]]
        out[i] = s / n
    return out


@jit
def step(c: Const, p: Pars, s: State, d: Draws, r: Record, t: int) -> None:
    """Phase 8: update territory shares, their momentum and the held provinces, in place.

    ``territory_f = sum_i area_i C_if / sum area``; momentum is an exponential average of the
    territory change per month, ``momentum <- (1 - a) momentum + a * (territory - previous) / dt``
    with ``a = 1 - (1 - memory)^dt`` (the same memory per month whatever the step); a
    province is held by f when ``C_if >= threshold``. The body takes the arrays it needs, not
    the bundles (see ``offensives.Arena``).
    """
    survey(c.area_weight, s.control, s.momentum, s.territory, s.held, c.dt, p.momentum_memory, p.held_threshold)


@jit
def survey(area_weight: np.ndarray, control: np.ndarray, momentum: np.ndarray, territory: np.ndarray,
           held: np.ndarray, dt: float, memory: float, threshold: float) -> None:
    """The body of :func:`step`, on its arrays."""
    P, F = control.shape
    a = 1.0 - (1.0 - memory) ** dt
    for f in range(F):
        x = 0.0
        for i in range(P):
            x += area_weight[i] * control[i, f]
        momentum[f] = (1.0 - a) * momentum[f] + a * (x - territory[f]) / dt
        territory[f] = x
    for i in range(P):
        for f in range(F):
            held[i, f] = control[i, f] >= threshold
