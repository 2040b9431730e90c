"""The scenario error and its one-line messages: file, dotted field, what was expected, a "did you mean".

Every problem with a scenario file, from malformed YAML to a name that points nowhere,
is a :class:`ScenarioError` whose message is one line starting with the file (or the
``--set`` option) and the field.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_FOUND_CHARS = 60  # a found value longer than this is cut, so the message stays one readable line


def one_line(text: str) -> str:
    """``text`` with every control character (newline, tab, line separator...) escaped, so it is one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class ScenarioError(ValueError):
    """A scenario cannot be loaded; the message is one line naming file and field.

    Control characters in the message (a newline in a key the file gives, say) are
    escaped here, once for every place that raises, so no message can span two lines.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(str(message)))


def suggest(word: Any, choices: list[Any]) -> str:
    """A "; did you mean 'x'?" suffix naming the closest choice, or nothing when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def need(name: Any, pool: list[str], where: str, what: str) -> None:
    """Check that ``name`` is one of ``pool``.

    Args:
        name: the name the file gives.
        pool: the names that exist.
        where: the message's start: file (and event) and dotted field.
        what: what kind of thing the name should be ("province", "faction", "state").

    Raises:
        ScenarioError: ``where: unknown what 'name'`` with a "did you mean".
    """
    if name not in pool:
        raise ScenarioError(f"{where}: unknown {what} {name!r}{suggest(name, pool)}")


def _without_none(node: Any) -> Any:
    """The annotation inside ``X | None`` (``node`` itself when it is not optional)."""
    while typing.get_origin(node) is not None and type(None) in typing.get_args(node):
        node = next(a for a in typing.get_args(node) if a is not type(None))
    return node


def _container_arg(node: Any, origin: Any, parts: list[Any]) -> Any:
    """The item annotation of ``dict[...]``, ``list[...]`` or a union (a key or index consumed)."""
    if origin not in (dict, list) and not str(origin).endswith("Union"):
        return None
    if origin in (dict, list):
        parts.pop(0)  # a mapping key or a list index
    args = [a for a in typing.get_args(node) if a is not type(None)]
    return args[-1] if args else None


def _field_annotation(node: Any, parts: list[Any]) -> Any:
    """The annotation of the model field ``parts[0]`` names (consumed); None when there is none."""
    if not (isinstance(node, type) and issubclass(node, BaseModel)):
        return None
    field = node.model_fields.get(str(parts.pop(0)))
    return None if field is None else field.annotation


def _step_into(node: Any, parts: list[Any]) -> Any:
    """One step down the annotation ``node`` along ``parts``; None when it leads nowhere."""
    origin = typing.get_origin(node)
    return _field_annotation(node, parts) if origin is None else _container_arg(node, origin, parts)


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model whose fields sit at ``loc`` below ``root`` (for "did you mean")."""
    node: Any = root
    parts = list(loc)
    while parts and node is not None:
        node = _step_into(node, parts)
    node = _without_none(node)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _cut(text: str) -> str:
    """Text cut to :data:`MAX_FOUND_CHARS` (a key 300 characters long, say)."""
    return text[: MAX_FOUND_CHARS - 3] + "..." if len(text) > MAX_FOUND_CHARS else text


def _found_text(found: Any) -> str:
    """The offending value, short: its repr, or the type of a mapping or list."""
    return _cut(repr(found) if not isinstance(found, dict | list) else type(found).__name__)


def field_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as ``events[0].when.step`` (``(top level)`` when empty)."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(_cut(p) if isinstance(p, str) else _found_text(p))
    return ".".join(parts) or "(top level)"


def unknown_key(key: Any, valid: list[str]) -> str:
    """``unknown key`` with the closest valid key, or the list of valid keys when none is close."""
    hint = suggest(key, valid) if valid else ""
    listing = "" if hint else f" (valid keys: {', '.join(valid)})"
    return f"unknown key{hint}{listing}"


def describe_error(path: str, where: str, e: Any, valid: list[str]) -> str:
    """One line for the pydantic error ``e`` at field ``where``: what was expected, what was found.

    Args:
        path: the file (or ``--set`` option) the data came from.
        where: the field, as :func:`field_path` writes it.
        e: one of ``ValidationError.errors()``.
        valid: the keys allowed beside the field (for an unknown key).
    """
    if e["type"] == "extra_forbidden":
        return f"{path}: {where}: {unknown_key(e['loc'][-1], valid)}"
    if e["type"] == "missing":
        return f"{path}: {where}: required field is missing"
    msg = e.get("msg", "invalid value").replace("Value error, ", "")
    if e["type"] == "value_error" and isinstance(e.get("input"), dict):
        return f"{path}: {where}: {msg}"  # a rule across fields: the message names them; "found dict" says nothing
    return f"{path}: {where}: {msg}; found {_found_text(e.get('input'))}"


def format_validation_error(path: str, err: ValidationError, root: type[BaseModel]) -> str:
    """One line for the first error: file, field path, what was expected, what was found.

    Every input file (scenarios, pattern files, effect files) reports its errors this way.

    Args:
        path: the file (or ``--set`` option) the data came from.
        err: what pydantic found.
        root: the model that was validated, to list the valid keys of an unknown one.
    """
    errors = err.errors()
    e = errors[0]
    loc = tuple(e.get("loc", ()))
    parent = model_at(root, loc[:-1])
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return describe_error(path, field_path(loc), e, list(parent.model_fields) if parent else []) + more
