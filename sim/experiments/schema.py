"""The experiment file, as strict pydantic models, in EMA workbench's vocabulary.

*Uncertainties* are what nobody controls (a parameter's plausible range), *levers* what a
policy sets (a donor's budget); both are ranges over scenario fields, sampled together.
*Outcomes* are measured at each of the ``months``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.experiments import ExperimentError

OUTCOMES = ("resistance_territory", "government_territory", "resistance_provinces", "resistance_strength")


class Strict(BaseModel):
    """A file's model: unknown keys, infinities and coerced types are errors; frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Span(Strict):
    """A scenario field (a dotted path, as ``run.py run --set`` takes it) and a range of its values."""

    path: str = Field(min_length=1, description="dotted path of a scenario field, e.g. parameters.harm_anger")
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must exceed low ({self.low:g})")
        return self


class Range(Span):
    """A span sampled uniformly (an uncertainty or a lever)."""

    integer: bool = Field(False, description="round sampled values to integers (for integer fields)")


class DiscoverSpec(Strict):
    """Scenario discovery: the runs whose outcome at a month passes a threshold are the cases of interest."""

    outcome: Literal[OUTCOMES] = "resistance_territory"  # type: ignore[valid-type]
    month: int = Field(gt=0, description="month at which the outcome is read")
    above: float = Field(description="a run is a case of interest when its outcome exceeds this (a share for "
                         "territory)")
    density: float = Field(0.8, gt=0, le=1, description="density the chosen PRIM box must reach")


class ExperimentSpec(Strict):
    """An experiment: a scenario, the ranges sampled, the outcomes, the design and its size."""

    scenario: str = Field(description="scenario file, relative to this file")
    uncertainties: list[Range] = Field(default_factory=list)
    levers: list[Range] = Field(default_factory=list)
    outcomes: list[Literal[OUTCOMES]] = Field(min_length=1)  # type: ignore[valid-type]
    months: list[int] = Field(min_length=1, description="months at which outcomes are measured")
    method: Literal["sobol", "morris", "lhs", "csv"] = "sobol"
    samples: int = Field(16, ge=2, le=100_000, description="Sobol: base samples N (N (D + 2) points); "
                         "Morris: trajectories (r (D + 1) points); LHS: points")
    design: str | None = Field(None, description="for method csv: a CSV file, one column per path, one row a point")
    replications: int = Field(5, ge=1, le=10_000, description="runs per design point (common random numbers)")
    seed: int = Field(1, ge=0, description="base seed of the runs and of the sample")
    discover: DiscoverSpec | None = Field(None, description="scenario discovery with PRIM on the runs")

    @model_validator(mode="after")
    def _complete(self) -> ExperimentSpec:
        paths = [r.path for r in self.ranges]
        if not paths:
            raise ValueError("give at least one uncertainty or lever")
        if len(set(paths)) != len(paths):
            raise ValueError(f"a path is given twice: {sorted({p for p in paths if paths.count(p) > 1})}")
        if (self.method == "csv") != (self.design is not None):
            raise ValueError("method csv takes a design file, and only it does")
        return self

    @property
    def ranges(self) -> list[Range]:
        """Uncertainties then levers, in the file's order: the columns of the design."""
        return [*self.uncertainties, *self.levers]


def load_experiment(path: str | Path) -> ExperimentSpec:
    """Read and check an experiment file.

    Raises:
        ExperimentError: one line naming the file and the field.
    """
    from sim.scenario.safe_yaml import read_model

    return read_model(Path(path), ExperimentSpec, ExperimentError, "experiment file")
