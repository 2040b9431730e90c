"""The event log in plain words, written from the record after compiled steps.

The phases run as compiled code and only mark what happened (a recognition changed, a
capital fell, a front formed, the government split, a province changed hands) in the
record; this module turns those marks into sentences, step by step, in the order of the
phases, after the scenario events the step began with.
"""

from __future__ import annotations

import numpy as np

from sim.bundles import Pars, Record
from sim.setup import Setup

Log = list[tuple[int, str]]


def narrate(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    """What happened in steps ``first`` to ``last``, as (step, text) (only steps with news are looked at)."""
    span = slice(first, last + 1)
    news = (r.recognitions[span] > 0) | r.capital_lost[span].any(axis=1) | r.joined[span].any(axis=1) \
        | r.left[span].any(axis=1) | r.split[span] | (r.held[span] & ~r.held[first - 1:last]).any(axis=(1, 2))
    log: Log = []
    for t in first + np.flatnonzero(news):
        for part in (_recognitions, _capitals, _front, _split, _captures):
            log += [(int(t), text) for text in part(st, p, r, t)]
    return log


def _recognitions(st: Setup, p: Pars, r: Record, t: int) -> list[str]:
    out = []
    if r.recognitions[t]:
        for d in np.flatnonzero(r.recognised[t] != r.recognised[t - 1]):
            verb = "recognises" if r.recognised[t, d] else "withdraws its recognition of"
            out.append(f"{st.donor_labels[d]} {verb} the {st.faction_labels[st.gov]} government")
    return out


def _capitals(st: Setup, p: Pars, r: Record, t: int) -> list[str]:
    return [f"the {st.faction_labels[f]} lose their capital, {st.map.names[st.const.capital[f]]}; "
            f"{p.capital_collapse:.0%} of their fighters desert" for f in np.flatnonzero(r.capital_lost[t])]


def _front(st: Setup, p: Pars, r: Record, t: int) -> list[str]:
    labels = st.faction_labels
    names = [labels[f] for f in np.flatnonzero(r.joined[t])]
    if names and r.front_size[t] < 2:
        out = [f"the {' and the '.join(names)} form a united front"]
    else:
        out = [f"the {name} join the united front" for name in names]
    return out + [f"the {labels[f]} leave the united front" for f in np.flatnonzero(r.left[t])]


def _split(st: Setup, p: Pars, r: Record, t: int) -> list[str]:
    if not r.split[t]:
        return []
    c = st.const
    return [f"the {st.faction_labels[c.split_child]} break from the {st.faction_labels[c.gov]} "
            f"(cohesion {r.cohesion[t]:.2f}), taking {c.split_strength:.0%} of their fighters"]


def _captures(st: Setup, p: Pars, r: Record, t: int) -> list[str]:
    out = []
    for i, f in zip(*np.nonzero(r.held[t] & ~r.held[t - 1]), strict=True):
        prev = np.flatnonzero(r.held[t - 1, i])
        frm = f" from the {st.faction_labels[prev[0]]}" if prev.size else ""
        out.append(f"the {st.faction_labels[f]} take {st.map.names[i]}{frm} ({r.control[t, i, f]:.0%} control)")
    return out
