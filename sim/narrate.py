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
    """What happened in steps ``first`` to ``last``, as (step, text), in phase order within a step.

    Each part finds the steps of its own news over the whole span with array operations, so
    the quiet steps of a long run cost no Python.
    """
    log: Log = []
    for part in (_recognitions, _capitals, _front, _split, _captures):
        log += part(st, p, r, first, last)
    return sorted(log, key=lambda item: item[0])  # stable: within a step, the parts keep their order


def _steps(mask: np.ndarray, first: int) -> list[int]:
    """The steps of a span (``mask`` over steps ``first``...) where something happened."""
    return (first + np.flatnonzero(mask)).tolist()


#: What a state does when it reaches a stage of recognition (up) or falls back from it (down).
_STAGE_UP = ("", "engages with", "accepts an ambassador of", "recognises")
_STAGE_DOWN = ("breaks off its engagement with", "recalls its acceptance of the ambassador of",
               "withdraws its recognition of")


def _recognitions(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    out = []
    for t in _steps(r.recognitions[first:last + 1] > 0, first):
        for d in np.flatnonzero(r.recognition_stage[t] != r.recognition_stage[t - 1]):
            new, old = int(r.recognition_stage[t, d]), int(r.recognition_stage[t - 1, d])
            verb = _STAGE_UP[new] if new > old else _STAGE_DOWN[new]
            out.append((t, f"{st.donor_labels[d]} {verb} the {st.faction_labels[st.gov]} government"))
    return out


def _capitals(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    rows, factions = np.nonzero(r.capital_lost[first:last + 1])
    return [(first + int(k), f"the {st.faction_labels[f]} lose their capital, {st.map.names[st.const.capital[f]]}; "
                             f"{p.capital_collapse:.0%} of their fighters desert")
            for k, f in zip(rows, factions, strict=True)]


def _front(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    labels, out = st.faction_labels, []
    for t in _steps(r.joined[first:last + 1].any(axis=1) | r.left[first:last + 1].any(axis=1), first):
        names = [labels[f] for f in np.flatnonzero(r.joined[t])]
        if names and r.front_size[t] < 2:
            out.append((t, f"the {' and the '.join(names)} form a united front"))
        else:
            out += [(t, f"the {name} join the united front") for name in names]
        out += [(t, f"the {labels[f]} leave the united front") for f in np.flatnonzero(r.left[t])]
    return out


def _split(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    c = st.const
    return [(t, f"the {st.faction_labels[c.split_child]} break from the {st.faction_labels[c.gov]} "
                f"(cohesion {r.cohesion[t]:.2f}), taking {c.split_strength:.0%} of their fighters")
            for t in _steps(r.split[first:last + 1], first)]


def _captures(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    out = []
    for k, i in zip(*np.nonzero(r.holder[first:last + 1] != r.holder[first - 1:last]), strict=True):
        t = first + int(k)
        new, old = st.faction_labels[r.holder[t, i]], st.faction_labels[r.holder[t - 1, i]]
        out.append((t, f"the {new} take {st.map.names[i]}: {st.map.capitals[i]}'s garrison of the {old} "
                       f"surrenders ({r.control[t, i, r.holder[t, i]]:.0%} of the province)"))
    return out
