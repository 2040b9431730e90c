"""The calibration file, as strict pydantic models: priors, target and held-out patterns, the sampler."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sim.experiments.schema import Span, Strict


class CalibrationError(ValueError):
    """A bad calibration file or option (the command line makes it exit code 2)."""


class PriorSpec(Span):
    """A span with its prior: uniform, or uniform in the logarithm."""

    scale: Literal["uniform", "log"] = Field("uniform", description="uniform, or uniform in the logarithm")

    @model_validator(mode="after")
    def _positive(self) -> PriorSpec:
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log prior needs low > 0, found {self.low:g}")
        return self


class TargetSpec(Strict):
    """A pattern the calibration fits, by its id in the pattern files, and its weight in the distance."""

    pattern: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)


class SamplerSpec(Strict):
    """ABC-SMC's population and stopping rules (:class:`sim.calibration.smc.Settings`)."""

    population: int = Field(50, ge=4, le=100_000, description="particles kept per generation")
    generations: int = Field(5, ge=1, le=100, description="the most generations, the prior's included")
    quantile: float = Field(0.5, gt=0, lt=1, description="tolerance: this weighted quantile of the last distances")
    min_epsilon: float = Field(0.0, ge=0, description="stop once the tolerance is at or below this")
    min_acceptance: float = Field(0.02, gt=0, le=1, description="stop once a generation keeps less than this share")
    max_simulations: int = Field(20_000, ge=4, description="most candidate parameter sets in all generations")


class CalibrationSpec(Strict):
    """A calibration: what is uncertain, what it is fitted to, what is held out, how it samples."""

    patterns: list[str] = Field(default_factory=lambda: ["../patterns"], description="pattern files or folders, "
                                "relative to this file")
    priors: list[PriorSpec] = Field(min_length=1)
    targets: list[TargetSpec] = Field(min_length=1)
    held_out: list[str] = Field(default_factory=list, description="pattern ids checked, never fitted")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    replications: int = Field(3, ge=1, le=1_000, description="runs per particle and scenario (common random "
                              "numbers: the same seeds for every particle)")
    seed: int = Field(1, ge=0, description="seed of the sampler and base seed of the runs")
    executor: Literal["local", "dask"] = Field("local", description="where the particles' runs go: local "
                                               "processes, or Dask (a LocalCluster, or the scheduler below)")
    scheduler: str | None = Field(None, description="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")

    @model_validator(mode="after")
    def _distinct(self) -> CalibrationSpec:
        for what, names in (("priors", [p.path for p in self.priors]),
                            ("targets", [t.pattern for t in self.targets]), ("held_out", self.held_out)):
            if len(set(names)) != len(names):
                raise ValueError(f"{what}: {sorted({n for n in names if names.count(n) > 1})[0]!r} is given twice")
        if self.scheduler and self.executor != "dask":
            raise ValueError("scheduler: only with executor dask")
        both = {t.pattern for t in self.targets} & set(self.held_out)
        if both:
            raise ValueError(f"held_out: {sorted(both)[0]!r} is also a target; a pattern is fitted or held out")
        return self


def load_calibration(path: str | Path) -> CalibrationSpec:
    """Read and check a calibration file.

    Raises:
        CalibrationError: one line naming the file and the field.
    """
    from sim.scenario.safe_yaml import read_model

    return read_model(Path(path), CalibrationSpec, CalibrationError, "calibration file")
