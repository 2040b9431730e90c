"""Load a scenario: files merged, overrides applied, validated, map found, names and events checked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.geography import DEFAULT_MAP, Map, MapError, load_map
from sim.scenario.errors import ScenarioError
from sim.scenario.events import check_events
from sim.scenario.merge import (
    ALLOW_OUTSIDE_OPTION,
    Origins,
    Tree,
    blame,
    load_chain,
    note_origin,
    parse_override,
    set_path,
    validate_data,
)
from sim.scenario.references import check_references
from sim.scenario.schema import NAME_PATTERN, ScenarioSpec


def _builtin_map(spec_map: str) -> Path | None:
    """The map folder of that name under sim/data; only a plain name, never a path out of it."""
    if not NAME_PATTERN.fullmatch(spec_map):
        return None
    folder = DEFAULT_MAP.parent / spec_map
    return folder if folder.is_dir() else None


def resolve_map_folder(spec_map: str, base: Path, source: str, tree: Tree | None = None) -> Path:
    """A map name under sim/data, or a folder path relative to the file that named it.

    Args:
        spec_map: what the scenario's ``map`` says.
        base: the folder of the file that named it.
        source: the start of an error message.
        tree: where a map folder may be (None: anywhere).

    Raises:
        ScenarioError: when neither exists, or the folder is outside the tree.
    """
    try:
        candidate = (base / spec_map).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python 3.12)
        raise ScenarioError(f"{source}: map: the path {spec_map!r} cannot be resolved") from None
    if candidate.is_dir() and (tree is None or tree.holds(candidate)):
        return candidate
    builtin = _builtin_map(spec_map)
    if builtin is not None:
        return builtin
    if candidate.is_dir():  # checked after the names under sim/data, so a library name is never refused
        raise ScenarioError(f"{source}: map: refused {spec_map!r}: it is outside {tree.roots[0]}, the folder of "
                            f"{tree.top.name} (pass {ALLOW_OUTSIDE_OPTION} to allow folders elsewhere)")
    raise ScenarioError(f"{source}: map: no map folder named {spec_map!r}")


def _load_map(spec: ScenarioSpec, base: Path, source: str, tree: Tree) -> Map:
    """The map the scenario names, read and checked."""
    folder = resolve_map_folder(spec.map, base, source, tree)
    try:
        return load_map(folder)
    except MapError as exc:
        raise ScenarioError(f"{source}: map: {exc}") from None


def _blamed(exc: ScenarioError, top: str, origins: Origins) -> ScenarioError:
    """The error, starting with what gave the field at fault: a file of the chain or a ``--set``."""
    msg = str(exc)
    if not msg.startswith(f"{top}: "):
        return exc  # a --set option, or a file of the chain that already names itself
    rest = msg[len(top) + 2:]
    field = rest.split(": ", 1)[0].split("[", 1)[0].split(" ", 1)[0]  # "events[3] (x)" -> "events"
    culprit = blame(origins, field)
    if culprit is None or culprit == top:
        return exc
    if culprit.startswith("--set "):
        return ScenarioError(f"{culprit}: {rest}")
    return ScenarioError(f"{culprit}: {rest} (reached from {top} through extends)")


@contextmanager
def _blaming(top: str, origins: Origins) -> Iterator[None]:
    """Checks of the merged data: their errors blame what gave the field, not always the top file."""
    try:
        yield
    except ScenarioError as exc:
        raise _blamed(exc, top, origins) from None


def _overridden(data: dict[str, Any], spec: ScenarioSpec, overrides: Sequence[str], origins: Origins) -> ScenarioSpec:
    """The scenario with each ``--set`` applied and validated in turn (each noted as its field's origin)."""
    for text in overrides:
        key, value = parse_override(text)
        source = f"--set {key}"
        data = set_path(data, key, value, source)
        spec = validate_data(data, source)
        note_origin(origins, key, source)
    return spec


def load_scenario(path: str | Path, overrides: Sequence[str] = (), *,
                  allow_outside: bool = False) -> tuple[ScenarioSpec, Map]:
    """Load, validate and resolve a scenario file (with what it extends and ``--set`` overrides).

    Args:
        path: the YAML file.
        overrides: ``path.to.field=value`` strings applied after the files are merged.
        allow_outside: let ``extends`` and ``map`` reach files outside the folder tree of
            ``path`` and the scenario library (refused by default, before anything is read).

    Returns:
        The frozen, resolved scenario and the map it runs on.

    Raises:
        ScenarioError: with a one-line message naming the file (or ``--set``) and the field.
    """
    p = Path(path)
    top = str(p)
    tree = Tree.of(p, allow_outside)
    data, map_base, origins = load_chain(p, tree)
    with _blaming(top, origins):
        spec = validate_data(data, top)
    spec = _overridden(data, spec, overrides, origins)
    with _blaming(top, origins):
        m = _load_map(spec, map_base, top, tree)
        check_references(spec, m, top)
        check_events(spec, m, top)
    return spec, m
