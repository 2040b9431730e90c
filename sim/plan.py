"""Planning a batch: scenarios x sweep points, each with its horizon, cut into chunks of runs.

A :class:`Point` is one scenario at one point of the sweep grid, with the horizon it
runs to and the values of its swept columns, already cast to the one type that column
has in every part of the batch. A :class:`Chunk` is consecutive replications of one
point: the unit of work and of storage. The plan depends on the batch only, never on the
executor or the number of workers, so the files of a batch are the same bit for bit
however it was run.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.geography import Map, load_map
from sim.posterior import PARTICLE, Posterior, PosteriorError
from sim.scenario import (
    ScenarioError,
    ScenarioSpec,
    check_events,
    check_references,
    load_scenario,
    parse_override,
    put_path,
    validate_data,
)

CHUNK_SIZE = 10  # replications per chunk: fixed, so the files do not depend on the executor
MAX_POINTS = 10_000  # sweep points of one batch: checked before the grid is built
# fields a sweep may not change: each names or shapes the whole batch, not one point
UNSWEPT = {"name": "it names the scenario's results", "map": "every point runs on the scenario's map",
           "replications": "the number of replications is the batch's (--replications)"}


class BatchError(ValueError):
    """A batch that cannot start as asked (a bound, a folder with results, a mismatched resume)."""


@dataclass(frozen=True)
class Point:
    """One scenario at one sweep point: the resolved scenario and the values swept to get it.

    Attributes:
        scenario: the scenario's name.
        point: index of the sweep point (0 when nothing is swept).
        values: swept path -> value at this point, as given (they name the point's group).
        spec: the resolved scenario at this point.
        map_folder: the map it runs on.
        months: the horizon its runs go to (the scenario's own, or the batch's override).
        columns: swept path -> the value written in its column, cast to the column's type.
        posterior: the posterior each run draws its parameters from (:mod:`sim.posterior`), or
            None: every run has the point's own.
    """

    scenario: str
    point: int
    values: dict[str, Any]
    spec: ScenarioSpec
    map_folder: Path
    months: int
    columns: dict[str, Any]
    posterior: Posterior | None = None

    @functools.cached_property
    def scenario_hash(self) -> str:
        """The resolved scenario's hash, computed once (a run of a posterior ensemble looks it up)."""
        return self.spec.digest()

    @property
    def key(self) -> str:
        """Identifier of the point in file names and the run ledger."""
        return f"{self.scenario}-p{self.point:03d}"


@dataclass(frozen=True)
class Chunk:
    """Consecutive replications of one point: the unit of work and of storage.

    ``probe``, if given, is called in the worker with the chunk's run results; what it returns
    travels back with the chunk (:attr:`sim.executors.ChunkResult.probed`). It must be picklable.
    """

    point: Point
    replications: tuple[int, ...]
    probe: Any = None

    @property
    def key(self) -> str:
        """Deterministic chunk identifier (names its Parquet parts)."""
        return f"{self.point.key}-r{self.replications[0]:06d}-{self.replications[-1]:06d}"

    def run_ids(self) -> list[str]:
        """Identifiers of the runs in the chunk."""
        return [run_id(self.point, r) for r in self.replications]


def run_id(point: Point, replication: int) -> str:
    """Identifier of one run: scenario, sweep point, replication."""
    return f"{point.key}-r{replication:06d}"


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``path=v1,v2,...`` -> (path, values), each value read as YAML.

    Raises:
        ScenarioError: without '=', without a path or values, or a path that cannot be swept.
    """
    if "=" not in text:
        raise ScenarioError(f"--sweep {text}: expected path=value1,value2,...")
    path, raw = (x.strip() for x in text.split("=", 1))
    if not path or any(not part.strip() for part in path.split(".")):
        raise ScenarioError(f"--sweep {text}: expected path=value1,value2,...")
    if path in UNSWEPT:
        raise ScenarioError(f"--sweep {path}: cannot be swept: {UNSWEPT[path]}")
    # the path is checked above, so reading a value can only fail as a --sweep value
    values = [parse_override(f"{path}={v}")[1] for v in raw.split(",") if v.strip()]
    if not values:
        raise ScenarioError(f"--sweep {text}: expected path=value1,value2,...")
    return path, values


def column_type(values: Sequence[Any]) -> str:
    """The one Parquet type of a swept column, from all its values (as the schema typed them).

    A float field swept with 0 and 0.6 is float64 in every part; int64 only when every value
    is an integer; bool when every value is a boolean; otherwise text (JSON for structures).
    """
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if any(isinstance(v, bool) for v in values):
        return "string"
    if all(isinstance(v, int) for v in values):
        return "int64"
    if all(isinstance(v, int | float) for v in values):
        return "float64"
    return "string"


def cast_column(value: Any, kind: str) -> Any:
    """A swept value as written in its column of type ``kind`` (see :func:`column_type`)."""
    if kind == "float64":
        return float(value)
    if kind == "int64":
        return int(value)
    if kind == "bool":
        return bool(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _typed(spec: ScenarioSpec, path: str, given: Any) -> Any:
    """The value at ``path`` of a validated scenario: what the schema made of the given value."""
    node: Any = spec.model_dump(mode="python")
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return given
        node = node[part]
    return node


def _grid(sweeps: Sequence[tuple[str, list[Any]]]) -> list[tuple[Any, ...]]:
    """Every combination of the swept values (full factorial), refused before it is built when too big."""
    paths = [path for path, _ in sweeps]
    twice = next((p for p in paths if paths.count(p) > 1), None)
    if twice is not None:
        raise ScenarioError(f"--sweep {twice}: given twice; give every value in one --sweep")
    size = math.prod(len(values) for _, values in sweeps)
    if size > MAX_POINTS:
        raise ScenarioError(f"--sweep: {size:,} sweep points; at most {MAX_POINTS:,}")
    return list(itertools.product(*[values for _, values in sweeps])) or [()]


def _point_spec(spec: ScenarioSpec, m: Map, data: dict[str, Any], values: dict[str, Any],
                label: str = "--sweep") -> ScenarioSpec:
    """The scenario at one sweep point, checked as a file is: schema, names, and its events in time order.

    ``label`` names where the values come from in error messages (``--sweep``, a design point).
    """
    if not values:
        return spec
    source = f"{label} {', '.join(f'{p}={v}' for p, v in values.items())}"
    data = copy.deepcopy(data)  # once, not once a path: the scenario's data is large
    for path, v in values.items():
        data = put_path(data, path, v, f"{label} {path}")
    point = validate_data(data, source)
    # a swept value may name nothing, or move an event (time_step, start), so each point is checked whole
    check_references(point, m, source)
    check_events(point, m, source)
    return point


def plan_points(scenarios: Sequence[tuple[ScenarioSpec, Map, dict[str, Any]]],
                sweeps: Sequence[tuple[str, list[Any]]], months: int | None = None) -> list[Point]:
    """Every scenario at every point of the sweep grid (full factorial), each validated.

    Args:
        scenarios: (resolved scenario, map, its resolved data) per scenario.
        sweeps: (dotted path, values) per swept field.
        months: one horizon for every point; None keeps each point's own (its scenario's,
            or the swept ``months``).

    Raises:
        ScenarioError: naming the sweep if a value makes an invalid scenario.
    """
    if months is not None and any(path == "months" for path, _ in sweeps):
        raise ScenarioError("--months: cannot be given with --sweep months=...; choose one")
    return plan_design(scenarios, [path for path, _ in sweeps], _grid(sweeps), months)


def plan_design(scenarios: Sequence[tuple[ScenarioSpec, Map, dict[str, Any]]], paths: Sequence[str],
                rows: Sequence[Sequence[Any]], months: int | None = None, label: str = "--sweep") -> list[Point]:
    """Every scenario at every row of a design (a grid, a sample, a user's table), each validated.

    Args:
        scenarios: (resolved scenario, map, its resolved data) per scenario.
        paths: the dotted paths the design sets.
        rows: one value per path in each row; row k is sweep point k.
        months: one horizon for every point (None: each point's own).
        label: where the values come from, for error messages.

    Raises:
        ScenarioError: naming the values if a row makes an invalid scenario.
    """
    names = [s.name for s, _, _ in scenarios]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenarios: two scenarios share a name ({names}); names label the results")
    staged = []
    for spec, m, data in scenarios:
        for k, combo in enumerate(rows):
            values = {path: v for path, v in zip(paths, combo, strict=True)}
            point_spec = _point_spec(spec, m, data, values, label if values else "--sweep")
            typed = {path: _typed(point_spec, path, v) for path, v in values.items()}
            staged.append((spec.name, k, values, point_spec, m.folder, typed))
    # one type per swept column, decided from every value of the batch before any part is written
    kinds = {path: column_type([s[5][path] for s in staged]) for path in paths}
    return [Point(name, k, values, spec, folder, months if months is not None else spec.months,
                  {p: cast_column(v, kinds[p]) for p, v in typed.items()})
            for name, k, values, spec, folder, typed in staged]


def load_points(files: Sequence[str | Path], overrides: Sequence[str] = (), sweeps: Sequence[str] = (),
                months: int | None = None, *, allow_outside: bool = False) -> list[Point]:
    """Load scenario files (with ``--set`` overrides) and plan their sweep grid.

    Args:
        files: scenario YAML files.
        overrides: ``path=value`` strings applied to every scenario.
        sweeps: ``path=v1,v2,...`` strings; several form a full grid.
        months: one horizon for every point (None: each scenario's own).
        allow_outside: let ``extends`` and ``map`` reach outside each file's folder tree.

    Raises:
        ScenarioError: a one-line message naming the file or option and the field.
    """
    loaded = [load_scenario(f, overrides, allow_outside=allow_outside) for f in files]
    return plan_points([(s, m, s.model_dump(mode="python")) for s, m in loaded], [parse_sweep(t) for t in sweeps],
                       months)


_SPECS: dict[tuple[str, str, int], ScenarioSpec] = {}  # (point's scenario hash, posterior, particle) -> scenario


def particle_spec(point: Point, m: Map, particle: int) -> ScenarioSpec:
    """The point's scenario with one posterior particle's values, checked whole (kept for reuse)."""
    if point.posterior is None:
        raise ValueError(f"{point.key}: has no posterior")
    key = (point.scenario_hash, point.posterior.digest, particle)
    if key not in _SPECS:
        if len(_SPECS) > 10_000:  # a long-lived process (a notebook, calibrations) stays bounded
            _SPECS.clear()
        _SPECS[key] = _point_spec(point.spec, m, point.spec.model_dump(mode="python"),
                                  point.posterior.overrides(particle), f"--posterior {point.posterior.name} "
                                  f"particle {particle}")
    return _SPECS[key]


def run_spec(point: Point, m: Map, base_seed: int, replication: int) -> tuple[ScenarioSpec, dict[str, Any]]:
    """The scenario one run of a point runs, and what it drew (particle and values; empty without posterior)."""
    if point.posterior is None:
        return point.spec, {}
    k = point.posterior.particle(base_seed, replication)
    return particle_spec(point, m, k), {PARTICLE: k, **point.posterior.overrides(k)}


def attach_posterior(points: Sequence[Point], posterior: Posterior, fixed: Sequence[str] = ()) -> list[Point]:
    """The points with each run's parameters drawn from ``posterior``; every particle checked at every point.

    Args:
        points: the planned points.
        posterior: the posterior (:func:`sim.posterior.load_posterior`).
        fixed: paths the user set (``--set``): one drawn as well is refused, not silently replaced.

    Raises:
        PosteriorError: a drawn path also set or swept, or a particle that makes an invalid scenario.
    """
    for path in posterior.paths:
        if path in fixed:
            raise PosteriorError(f"--set {path}: also drawn from --posterior {posterior.name}; remove one")
        if path in UNSWEPT or path == "months":
            raise PosteriorError(f"--posterior {posterior.name}: {path}: cannot be drawn: it shapes the whole batch")
        swept = next((p for p in points if path in p.values), None)
        if swept is not None:
            raise PosteriorError(f"--sweep {path}: also drawn from --posterior {posterior.name}; remove one")
    out = []
    for p in points:
        point = dataclasses.replace(p, posterior=posterior)
        m = load_map(p.map_folder)
        for k in range(len(posterior.values)):
            particle_spec(point, m, k)
        out.append(point)
    return out


def plan_chunks(points: Sequence[Point], replications: int, done: set[str] = frozenset(),
                chunk_size: int = CHUNK_SIZE, probe: Any = None) -> list[Chunk]:
    """Chunks of the runs not yet done, in a fixed order (point, then replication), each with ``probe``."""
    chunks = []
    for p in points:
        for start in range(0, replications, chunk_size):
            reps = tuple(r for r in range(start, min(start + chunk_size, replications))
                         if run_id(p, r) not in done)
            if reps:
                chunks.append(Chunk(p, reps, probe))
    return chunks
