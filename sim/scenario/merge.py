"""Raw scenario data: files merged along ``extends``, ``--set`` overrides, and validation into a spec.

A file may build on another (``extends: baseline.yaml``): mappings merge key by key,
other values replace, null removes. Only ``.yaml``/``.yml`` files inside the folder tree
of the file the user named (or in the tool's scenario library) can be extended, links
followed, unless the caller allows files elsewhere; anything else is refused by name,
before it is read, so its content can never show up in an error. Each key of the merged
data remembers the file it came from, so an error can blame the file that is wrong.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
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
# the scenario library shipped with the tool: any scenario may extend it (its baseline, say)
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
ALLOW_OUTSIDE_OPTION = "--allow-outside"  # the command-line option that passes ``allow_outside``


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


# key path in the merged data -> the last file of the chain (or the --set option) that gave it
Origins = dict[tuple[str, ...], str]


@dataclass(frozen=True)
class Tree:
    """Where ``extends`` may lead: the folder of the file the user named, and the tool's own library."""

    top: Path
    roots: tuple[Path, ...]
    anywhere: bool = False

    @classmethod
    def of(cls, top: Path, anywhere: bool = False) -> Tree:
        """The tree of ``top`` (the scenario file the user named)."""
        return cls(top, (top.parent.resolve(), LIBRARY.resolve()), anywhere)

    def holds(self, resolved: Path) -> bool:
        """Whether a resolved path (links followed) may be read."""
        return self.anywhere or any(resolved.is_relative_to(r) for r in self.roots)


def _resolve(path: Path, parent: str) -> Path:
    """The file ``parent`` names from ``path``, links followed and checked, before anything of it is read."""
    refused = f"{path}: extends: refused {parent}"
    if not _is_scenario_name(Path(parent)):
        raise ScenarioError(f"{refused}: only .yaml or .yml scenario files can be extended")
    try:
        ppath = (path.parent / parent).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python 3.12)
        raise ScenarioError(f"{refused}: the path cannot be resolved (a symbolic link loop?)") from None
    if not _is_scenario_name(ppath):
        raise ScenarioError(f"{refused}: it links to {ppath}, which is not a .yaml or .yml file")
    return ppath


def _parent_path(path: Path, parent: Any, chain: tuple[Path, ...], tree: Tree) -> Path:
    """The resolved file that ``path`` extends, checked before it is read.

    Raises:
        ScenarioError: not a file name, not a ``.yaml``/``.yml`` file (also through a link),
            outside the tree, a link loop, a cycle of ``extends``, or no such file.
    """
    # a name with a newline or another control character would break the one-line message
    if not isinstance(parent, str) or not parent.strip() or not parent.isprintable():
        raise ScenarioError(f"{path}: extends: expected the name of a scenario file, found {parent!r}")
    ppath = _resolve(path, parent)
    # refused before it is read, and before its existence is told: nothing of a file elsewhere shows
    if not tree.holds(ppath):
        raise ScenarioError(f"{path}: extends: refused {parent}: it is outside {tree.roots[0]}, the folder of "
                            f"{tree.top.name} (pass {ALLOW_OUTSIDE_OPTION} to allow files elsewhere)")
    here = path.resolve()
    if ppath in (*chain, here):
        cycle = " -> ".join(p.name for p in (*chain, here, ppath))
        raise ScenarioError(f"{path}: extends: cycle {cycle}")
    if not ppath.is_file():
        raise ScenarioError(f"{path}: extends: file not found: {parent}")
    return ppath


def _record(node: dict[str, Any], path: Path, origins: Origins, prefix: tuple[str, ...] = ()) -> None:
    """Note ``path`` as the origin of every key path in ``node`` (what it merges over its base)."""
    for k, v in node.items():
        key = (*prefix, str(k))
        origins[key] = str(path)
        if isinstance(v, dict):
            _record(v, path, origins, key)


def load_chain(path: Path, tree: Tree | None = None,
               chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path, Origins]:
    """Read a scenario file and the files it ``extends``, merged, with the file each key came from.

    Args:
        path: the scenario file.
        tree: where ``extends`` may lead (default: the folder tree of ``path`` and the library).
        chain: the files that led here through ``extends`` (to detect a cycle).

    Returns:
        The merged data, the folder its map is relative to, and the origin of each key path.

    Raises:
        ScenarioError: for a missing, refused or cyclic ``extends`` and for unreadable files.
    """
    tree = tree or Tree.of(path)
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        origins: Origins = {}
        _record(data, path, origins)
        return data, path.parent, origins
    if len(chain) + 1 >= MAX_EXTENDS:
        raise ScenarioError(f"{tree.top}: extends: a chain of more than {MAX_EXTENDS} files; the limit is "
                            f"exceeded by {path}, which extends {repr(parent)[:80]}")
    ppath = _parent_path(path, parent, chain, tree)
    base, base_map, origins = load_chain(ppath, tree, (*chain, path.resolve()))
    _record(data, path, origins)
    return deep_merge(base, data), (path.parent if "map" in data else base_map), origins


def load_raw(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Read a scenario file and the files it ``extends``, merged; also the folder its map is relative to.

    Raises:
        ScenarioError: for a missing, refused or cyclic ``extends`` and for unreadable files.
    """
    data, map_base, _ = load_chain(path, None, chain)
    return data, map_base


def note_origin(origins: Origins, dotted: str, source: str) -> None:
    """Note ``source`` as the origin of ``dotted`` and of everything below it (it replaced them)."""
    key = tuple(dotted.split("."))
    for k in [k for k in origins if k[: len(key)] == key]:
        del origins[k]
    origins[key] = source


def blame(origins: Origins, field: str) -> str | None:
    """The file that gave the dotted ``field`` (or the nearest key above it), None if none did."""
    parts = tuple(field.split("."))
    for n in range(len(parts), 0, -1):
        if parts[:n] in origins:
            return origins[parts[:n]]
    return None


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
        # strict at the call, so the global parameters (a model of their own) are strict too
        return ScenarioSpec.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(source, exc, ScenarioSpec)) from None
