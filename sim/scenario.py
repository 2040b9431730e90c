"""Scenario files: schema, safe loading, and errors that name the file and the field.

A scenario is a YAML file that names the actors (factions, jihadist groups, foreign
states, the diaspora), their initial state and behaviour parameters, the map and
the horizon, and overrides of the global rule coefficients (:mod:`sim.parameters`).
Actors are data, not code: a hindcast can add the republic's army or the Northern
Alliance without touching the package.

Everything is validated before a model is built: unknown keys (with a "did you
mean"), wrong types, out-of-range values, and names that point nowhere (a province
not on the map, a state that does not exist) all raise :class:`ScenarioError`,
whose message is one line starting with the file name.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calendar import horizon_steps
from sim.geography import DEFAULT_MAP, Map, MapError, load_map
from sim.parameters import Parameters

MAX_FILE_BYTES = 1_000_000
Share = Annotated[float, Field(ge=0.0, le=1.0)]
# a generous ceiling: no Afghan quantity (fighters, million USD, rates) comes near it, and
# it keeps a typo such as 1e300 from overflowing into inf and NaN during a run
NonNeg = Annotated[float, Field(ge=0.0, le=1e7)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]


class ScenarioError(ValueError):
    """A scenario cannot be loaded; the message is one line naming file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FactionSpec(_Strict):
    """An armed actor: the government, a resistance group, a jihadist group.

    Units: strength in fighters, funds and materiel in million USD, rates per month.
    """

    label: str = Field(description="name shown in outputs and figures")
    kind: Literal["government", "resistance", "insurgent", "jihadist"] = Field(
        description="government holds the state; resistance groups do not fight each other; "
        "insurgent: any other armed faction"
    )
    territorial: bool = Field(
        True, description="holds ground (has a control share); False for groups sheltered by a host"
    )
    mode: Literal["conventional", "guerrilla"] = Field("guerrilla", description="how it fights (Deitchman asymmetry)")
    strength: NonNeg = Field(description="initial fighters")
    funds: NonNeg = Field(0.0, description="initial cash, million USD")
    materiel: NonNeg = Field(0.0, description="initial arms stock, million USD")
    control: dict[str, Share] = Field(default_factory=dict, description="initial control share per province")
    holds_remainder: bool = Field(False, description="holds every share of every province the others do not")
    home: list[str] = Field(
        default_factory=list,
        description="base provinces: deployment weight, distance gradient when no capital is set, "
        "sanctuary of a sheltered group, stronghold of a breakaway",
    )
    capital: str | None = Field(
        None, description="base of its power projection; losing it costs capital_collapse of its fighters (GeoSim)"
    )
    effectiveness: NonNeg = Field(1.0, description="combat power per fighter")
    stealth: Share = Field(0.0, description="share of area fire a clandestine cell structure escapes")
    alignment: Signed = Field(0.0, description="+1 draws on anti-Taliban sentiment, -1 on pro-Taliban, 0 neither")
    governance: Share = Field(0.0, description="quality of rule in liberated zones (role-model effect)")
    tax_rate: Share = Field(0.0, description="share of income taken where it rules")
    income: NonNeg = Field(0.0, description="steady outside income not modelled as a donor, million USD/month")
    recruitment: NonNeg = Field(1.0, description="multiplier of the global recruitment rate for this actor")
    former_security_appeal: Share = Field(0.0, description="appeal to former army and police")
    defection: Share = Field(0.0, description="propensity of its fighters to defect when it loses ground")
    front: bool = Field(False, description="may join a united resistance front")
    rivalry: Share = Field(0.0, description="leadership rivalry that blocks unity")
    patrons: list[str] = Field(default_factory=list, description="factions whose rule of its home gives it sanctuary")
    allies: list[str] = Field(default_factory=list, description="factions it does not fight (both ways)")
    growth: NonNeg = Field(0.0, description="growth rate in full sanctuary, 1/month")
    capacity: NonNeg = Field(0.0, description="fighters a sheltered group can grow to")
    attack_rate: NonNeg = Field(0.0, description="chance-rate of an attack abroad per month per 1000 fighters")
    targets: dict[str, Share] = Field(default_factory=dict, description="states it attacks, with weights")
    cohesion: Share = Field(1.0, description="initial internal cohesion (government)")
    splits_into: str | None = Field(None, description="faction that breaks away when cohesion collapses")
    split_strength: Share = Field(0.0, description="share of the parent's fighters, funds and arms the breakaway takes")
    split_home_share: Share = Field(0.0, description="share of the parent's control the breakaway takes in its home")
    split_other_share: Share = Field(0.0, description="share of the parent's control it takes elsewhere")
    dormant: bool = Field(False, description="exists only after a split creates it")


class DonorSpec(_Strict):
    """A foreign state or the diaspora: a donor that supports and pressures factions."""

    label: str = Field(description="name shown in outputs")
    kind: Literal["state", "diaspora"] = "state"
    country: str | None = Field(None, description="country name on the map's borders.csv, if a neighbour")
    budget: NonNeg = Field(0.0, description="most it spends on Afghan armed actors, million USD/month")
    arms_share: Share = Field(0.5, description="share of support given as arms rather than money")
    arms_willingness: Share = Field(0.0, description="willingness to back an armed opposition at all")
    sanctuary_willingness: Share = Field(0.0, description="willingness to host a group across its border")
    affinity: dict[str, Signed] = Field(default_factory=dict, description="baseline sympathy per faction")
    economic_interest: Share = Field(0.0, description="pull of deals with the government")
    ct_interest: Share = Field(0.0, description="interest in counter-terrorism cooperation with the government")
    threat_sensitivity: NonNeg = Field(0.0, description="how much felt threat turns it against the government")
    threat: Share = Field(0.0, description="initial threat perception, in [0, 1]")
    success_weight: NonNeg = Field(0.0, description="how much a group's battlefield success draws its support")
    backlash: dict[str, Share] = Field(
        default_factory=dict, description="cut in its support per share of a group's aid from that patron"
    )
    rivals: list[str] = Field(default_factory=list, description="states whose backing of a side draws it to the other")
    rival_weight: NonNeg = Field(0.0, description="how much a rival's involvement draws it in")
    trade: NonNeg = Field(0.0, description="trade revenue it brings the government when engaged, million USD/month")
    sanctions: Share = Field(0.0, description="share of government revenue its full pressure removes")
    border_closure: Share = Field(
        0.0, description="share of government revenue (customs, transit) lost when it closes the border under pressure"
    )
    strike_capacity: Share = Field(0.0, description="strike capacity against groups that target it")
    recognises: bool = Field(False, description="recognises the government at the start")
    recognition_threshold: float = Field(
        0.8, ge=-10.0, le=10.0, description="stance above which it recognises the government"
    )
    weight: NonNeg = Field(1.0, description="weight of its recognition in the government's legitimacy")


class AttackCondition(_Strict):
    """An attack by a group on a state in the last step."""

    by: str = Field(description="attacking faction")
    hits: str = Field(description="target state")


class TerritoryCondition(_Strict):
    """An actor's share of the country's area crosses a bound."""

    actor: str = Field(description="faction")
    at_least: Share | None = Field(None, description="fires when the share is at least this")
    at_most: Share | None = Field(None, description="fires when the share is at most this")

    @model_validator(mode="after")
    def _one_bound(self) -> TerritoryCondition:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least, at_most")
        return self


class ThreatCondition(_Strict):
    """A state's threat perception reaches a level."""

    state: str = Field(description="state")
    at_least: Share = Field(description="fires when the threat is at least this")


TRIGGERS = ("date", "month", "step", "resistance_holds", "attack", "territory", "cohesion_below", "threat")


class When(_Strict):
    """When an event fires: exactly one trigger (a time, or a condition checked every step)."""

    date: dt.date | None = Field(None, description="calendar date; fires in the step that contains it")
    month: NonNeg | None = Field(None, description="months since the start")
    step: int | None = Field(None, ge=1, description="at the start of this step")
    resistance_holds: int | None = Field(
        None, ge=1, description="when resistance groups together hold at least this many provinces"
    )
    attack: AttackCondition | None = Field(None, description="when a group's attack hits a state")
    territory: TerritoryCondition | None = Field(None, description="when an actor's territory crosses a bound")
    cohesion_below: Share | None = Field(None, description="when the government's cohesion falls below this")
    threat: ThreatCondition | None = Field(None, description="when a state's threat reaches a level")
    not_before: dt.date | None = Field(None, description="a condition is checked only from this date on")

    @model_validator(mode="after")
    def _one_trigger(self) -> When:
        given = [k for k in TRIGGERS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one trigger of {', '.join(TRIGGERS)}; found {given or 'none'}")
        return self

    @property
    def trigger(self) -> str:
        """Which trigger is set."""
        return next(k for k in TRIGGERS if getattr(self, k) is not None)


class StateEffects(_Strict):
    """Immediate changes to the run's state when an event fires."""

    kill: dict[str, Share] = Field(default_factory=dict, description="faction -> share of its fighters lost")
    reinforce: dict[str, NonNeg] = Field(default_factory=dict, description="faction -> fighters who join at once")
    funds: dict[str, NonNeg] = Field(default_factory=dict, description="faction -> million USD given at once")
    cohesion: Signed | None = Field(None, description="added to the government's cohesion")
    threat: dict[str, Signed] = Field(default_factory=dict, description="state -> added to its threat perception")
    recognise: list[str] = Field(default_factory=list, description="states that recognise the government for good")
    withdraw_recognition: list[str] = Field(
        default_factory=list, description="states that withdraw recognition for good"
    )
    front: list[str] = Field(default_factory=list, description="factions that unite in a front now")


class EventSpec(_Strict):
    """A scheduled or conditional event: what it says, when it fires, what it changes.

    ``set``, ``scale`` and ``shift`` change the scenario's rules from then on (dotted
    paths under ``parameters``, ``factions.<key>`` or ``donors.<key>``); ``state``
    changes the run's state at once.
    """

    name: str = Field(description="short identifier")
    text: str = Field(description="what the event log says when it fires")
    when: When
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> new value")
    scale: dict[str, NonNeg] = Field(default_factory=dict, description="dotted path -> factor")
    shift: dict[str, float] = Field(default_factory=dict, description="dotted path -> amount added")
    state: StateEffects = Field(default_factory=StateEffects)

    @property
    def changes_rules(self) -> bool:
        """Whether the event changes the scenario (not only the state)."""
        return bool(self.set or self.scale or self.shift or self.state.recognise or self.state.withdraw_recognition)


class ScenarioSpec(_Strict):
    """A resolved scenario: everything a run needs besides the seed."""

    name: str = Field(description="short identifier")
    title: str = Field("", description="one-line title")
    description: str = Field("", description="what the scenario represents")
    claim: str = Field("", description="the claim it tests")
    mechanisms: list[str] = Field(default_factory=list, description="the brief's mechanisms it exercises")
    sources: list[str] = Field(default_factory=list, description="sources of its numbers")
    start: dt.date = Field(
        ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31), description="calendar date of step 0"
    )
    months: int = Field(60, ge=1, le=1200, description="horizon in months (whatever the time step)")
    time_step: Literal["month", "week", "day"] = Field(
        "month", description="length of a step; rates are declared per month and scaled by the step"
    )
    map: str = Field("afghanistan", description="map folder: a name under sim/data or a path relative to the file")
    replications: int = Field(20, ge=1, le=100000, description="default number of replications")
    parameters: Parameters = Field(default_factory=Parameters)
    factions: dict[str, FactionSpec]
    donors: dict[str, DonorSpec] = Field(default_factory=dict)
    events: list[EventSpec] = Field(default_factory=list, description="scheduled and conditional events")

    @model_validator(mode="after")
    def _one_government(self) -> ScenarioSpec:
        govs = [k for k, f in self.factions.items() if f.kind == "government"]
        if len(govs) != 1:
            raise ValueError(f"factions: exactly one faction must have kind 'government', found {govs}")
        rem = [k for k, f in self.factions.items() if f.holds_remainder]
        if len(rem) != 1:
            raise ValueError(f"factions: exactly one faction must have holds_remainder: true, found {rem}")
        return self

    @property
    def government(self) -> str:
        """Key of the government faction."""
        return next(k for k, f in self.factions.items() if f.kind == "government")

    def resolved(self) -> dict[str, Any]:
        """The scenario as plain JSON-ready data (what the manifest stores)."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        """Short hash of the resolved scenario, naming it in outputs."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------------------------
# loading


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields sit at ``loc`` (for 'did you mean')."""
    node: Any = ScenarioSpec
    parts = list(loc)
    while parts:
        origin = typing.get_origin(node)
        if origin in (dict, list) or (origin is not None and str(origin).endswith("Union")):
            args = [a for a in typing.get_args(node) if a is not type(None)]
            if origin in (dict, list):
                parts.pop(0)  # a mapping key or a list index
            node = args[-1] if args else None
            continue
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(parts.pop(0)))
            if field is None:
                return None
            node = field.annotation
            continue
        return None
    while typing.get_origin(node) is not None and type(None) in typing.get_args(node):
        node = next(a for a in typing.get_args(node) if a is not type(None))
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def format_validation_error(path: str, err: ValidationError) -> str:
    """One line: file, dotted field path, what was expected, what was found."""
    e = err.errors()[0]
    loc = tuple(e.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "(top level)"
    found = e.get("input")
    found_text = repr(found) if not isinstance(found, dict | list) else type(found).__name__
    if len(found_text) > 60:
        found_text = found_text[:57] + "..."
    if e["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = list(parent.model_fields) if parent else []
        hint = _suggest(loc[-1], valid) if valid else ""
        listing = "" if hint else f" (valid keys: {', '.join(valid)})"
        return f"{path}: {where}: unknown key{hint}{listing}"
    if e["type"] == "missing":
        return f"{path}: {where}: required field is missing"
    msg = e.get("msg", "invalid value").replace("Value error, ", "")
    more = f" (and {len(err.errors()) - 1} more error(s))" if len(err.errors()) > 1 else ""
    return f"{path}: {where}: {msg}; found {found_text}{more}"


MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_DEPTH = 50


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no Python tags) that also rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Dates stay text for pydantic to parse: PyYAML's own timestamp constructor raises a bare
# ValueError on an impossible date such as 2022-13-45.
_SafeLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_structure(text: str, path: Path) -> None:
    """Bound aliases, expanded size and nesting before building anything (no billion laughs).

    The expanded size counts every node as it would be after alias expansion, so a few
    nested aliases that would blow up into millions of nodes are refused.
    """
    aliases = 0
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[0, None]]  # [expanded node count, anchor] per open collection
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ScenarioError(f"{path}: more than {MAX_ALIASES} YAML aliases; refusing to expand them")
            stack[-1][0] += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, event.anchor])
            if len(stack) > MAX_DEPTH:
                raise ScenarioError(f"{path}: YAML nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count
            stack[-1][0] += count
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            stack[-1][0] += 1
        if stack[-1][0] > MAX_NODES or stack[0][0] > MAX_NODES:
            raise ScenarioError(f"{path}: YAML would expand to more than {MAX_NODES} nodes; refusing it")


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely: no Python tags, no duplicate keys, bounded size and aliases.

    Raises:
        ScenarioError: missing, oversized, unsafe, unreadable or non-mapping files.
    """
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
        _check_structure(text, path)
        data = yaml.load(text, Loader=_SafeLoader)
    except ScenarioError:
        raise
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ScenarioError(f"{path}: unreadable YAML: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "refused YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "malformed YAML"
        raise ScenarioError(f"{path}: {kind}{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of fields, found {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into ``base``: mappings merge key by key, other values replace, null removes."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_raw(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Read a scenario file and the files it ``extends``, merged; also the folder its map is relative to.

    Raises:
        ScenarioError: for a missing or cyclic ``extends`` and for unreadable files.
    """
    data = read_yaml(path)
    map_base = path.parent
    parent = data.pop("extends", None)
    if parent is None:
        return data, map_base
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(f"{path}: extends: expected the name of a scenario file, found {parent!r}")
    ppath = (path.parent / parent).resolve()
    here = path.resolve()
    if ppath in (*chain, here):
        cycle = " -> ".join(p.name for p in (*chain, here, ppath))
        raise ScenarioError(f"{path}: extends: cycle {cycle}")
    if not ppath.is_file():
        raise ScenarioError(f"{path}: extends: file not found: {parent}")
    base, base_map = load_raw(ppath, (*chain, here))
    return deep_merge(base, data), (map_base if "map" in data else base_map)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.field=value``; the value is read as YAML (numbers, booleans, lists...).

    Raises:
        ScenarioError: when the text has no ``=`` or an empty path.
    """
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected path.to.field=value")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"--set {text}: expected path.to.field=value")
    try:
        parsed = yaml.load(value, Loader=_SafeLoader) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def set_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> dict[str, Any]:
    """A copy of ``data`` with ``dotted`` set to ``value`` (intermediate mappings created)."""
    out = copy.deepcopy(data)
    node = out
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{source}: {'.'.join(parts[: i + 1])} is not a mapping, cannot set {dotted}")
        node = nxt
    node[parts[-1]] = value
    return out


def resolve_map_folder(spec_map: str, base: Path, source: str) -> Path:
    """A map name under sim/data, or a folder path relative to the file that named it."""
    candidate = (base / spec_map).resolve()
    if candidate.is_dir():
        return candidate
    builtin = DEFAULT_MAP.parent / spec_map
    if builtin.is_dir():
        return builtin
    raise ScenarioError(f"{source}: map: no map folder named {spec_map!r}")


def check_references(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check every name in the scenario points to a province, faction or state that exists.

    Raises:
        ScenarioError: naming the file and the dotted field of the first bad name.
    """
    provinces = list(m.names)
    factions = list(spec.factions)
    states = list(spec.donors)

    def need(name: str, pool: list[str], where: str, what: str) -> None:
        if name not in pool:
            raise ScenarioError(f"{path}: {where}: unknown {what} {name!r}{_suggest(name, pool)}")

    for k, f in spec.factions.items():
        for p in f.control:
            need(p, provinces, f"factions.{k}.control.{p}", "province")
        for p in f.home:
            need(p, provinces, f"factions.{k}.home", "province")
        if f.capital is not None:
            need(f.capital, provinces, f"factions.{k}.capital", "province")
        for s in f.targets:
            need(s, states, f"factions.{k}.targets.{s}", "state")
        for p in f.patrons:
            need(p, factions, f"factions.{k}.patrons", "faction")
        for p in f.allies:
            need(p, factions, f"factions.{k}.allies", "faction")
        if f.splits_into is not None:
            need(f.splits_into, factions, f"factions.{k}.splits_into", "faction")
            if not spec.factions[f.splits_into].dormant:
                raise ScenarioError(f"{path}: factions.{k}.splits_into: {f.splits_into!r} must be dormant")
        if not f.territorial and f.control:
            raise ScenarioError(f"{path}: factions.{k}.control: a non-territorial faction holds no ground")
        if f.dormant and (f.control or f.strength):
            raise ScenarioError(f"{path}: factions.{k}: a dormant faction starts with no control and no strength")
    for s, st in spec.donors.items():
        for f in st.affinity:
            need(f, factions, f"donors.{s}.affinity.{f}", "faction")
        for p in st.backlash:
            need(p, states, f"donors.{s}.backlash.{p}", "state")
        for r in st.rivals:
            need(r, states, f"donors.{s}.rivals", "state")
        if st.country is not None and st.country not in m.countries:
            raise ScenarioError(
                f"{path}: donors.{s}.country: {st.country!r} borders no province of the map"
                f"{_suggest(st.country, list(m.countries))}"
            )
    # initial control: the non-remainder shares in a province may not exceed 1
    totals: dict[str, float] = {}
    for f in spec.factions.values():
        if not f.holds_remainder:
            for p, v in f.control.items():
                totals[p] = totals.get(p, 0.0) + v
    for p, v in totals.items():
        if v > 1.0 + 1e-9:
            raise ScenarioError(f"{path}: factions.*.control.{p}: shares add up to {v:.3f}, more than 1")


# Fields an event may not change: they are initial state (use ``state:`` effects) or identity.
FROZEN_FACTION_FIELDS = frozenset({"label", "kind", "territorial", "strength", "funds", "materiel", "control",
                                   "holds_remainder", "cohesion", "dormant", "splits_into"})
FROZEN_STATE_FIELDS = frozenset({"label", "kind", "country", "threat", "recognises"})
ALWAYS, NEVER = -10.0, 10.0  # recognition thresholds a stance cannot cross


def _event_path_problem(spec: ScenarioSpec, path: str) -> str | None:
    parts = path.split(".")
    if parts[0] == "parameters":
        if len(parts) != 2:
            return "expected parameters.<name>"
        if parts[1] not in Parameters.model_fields:
            return f"unknown parameter{_suggest(parts[1], list(Parameters.model_fields))}"
        return None
    if parts[0] in ("factions", "donors"):
        pool = spec.factions if parts[0] == "factions" else spec.donors
        model = FactionSpec if parts[0] == "factions" else DonorSpec
        frozen = FROZEN_FACTION_FIELDS if parts[0] == "factions" else FROZEN_STATE_FIELDS
        if len(parts) < 3:
            return f"expected {parts[0]}.<key>.<field>"
        if parts[1] not in pool:
            return f"unknown {parts[0][:-1]} {parts[1]!r}{_suggest(parts[1], list(pool))}"
        if parts[2] not in model.model_fields:
            return f"unknown field{_suggest(parts[2], list(model.model_fields))}"
        if parts[2] in frozen:
            return f"{parts[2]!r} is initial state or identity; an event changes it through 'state:' effects"
        return None
    return "an event may change only parameters.*, factions.<key>.* and donors.<key>.*"


def _get_path(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def apply_event(spec: ScenarioSpec, event: EventSpec, source: str = "event") -> ScenarioSpec:
    """The scenario as it is after ``event`` changes its rules.

    Raises:
        ScenarioError: if a path is not allowed or the result is not a valid scenario.
    """
    data = spec.model_dump(mode="python")
    for kind, changes in (("set", event.set), ("scale", event.scale), ("shift", event.shift)):
        for path, value in changes.items():
            where = f"{source}.{kind}.{path}"
            problem = _event_path_problem(spec, path)
            if problem:
                raise ScenarioError(f"{where}: {problem}")
            if kind != "set":
                current = _get_path(data, path)
                if not isinstance(current, int | float) or isinstance(current, bool):
                    raise ScenarioError(f"{where}: can only {kind} a number, found {current!r}")
                value = current * value if kind == "scale" else current + value
            data = set_path(data, path, value, where)
    for state in event.state.recognise:
        data = set_path(data, f"donors.{state}.recognition_threshold", ALWAYS, source)
    for state in event.state.withdraw_recognition:
        data = set_path(data, f"donors.{state}.recognition_threshold", NEVER, source)
    return validate_data(data, source)


def check_events(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check that every event can happen and that its changes make a valid scenario.

    Raises:
        ScenarioError: naming the event (``events[i]``) and the field.
    """
    factions, states = list(spec.factions), list(spec.donors)
    end = spec.start + dt.timedelta(days=round(spec.months * 365.2425 / 12))
    names: set[str] = set()
    current = spec
    for i, ev in enumerate(spec.events):
        where = f"{path}: events[{i}] ({ev.name})"
        if ev.name in names:
            raise ScenarioError(f"{where}: name: another event has this name")
        names.add(ev.name)
        w = ev.when

        def need(name: str, pool: list[str], field: str, what: str, where: str = where) -> None:
            if name not in pool:
                raise ScenarioError(f"{where}: {field}: unknown {what} {name!r}{_suggest(name, pool)}")

        if w.date is not None and not spec.start <= w.date <= end:
            raise ScenarioError(f"{where}: when.date: {w.date} is outside the run ({spec.start} to {end})")
        if w.month is not None and w.month > spec.months:
            raise ScenarioError(f"{where}: when.month: {w.month} is after the horizon ({spec.months} months)")
        if w.step is not None:
            if w.step > horizon_steps(spec.months, spec.time_step):
                raise ScenarioError(f"{where}: when.step: {w.step} is after the last step")
        if w.not_before is not None and w.trigger in ("date", "month", "step"):
            raise ScenarioError(f"{where}: when.not_before: only a condition can be delayed")
        if w.attack is not None:
            need(w.attack.by, factions, "when.attack.by", "faction")
            need(w.attack.hits, states, "when.attack.hits", "state")
            if spec.factions[w.attack.by].targets.get(w.attack.hits, 0.0) <= 0.0:
                raise ScenarioError(f"{where}: when.attack: {w.attack.by} never targets {w.attack.hits}")
        if w.territory is not None:
            need(w.territory.actor, factions, "when.territory.actor", "faction")
        if w.threat is not None:
            need(w.threat.state, states, "when.threat.state", "state")
        if w.resistance_holds is not None and w.resistance_holds > m.n:
            raise ScenarioError(f"{where}: when.resistance_holds: the map has only {m.n} provinces")
        se = ev.state
        for f in (*se.kill, *se.reinforce, *se.funds, *se.front):
            need(f, factions, "state", "faction")
        for s in (*se.threat, *se.recognise, *se.withdraw_recognition):
            need(s, states, "state", "state")
        if ev.changes_rules:
            current = apply_event(current, ev, f"{where}")
            check_references(current, m, where)


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (the resolved schema plus ``extends``), for editors."""
    schema = ScenarioSpec.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "scenario file this one builds on (path relative to this file); mappings merge, "
        "other values replace, null removes",
    }
    # a file that extends another need not repeat the required fields
    schema.pop("required", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Afghan conflict lab scenario"
    return schema


def validate_data(data: dict[str, Any], source: str) -> ScenarioSpec:
    """Validate merged scenario data; errors name ``source``.

    Raises:
        ScenarioError: with the dotted field path.
    """
    if isinstance(data, dict) and "states" in data:
        # the section was called ``states`` before 0.2; the diaspora is a donor, not a state
        raise ScenarioError(f"{source}: states: this section is now called 'donors' (rename the key)")
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(source, exc)) from None


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> tuple[ScenarioSpec, Map]:
    """Load, validate and resolve a scenario file (with what it extends and ``--set`` overrides).

    Args:
        path: the YAML file.
        overrides: ``path.to.field=value`` strings applied after the files are merged.

    Returns:
        The frozen, resolved scenario and the map it runs on.

    Raises:
        ScenarioError: with a one-line message naming the file (or ``--set``) and the field.
    """
    p = Path(path)
    data, map_base = load_raw(p)
    spec = validate_data(data, str(p))
    for text in overrides:
        key, value = parse_override(text)
        data = set_path(data, key, value, f"--set {key}")
        spec = validate_data(data, f"--set {key}")
    folder = resolve_map_folder(spec.map, map_base, str(p))
    try:
        m = load_map(folder)
    except MapError as exc:
        raise ScenarioError(f"{p}: map: {exc}") from None
    check_references(spec, m, str(p))
    check_events(spec, m, str(p))
    return spec, m
