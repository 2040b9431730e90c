"""Scenario files: schema, safe loading, and errors that name the file and the field.

A scenario is a YAML file that names the actors (factions, jihadist groups, foreign
states, the diaspora), their initial state and behaviour parameters, the map and
the horizon, and overrides of the global rule coefficients (:mod:`sim.parameters`).
Everything is validated before a model is built: unknown keys (with a "did you
mean"), wrong types, out-of-range values, and names that point nowhere (a province
not on the map, a state that does not exist) all raise :class:`ScenarioError`,
whose message is one line starting with the file name.

One job per module, each importing only those above it in this list:

* :mod:`~sim.scenario.errors`: :class:`ScenarioError`, one-line messages, "did you mean";
* :mod:`~sim.scenario.schema`: the pydantic models and the JSON Schema;
* :mod:`~sim.scenario.safe_yaml`: the safe YAML reader (no tags, no duplicate keys, bounds);
* :mod:`~sim.scenario.merge`: ``extends`` (inside the file's folder tree), ``--set`` overrides, validation;
* :mod:`~sim.scenario.references`: names that must point to a province, faction or state;
* :mod:`~sim.scenario.events`: what events may change, and whether they can happen, in every order;
* :mod:`~sim.scenario.load`: :func:`load_scenario`, which does all of the above.
"""

from sim.scenario.errors import ScenarioError, format_validation_error, one_line
from sim.scenario.events import (
    ALWAYS,
    FROZEN_FACTION_FIELDS,
    FROZEN_STATE_FIELDS,
    MAX_CONDITIONS_PER_FIELD,
    NEVER,
    apply_event,
    check_events,
    event_path_problem,
    time_order,
)
from sim.scenario.load import load_scenario, resolve_map_folder
from sim.scenario.merge import (
    ALLOW_OUTSIDE_OPTION,
    LIBRARY,
    MAX_EXTENDS,
    SCENARIO_SUFFIXES,
    Tree,
    deep_merge,
    load_chain,
    load_raw,
    parse_override,
    put_path,
    set_path,
    validate_data,
)
from sim.scenario.references import check_references
from sim.scenario.safe_yaml import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, read_yaml
from sim.scenario.schema import (
    MAX_NAME_CHARS,
    TRIGGERS,
    AttackCondition,
    Date,
    DonorSpec,
    EventSpec,
    FactionSpec,
    Line,
    Name,
    NonNeg,
    ScenarioSpec,
    Share,
    Signed,
    StateEffects,
    TerritoryCondition,
    ThreatCondition,
    When,
    json_schema,
)

__all__ = [
    "ALLOW_OUTSIDE_OPTION",
    "ALWAYS",
    "FROZEN_FACTION_FIELDS",
    "FROZEN_STATE_FIELDS",
    "LIBRARY",
    "MAX_ALIASES",
    "MAX_CONDITIONS_PER_FIELD",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "MAX_NAME_CHARS",
    "MAX_NODES",
    "NEVER",
    "SCENARIO_SUFFIXES",
    "TRIGGERS",
    "AttackCondition",
    "Date",
    "DonorSpec",
    "EventSpec",
    "FactionSpec",
    "Line",
    "Name",
    "NonNeg",
    "ScenarioError",
    "ScenarioSpec",
    "Share",
    "Signed",
    "StateEffects",
    "TerritoryCondition",
    "ThreatCondition",
    "Tree",
    "When",
    "apply_event",
    "check_events",
    "check_references",
    "deep_merge",
    "event_path_problem",
    "format_validation_error",
    "json_schema",
    "load_chain",
    "load_raw",
    "load_scenario",
    "one_line",
    "parse_override",
    "put_path",
    "read_yaml",
    "resolve_map_folder",
    "set_path",
    "time_order",
    "validate_data",
]
