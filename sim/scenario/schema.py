"""The schema of scenario files: actors, donors, events and the scenario, as frozen pydantic models.

A scenario is a YAML file that names the actors (factions, jihadist groups, foreign
states, the diaspora), their initial state and behaviour parameters, the map and
the horizon, and overrides of the global rule coefficients (:mod:`sim.parameters`).
Actors are data, not code: a hindcast can add the republic's army or the Northern
Alliance without touching the package. Unknown keys, wrong types and out-of-range
values fail validation; names that point nowhere are checked by
:mod:`sim.scenario.references` once the map is known.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from sim.parameters import Parameters

MAX_NAME_CHARS = 64
MAX_LINE_CHARS = 1000
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _safe_name(value: str) -> str:
    """A name that can become part of a file or folder name: no separator, no ``..``, bounded."""
    if len(value) > MAX_NAME_CHARS or not NAME_PATTERN.fullmatch(value):
        raise ValueError(f"expected a name of at most {MAX_NAME_CHARS} letters, digits, '_', '.' or '-', "
                         "not starting with '.' or '-'")
    return value


def _one_line(value: str) -> str:
    """Text printed in one line of a log or a table: no control characters, bounded."""
    if len(value) > MAX_LINE_CHARS or not value.isprintable():
        raise ValueError(f"expected one line of at most {MAX_LINE_CHARS} characters, without control characters")
    return value


def _iso_date(value: Any) -> Any:
    """A date, or its ``YYYY-MM-DD`` text; any other value (a number, say) is left for the type check to refuse."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return dt.date.fromisoformat(value)  # ValueError for an impossible date such as 2022-13-45
    return value


# Names label results and build paths (the default output folder, figure folders): only safe characters.
Name = Annotated[str, AfterValidator(_safe_name), WithJsonSchema(
    {"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$", "maxLength": MAX_NAME_CHARS})]
Line = Annotated[str, AfterValidator(_one_line)]
# Strict validation takes no text for a date; YAML gives dates as text (sim.scenario.safe_yaml).
Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
# a generous ceiling: no Afghan quantity (fighters, million USD, rates) comes near it, and
# it keeps a typo such as 1e300 from overflowing into inf and NaN during a run
NonNeg = Annotated[float, Field(ge=0.0, le=1e7)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]


class _Strict(BaseModel):
    # strict: no bool or text taken for a number, no number for a bool or a text (an int is still a float)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class FactionSpec(_Strict):
    """An armed actor: the government, a resistance group, a jihadist group.

    Units: strength in fighters, funds and materiel in million USD, rates per month.
    """

    label: Line = Field(description="name shown in outputs and figures")
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
    garrisons: list[str] = Field(
        default_factory=list,
        description="provinces whose capital (city and district centre) it holds at the start; the government "
        "holds every capital no faction lists",
    )
    effectiveness: NonNeg = Field(1.0, description="combat power per fighter")
    stealth: Share = Field(0.0, description="share of area fire a clandestine cell structure escapes")
    alignment: Signed = Field(0.0, description="+1 draws on anti-Taliban sentiment, -1 on pro-Taliban, 0 neither")
    governance: Share = Field(0.0, description="quality of rule in liberated zones (role-model effect)")
    tax_rate: Share = Field(0.0, description="share of income taken where it rules")
    income: NonNeg = Field(0.0, description="steady outside income not modelled as a donor, million USD/month")
    air_support: NonNeg = Field(0.0, description="extra fighting power at the start from air support (1 doubles it)")
    air_support_decay: NonNeg = Field(0.0, description="rate at which air support wears off, 1/month")
    upkeep: NonNeg = Field(1.0, description="cost of a fighter relative to the global upkeep (an army costs more)")
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

    label: Line = Field(description="name shown in outputs")
    kind: Literal["state", "diaspora"] = "state"
    country: str | None = Field(None, description="country name on the map's borders.csv, if a neighbour")
    budget: NonNeg = Field(0.0, description="most it spends on Afghan armed actors, million USD/month")
    arms_share: Share = Field(0.5, description="share of support given as arms rather than money")
    arms_willingness: Share = Field(0.0, description="willingness to back an armed opposition at all")
    sanctuary_willingness: Share = Field(0.0, description="willingness to host a group across its border")
    affinity: dict[str, Signed] = Field(default_factory=dict, description="baseline sympathy per faction")
    economic_interest: Share = Field(0.0, description="pull of deals with the government")
    ct_interest: Share = Field(0.0, description="interest in counter-terrorism cooperation with the government")
    threat_sensitivity: NonNeg = Field(
        0.0, description="how much the threat blamed on the government (its guests' attacks) turns it against it"
    )
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
    enemy_threat_pull: NonNeg = Field(
        0.0, description="stance gained per unit of threat from the government's armed enemies (a common enemy)"
    )
    recognises: bool = Field(False, description="recognises the government formally at the start (stage 3)")
    recognition_stage: int | None = Field(
        None, ge=0, le=3, description="stage of recognition at the start: 0 none, 1 engagement, 2 an ambassador "
        "accepted, 3 formal recognition (default: 3 if it recognises, else 0)",
    )
    stance: float | None = Field(
        None, ge=-10.0, le=10.0, description="stance toward the government at the start (default: its target)"
    )
    engagement_threshold: float = Field(0.0, ge=-10.0, le=10.0, description="stance above which it engages (stage 1)")
    ambassador_threshold: float = Field(
        0.5, ge=-10.0, le=10.0, description="stance above which it accepts the government's ambassador (stage 2)"
    )
    recognition_threshold: float = Field(
        0.8, ge=-10.0, le=10.0, description="stance above which it recognises the government formally (stage 3)"
    )
    weight: NonNeg = Field(1.0, description="weight of its recognition in the government's legitimacy")

    @model_validator(mode="after")
    def _stage_matches_recognition(self) -> DonorSpec:
        if self.recognition_stage is not None and (self.recognition_stage == 3) != self.recognises:
            raise ValueError("recognises: true goes with recognition_stage 3 (formal recognition), and only with it")
        return self

    @property
    def stage0(self) -> int:
        """The stage of recognition at the start."""
        if self.recognition_stage is not None:
            return self.recognition_stage
        return 3 if self.recognises else 0


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

    date: Date | None = Field(None, description="calendar date; fires in the step that contains it")
    month: NonNeg | None = Field(None, description="months since the start")
    step: int | None = Field(None, ge=1, description="at the start of this step")
    resistance_holds: int | None = Field(
        None, ge=1, description="when resistance groups together hold at least this many provinces"
    )
    attack: AttackCondition | None = Field(None, description="when a group's attack hits a state")
    territory: TerritoryCondition | None = Field(None, description="when an actor's territory crosses a bound")
    cohesion_below: Share | None = Field(None, description="when the government's cohesion falls below this")
    threat: ThreatCondition | None = Field(None, description="when a state's threat reaches a level")
    not_before: Date | None = Field(None, description="a condition is checked only from this date on")

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

    name: Name = Field(description="short identifier")
    text: Line = Field(description="what the event log says when it fires")
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

    name: Name = Field(description="short identifier (names the results and their default folder)")
    title: Line = Field("", description="one-line title")
    description: str = Field("", description="what the scenario represents")
    claim: str = Field("", description="the claim it tests")
    mechanisms: list[str] = Field(default_factory=list, description="the brief's mechanisms it exercises")
    sources: list[str] = Field(default_factory=list, description="sources of its numbers")
    start: Date = Field(
        ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31), description="calendar date of step 0"
    )
    months: int = Field(60, ge=1, le=1200, description="horizon in months (whatever the time step)")
    time_step: Literal["month", "week", "day"] = Field(
        "month", description="length of a step; rates are declared per month and scaled by the step"
    )
    map: str = Field("afghanistan", description="map folder: a name under sim/data or a path relative to the file")
    replications: int = Field(20, ge=1, le=100000, description="default number of replications")
    parameters: Parameters = Field(default_factory=Parameters)
    factions: dict[Name, FactionSpec]
    donors: dict[Name, DonorSpec] = Field(default_factory=dict)
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
