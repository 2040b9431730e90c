"""The schema of the effects and robustness files, as strict pydantic models.

An *arm* is a scenario file with overrides (dotted paths, as ``run.py run --set`` takes them);
an *effect* compares two arms, paired by replication, on one outcome at one month and says
which way the difference (variant minus reference) should go. The robustness file lists the
judgement parameters and the headline conclusions re-measured across their range.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario import Line, Name

Direction = Literal["increase", "decrease"]


class _Strict(BaseModel):
    # as strict as scenario and pattern files: no unknown key, no text for a number
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class ArmSpec(_Strict):
    """A scenario file (relative to the data file) and the overrides applied to it."""

    scenario: str = Field(description="scenario file, relative to this file")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, as run.py run --set")


class _Measured(_Strict):
    """An outcome at a month (see :data:`sim.effects.outcomes.OUTCOMES`)."""

    outcome: Name = Field(description="an outcome of the effects vocabulary")
    month: float = Field(gt=0, le=1200, description="month at which it is compared")
    donor: Name | None = Field(None, description="the donor, for donor_stance and donor_threat")
    donors: list[Name] | None = Field(None, min_length=1, description="for resistance_support: whose flows count")


class EffectSpec(_Measured):
    """One effect: the variant minus the reference, paired by replication, should go ``direction``."""

    id: Name = Field(description="unique identifier, used in the tables and the ODD")
    mechanism: int | None = Field(None, ge=1, le=10, description="the domain brief's mechanism (1-10)")
    name: Line = Field(description="the mechanism or the claim in words")
    switch: Line = Field(description="what the variant changes, in words ('off', 'doubled', a scenario)")
    variant: ArmSpec
    reference: ArmSpec
    direction: Direction = Field(description="documented sign of variant minus reference")
    sources: list[Line] = Field(min_length=1, description="where the claim is made")
    note: Line | None = None


class EffectsFileSpec(_Strict):
    """The effects file: the mechanisms switched off or doubled, and the scenarios' claims."""

    mechanisms: list[EffectSpec] = Field(min_length=1)
    claims: list[EffectSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _numbered(self) -> EffectsFileSpec:
        for k, e in enumerate(self.mechanisms):
            if e.mechanism is None:
                raise ValueError(f"mechanisms[{k}] ({e.id}): give its mechanism number (1-10)")
        return self


class ConclusionSpec(_Measured):
    """A headline conclusion: a level of one arm, or a paired difference of two."""

    id: Name
    title: Line
    scenario: str = Field(description="scenario file, relative to this file")
    reference: str | None = Field(None, description="for a difference: the scenario it is compared with")
    holds: Literal["zero", "sign", "none"] = Field(
        description="zero: the outcome is 0 in every replication; sign: the paired CI excludes zero on the "
                    "side of the default's difference; none: reported only")


class RobustnessFileSpec(_Strict):
    """The robustness file: the judgement parameters, the spread around their defaults, the conclusions."""

    spread: float = Field(0.5, gt=0, lt=1, description="relative change: values at (1 - spread) and (1 + spread)")
    judgement: list[Name] = Field(min_length=1, description="global parameters whose value is judgement")
    conclusions: list[ConclusionSpec] = Field(min_length=1)
