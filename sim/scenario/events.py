"""Scenario-level rules for events: what an event may change, and whether it can happen at all.

An event's ``set``, ``scale`` and ``shift`` change the scenario's rules from then on,
through dotted paths under ``parameters``, ``factions.<key>`` or ``donors.<key>``;
initial state and identity cannot be changed that way. :func:`check_events` applies
the events in list order to the rules alone (the events themselves never change), so
validating a file with many events costs time in proportion to their number. The
run-time side (triggers, effects on the run's arrays) is :mod:`sim.events`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sim.calendar import horizon_steps
from sim.geography import Map
from sim.parameters import Parameters
from sim.scenario.errors import ScenarioError, need, suggest
from sim.scenario.merge import put_path, validate_data
from sim.scenario.references import check_references
from sim.scenario.schema import DonorSpec, EventSpec, FactionSpec, ScenarioSpec, StateEffects, When

# Fields an event may not change: they are initial state (use ``state:`` effects) or identity.
FROZEN_FACTION_FIELDS = frozenset({"label", "kind", "territorial", "strength", "funds", "materiel", "control",
                                   "holds_remainder", "cohesion", "dormant", "splits_into"})
FROZEN_STATE_FIELDS = frozenset({"label", "kind", "country", "threat", "recognises"})
ALWAYS, NEVER = -10.0, 10.0  # recognition thresholds a stance cannot cross
TIME_TRIGGERS = ("date", "month", "step")


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
    for state in event.state.recognise:
        put_path(data, f"donors.{state}.recognition_threshold", ALWAYS, source)
    for state in event.state.withdraw_recognition:
        put_path(data, f"donors.{state}.recognition_threshold", NEVER, source)


def apply_event(spec: ScenarioSpec, event: EventSpec, source: str = "event") -> ScenarioSpec:
    """The scenario as it is after ``event`` changes its rules.

    Raises:
        ScenarioError: if a path is not allowed or the result is not a valid scenario.
    """
    # a fresh dump belongs to nobody else, so the changes go into it without copies
    data = spec.model_dump(mode="python")
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


def check_events(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check that every event can happen and that its changes make a valid scenario.

    The rule changes are applied in list order to the scenario without its events: no
    event can change the events, and carrying them along made every change re-validate
    all of them (quadratic in their number).

    Raises:
        ScenarioError: naming the event (``events[i]``) and the field.
    """
    names: set[str] = set()
    rules = spec.model_copy(update={"events": []})
    for i, ev in enumerate(spec.events):
        where = f"{path}: events[{i}] ({ev.name})"
        if ev.name in names:
            raise ScenarioError(f"{where}: name: another event has this name")
        names.add(ev.name)
        _check_time(ev.when, spec, where)
        _check_condition(ev.when, spec, m, where)
        _check_effects(ev.state, spec, where)
        if ev.changes_rules:
            rules = apply_event(rules, ev, where)
            check_references(rules, m, where)
