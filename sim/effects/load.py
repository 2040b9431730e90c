"""Reading the effects and robustness files: strict checks, one-line errors naming file and field.

Files are checked as strictly as scenario and pattern files, before anything runs: unknown
keys, wrong types, a missing source, an outcome that is not in the vocabulary, a donor the
scenario does not have, an override the scenario refuses, a month past the horizon, two arms
that cannot be paired (other horizons or time steps), an id used twice, a judgement parameter
that does not exist: each raises :class:`EffectsError`, one line naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.effects.outcomes import OUTCOMES
from sim.effects.schema import ArmSpec, ConclusionSpec, EffectsFileSpec, EffectSpec, RobustnessFileSpec
from sim.parameters import Parameters
from sim.scenario import ScenarioError, ScenarioSpec, load_scenario
from sim.scenario.errors import suggest
from sim.scenario.safe_yaml import read_model


class EffectsError(ValueError):
    """An effects or robustness file that cannot be used; the message is one line naming file and field."""


@dataclass(frozen=True)
class Arm:
    """A scenario file with its overrides: one batch of runs, shared by every comparison that uses it.

    Attributes:
        scenario: the scenario file (resolved path).
        overrides: ``path=value`` strings, sorted, as ``run.py run --set`` takes them.
    """

    scenario: Path
    overrides: tuple[str, ...] = ()

    def with_overrides(self, more: Sequence[str]) -> Arm:
        """The same arm with more overrides (a later one on the same path wins)."""
        merged = {o.split("=", 1)[0]: o for o in (*self.overrides, *more)}
        return Arm(self.scenario, tuple(sorted(merged.values())))

    def words(self) -> str:
        """The arm in words: the scenario file's stem and its overrides."""
        return self.scenario.stem + (" with " + ", ".join(self.overrides) if self.overrides else "")


@dataclass(frozen=True)
class Effect:
    """A checked effect, ready to run: its spec and its two arms."""

    spec: EffectSpec
    variant: Arm
    reference: Arm
    kind: str  # "mechanism" or "claim"


def overrides(values: dict[str, Any]) -> tuple[str, ...]:
    """A ``set:`` mapping as ``path=value`` strings (values as JSON, which ``--set`` reads as YAML)."""
    return tuple(sorted(f"{k}={json.dumps(v)}" for k, v in values.items()))


def _read(path: Path, model: type[BaseModel]) -> Any:
    return read_model(path, model, EffectsError, "file")


def _scenario(path: Path, given: str, where: str) -> Path:
    p = Path(given)
    p = (p if p.is_absolute() else path.parent / p).resolve()
    if not p.is_file():
        raise EffectsError(f"{where}: scenario file {given!r} not found (paths are relative to the file)")
    return p


def _loaded(arm: Arm, where: str) -> ScenarioSpec:
    try:
        return load_scenario(arm.scenario, arm.overrides)[0]
    except ScenarioError as exc:
        raise EffectsError(f"{where}: {exc}") from None


def _arm(path: Path, spec: ArmSpec, where: str) -> tuple[Arm, ScenarioSpec]:
    arm = Arm(_scenario(path, spec.scenario, f"{where}.scenario"), overrides(spec.set))
    return arm, _loaded(arm, f"{where}.set" if spec.set else f"{where}.scenario")


def check_measured(m: Any, scenario: ScenarioSpec, where: str) -> None:
    """Check an outcome, its donor(s) and month against a resolved scenario.

    Raises:
        EffectsError: one line naming the field.
    """
    if m.outcome not in OUTCOMES:
        raise EffectsError(f"{where}.outcome: unknown outcome {m.outcome!r}{suggest(m.outcome, list(OUTCOMES))} "
                           f"(outcomes: {', '.join(OUTCOMES)})")
    info = OUTCOMES[m.outcome]
    if info.donor != (m.donor is not None):
        raise EffectsError(f"{where}.donor: " + ("required for outcome " if info.donor else "not taken by outcome ")
                           + m.outcome)
    if m.donors is not None and not info.donors:
        raise EffectsError(f"{where}.donors: not taken by outcome {m.outcome}")
    for k, d in enumerate([m.donor] if m.donor else m.donors or []):
        if d not in scenario.donors:
            field = "donor" if m.donor else f"donors[{k}]"
            hint = suggest(d, list(scenario.donors))
            raise EffectsError(f"{where}.{field}: unknown donor {d!r} in {scenario.name}{hint}")
    if m.month > scenario.months:
        raise EffectsError(f"{where}.month: {m.month:g} is past the horizon of {scenario.name} "
                           f"({scenario.months} months)")


def check_paired(a: ScenarioSpec, b: ScenarioSpec, where: str) -> None:
    """Two arms pair by replication only with the same factions, time step and horizon.

    Raises:
        EffectsError: naming the field and what differs.
    """
    for what, x, y in (("factions", list(a.factions), list(b.factions)), ("time step", a.time_step, b.time_step),
                       ("horizon", a.months, b.months)):
        if x != y:
            raise EffectsError(f"{where}: the variant ({a.name}) and the reference ({b.name}) have other {what} "
                               f"({x} vs {y}); runs pair by replication only when these are the same")


def _effect(path: Path, e: EffectSpec, where: str, kind: str) -> Effect:
    variant, vs = _arm(path, e.variant, f"{where}.variant")
    reference, rs = _arm(path, e.reference, f"{where}.reference")
    check_paired(vs, rs, where)
    check_measured(e, vs, where)
    return Effect(e, variant, reference, kind)


def load_effects(path: str | Path) -> list[Effect]:
    """Read and check an effects file: every effect, its arms loaded with their overrides.

    Raises:
        EffectsError: one line naming the file and the field.
    """
    path = Path(path)
    spec: EffectsFileSpec = _read(path, EffectsFileSpec)
    effects, seen = [], set()
    for kind, items in (("mechanism", spec.mechanisms), ("claim", spec.claims)):
        for k, e in enumerate(items):
            where = f"{path}: {kind}s[{k}]"
            if e.id in seen:
                raise EffectsError(f"{where}.id: {e.id!r} is used twice")
            seen.add(e.id)
            effects.append(_effect(path, e, where, kind))
    return effects


@dataclass(frozen=True)
class Conclusion:
    """A checked conclusion: its spec, its arm and, for a difference, the reference arm."""

    spec: ConclusionSpec
    arm: Arm
    reference: Arm | None


@dataclass(frozen=True)
class Robustness:
    """A checked robustness file."""

    spread: float
    judgement: tuple[str, ...]
    conclusions: tuple[Conclusion, ...]


def load_robustness(path: str | Path) -> Robustness:
    """Read and check a robustness file: the parameters exist, the conclusions can be measured.

    Raises:
        EffectsError: one line naming the file and the field.
    """
    path = Path(path)
    spec: RobustnessFileSpec = _read(path, RobustnessFileSpec)
    known = list(Parameters.model_fields)
    for k, name in enumerate(spec.judgement):
        if name not in known:
            raise EffectsError(f"{path}: judgement[{k}]: unknown parameter {name!r}{suggest(name, known)}")
        if name in spec.judgement[:k]:
            raise EffectsError(f"{path}: judgement[{k}]: {name!r} is listed twice")
    out, seen = [], set()
    for k, c in enumerate(spec.conclusions):
        where = f"{path}: conclusions[{k}]"
        if c.id in seen:
            raise EffectsError(f"{where}.id: {c.id!r} is used twice")
        seen.add(c.id)
        arm, s = _arm(path, ArmSpec(scenario=c.scenario), where)
        ref = None
        if c.reference is not None:
            ref, r = _arm(path, ArmSpec(scenario=c.reference), f"{where}.reference")
            check_paired(s, r, where)
        elif c.holds == "sign":
            raise EffectsError(f"{where}.holds: 'sign' needs a reference (a difference of two scenarios)")
        check_measured(c, s, where)
        out.append(Conclusion(c, arm, ref))
    return Robustness(spec.spread, tuple(spec.judgement), tuple(out))
