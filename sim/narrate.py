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
    steps = first + np.flatnonzero(r.recognitions[first:last + 1] > 0)
    if steps.size == 0:
        return []
    # the stages of all those steps compared with the step before at once (row-major: by step, then donor)
    now, before = r.recognition_stage[steps], r.recognition_stage[steps - 1]
    rows, donors = np.nonzero(now != before)
    government = st.faction_labels[st.gov]
    out = []
    for k, d in zip(rows.tolist(), donors.tolist(), strict=True):
        new, old = int(now[k, d]), int(before[k, d])
        verb = _STAGE_UP[new] if new > old else _STAGE_DOWN[new]
        out.append((int(steps[k]), f"{st.donor_labels[d]} {verb} the {government} government"))
    return out


def _capitals(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    span = r.capital_lost[first:last + 1]
    if not span.any():  # the usual case, without building index arrays
        return []
    rows, factions = np.nonzero(span)
    return [(first + int(k), f"the {st.faction_labels[f]} lose their capital, {st.map.names[st.const.capital[f]]}; "
                             f"{p.capital_collapse:.0%} of their fighters desert")
            for k, f in zip(rows, factions, strict=True)]


def _front(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    joined, left = r.joined[first:last + 1], r.left[first:last + 1]
    if not (joined.any() or left.any()):
        return []
    labels, out = st.faction_labels, []
    for t in _steps(joined.any(axis=1) | left.any(axis=1), first):
        names = [labels[f] for f in np.flatnonzero(r.joined[t])]
        if names and r.front_size[t] < 2:
            out.append((t, f"the {' and the '.join(names)} form a united front"))
        else:
            out += [(t, f"the {name} join the united front") for name in names]
        out += [(t, f"the {labels[f]} leave the united front") for f in np.flatnonzero(r.left[t])]
    return out


def _split(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    if not r.split[first:last + 1].any():
        return []
    c = st.const
    return [(t, f"the {st.faction_labels[c.split_child]} break from the {st.faction_labels[c.gov]} "
                f"(cohesion {r.cohesion[t]:.2f}), taking {c.split_strength:.0%} of their fighters")
            for t in _steps(r.split[first:last + 1], first)]


def _captures(st: Setup, p: Pars, r: Record, first: int, last: int) -> Log:
    changed = r.holder[first:last + 1] != r.holder[first - 1:last]
    if not changed.any():
        return []
    out = []
    for k, i in zip(*np.nonzero(changed), strict=True):
        t = first + int(k)
        new, old = st.faction_labels[r.holder[t, i]], st.faction_labels[r.holder[t - 1, i]]
        out.append((t, f"the {new} take {st.map.names[i]}: {st.map.capitals[i]}'s garrison of the {old} "
                       f"surrenders ({r.control[t, i, r.holder[t, i]]:.0%} of the province)"))
    return out
