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

import datetime as dt
import difflib
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.geography import DEFAULT_MAP, Map, MapError, load_map
from sim.parameters import Parameters

MAX_FILE_BYTES = 1_000_000
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]


class ScenarioError(ValueError):
    """A scenario cannot be loaded; the message is one line naming file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class StateSpec(_Strict):
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
    recognition_threshold: Signed = Field(0.8, description="stance above which it recognises the government")
    weight: NonNeg = Field(1.0, description="weight of its recognition in the government's legitimacy")


class ScenarioSpec(_Strict):
    """A resolved scenario: everything a run needs besides the seed."""

    name: str = Field(description="short identifier")
    title: str = Field("", description="one-line title")
    description: str = Field("", description="what the scenario represents")
    claim: str = Field("", description="the claim it tests")
    sources: list[str] = Field(default_factory=list, description="sources of its numbers")
    start: dt.date = Field(description="calendar date of step 0")
    months: int = Field(60, ge=1, le=1200, description="horizon in months (whatever the time step)")
    time_step: Literal["month", "week", "day"] = Field(
        "month", description="length of a step; rates are declared per month and scaled by the step"
    )
    map: str = Field("afghanistan", description="map folder: a name under sim/data or a path relative to the file")
    replications: int = Field(20, ge=1, le=100000, description="default number of replications")
    parameters: Parameters = Field(default_factory=Parameters)
    factions: dict[str, FactionSpec]
    states: dict[str, StateSpec] = Field(default_factory=dict)

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
    model: Any = ScenarioSpec
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            if field is None:
                return None
            ann = field.annotation
            args = getattr(ann, "__args__", ())
            model = args[-1] if args and getattr(ann, "__origin__", None) is dict else ann
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


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
        return f"{path}: {where}: unknown key{hint} (valid keys: {', '.join(valid)})"
    if e["type"] == "missing":
        return f"{path}: {where}: required field is missing"
    msg = e.get("msg", "invalid value").replace("Value error, ", "")
    more = f" (and {len(err.errors()) - 1} more error(s))" if len(err.errors()) > 1 else ""
    return f"{path}: {where}: {msg}; found {found_text}{more}"


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely: no Python tags, bounded size.

    Raises:
        ScenarioError: missing, oversized, unreadable or non-mapping files.
    """
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of fields, found {type(data).__name__}")
    return data


def resolve_map_folder(spec_map: str, scenario_path: Path) -> Path:
    """A map name under sim/data, or a folder path relative to the scenario file."""
    candidate = (scenario_path.parent / spec_map).resolve()
    if candidate.is_dir():
        return candidate
    builtin = DEFAULT_MAP.parent / spec_map
    if builtin.is_dir():
        return builtin
    raise ScenarioError(f"{scenario_path}: map: no map folder named {spec_map!r}")


def check_references(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check every name in the scenario points to a province, faction or state that exists.

    Raises:
        ScenarioError: naming the file and the dotted field of the first bad name.
    """
    provinces = list(m.names)
    factions = list(spec.factions)
    states = list(spec.states)

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
        if f.splits_into is not None:
            need(f.splits_into, factions, f"factions.{k}.splits_into", "faction")
            if not spec.factions[f.splits_into].dormant:
                raise ScenarioError(f"{path}: factions.{k}.splits_into: {f.splits_into!r} must be dormant")
        if not f.territorial and f.control:
            raise ScenarioError(f"{path}: factions.{k}.control: a non-territorial faction holds no ground")
        if f.dormant and (f.control or f.strength):
            raise ScenarioError(f"{path}: factions.{k}: a dormant faction starts with no control and no strength")
    for s, st in spec.states.items():
        for f in st.affinity:
            need(f, factions, f"states.{s}.affinity.{f}", "faction")
        for p in st.backlash:
            need(p, states, f"states.{s}.backlash.{p}", "state")
        for r in st.rivals:
            need(r, states, f"states.{s}.rivals", "state")
        if st.country is not None and st.country not in m.countries:
            raise ScenarioError(
                f"{path}: states.{s}.country: {st.country!r} borders no province of the map"
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


def load_scenario(path: str | Path) -> tuple[ScenarioSpec, Map]:
    """Load, validate and resolve a scenario file, with its map.

    Args:
        path: the YAML file.

    Returns:
        The frozen scenario and the map it runs on.

    Raises:
        ScenarioError: with a one-line message naming the file and the field.
    """
    p = Path(path)
    data = read_yaml(p)
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(str(p), exc)) from None
    folder = resolve_map_folder(spec.map, p)
    try:
        m = load_map(folder)
    except MapError as exc:
        raise ScenarioError(f"{p}: map: {exc}") from None
    check_references(spec, m, str(p))
    return spec, m
