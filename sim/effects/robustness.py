"""Robustness of the headline conclusions across the judgement parameters; ``run.py robustness``.

For every judgement parameter (``mechanisms/robustness.yaml``: the global parameters whose value
is judgement, docs/ODD.md 7.9) the conclusions are measured at its default and at
``(1 - spread)`` and ``(1 + spread)`` times it (clipped to the parameter's allowed range), one
parameter at a time, every other parameter at its default. All settings and arms share one
seed and replication count, so the runs pair by replication across them too.

What "holds" means, exactly:

* ``zero``: the outcome is 0 in every replication at the month (no province passes);
* ``sign``: the paired difference's 95% bootstrap CI excludes zero on the side of the
  default's mean difference (the effect keeps its sign and stays distinguishable from zero);
* ``none``: reported only.

For every conclusion the table gives the ratio of its value to the default's, and the summary
names the settings that move it by more than a factor of two (a knife-edge marker, not a test).
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.csvtext import rows_csv
from sim.effects.arms import excludes_zero, level, paired, run_arms
from sim.effects.load import Arm, Conclusion, EffectsError, Robustness, load_robustness
from sim.effects.outcomes import OUTCOMES
from sim.effects.table import number, options, root, shown, update_odd
from sim.parameters import Parameters

DEFAULT_REPLICATIONS = 20
DEFAULT_FILE = "mechanisms/robustness.yaml"  # relative to the checkout
KNIFE_EDGE = 2.0  # the summary names reported levels that move by more than this factor
ODD_MARKERS = ("<!-- robustness:begin -->", "<!-- robustness:end -->")  # where --update-odd writes the table


@dataclass(frozen=True)
class Setting:
    """One parameter at one value (``parameter`` None: every parameter at its default)."""

    parameter: str | None
    label: str  # "default", "-50%", "+50%"
    value: float | None
    clipped: bool = False

    def overrides(self) -> tuple[str, ...]:
        """The ``--set`` override of this setting."""
        return () if self.parameter is None else (f"parameters.{self.parameter}={self.value!r}",)


def bounds(name: str) -> tuple[float, float]:
    """A global parameter's allowed range (its ``ge`` and ``le``)."""
    info = Parameters.model_fields[name]
    lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), -math.inf)
    hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), math.inf)
    return float(lo), float(hi)


def settings(parameters: Sequence[str], spread: float) -> list[Setting]:
    """The default, then each parameter at (1 - spread) and (1 + spread) times its default, clipped to its range."""
    out = [Setting(None, "default", None)]
    for name in parameters:
        default = float(Parameters.model_fields[name].default)
        lo, hi = bounds(name)
        for sign, label in ((-1, f"-{spread:.0%}"), (1, f"+{spread:.0%}")):
            raw = default * (1 + sign * spread)
            value = min(hi, max(lo, raw))
            out.append(Setting(name, label, value, clipped=value != raw))
    return out


@dataclass(frozen=True)
class Row:
    """One conclusion at one setting (a row of robustness.csv)."""

    parameter: str
    setting: str
    value: str
    conclusion: str
    outcome: str
    month: float
    mean: float
    ci_low: float
    ci_high: float
    positive_runs: int | None  # replications above zero (a level only)
    runs: int
    ratio_to_default: float
    holds: str  # "yes", "no" or "" (reported only)


def _arms(c: Conclusion, s: Setting) -> tuple[Arm, Arm | None]:
    more = s.overrides()
    return c.arm.with_overrides(more), c.reference.with_overrides(more) if c.reference is not None else None


def _measure(c: Conclusion, s: Setting, folders: dict[Arm, Path]) -> dict:
    arm, ref = _arms(c, s)
    if ref is None:
        m = level(folders[arm], c.spec)
        return {"mean": m["mean"], "ci_low": m["ci_low"], "ci_high": m["ci_high"], "positive": m["positive"],
                "runs": m["runs"], "all_zero": m["all_zero"]}
    p = paired(folders[arm], folders[ref], c.spec)
    return {"mean": p["mean_difference"], "ci_low": p["ci_low"], "ci_high": p["ci_high"],
            "positive": None, "runs": p["pairs"], "all_zero": False}


def _holds(c: Conclusion, m: dict, default: dict) -> str:
    if c.spec.holds == "zero":
        return "yes" if m["all_zero"] else "no"
    if c.spec.holds == "sign":
        side = "increase" if default["mean"] > 0 else "decrease"
        return "yes" if excludes_zero(m["ci_low"], m["ci_high"], side) else "no"
    return ""


def _row(c: Conclusion, s: Setting, m: dict, default: dict) -> Row:
    ratio = m["mean"] / default["mean"] if default["mean"] else math.nan
    value = "" if s.value is None else f"{s.value:g}" + (" (clipped)" if s.clipped else "")
    return Row(s.parameter or "(all at default)", s.label, value, c.spec.id, c.spec.outcome, c.spec.month,
               m["mean"], m["ci_low"], m["ci_high"], m["positive"], m["runs"], ratio, _holds(c, m, default))


def measure(rob: Robustness, parameters: Sequence[str], replications: int, seed: int, out: Path, *,
            workers: int | None = None, keep_runs: bool = False, command: str = "sim.effects.robustness",
            log=None) -> tuple[list[Row], int, int]:
    """Run every setting's arms and measure every conclusion at it.

    The default's arms are kept; another setting's arms are removed once measured unless
    ``keep_runs`` (about 3 MB a 20-run arm).

    Returns:
        The rows (setting by setting, conclusion by conclusion), the runs done and the runs failed.
    """
    rows: list[Row] = []
    default: dict[str, dict] = {}
    runs = failed = 0
    for s in settings(parameters, rob.spread):
        arms = [a for c in rob.conclusions for a in _arms(c, s) if a is not None]
        ran = run_arms(arms, replications, seed, out, workers=workers, command=command)
        runs += ran.runs
        failed += ran.failed_runs
        for c in rob.conclusions:
            m = _measure(c, s, ran.folders)
            default.setdefault(c.spec.id, m)
            rows.append(_row(c, s, m, default[c.spec.id]))
        if s.parameter is not None and not keep_runs:
            for folder in set(ran.folders.values()) - set(_default_folders(rob, out)):
                shutil.rmtree(folder, ignore_errors=True)
        if log is not None:
            log(f"  {s.parameter or 'default'} {s.label}: " + ", ".join(f"{r.conclusion} {r.mean:.4g}"
                                                                         for r in rows[-len(rob.conclusions):]))
    return rows, runs, failed


def _default_folders(rob: Robustness, out: Path) -> list[Path]:
    from sim.effects.arms import RUNS, folder_name

    return [out / RUNS / folder_name(a) for c in rob.conclusions for a in (c.arm, c.reference) if a is not None]


def _cell(r: Row) -> str:
    unit = OUTCOMES[r.outcome].unit
    if r.positive_runs is None:  # a difference: signed
        def fmt(x: float) -> str:
            return number(x, unit)
    else:
        def fmt(x: float) -> str:
            return f"{100 * x:.3g}%" if unit == "share" else f"{x:.3g}"
    mark = {"yes": "", "no": " **flips**", "": ""}[r.holds]
    runs = f" ({r.positive_runs}/{r.runs} runs > 0)" if r.holds == "zero" and r.positive_runs else ""
    return f"{fmt(r.mean)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]{runs}{mark}"


def markdown(rows: Sequence[Row], rob: Robustness, header: str) -> str:
    """The robustness table as Markdown: the flips first, then one line per setting."""
    ids = [c.spec.id for c in rob.conclusions]
    flips = [r for r in rows if r.holds == "no"]
    edges = [r for r in rows if r.setting != "default" and r.ratio_to_default > 0
             and max(r.ratio_to_default, 1 / r.ratio_to_default) > KNIFE_EDGE]
    lines = [header, "", "Conclusions:", ""]
    lines += [f"- `{c.spec.id}`: {c.spec.title} ({c.spec.outcome} at month {c.spec.month:g}; holds: "
              f"{c.spec.holds})" for c in rob.conclusions]
    lines += ["", f"**{len(flips)} setting(s) flip a conclusion**" + (":" if flips else "."), ""]
    lines += [f"- `{r.parameter}` {r.setting} ({r.value}): `{r.conclusion}` {_cell(r).replace(' **flips**', '')}"
              for r in flips] + ([""] if flips else [])
    lines += [f"**{len(edges)} setting(s) move a conclusion's value by more than x{KNIFE_EDGE:g}** (a knife-edge "
              f"marker, not a test)"
              + (":" if edges else "."), ""]
    lines += [f"- `{r.parameter}` {r.setting} ({r.value}): `{r.conclusion}` x{r.ratio_to_default:.2f}"
              for r in edges] + ([""] if edges else [])
    lines += ["| parameter | setting | value | " + " | ".join(f"`{i}`" for i in ids) + " |",
              "|---|---|---|" + "---|" * len(ids)]
    by = {}
    for r in rows:
        by.setdefault((r.parameter, r.setting, r.value), {})[r.conclusion] = r
    for (param, setting, value), cells in by.items():
        lines.append(f"| `{param}` | {setting} | {value} | " + " | ".join(_cell(cells[i]) for i in ids) + " |")
    return "\n".join(lines) + "\n"


def table_csv(rows: Sequence[Row]) -> str:
    """The robustness rows as CSV (long form: one row per setting and conclusion; shares as fractions)."""
    return rows_csv(rows, Row)


def _parameters(rob: Robustness, given: str | None) -> list[str]:
    if not given:
        return list(rob.judgement)
    names = [n.strip() for n in given.split(",") if n.strip()]
    bad = [n for n in names if n not in rob.judgement]
    if bad or not names:
        raise EffectsError(f"--parameters: {bad[0] if bad else given!r} is not a judgement parameter of the file")
    return names


def cmd_robustness(args: argparse.Namespace) -> int:
    """Measure every conclusion at every setting; print and write the table.

    Raises:
        EffectsError: a bad robustness file or option (the command line makes it exit code 2).
    """
    from sim.folder import study

    rob = load_robustness(args.file or root() / DEFAULT_FILE)
    parameters = _parameters(rob, getattr(args, "parameters", None))
    reps, seed = options(args, DEFAULT_REPLICATIONS)
    t0 = time.perf_counter()
    with study(args, "robustness", EffectsError) as (out, command):
        print(f"Robustness: {len(rob.conclusions)} conclusion(s) at {1 + 2 * len(parameters)} setting(s) of "
              f"{len(parameters)} judgement parameter(s) (+-{rob.spread:.0%}), {reps} paired replication(s), "
              f"seed {seed}" + ("" if args.seed is not None else " (drawn; pass --seed to repeat)"), flush=True)
        rows, runs, failed = measure(rob, parameters, reps, seed, out, workers=args.workers,
                                     keep_runs=getattr(args, "keep_runs", False), command=command,
                                     log=lambda line: print(line, flush=True))
        wall = time.perf_counter() - t0
        header = (f"`{shown(args.argv)}`: {reps} paired replications, seed {seed}, {runs} runs, {wall:.0f} s. "
                  f"One parameter at a time at -{rob.spread:.0%}, its default and +{rob.spread:.0%} "
                  f"(clipped to its range); each cell: the mean (a level) or the paired mean difference, "
                  f"with its 95% bootstrap CI.")
        text = markdown(rows, rob, header)
        (out / "robustness.md").write_text(text, encoding="utf-8")
        (out / "robustness.csv").write_text(table_csv(rows), encoding="utf-8")
    flips = sum(r.holds == "no" for r in rows)
    print(f"\n{flips} setting(s) flip a conclusion; {wall:.1f} s, {runs} runs. Table in {out / 'robustness.md'} "
          f"and {out / 'robustness.csv'}")
    if getattr(args, "update_odd", False):
        print(f"updated the robustness table in {update_odd(text, ODD_MARKERS)}")
    if failed:
        print(f"error: {failed} run(s) failed; see errors.jsonl in the arms' folders", flush=True)
        return 1
    return 0
