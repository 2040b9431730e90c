"""The code's shape: kernels take a few bundles, imports flow one way, modules stay short."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import sim
from tests.conftest import ROOT

SIM = Path(sim.__file__).resolve().parent
MAX_KERNEL_ARGS = 8  # constants, parameters, state, draws, record, step and a couple of arrays
MAX_MODULE_LINES = 400
MAX_CLI_LINES = 150


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(SIM)], prefix="sim."))


def _imports(path: Path, package: str) -> set[str]:
    """Every ``sim`` module a file imports, at the top, inside functions or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sim"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] != "sim":
                continue
            found.add(base)
            for a in node.names:  # ``from sim import recorder`` imports the module sim.recorder
                if (SIM.parent / Path(*f"{base}.{a.name}".split("."))).with_suffix(".py").is_file() or \
                        (SIM.parent / Path(*f"{base}.{a.name}".split(".")) / "__init__.py").is_file():
                    found.add(f"{base}.{a.name}")
    return found


def _file(module: str) -> Path:
    p = SIM.parent / Path(*module.split("."))
    return p / "__init__.py" if p.is_dir() else p.with_suffix(".py")


def test_no_import_cycle_late_imports_included():
    graph = {}
    for mod in _modules():
        package = mod if _file(mod).name == "__init__.py" else mod.rsplit(".", 1)[0]
        # a package's own __init__ importing its submodules is not an edge back to it
        graph[mod] = {m for m in _imports(_file(mod), package) if m != mod and not mod.startswith(m + ".")
                      and m in graph.keys() | set(_modules())}
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1  # on the path being explored
        for nxt in sorted(graph.get(node, set())):
            if seen.get(nxt) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*path[path.index(nxt):], nxt])}")
            if nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2  # done

    for mod in graph:
        if mod not in seen:
            visit(mod, [mod])


def test_kernels_take_a_few_bundles():
    from numba.core.registry import CPUDispatcher

    too_many = []
    kernels = 0
    for mod in _modules():
        module = importlib.import_module(mod)
        for name, obj in vars(module).items():
            func = getattr(obj, "py_func", None) if isinstance(obj, CPUDispatcher) else None
            if func is None or func.__module__ != mod:
                continue
            kernels += 1
            n = len(inspect.signature(func).parameters)
            if n > MAX_KERNEL_ARGS:
                too_many.append(f"{mod}.{name} ({n})")
    assert kernels > 20, "the compiled kernels were found"
    assert not too_many, f"kernels with more than {MAX_KERNEL_ARGS} arguments: {too_many}"


def test_every_mechanism_enters_by_the_same_verb():
    from sim.schedule import PHASES

    for phase in PHASES:
        func = getattr(phase, "py_func", phase)
        assert func.__name__ == "step", func.__module__
        assert list(inspect.signature(func).parameters) == ["c", "p", "s", "d", "r", "t"], func.__module__


def test_modules_stay_short():
    long_ = [f"{p.relative_to(ROOT)} ({n})" for p in sorted(SIM.rglob("*.py"))
             if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long_, f"modules over {MAX_MODULE_LINES} lines: {long_}"
    cli = len((ROOT / "run.py").read_text(encoding="utf-8").splitlines())
    assert cli <= MAX_CLI_LINES, f"run.py has {cli} lines; it should parse, call the library and print"
