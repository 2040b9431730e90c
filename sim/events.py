"""Scenario events at run time: triggers checked at the start of each step, effects applied.

An event fires once, at the start of the step in which its trigger holds (phase 0,
before donors decide), and is written to the event log with its own words. A time
trigger (date, month, step) fires in the step that contains that time; a condition
(provinces held by the resistance, an attack, a territory bound, cohesion, threat) is
checked against the state at the end of the previous step. Rule changes (``set``,
``scale``, ``shift``, recognition) give a new scenario, compiled once per process for
each sequence of fired events; state effects change the run's arrays at once. Events
draw no random numbers, so a scenario with events keeps the baseline's random streams.
"""

from __future__ import annotations

import math

import numpy as np
from mesa import Model

from sim.scenario import EventSpec, ScenarioSpec, apply_event

# (scenario id, fired event indices) -> scenario after those events, shared by all runs of a process
_SPECS: dict[tuple[int, tuple[int, ...]], tuple[ScenarioSpec, ScenarioSpec]] = {}


class EventRunner:
    """The events of one run: which have fired, and how to fire the others."""

    def __init__(self, model: Model) -> None:
        """Resolve time triggers to step numbers for this run's calendar.

        Args:
            model: the :class:`sim.model.ConflictModel` whose events these are (typed as a
                Mesa model: this module sits below the model and does not import it).
        """
        self.model = model
        self.events: list[EventSpec] = list(model.spec.events)
        self.fired: list[int] = []
        self.pending = list(range(len(self.events)))
        dates = model.dates
        self.fire_step: dict[int, int] = {}
        for i, ev in enumerate(self.events):
            w = ev.when
            if w.date is not None:
                # the step that contains the date: the first whose end is after it
                after = np.flatnonzero(dates > np.datetime64(w.date, "D"))
                self.fire_step[i] = int(after[0]) if after.size else model.horizon + 1
            elif w.month is not None:
                self.fire_step[i] = math.floor(w.month / model.dt + 1e-9) + 1
            elif w.step is not None:
                self.fire_step[i] = w.step

    def span_end(self, first: int) -> int:
        """The last step that can run with ``first`` before the next event may fire.

        While a condition is pending, steps run one at a time (a condition is checked at the
        start of every step); otherwise they run up to the step before the next timed event.
        """
        horizon = self.model.horizon
        if any(i not in self.fire_step for i in self.pending):
            return first
        later = [self.fire_step[i] for i in self.pending if self.fire_step[i] > first]
        return min([horizon, *(s - 1 for s in later)])

    def check(self, t: int) -> None:
        """Fire every pending event whose trigger holds at the start of step ``t``."""
        for i in list(self.pending):
            if self._triggered(i, t):
                self.pending.remove(i)
                self._fire(i, t)

    def _triggered(self, i: int, t: int) -> bool:
        ev, m = self.events[i], self.model
        if i in self.fire_step:
            return t >= self.fire_step[i]
        w = ev.when
        if w.not_before is not None and m.dates[t - 1] < np.datetime64(w.not_before, "D"):
            return False
        st = m.setup
        if w.resistance_holds is not None:
            combined = m.control[:, st.resistance].sum(axis=1)
            return int((combined >= m.pars.held_threshold).sum()) >= w.resistance_holds
        if w.attack is not None:  # the attacks of the last step (none before the first)
            by, hits = st.faction_keys.index(w.attack.by), st.donor_keys.index(w.attack.hits)
            return bool(m.state.attacks[by, hits] > 0)
        if w.territory is not None:
            share = m.territory[st.faction_keys.index(w.territory.actor)]
            if w.territory.at_least is not None:
                return bool(share >= w.territory.at_least)
            return bool(share <= w.territory.at_most)
        if w.cohesion_below is not None:
            return m.government.cohesion < w.cohesion_below
        if w.threat is not None:
            return bool(m.threat[st.donor_keys.index(w.threat.state)] >= w.threat.at_least)
        return False

    def _fire(self, i: int, t: int) -> None:
        ev, m = self.events[i], self.model
        st = m.setup
        se = ev.state
        for f, share in se.kill.items():
            m.strength[st.faction_keys.index(f)] *= 1.0 - share
        for f, fighters in se.reinforce.items():
            m.strength[st.faction_keys.index(f)] += fighters
        for f, amount in se.funds.items():
            m.funds[st.faction_keys.index(f)] += amount
        if se.cohesion is not None:
            m.government.cohesion = min(max(m.government.cohesion + se.cohesion, 0.0), 1.0)
        for s, delta in se.threat.items():  # a shock of threat is blamed on the government's guests
            k = st.donor_keys.index(s)
            m.threat[k] = min(max(m.threat[k] + delta, 0.0), 1.0)
            m.state.sheltered_threat[k] = min(max(m.state.sheltered_threat[k] + delta, 0.0), 1.0)
        for s in se.recognise:  # formal recognition for good: stage 3 at once
            k = st.donor_keys.index(s)
            m.recognised[k], m.state.stage[k], m.state.dwell[k] = True, 3, 0.0
        for s in se.withdraw_recognition:  # back to an ambassador at most; the rules take it from there
            k = st.donor_keys.index(s)
            m.recognised[k], m.state.stage[k], m.state.dwell[k] = False, min(int(m.state.stage[k]), 2), 0.0
        for f in se.front:
            j = st.faction_keys.index(f)
            if m.strength[j] > 0:
                m.front[j] = True
        self.fired.append(i)
        if ev.changes_rules:
            key = (id(m.spec), tuple(self.fired))
            hit = _SPECS.get(key)
            if hit is not None and hit[0] is m.spec:
                spec = hit[1]
            else:
                spec = apply_event(m.active_spec, ev, f"events[{i}] ({ev.name})")
                if len(_SPECS) > 256:
                    _SPECS.clear()
                _SPECS[key] = (m.spec, spec)  # the base is kept so its id is not recycled
            m.rebind(spec)
        m.log(t, f"{ev.text} [event: {ev.name}]")
