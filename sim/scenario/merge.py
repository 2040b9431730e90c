"""Raw scenario data: files merged along ``extends``, ``--set`` overrides, and validation into a spec.

A file may build on another (``extends: baseline.yaml``): mappings merge key by key,
other values replace, null removes. Only ``.yaml``/``.yml`` files can be extended, so a
path to some other file on the machine is refused by name, before it is read, and its
content can never show up in an error.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario.errors import ScenarioError, format_validation_error
from sim.scenario.safe_yaml import load_value, read_yaml
from sim.scenario.schema import ScenarioSpec

SCENARIO_SUFFIXES = (".yaml", ".yml")
# files in one chain of ``extends``: far beyond any library, and far from Python's recursion limit,
# whose error would name whichever file was being read when it struck
MAX_EXTENDS = 50


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into ``base``: mappings merge key by key, other values replace, null removes."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _is_scenario_name(path: Path) -> bool:
    return path.suffix.lower() in SCENARIO_SUFFIXES


def _parent_path(path: Path, parent: Any, chain: tuple[Path, ...]) -> Path:
    """The resolved file that ``path`` extends, checked before it is read.

    Raises:
        ScenarioError: not a file name, not a ``.yaml``/``.yml`` file (also through a link),
            a link loop, a cycle of ``extends``, or no such file.
    """
    # a name with a newline or another control character would break the one-line message
    if not isinstance(parent, str) or not parent.strip() or not parent.isprintable():
        raise ScenarioError(f"{path}: extends: expected the name of a scenario file, found {parent!r}")
    refused = f"{path}: extends: refused {parent}"
    if not _is_scenario_name(Path(parent)):
        raise ScenarioError(f"{refused}: only .yaml or .yml scenario files can be extended")
    try:
        ppath = (path.parent / parent).resolve()
        here = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python 3.12)
        raise ScenarioError(f"{refused}: the path cannot be resolved (a symbolic link loop?)") from None
    if not _is_scenario_name(ppath):
        raise ScenarioError(f"{refused}: it links to {ppath}, which is not a .yaml or .yml file")
    if ppath in (*chain, here):
        cycle = " -> ".join(p.name for p in (*chain, here, ppath))
        raise ScenarioError(f"{path}: extends: cycle {cycle}")
    if not ppath.is_file():
        raise ScenarioError(f"{path}: extends: file not found: {parent}")
    return ppath


def load_raw(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Read a scenario file and the files it ``extends``, merged; also the folder its map is relative to.

    Args:
        path: the scenario file.
        chain: the files that led here through ``extends`` (to detect a cycle).

    Raises:
        ScenarioError: for a missing, refused or cyclic ``extends`` and for unreadable files.
    """
    data = read_yaml(path)
    map_base = path.parent
    parent = data.pop("extends", None)
    if parent is None:
        return data, map_base
    if len(chain) + 1 >= MAX_EXTENDS:
        top = chain[0] if chain else path
        raise ScenarioError(f"{top}: extends: a chain of more than {MAX_EXTENDS} files (stopped at {path.name})")
    ppath = _parent_path(path, parent, chain)
    base, base_map = load_raw(ppath, (*chain, path.resolve()))
    return deep_merge(base, data), (map_base if "map" in data else base_map)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.field=value``; the value is read as YAML (numbers, booleans, lists...).

    Raises:
        ScenarioError: when the text has no ``=`` or an empty path.
    """
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected path.to.field=value")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"--set {text}: expected path.to.field=value")
    try:
        parsed = load_value(value) if value.strip() else ""
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # text that is not YAML (or not hashable as a key: ``{[1]: 2}``) is taken as text
        parsed = value
    return key, parsed


def put_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> dict[str, Any]:
    """Set ``dotted`` to ``value`` in ``data`` itself (intermediate mappings created); returns ``data``.

    Raises:
        ScenarioError: when a step of the path is not a mapping.
    """
    node = data
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{source}: {'.'.join(parts[: i + 1])} is not a mapping, cannot set {dotted}")
        node = nxt
    node[parts[-1]] = value
    return data


def set_path(data: dict[str, Any], dotted: str, value: Any, source: str) -> dict[str, Any]:
    """A copy of ``data`` with ``dotted`` set to ``value`` (intermediate mappings created).

    Raises:
        ScenarioError: when a step of the path is not a mapping.
    """
    return put_path(copy.deepcopy(data), dotted, value, source)


def validate_data(data: dict[str, Any], source: str) -> ScenarioSpec:
    """Validate merged scenario data; errors name ``source``.

    Raises:
        ScenarioError: with the dotted field path.
    """
    if isinstance(data, dict) and "states" in data:
        # the section was called ``states`` before 0.2; the diaspora is a donor, not a state
        raise ScenarioError(f"{source}: states: this section is now called 'donors' (rename the key)")
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(source, exc, ScenarioSpec)) from None
