"""Load a scenario: files merged, overrides applied, validated, map found, names and events checked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.geography import DEFAULT_MAP, Map, MapError, load_map
from sim.scenario.errors import ScenarioError
from sim.scenario.events import check_events
from sim.scenario.merge import load_raw, parse_override, set_path, validate_data
from sim.scenario.references import check_references
from sim.scenario.schema import ScenarioSpec


def resolve_map_folder(spec_map: str, base: Path, source: str) -> Path:
    """A map name under sim/data, or a folder path relative to the file that named it.

    Raises:
        ScenarioError: when neither exists.
    """
    candidate = (base / spec_map).resolve()
    if candidate.is_dir():
        return candidate
    builtin = DEFAULT_MAP.parent / spec_map
    if builtin.is_dir():
        return builtin
    raise ScenarioError(f"{source}: map: no map folder named {spec_map!r}")


def _load_map(spec: ScenarioSpec, base: Path, source: str) -> Map:
    """The map the scenario names, read and checked."""
    folder = resolve_map_folder(spec.map, base, source)
    try:
        return load_map(folder)
    except MapError as exc:
        raise ScenarioError(f"{source}: map: {exc}") from None


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> tuple[ScenarioSpec, Map]:
    """Load, validate and resolve a scenario file (with what it extends and ``--set`` overrides).

    Args:
        path: the YAML file.
        overrides: ``path.to.field=value`` strings applied after the files are merged.

    Returns:
        The frozen, resolved scenario and the map it runs on.

    Raises:
        ScenarioError: with a one-line message naming the file (or ``--set``) and the field.
    """
    p = Path(path)
    data, map_base = load_raw(p)
    spec = validate_data(data, str(p))
    for text in overrides:
        key, value = parse_override(text)
        data = set_path(data, key, value, f"--set {key}")
        spec = validate_data(data, f"--set {key}")
    m = _load_map(spec, map_base, str(p))
    check_references(spec, m, str(p))
    check_events(spec, m, str(p))
    return spec, m
