"""The measured effects: every mechanism and scenario claim run, paired, and judged; ``run.py effects``.

The rule, exactly: an effect's difference is the variant minus the reference, on the
outcome at the month, paired by replication (common random numbers); its 95% interval is
the percentile bootstrap of the mean paired difference (:func:`sim.analysis.paired_differences`).
The effect passes when that interval excludes zero on the documented side: above zero for
``increase``, below for ``decrease``. A12 is the probability that a variant run exceeds a
reference run (0.5: no effect). The table is a report: effects that fail do not make the
command fail.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.csvtext import rows_csv
from sim.effects.arms import excludes_zero, paired, run_arms
from sim.effects.load import Effect, EffectsError, load_effects
from sim.effects.outcomes import OUTCOMES

DEFAULT_REPLICATIONS = 30
DEFAULT_FILE = "mechanisms/effects.yaml"  # relative to the checkout
ODD_MARKERS = ("<!-- effects:begin -->", "<!-- effects:end -->")  # where --update-odd writes the table


@dataclass(frozen=True)
class Row:
    """One line of the effects table (also a row of effects.csv)."""

    id: str
    kind: str
    mechanism: str
    name: str
    switch: str
    variant: str
    reference: str
    outcome: str
    month: float
    reference_mean: float
    variant_mean: float
    mean_difference: float
    ci_low: float
    ci_high: float
    a12: float
    pairs: int
    direction: str
    passed: bool


def _outcome(e: Effect) -> str:
    s = e.spec
    extra = f" ({s.donor})" if s.donor else f" ({', '.join(s.donors)})" if s.donors else ""
    return s.outcome + extra


def measure(effects: Sequence[Effect], folders: dict) -> list[Row]:
    """Every effect's paired difference, from the arms' results folders."""
    rows = []
    for e in effects:
        s = e.spec
        p = paired(folders[e.variant], folders[e.reference], s)
        rows.append(Row(s.id, e.kind, str(s.mechanism or ""), s.name, s.switch, e.variant.words(),
                        e.reference.words(), _outcome(e), s.month, p["reference_mean"], p["variant_mean"],
                        p["mean_difference"], p["ci_low"], p["ci_high"], p["a12"], p["pairs"], s.direction,
                        excludes_zero(p["ci_low"], p["ci_high"], s.direction)))
    return rows


def number(x: float, unit: str) -> str:
    """A value in the outcome's unit: shares as percentage points of the country, others with 3 significant digits."""
    return f"{100 * x:+.3g} pp" if unit == "share" else f"{x:+.3g}"


def _unit(r: Row) -> str:
    return OUTCOMES[r.outcome.split(" ")[0]].unit


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(rows: Sequence[Row], header: str) -> str:
    """The effects table as Markdown: the header, the count of passes, one line per effect."""
    lines = [header, "", f"**{sum(r.passed for r in rows)} of {len(rows)} effects pass.**", "",
             "| id | mechanism | switch | outcome (month) | paired mean difference | 95% CI | A12 | expected "
             "| result |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        u = _unit(r)
        who = f"{r.mechanism} {r.name}" if r.mechanism and r.kind == "mechanism" else r.name
        lines.append(f"| `{r.id}` | {_cell(who)} | {_cell(r.switch)} | {r.outcome} ({r.month:g}) | "
                     f"{number(r.mean_difference, u)} | [{number(r.ci_low, u)}, {number(r.ci_high, u)}] | "
                     f"{r.a12:.2f} | {r.direction} | {'pass' if r.passed else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def table_csv(rows: Sequence[Row]) -> str:
    """The effects as CSV, one row per effect (shares as fractions of the country)."""
    return rows_csv(rows, Row)


def root() -> Path:
    """The checkout, where mechanisms/ and scenarios/ live."""
    import sim

    return Path(sim.__file__).resolve().parent.parent


def update_odd(table: str, markers: tuple[str, str]) -> Path:
    """Write ``table`` between the markers in docs/ODD.md (replacing what was there).

    Raises:
        EffectsError: the markers are not in the ODD.
    """
    odd = root() / "docs" / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    begin, end = markers
    if begin not in text or end not in text:
        raise EffectsError(f"{odd}: markers {begin} and {end} not found")
    head, rest = text.split(begin, 1)
    odd.write_text(f"{head}{begin}\n{table.strip()}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")
    return odd


def shown(argv: Sequence[str]) -> str:
    """The command as a document may show it: without ``--out`` and ``--update-odd`` (local choices)."""
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out=") and a != "--update-odd":
            kept.append(a)
    return " ".join(["uv run run.py", *kept])


def options(args: argparse.Namespace, default: int) -> tuple[int, int]:
    """Replications and seed from the command line, checked (the seed drawn when not given).

    Raises:
        EffectsError: a value out of range.
    """
    import numpy as np

    from sim.batch import limits

    reps = args.replications if args.replications is not None else default
    lo, hi = limits("replications")
    if not lo <= reps <= hi or reps < 2:
        raise EffectsError(f"--replications: expected {max(lo, 2)} to {hi:,}, found {reps:,}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise EffectsError(f"--seed: expected 0 to {2**64 - 1:,}, found {args.seed:,}")
    return reps, args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**32)


def cmd_effects(args: argparse.Namespace) -> int:
    """Run every arm of the effects file once, measure each effect, print and write the table.

    Raises:
        EffectsError: a bad effects file or option (the command line makes it exit code 2).
    """
    from sim.folder import study

    effects = load_effects(args.file or root() / DEFAULT_FILE)
    reps, seed = options(args, DEFAULT_REPLICATIONS)
    t0 = time.perf_counter()
    with study(args, "effects", EffectsError) as (out, command):
        arms = [a for e in effects for a in (e.reference, e.variant)]
        print(f"Effects: {len(effects)} comparison(s) on {len(set(arms))} arm(s), {reps} paired replication(s), "
              f"seed {seed}" + ("" if args.seed is not None else " (drawn; pass --seed to repeat)"), flush=True)
        ran = run_arms(arms, reps, seed, out, workers=args.workers, command=command)
        rows = measure(effects, ran.folders)
        wall = time.perf_counter() - t0
        header = (f"`{shown(args.argv)}`: {reps} paired replications, seed {seed}, {ran.runs} runs, {wall:.0f} s. "
                  f"Difference = variant minus reference at the month, paired by replication; 95% percentile "
                  f"bootstrap CI; pass = the CI excludes zero on the expected side.")
        text = markdown(rows, header)
        (out / "effects.md").write_text(text, encoding="utf-8")
        (out / "effects.csv").write_text(table_csv(rows), encoding="utf-8")
    print("\n" + text)
    print(f"{sum(r.passed for r in rows)} of {len(rows)} effect(s) pass; {wall:.1f} s. Table in "
          f"{out / 'effects.md'} and {out / 'effects.csv'}; runs in {out}/runs/<arm>/")
    if getattr(args, "update_odd", False):
        print(f"updated the effects table in {update_odd(text, ODD_MARKERS)}")
    if ran.failed_runs:
        print(f"error: {ran.failed_runs} run(s) failed; see errors.jsonl in the arms' folders", flush=True)
        return 1
    return 0
