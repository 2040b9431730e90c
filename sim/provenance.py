"""Where a comparison's numbers come from: the commands, seeds, commits and versions of its results folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def run_command(man: dict[str, Any]) -> str:
    """The ``run.py run`` command that remakes a results folder's batch, from its manifest."""
    files = [s.get("file") or s["name"] for s in man.get("scenarios", [])]
    parts = ["uv run run.py run", *files, "-n", str(man.get("replications")), "--seed", str(man.get("base_seed"))]
    if man.get("months") is not None:
        parts += ["--months", f"{man['months']:g}"]
    for o in man.get("overrides", []) or []:
        parts += ["--set", str(o)]
    for s in man.get("sweeps", []) or []:
        parts += ["--sweep", f"{s['path']}=" + ",".join(str(v) for v in s.get("values", []))]
    if man.get("posterior"):
        parts += ["--posterior", str(man["posterior"]["folder"])]
    return " ".join(parts)


FIXED = ("The intervals cover run-to-run randomness only (the model's own noise, with its parameters, rules "
         "and data as given); they do not cover uncertainty in parameters, rules or data.")


def coverage(folders: Sequence[str | Path], manifests: Sequence[dict[str, Any]]) -> tuple[str, bool]:
    """What the report's intervals cover, in words, and whether its folders drew their parameters alike.

    A folder run with ``--posterior`` drew each run's parameters from that posterior, so the
    spread of its runs, and every interval computed from them, covers the parameters'
    uncertainty as well as the runs' randomness. Folders that drew differently (one posterior
    and fixed values, or two posteriors) do not compare like with like: the second value is False.
    """
    drawn = {str(f): m.get("posterior") for f, m in zip(folders, manifests, strict=True)}
    kinds = {(d["sha256"], tuple(d["paths"])) if d else None for d in drawn.values()}
    if kinds == {None}:
        return FIXED, True
    if len(kinds) > 1:
        how = "; ".join(f"`{f}`: " + (f"drawn from the posterior `{d['folder']}`" if d else "fixed")
                        for f, d in drawn.items())
        return ("**Warning: the folders compared did not draw their parameters alike** (" + how + "). A "
                "difference between them mixes the scenarios' effect with the parameters' draws; run every "
                "scenario with the same `--posterior` (or none) and the same seed to compare like with like."), False
    d = next(iter(drawn.values()))
    return ("The intervals cover **parameter uncertainty and run-to-run randomness**: each run drew "
            + ", ".join(f"`{p}`" for p in d["paths"])
            + f" from the posterior `{d['folder']}` ({d['particles']} particles, effective sample size "
            f"{d['effective_sample_size']:g}), and replication i drew the same particle in every scenario, so "
            "paired differences stay paired in parameters too. They do not cover uncertainty in the other "
            "parameters, in the rules or in the data."), True


def block(folders: Sequence[str | Path], manifests: Sequence[dict[str, Any]], command: str | None) -> list[str]:
    """The report's provenance section, as Markdown lines."""
    lines = ["## Provenance", ""]
    if command:
        lines += [f"This report: `uv run {command}`.", ""]
    lines += ["| results | remade by | seeds | runs | commit | versions | made |", "|---|---|---|---|---|---|---|"]
    for f, m in zip(folders, manifests, strict=True):
        entropy = " (drawn from entropy)" if m.get("seed_drawn_from_entropy") else ""
        versions = (f"package {m.get('package_version')}, Python {m.get('python')}, numpy {m.get('numpy')}, "
                    f"Mesa {m.get('mesa')}")
        lines.append(f"| `{f}` | `{run_command(m)}` | base seed {m.get('base_seed')}{entropy}; {m.get('seeds', '')} | "
                     f"{m.get('completed_runs')} done, {m.get('failed_runs')} failed ({m.get('status')}) | "
                     f"`{(m.get('git_commit') or 'unknown')[:12]}` | {versions} | {m.get('created')}, "
                     f"{m.get('executor')} x {m.get('workers')} |")
    return [*lines, ""]
