"""Reading pattern files: strict checks, one-line errors, expected ranges, names checked against the scenario.

Files are checked as strictly as scenario files: unknown keys, wrong types, a missing
source, a measure that does not exist, an expected value of the wrong kind, names of
actors, donors or provinces the scenario does not have, and dates outside its span all
raise :class:`PatternError`, one line naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.calendar import horizon_steps, step_dates
from sim.geography import Map
from sim.patterns.schema import EPOCH, MEASURES, NEVER, PatternFileSpec, PatternSpec
from sim.scenario import ScenarioError, ScenarioSpec, read_yaml
from sim.scenario.errors import describe_error, field_path, suggest


class PatternError(ValueError):
    """A pattern file that cannot be used; the message is one line naming the file and the field."""


@dataclass(frozen=True)
class Pattern:
    """A checked pattern, ready to be measured.

    Attributes:
        spec: the pattern as written.
        file: the pattern file it comes from.
        scenario: the scenario file it is measured on.
        low: the lower end of the expected range, in the measure's unit (dates: days since 1970).
        high: the upper end (``inf`` for "never" or an open range).
        index: its place in the file's list (for messages).
    """

    spec: PatternSpec
    file: Path
    index: int
    scenario: Path
    low: float
    high: float

    @property
    def unit(self) -> str:
        """The measure's unit."""
        return type(self.spec.measure).unit


def day_number(d: dt.date) -> float:
    """A date as days since 1970-01-01 (how date measures are compared)."""
    return float((d - EPOCH).days)


def _bound(value: Any, unit: str) -> float:
    """One end of an expected range, in the measure's unit; ValueError says what was expected."""
    if unit == "date":
        if value == NEVER:
            return math.inf
        try:
            return day_number(dt.date.fromisoformat(value) if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError(f"a date (YYYY-MM-DD) or '{NEVER}'") from None
    if unit == "yes/no":
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a number")
    return float(value)


def expected_range(value: Any, unit: str) -> tuple[float, float]:
    """The expected value or ``[low, high]`` range as two numbers in the measure's unit.

    Raises:
        ValueError: a value of the wrong kind for the unit, or a range that is not ``low <= high``;
            the message says what was expected ("a number").
    """
    if isinstance(value, list):
        if len(value) != 2 or all(v is None for v in value):
            raise ValueError("a range [low, high] (one end may be null)")
        low = -math.inf if value[0] is None else _bound(value[0], unit)
        high = math.inf if value[1] is None else _bound(value[1], unit)
        if low > high:
            raise ValueError("a range [low, high] with low <= high")
        return low, high
    v = _bound(value, unit)
    return v, v


def _where(loc: tuple[Any, ...]) -> tuple[str, type[BaseModel]]:
    """A pydantic error location as ``patterns[2].measure.date``, and the model whose field it is.

    The measure's ``kind`` tag, which pydantic puts in the location, is left out.
    """
    kept: list[Any] = []
    model: type[BaseModel] = PatternFileSpec
    for k, p in enumerate(loc):
        if isinstance(p, int):
            model = PatternSpec if loc[k - 1] == "patterns" else model
        elif k and loc[k - 1] == "measure" and p in MEASURES:
            model = MEASURES[p]
            continue
        kept.append(p)
    return field_path(tuple(kept)), model


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _message(path: Path, exc: ValidationError) -> str:
    """One line for the first error: file, field, what was expected, what was found."""
    e = exc.errors()[0]
    where, model = _where(tuple(e.get("loc", ())))
    kinds = ", ".join(MEASURES)
    if e["type"] == "union_tag_invalid":
        tag = e.get("ctx", {}).get("tag")
        return f"{path}: {where}.kind: unknown measure {tag!r}{suggest(tag, list(MEASURES))} (measures: {kinds})"
    if e["type"] == "union_tag_not_found":
        return f"{path}: {where}.kind: required field is missing (measures: {kinds})"
    return describe_error(str(path), where, e, _keys(model))


def _validate(path: Path, data: dict[str, Any]) -> PatternFileSpec:
    try:
        return PatternFileSpec.model_validate(data)
    except ValidationError as exc:
        raise PatternError(_message(path, exc)) from None


def _scenario_path(path: Path, given: str | None, where: str) -> Path:
    if given is None:
        raise PatternError(f"{where}.scenario: required field is missing (here or at the top of the file)")
    p = Path(given)
    p = p if p.is_absolute() else path.parent / p
    if not p.is_file():
        raise PatternError(f"{where}.scenario: scenario file {given!r} not found (paths are relative to the file)")
    return p


def read_pattern_file(path: str | Path) -> list[Pattern]:
    """Read and check one pattern file (its structure; names and dates are checked by :func:`check_names`).

    Raises:
        PatternError: one line naming the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise PatternError(f"{path}: pattern file not found")
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise PatternError(str(exc).replace("scenario files", "pattern files")) from None
    spec = _validate(path, data)
    out = []
    for i, p in enumerate(spec.patterns):
        where = f"{path}: patterns[{i}]"
        try:
            low, high = expected_range(p.expected, type(p.measure).unit)
        except ValueError as exc:
            raise PatternError(f"{where}.expected: expected {exc} for measure {p.measure.kind} "
                               f"({type(p.measure).unit}); found {p.expected!r}") from None
        out.append(Pattern(p, path, i, _scenario_path(path, p.scenario or spec.scenario, where), low, high))
    return out


def load_patterns(files: Sequence[str | Path]) -> list[Pattern]:
    """Read every pattern file; identifiers must be unique across them.

    Raises:
        PatternError: no file, a bad file, or an identifier used twice.
    """
    if not files:
        raise PatternError("patterns: no pattern file given and none in patterns/")
    patterns: list[Pattern] = []
    seen: dict[str, Path] = {}
    for f in files:
        for p in read_pattern_file(f):
            if p.spec.id in seen:
                raise PatternError(f"{p.file}: id {p.spec.id!r} is used twice (also in {seen[p.spec.id]})")
            seen[p.spec.id] = p.file
            patterns.append(p)
    return patterns


def _dates(m: Any) -> list[tuple[str, dt.date]]:
    return [(k, v) for k in ("date", "by") if isinstance(v := getattr(m, k, None), dt.date)]


def _need(name: str, pool: Sequence[str], where: str, what: str) -> None:
    if name not in pool:
        raise PatternError(f"{where}: unknown {what} {name!r} in the scenario{suggest(name, list(pool))}")


def check_names(p: Pattern, spec: ScenarioSpec, m: Map) -> None:
    """Check a pattern against its scenario: actors, donors and provinces exist; dates fall in its span.

    Raises:
        PatternError: one line naming the pattern's file, its index and the field.
    """
    where = f"{p.file}: patterns[{p.index}].measure"
    meas = p.spec.measure
    for field in ("actors", "previous"):
        for k, a in enumerate(getattr(meas, field, None) or ()):
            _need(a, list(spec.factions), f"{where}.{'from' if field == 'previous' else field}[{k}]", "faction")
    if hasattr(meas, "donor"):
        _need(meas.donor, list(spec.donors), f"{where}.donor", "donor")
    for k, prov in enumerate(getattr(meas, "provinces", None) or ()):
        _need(prov, list(m.names), f"{where}.provinces[{k}]", "province")
    if getattr(meas, "province", None) is not None:
        _need(meas.province, list(m.names), f"{where}.province", "province")
    dates = step_dates(spec.start, horizon_steps(spec.months, spec.time_step), spec.time_step)
    first, last = dates[0].astype(dt.date), dates[-1].astype(dt.date)
    for k, d in _dates(meas):
        if not first <= d <= last:
            raise PatternError(f"{where}.{k}: {d} is outside the scenario's span, {first} to {last}")
