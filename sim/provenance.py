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
    return " ".join(parts)


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
