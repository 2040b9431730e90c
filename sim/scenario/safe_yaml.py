"""Safe YAML for scenario files: no tags, no duplicate keys, bounded aliases, depth and size.

PyYAML's safe loader already refuses Python tags; this one also refuses duplicate keys
and, before anything is built, counts what the document would expand to, so a few
nested aliases that would blow up into millions of nodes (a billion laughs) are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario.errors import ScenarioError, format_validation_error

MAX_FILE_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_DEPTH = 50


# libyaml's parser when PyYAML has it (five times faster on a big file); the constructor is the same Python
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_BaseLoader):
    """PyYAML's safe loader (no Python tags) that also rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Dates stay text for pydantic to parse: PyYAML's own timestamp constructor raises a bare
# ValueError on an impossible date such as 2022-13-45.
_SafeLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Floats written as YAML 1.2 and every other language writes them (1e3, 2E-5) are numbers, not the
# text YAML 1.1 makes of them; strict validation would refuse that text. Quoted, "1e3" stays text.
_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def load_value(text: str) -> Any:
    """One YAML value (a ``--set`` value, say) read with the scenario loader.

    Raises:
        yaml.YAMLError: malformed or refused YAML.
    """
    return yaml.load(text, Loader=_SafeLoader)


class _Expansion:
    """What a YAML event stream would expand to: aliases seen, open collections, node counts.

    The expanded size counts every node as it would be after alias expansion: an alias
    counts as the whole node its anchor names.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.aliases = 0
        self.sizes: dict[str, int] = {}  # anchor -> expanded node count
        self.stack: list[list[Any]] = [[0, None]]  # [expanded node count, anchor] per open collection

    def add(self, event: yaml.Event) -> None:
        """Count one parse event.

        Raises:
            ScenarioError: too many aliases, too deep, or too many expanded nodes.
        """
        if isinstance(event, yaml.AliasEvent):
            self._alias(event.anchor)
        elif isinstance(event, yaml.CollectionStartEvent):
            self._open(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            self._close()
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                self.sizes[event.anchor] = 1
            self.stack[-1][0] += 1
        if self.stack[-1][0] > MAX_NODES or self.stack[0][0] > MAX_NODES:
            raise ScenarioError(f"{self.path}: YAML would expand to more than {MAX_NODES} nodes; refusing it")

    def _alias(self, anchor: str) -> None:
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise ScenarioError(f"{self.path}: more than {MAX_ALIASES} YAML aliases; refusing to expand them")
        self.stack[-1][0] += self.sizes.get(anchor, 1)

    def _open(self, anchor: str | None) -> None:
        self.stack.append([1, anchor])
        if len(self.stack) > MAX_DEPTH:
            raise ScenarioError(f"{self.path}: YAML nested deeper than {MAX_DEPTH} levels")

    def _close(self) -> None:
        count, anchor = self.stack.pop()
        if anchor:
            self.sizes[anchor] = count
        self.stack[-1][0] += count


def _check_structure(text: str, path: Path) -> None:
    """Bound aliases, expanded size and nesting before building anything (no billion laughs)."""
    expansion = _Expansion(path)
    for event in yaml.parse(text, Loader=_SafeLoader):
        expansion.add(event)


def _check_size(path: Path) -> None:
    """Refuse a missing or oversized file before reading it."""
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}")


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> ScenarioError:
    """The one-line error for malformed or refused YAML, with its line and column."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    kind = "refused YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "malformed YAML"
    return ScenarioError(f"{path}: {kind}{where}: {problem}")


def _parse(path: Path) -> Any:
    """Read and parse the file, every failure a one-line :class:`ScenarioError`."""
    try:
        text = path.read_text(encoding="utf-8")
        _check_structure(text, path)
        return yaml.load(text, Loader=_SafeLoader)
    except ScenarioError:
        raise
    except UnicodeDecodeError:  # before ValueError, of which it is a kind
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ScenarioError(f"{path}: unreadable YAML: {exc}") from None
    except yaml.YAMLError as exc:
        raise _yaml_problem(path, exc) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely: no Python tags, no duplicate keys, bounded size and aliases.

    Raises:
        ScenarioError: missing, oversized, unsafe, unreadable or non-mapping files.
    """
    _check_size(path)
    data = _parse(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of fields, found {type(data).__name__}")
    return data


def read_model(path: Path, model: type[Any], error: type[Exception], what: str) -> Any:
    """A YAML data file validated against a strict pydantic model; every problem is one line as ``error``.

    Args:
        path: the file.
        model: the pydantic model of its root.
        error: the exception class the caller's command turns into exit code 2.
        what: the file's kind in words ("effects file"), for the messages.
    """
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise error(str(exc).replace("scenario files", f"{what}s")) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(str(path), exc, model)) from None
