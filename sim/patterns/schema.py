"""The schema of pattern files: the measure vocabulary and the pattern, as strict pydantic models.

Each measure kind is a model whose fields say what it takes (actors, a date, a province,
a donor...), with its unit and the output it reads as class attributes; :data:`MEASURES`
lists them. :mod:`sim.patterns.measures` computes each from a results folder.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario import Date, Line, Name

EPOCH = dt.date(1970, 1, 1)  # dates are compared as days since this day
NEVER = "never"  # the expected value of a date measure for an event that must not happen
Stake = Literal["capital", "province"]
Stage = Literal["ambassador", "formal"]
Actors = Annotated[list[Name], Field(min_length=1, description="actors whose shares or holdings are summed")]


class _Strict(BaseModel):
    # as strict as scenario files: no unknown key, no text for a number, no bool for a number
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class _Measure(_Strict):
    """A measure: one number per replication, computed from a results folder.

    Attributes:
        unit: what the number is: ``share`` (of the country), ``count`` (of provinces),
            ``date`` (of a step; "never" if it does not happen), ``days``, ``yes/no``
            (1 or 0), or ``value`` (a donor's stance or threat).
        reads: the output it reads (the stake-dependent holder is described by
            :meth:`sim.patterns.measures.Results.holder_source`).
    """

    unit: ClassVar[str] = "value"
    reads: ClassVar[str] = ""


class ShareAt(_Measure):
    """The share of the country (area, or population) the actors hold together at a date."""

    unit: ClassVar[str] = "share"
    reads: ClassVar[str] = "trajectories.territory_share (or population_share), summed over the actors"
    kind: Literal["share_at"]
    actors: Actors
    date: Date
    weight: Literal["area", "population"] = "area"


class ShareWithin(_Measure):
    """The fraction of the actors' territory (by area) that lies in the listed provinces, at a date."""

    unit: ClassVar[str] = "share"
    reads: ClassVar[str] = "provinces.control summed over the actors, weighted by the map's province areas"
    kind: Literal["share_within"]
    actors: Actors
    provinces: list[str] = Field(min_length=1)
    date: Date


class HeldCountAt(_Measure):
    """The number of provinces (or their capitals) the actors hold at a date."""

    unit: ClassVar[str] = "count"
    kind: Literal["held_count_at"]
    actors: Actors
    date: Date
    stake: Stake = "capital"


class PresentCount(_Measure):
    """The number of provinces where the actors' summed control reaches ``min_control`` at a date."""

    unit: ClassVar[str] = "count"
    reads: ClassVar[str] = "provinces.control summed over the actors"
    kind: Literal["present_count"]
    actors: Actors
    date: Date
    min_control: float = Field(0.01, gt=0.0, le=1.0)


class EverHeld(_Measure):
    """Whether the actors hold a province (or its capital) at any step up to ``by`` (default: the horizon)."""

    unit: ClassVar[str] = "yes/no"
    kind: Literal["ever_held"]
    actors: Actors
    province: str
    stake: Stake = "capital"
    by: Date | None = None


class _Passing(_Measure):
    """A measure of provinces passing to the actors: held by them later, not at the start.

    ``from`` narrows them to provinces that those actors held at the start (the government's
    capitals, say); without it, any province the actors did not hold at the start counts.
    """

    actors: Actors
    stake: Stake = "capital"
    previous: list[Name] | None = Field(None, alias="from", min_length=1)


class CapturedCount(_Passing):
    """The number of provinces that pass to the actors at some step up to ``by`` (default: the horizon)."""

    unit: ClassVar[str] = "count"
    kind: Literal["captured_count"]
    by: Date | None = None


class CaptureDate(_Passing):
    """The date a province (or, without ``province``, the first of any) passes to the actors."""

    unit: ClassVar[str] = "date"
    kind: Literal["capture_date"]
    province: str | None = None


class CascadeDays(_Passing):
    """Days from the first province passing to the actors until they hold at least ``count`` provinces."""

    unit: ClassVar[str] = "days"
    kind: Literal["cascade_days"]
    count: int = Field(ge=1)


class DonorValueAt(_Measure):
    """A donor's stance toward the government (or its threat perception) at a date."""

    reads: ClassVar[str] = "donors.<column>"
    kind: Literal["donor_value_at"]
    donor: Name
    column: Literal["stance", "threat"] = "stance"
    date: Date


class DonorDate(_Measure):
    """The first date a donor's stance (or threat) reaches ``at_least`` or falls to ``at_most``."""

    unit: ClassVar[str] = "date"
    reads: ClassVar[str] = "donors.<column>"
    kind: Literal["donor_date"]
    donor: Name
    column: Literal["stance", "threat"] = "stance"
    at_least: float | None = Field(None, ge=-100, le=100)
    at_most: float | None = Field(None, ge=-100, le=100)

    @model_validator(mode="after")
    def _one_bound(self) -> DonorDate:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least, at_most")
        return self


class RecognitionDate(_Measure):
    """The first date a donor reaches a stage of recognition of the government."""

    unit: ClassVar[str] = "date"
    kind: Literal["recognition_date"]
    donor: Name
    stage: Stage = "formal"


class FirstToRecognise(_Measure):
    """Whether the donor reaches the stage before every other donor (a tie is not first)."""

    unit: ClassVar[str] = "yes/no"
    kind: Literal["first_to_recognise"]
    donor: Name
    stage: Stage = "formal"


MeasureSpec = Annotated[
    ShareAt | ShareWithin | HeldCountAt | PresentCount | EverHeld | CapturedCount | CaptureDate | CascadeDays
    | DonorValueAt | DonorDate | RecognitionDate | FirstToRecognise, Field(discriminator="kind")]
#: The measure vocabulary: kind -> its model (fields, unit, what it reads).
MEASURES: dict[str, type[_Measure]] = {typing.get_args(m.model_fields["kind"].annotation)[0]: m
                                       for m in _Measure.__subclasses__() + _Passing.__subclasses__()
                                       if "kind" in m.model_fields}


class PatternSpec(_Strict):
    """One pattern: what is measured, on which scenario, what the record says, and where it says it."""

    id: Name = Field(description="unique identifier, used in the scorecard")
    title: Line = Field(description="the pattern in words")
    scenario: str | None = Field(None, description="scenario file (relative to this file); default: the file's")
    measure: MeasureSpec
    expected: Any = Field(description="a value, a date, yes/no, 'never', or a range [low, high] (null: open)")
    tolerance: float = Field(ge=0.0, le=1e6, description="allowed distance from the expected, in the measure's unit")
    statistic: Literal["median"] = Field("median", description="compared statistic over replications")
    sources: list[Line] = Field(min_length=1, description="where the record says so")
    note: Line | None = Field(None, description="how the measure reads the model, or what it stands for")


class PatternFileSpec(_Strict):
    """A pattern file: a period and its patterns."""

    period: Line = Field(description="the period the patterns describe")
    scenario: str | None = Field(None, description="scenario file of every pattern (relative to this file)")
    patterns: list[PatternSpec] = Field(min_length=1)
