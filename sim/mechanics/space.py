"""Neighbourhood sums on the province graph, in compressed sparse row form.

A province has about five neighbours, so averaging over neighbours with an index
list costs a fraction of a dense provinces x provinces product.
"""

from __future__ import annotations

import numpy as np

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
def observe(control: np.ndarray, area_weight: np.ndarray, territory: np.ndarray, momentum: np.ndarray,
            held: np.ndarray, held_before: np.ndarray, threshold: float, memory: float, dt: float) -> int:
    """Update territory shares, their momentum and the held provinces, in place.

    ``territory_f = sum_i area_i C_if / sum area``; momentum is an exponential average of the
    territory change per month, ``momentum <- (1 - a) momentum + a * (territory - previous) / dt``
    with ``a = 1 - (1 - memory)^dt`` (the same memory per month whatever the step); a
    province is held by f when ``C_if >= threshold``.

    Returns:
        The number of (province, faction) pairs whose held status changed.
    """
    P, F = control.shape
    a = 1.0 - (1.0 - memory) ** dt
    for f in range(F):
        t = 0.0
        for i in range(P):
            t += area_weight[i] * control[i, f]
        momentum[f] = (1.0 - a) * momentum[f] + a * (t - territory[f]) / dt
        territory[f] = t
    changed = 0
    for i in range(P):
        for f in range(F):
            h = control[i, f] >= threshold
            held_before[i, f] = held[i, f]
            if h != held[i, f]:
                changed += 1
                held[i, f] = h
    return changed
