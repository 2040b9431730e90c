"""Scenario-level rules for events: what an event may change, and whether it can happen at all.

An event's ``set``, ``scale`` and ``shift`` change the scenario's rules from then on,
through dotted paths under ``parameters``, ``factions.<key>`` or ``donors.<key>``;
initial state and identity cannot be changed that way. :func:`check_events` follows
the rules through every order a run may fire the events in, so a file that validates
never fails at run time for its events, in time proportional to their number. The
run-time side (triggers, effects on the run's arrays) is :mod:`sim.events`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from pydantic import ValidationError

from sim.calendar import STEP_MONTHS, horizon_steps, step_dates
from sim.geography import Map
from sim.parameters import Parameters
from sim.scenario.errors import ScenarioError, format_validation_error, need, suggest
from sim.scenario.merge import put_path, validate_data
from sim.scenario.references import check_references
from sim.scenario.schema import DonorSpec, EventSpec, FactionSpec, ScenarioSpec, StateEffects, When

# Fields an event may not change: they are initial state (use ``state:`` effects) or identity.
FROZEN_FACTION_FIELDS = frozenset({"label", "kind", "territorial", "strength", "funds", "materiel", "control",
                                   "holds_remainder", "cohesion", "dormant", "splits_into"})
FROZEN_STATE_FIELDS = frozenset({"label", "kind", "country", "threat", "recognises", "recognition_stage", "stance"})
ALWAYS, NEVER = -10.0, 10.0  # recognition thresholds a stance cannot cross
TIME_TRIGGERS = ("date", "month", "step")
MAX_CONDITIONS_PER_FIELD = 6  # conditions changing one field: all 2**n sets of them that may have fired are followed


def _parameter_path_problem(parts: list[str]) -> str | None:
    if len(parts) != 2:
        return "expected parameters.<name>"
    if parts[1] not in Parameters.model_fields:
        return f"unknown parameter{suggest(parts[1], list(Parameters.model_fields))}"
    return None


def _actor_path_problem(spec: ScenarioSpec, parts: list[str]) -> str | None:
    section = parts[0]
    pool = spec.factions if section == "factions" else spec.donors
    model = FactionSpec if section == "factions" else DonorSpec
    frozen = FROZEN_FACTION_FIELDS if section == "factions" else FROZEN_STATE_FIELDS
    if len(parts) < 3:
        return f"expected {section}.<key>.<field>"
    if parts[1] not in pool:
        return f"unknown {section[:-1]} {parts[1]!r}{suggest(parts[1], list(pool))}"
    if parts[2] not in model.model_fields:
        return f"unknown field{suggest(parts[2], list(model.model_fields))}"
    if parts[2] in frozen:
        return f"{parts[2]!r} is initial state or identity; an event changes it through 'state:' effects"
    return None


def event_path_problem(spec: ScenarioSpec, path: str) -> str | None:
    """Why an event may not change the dotted ``path`` of ``spec``, or None when it may."""
    parts = path.split(".")
    if parts[0] == "parameters":
        return _parameter_path_problem(parts)
    if parts[0] in ("factions", "donors"):
        return _actor_path_problem(spec, parts)
    return "an event may change only parameters.*, factions.<key>.* and donors.<key>.*"


def _get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _new_value(data: dict[str, Any], kind: str, path: str, value: Any, where: str) -> Any:
    """The value ``path`` takes: ``value`` itself for ``set``, else the current number scaled or shifted."""
    if kind == "set":
        return value
    current = _get_path(data, path)
    if not isinstance(current, int | float) or isinstance(current, bool):
        raise ScenarioError(f"{where}: can only {kind} a number, found {current!r}")
    return current * value if kind == "scale" else current + value


def _change_rules(spec: ScenarioSpec, data: dict[str, Any], event: EventSpec, source: str) -> None:
    """Apply the event's rule changes to ``data`` (the dump of ``spec``) in place."""
    for kind, changes in (("set", event.set), ("scale", event.scale), ("shift", event.shift)):
        for path, value in changes.items():
            where = f"{source}.{kind}.{path}"
            problem = event_path_problem(spec, path)
            if problem:
                raise ScenarioError(f"{where}: {problem}")
            put_path(data, path, _new_value(data, kind, path, value, where), where)
    for states, threshold in ((event.state.recognise, ALWAYS), (event.state.withdraw_recognition, NEVER)):
        for state in states:
            put_path(data, f"donors.{state}.recognition_threshold", threshold, source)


def apply_event(spec: ScenarioSpec, event: EventSpec, source: str = "event") -> ScenarioSpec:
    """The scenario as it is after ``event`` changes its rules.

    Raises:
        ScenarioError: if a path is not allowed or the result is not a valid scenario.
    """
    data = spec.model_dump(mode="python")  # a fresh dump belongs to nobody else: changed without copies
    _change_rules(spec, data, event, source)
    return validate_data(data, source)


def _run_end(spec: ScenarioSpec) -> dt.date:
    # the expression is kept as it was: the end date is part of error messages users see
    return spec.start + dt.timedelta(days=round(spec.months * 365.2425 / 12))


def _check_time(w: When, spec: ScenarioSpec, where: str) -> None:
    """A time trigger falls inside the run; only a condition can be delayed."""
    end = _run_end(spec)
    if w.date is not None and not spec.start <= w.date <= end:
        raise ScenarioError(f"{where}: when.date: {w.date} is outside the run ({spec.start} to {end})")
    if w.month is not None and w.month > spec.months:
        raise ScenarioError(f"{where}: when.month: {w.month} is after the horizon ({spec.months} months)")
    if w.step is not None and w.step > horizon_steps(spec.months, spec.time_step):
        raise ScenarioError(f"{where}: when.step: {w.step} is after the last step")
    if w.not_before is not None and w.trigger in TIME_TRIGGERS:
        raise ScenarioError(f"{where}: when.not_before: only a condition can be delayed")


def _check_condition(w: When, spec: ScenarioSpec, m: Map, where: str) -> None:
    """A condition names actors that exist and can come true."""
    factions, states = list(spec.factions), list(spec.donors)
    if w.attack is not None:
        need(w.attack.by, factions, f"{where}: when.attack.by", "faction")
        need(w.attack.hits, states, f"{where}: when.attack.hits", "state")
        if spec.factions[w.attack.by].targets.get(w.attack.hits, 0.0) <= 0.0:
            raise ScenarioError(f"{where}: when.attack: {w.attack.by} never targets {w.attack.hits}")
    if w.territory is not None:
        need(w.territory.actor, factions, f"{where}: when.territory.actor", "faction")
    if w.threat is not None:
        need(w.threat.state, states, f"{where}: when.threat.state", "state")
    if w.resistance_holds is not None and w.resistance_holds > m.n:
        raise ScenarioError(f"{where}: when.resistance_holds: the map has only {m.n} provinces")


def _check_effects(se: StateEffects, spec: ScenarioSpec, where: str) -> None:
    """State effects name factions and states that exist."""
    for f in (*se.kill, *se.reinforce, *se.funds, *se.front):
        need(f, list(spec.factions), f"{where}: state", "faction")
    for s in (*se.threat, *se.recognise, *se.withdraw_recognition):
        need(s, list(spec.donors), f"{where}: state", "state")


def _fire_step(w: When, spec: ScenarioSpec, dates: np.ndarray) -> int | None:
    """The step a time trigger fires in, computed as :class:`sim.events.EventRunner` does; None for a condition."""
    if w.date is not None:
        after = np.flatnonzero(dates > np.datetime64(w.date, "D"))  # the first step that ends after the date
        return int(after[0]) if after.size else len(dates)
    if w.month is not None:
        return math.floor(w.month / STEP_MONTHS[spec.time_step] + 1e-9) + 1
    return w.step


def _earliest_step(w: When, dates: np.ndarray) -> int:
    """The first step a condition may fire in: 1, or the first that starts on or after ``not_before``."""
    on = np.flatnonzero(dates >= np.datetime64(w.not_before or dates[0], "D"))
    return int(on[0]) + 1 if on.size else len(dates) + 1


def run_dates(spec: ScenarioSpec) -> np.ndarray:
    """The step dates of a run of the scenario to its own horizon."""
    return step_dates(spec.start, horizon_steps(spec.months, spec.time_step), spec.time_step)


def time_order(spec: ScenarioSpec) -> list[tuple[int, int]]:
    """(fire step, index) of the timed events, in the order a run fires them: by step, then as listed."""
    dates = run_dates(spec)
    steps = [(_fire_step(ev.when, spec, dates), i) for i, ev in enumerate(spec.events)]
    return sorted((s, i) for s, i in steps if s is not None)


def _where(path: str, spec: ScenarioSpec) -> Callable[[int], str]:
    return lambda i: f"{path}: events[{i}] ({spec.events[i].name})"  # messages about event i start so


def _check_each(spec: ScenarioSpec, m: Map, where: Callable[[int], str]) -> None:
    """What each event needs on its own: a unique name, a time in the run, names that exist."""
    names: set[str] = set()
    for i, ev in enumerate(spec.events):
        if ev.name in names:
            raise ScenarioError(f"{where(i)}: name: another event has this name")
        names.add(ev.name)
        _check_time(ev.when, spec, where(i))
        _check_condition(ev.when, spec, m, where(i))
        _check_effects(ev.state, spec, where(i))


def check_events(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check that every event can happen and that its changes make a valid scenario whenever it fires.

    Timed events change the rules in the order a run applies them (by step, then as
    listed), each to the scenario without its events: no event changes the events, and
    carrying them along re-validated all of them at every change (quadratic). A condition
    may fire at any step or never: it is checked alone, then the numbers it changes are
    followed through every order it may fire in (:func:`_check_orders`).

    Raises:
        ScenarioError: naming the event (``events[i]``) and the field.
    """
    where = _where(path, spec)
    _check_each(spec, m, where)
    base = rules = spec.model_copy(update={"events": []})
    timed = time_order(spec)
    for _, i in timed:
        if spec.events[i].changes_rules:
            rules = apply_event(rules, spec.events[i], where(i))
            check_references(rules, m, where(i))
    conditions = [i for i, ev in enumerate(spec.events) if ev.changes_rules and ev.when.trigger not in TIME_TRIGGERS]
    for i in conditions:
        _check_alone(base, spec.events[i], m, where(i))
    if conditions:
        _check_orders(spec, base, timed, conditions, where)


# ----------------------------------------------------------------------------- conditions, in every order


def _check_alone(base: ScenarioSpec, ev: EventSpec, m: Map, where: str) -> None:
    """A condition's paths, and the values it sets; what it scales or shifts depends on when it fires."""
    for kind, changes in (("scale", ev.scale), ("shift", ev.shift)):
        for path in changes:
            if problem := event_path_problem(base, path):
                raise ScenarioError(f"{where}.{kind}.{path}: {problem}")
    check_references(apply_event(base, ev.model_copy(update={"scale": {}, "shift": {}}), where), m, where)


FieldOps = list[tuple[str, Any]]  # an event's changes of one field: (set | scale | shift, value), in order


def _ops(ev: EventSpec) -> dict[str, FieldOps]:
    """The rule changes of an event, per dotted path, in the order the event applies them."""
    out: dict[str, FieldOps] = {}
    for kind, changes in (("set", ev.set), ("scale", ev.scale), ("shift", ev.shift)):
        for path, v in changes.items():
            out.setdefault(path, []).append((kind, v))
    for states, v in ((ev.state.recognise, ALWAYS), (ev.state.withdraw_recognition, NEVER)):
        for s in states:
            out.setdefault(f"donors.{s}.recognition_threshold", []).append(("set", v))
    return out


class _Span(NamedTuple):
    """The values a field may hold: the numbers ``lo`` to ``hi`` (none when lo > hi), maybe one other value."""

    lo: float = math.inf
    hi: float = -math.inf
    other: tuple[Any, ...] = ()  # a value that is not a number (a list, a text), if the field may hold one

    @classmethod
    def of(cls, v: Any) -> _Span:
        return cls(v, v) if isinstance(v, int | float) and not isinstance(v, bool) else cls(other=(v,))

    def hull(self, o: _Span) -> _Span:
        return _Span(min(self.lo, o.lo), max(self.hi, o.hi), self.other or o.other)

    def then(self, ops: FieldOps, where: Callable[[], str]) -> _Span:
        """The span after an event's changes (each is monotone, so the bounds go to the bounds)."""
        span = self
        for kind, v in ops:
            if kind == "set":
                span = _Span.of(v)
            elif span.other:
                found = "no value" if span.other[0] is None else repr(span.other[0])
                raise ScenarioError(f"{where()}: can only {kind} a number, and it may find {found} then "
                                    "(a condition may fire at any step, before or after the timed events)")
            else:
                span = _Span(span.lo * v, span.hi * v) if kind == "scale" else _Span(span.lo + v, span.hi + v)
        return span


Reached = tuple[float, int, frozenset[int], int]  # value, event giving it, conditions fired, last timed event


class _Field:
    """Every value one field may take while events fire: timed ones in order, conditions at any time."""

    def __init__(self, path: str, start: Any, where: Callable[[int], str]) -> None:
        self.path, self.where = path, where
        self.states = {frozenset(): _Span.of(start)}  # the conditions fired so far -> the values held then
        self.low: Reached | None = None
        self.high: Reached | None = None
        self.last_timed = -1

    def _apply(self, span: _Span, i: int, ops: FieldOps, fired: frozenset[int]) -> _Span:
        new = span.then(ops, lambda: f"{self.where(i)}: {ops[0][0]}.{self.path}")
        if new.lo <= new.hi and (self.low is None or new.lo < self.low[0]):
            self.low = (new.lo, i, fired, self.last_timed)
        if new.lo <= new.hi and (self.high is None or new.hi > self.high[0]):
            self.high = (new.hi, i, fired, self.last_timed)
        return new

    def timed(self, i: int, ops: FieldOps) -> None:
        """The timed event ``i`` fires, whichever conditions fired before."""
        self.states = {fired: self._apply(span, i, ops, fired) for fired, span in self.states.items()}
        self.last_timed = i

    def conditions(self, allowed: list[tuple[int, FieldOps]]) -> None:
        """Any of ``allowed`` that has not fired yet may fire now, in any order."""
        size = -1
        while (size := size + 1) <= max(len(f) for f in self.states):  # each pass may add states one larger
            for fired, span in [(f, s) for f, s in self.states.items() if len(f) == size]:
                for i, ops in allowed:
                    if i not in fired:
                        key = fired | {i}
                        new = self._apply(span, i, ops, key)
                        self.states[key] = self.states[key].hull(new) if key in self.states else new


def _follow(path: str, start: Any, ops: list[dict[str, FieldOps]], timed: list[tuple[int, int]],
            earliest: dict[int, int], where: Callable[[int], str]) -> _Field:
    """One field through the timed events that change it, with the conditions that change it at any time."""
    field = _Field(path, start, where)
    conds = [(i, ops[i][path]) for i in earliest if path in ops[i]]
    if len(conds) > MAX_CONDITIONS_PER_FIELD:
        raise ScenarioError(f"{where(conds[-1][0])}: {path}: more than {MAX_CONDITIONS_PER_FIELD} conditional "
                            "events change this field; every order they may fire in cannot be checked")
    changes = [(s, j, ops[j][path]) for s, j in timed if path in ops[j]]
    after: tuple[float, float] = (-math.inf, -1)
    for step, j, change in [*changes, (math.inf, math.inf, [])]:  # at the end, any condition may still fire
        field.conditions([(i, c) for i, c in conds if _between(earliest[i], i, after, (step, j))])
        if change:
            field.timed(j, change)
        after = (step, j)
    return field


def _between(earliest: int, i: int, after: tuple[float, float], before: tuple[float, float]) -> bool:
    """Whether condition ``i`` may fire after one timed event and before the next ((step, index) each)."""
    first = max(earliest, after[0] + (0 if i > after[1] else 1))  # in one step, events fire as listed
    return first <= before[0] - (0 if i < before[1] else 1)


def _refuse_overlaps(ops: list[dict[str, FieldOps]], conditions: list[int], where: Callable[[int], str]) -> None:
    """A condition may not change a field while another event changes a part of it, or the whole it is part of."""
    touched = {p for o in ops for p in o}
    wholes = {".".join(p.split(".")[:n]) for p in touched for n in range(1, p.count(".") + 1)}
    for i in conditions:
        for p in ops[i]:
            parts = p.split(".")
            whole = next((w for n in range(1, len(parts)) if (w := ".".join(parts[:n])) in touched), None)
            if p in wholes or whole is not None:
                raise ScenarioError(f"{where(i)}: {p}: a conditional event may not change this while another "
                                    f"event changes {'a part of it' if whole is None else whole}")


def _check_orders(spec: ScenarioSpec, base: ScenarioSpec, timed: list[tuple[int, int]], conditions: list[int],
                  where: Callable[[int], str]) -> None:
    """The lowest and highest value each field a condition changes may reach must be valid.

    The rules bound each field on its own, so these make every state a run may reach valid.
    """
    ops = [_ops(ev) for ev in spec.events]
    _refuse_overlaps(ops, conditions, where)
    dates = run_dates(spec)
    earliest = {i: _earliest_step(spec.events[i].when, dates) for i in conditions}
    data = base.model_dump(mode="python")
    paths = sorted({p for i in conditions for p in ops[i]})
    fields = [_follow(p, _get_path(data, p), ops, timed, earliest, where) for p in paths]
    for pick in ("low", "high"):
        reached = {f.path: r for f in fields if (r := getattr(f, pick)) is not None}
        variant = copy.deepcopy(data)
        for p, (v, *_) in reached.items():
            put_path(variant, p, v, where(0))
        try:
            ScenarioSpec.model_validate(variant, strict=True)
        except ValidationError as exc:
            raise ScenarioError(_unreachable(exc, reached, where, spec)) from None


def _unreachable(exc: ValidationError, reached: dict[str, Reached], where: Callable[[int], str],
                 spec: ScenarioSpec) -> str:
    """The message for a value a field may reach: the event that gives it and the conditions fired by then."""
    loc = ".".join(str(p) for p in exc.errors()[0]["loc"])
    path = next((p for p in reached if loc == p or loc.startswith(p + ".")), None)
    if path is None:
        return format_validation_error(where(0), exc, ScenarioSpec)
    _, i, fired, last = reached[path]
    before = [k for k in sorted(fired - {i}) if k != last] + ([last] if last >= 0 and i in fired else [])
    names = " and ".join(f"events[{k}] ({spec.events[k].name})" for k in before)
    if i in fired:  # a condition: the value depends on when it fires
        when = f"if it fires after {names}" if names else "whenever it fires"
    else:
        when = f"if {names} fired before it"
    return f"{format_validation_error(where(i), exc, ScenarioSpec)} ({when})"
