"""The scorecard: every pattern measured on its scenario's runs, against the record.

``run.py patterns`` reads the pattern files (:mod:`sim.patterns.load`), runs each scenario they
need once (through :func:`sim.batch.run_batch`, into ``<out>/<scenario>/``), computes each
measure per replication (:mod:`sim.patterns.measures`) and compares the statistic with the record.

The rule, exactly: the statistic is the median over replications; the pattern passes if
``low - tolerance <= median <= high + tolerance``, where ``[low, high]`` is the expected
range (``low = high`` for a single value) and the tolerance is in the measure's unit (days
for dates). For yes/no measures each replication gives 1 or 0, so "yes" passes when more
than half of the replications say yes. A date that never comes counts as later than any
date. A measure the results cannot give (a column the model does not record yet) fails.
The 90% band (5th to 95th percentile over replications) is reported beside the median.
The scorecard is a report: patterns that fail do not make the command fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.csvtext import rows_csv
from sim.patterns.load import Pattern, PatternError, check_names, load_patterns
from sim.patterns.measures import Measured, NotMeasured, Results, measure
from sim.patterns.schema import EPOCH

DEFAULT_REPLICATIONS = 20  # the replications the acceptance check uses
BAND = (0.05, 0.95)
_BIG = 1e300  # "never" (inf) stands as this in percentiles, so interpolation toward it stays finite


@dataclass(frozen=True)
class Row:
    """One line of the scorecard (also a row of scorecard.csv)."""

    id: str
    title: str
    scenario: str
    measure: str
    unit: str
    expected: str
    simulated: str
    median: float
    p05: float
    p95: float
    replications: int
    passed: bool
    reads: str
    file: str


def quantiles(values: np.ndarray) -> tuple[float, float, float]:
    """Median and the 90% band over replications; ``inf`` (never) sorts after every value."""
    x = np.where(np.isinf(values), _BIG, values)
    lo, hi = np.quantile(x, BAND)
    med = float(np.median(x))
    # a quantile interpolated between an outcome and "never" is past every outcome seen: never
    top = float(x[x < _BIG].max()) if (x < _BIG).any() else -math.inf
    return tuple(math.inf if v > top and v > _BIG / 1e6 else float(v) for v in (med, lo, hi))  # type: ignore[return-value]


def passes(median: float, low: float, high: float, tolerance: float) -> bool:
    """The pass rule: ``low - tolerance <= median <= high + tolerance`` (see the module docstring)."""
    return not math.isnan(median) and low - tolerance <= median <= high + tolerance


def show(value: float, unit: str) -> str:
    """A value in words: a percentage, a count, a date (or never), days, yes/no."""
    if math.isnan(value):
        return "n/a"
    if unit == "date":
        return "never" if math.isinf(value) else str(EPOCH + dt.timedelta(days=round(value)))
    if math.isinf(value):
        return "never" if unit == "days" and value > 0 else ("-inf" if value < 0 else "inf")
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "yes/no":
        return "yes" if value == 1 else "no" if value == 0 else "tie"
    if unit == "days":
        return f"{value:.0f} d"
    return f"{value:g}" if unit == "count" else f"{value:.2f}"


def _tolerance(tol: float, unit: str) -> str:
    return f"{100 * tol:.1f}%" if unit == "share" else f"{tol:g} d" if unit in ("date", "days") else f"{tol:g}"


def expected_text(p: Pattern) -> str:
    """The expected value or range with its tolerance, in words."""
    unit, tol = p.unit, p.spec.tolerance
    if p.low == p.high:
        text = show(p.low, unit)
    elif math.isinf(p.low):
        text = f"<= {show(p.high, unit)}"
    elif math.isinf(p.high):
        text = f">= {show(p.low, unit)}" + (" or never" if unit == "date" else "")
    else:
        text = f"{show(p.low, unit)} to {show(p.high, unit)}"
    return f"{text} ± {_tolerance(tol, unit)}" if tol else text


def simulated_text(values: np.ndarray, unit: str) -> str:
    """The median with its 90% band (yes/no: the count of yes)."""
    med, lo, hi = quantiles(values)
    if unit == "yes/no":
        return f"{show(med, unit)} ({int(values.sum())}/{values.size} yes)"
    return f"{show(med, unit)} [{show(lo, unit)}, {show(hi, unit)}]"


def evaluate(p: Pattern, res: Results | None) -> Row:
    """Measure one pattern on its scenario's results and apply the pass rule (not measured: FAIL).

    Args:
        p: the pattern.
        res: its scenario's results; None when no run of it completed.
    """
    spec, unit = p.spec, p.unit
    try:
        got = measure(res, spec.measure) if res is not None else Measured(np.zeros(0), "no completed run")
    except NotMeasured as exc:
        got = Measured(np.zeros(0), f"not measured: {exc}")
    if got.values.size == 0:
        return Row(spec.id, spec.title, p.scenario.stem, spec.measure.kind, unit, expected_text(p), "not measured",
                   math.nan, math.nan, math.nan, 0, False, got.reads, p.file.name)
    med, lo, hi = quantiles(got.values)
    return Row(spec.id, spec.title, p.scenario.stem, spec.measure.kind, unit, expected_text(p),
               simulated_text(got.values, unit), med, lo, hi, got.values.size,
               passes(med, p.low, p.high, spec.tolerance), got.reads, p.file.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(rows: Sequence[Row], header: str) -> str:
    """The scorecard as Markdown: a header, the table, then what each measure read."""
    n_pass = sum(r.passed for r in rows)
    lines = [header, "", f"**{n_pass} of {len(rows)} patterns pass.**", "",
             "| pattern | title | expected | simulated: median [90% band] | result |", "|---|---|---|---|---|"]
    lines += [f"| `{r.id}` | {_cell(r.title)} | {_cell(r.expected)} | {_cell(r.simulated)} | "
              f"{'pass' if r.passed else '**FAIL**'} |" for r in rows]
    lines += ["", "What each measure read:", ""]
    lines += [f"- `{r.id}` ({r.measure} on {r.scenario}, {r.file}): {r.reads or 'nothing'}" for r in rows]
    return "\n".join(lines) + "\n"


def table_csv(rows: Sequence[Row]) -> str:
    """The scorecard as CSV, one row per pattern (numbers in the measure's unit; dates as days since 1970)."""
    return rows_csv(rows, Row)


def console(rows: Sequence[Row]) -> str:
    """The scorecard as a plain-text table for the terminal."""
    cols = [("pattern", [r.id for r in rows]), ("expected", [r.expected for r in rows]),
            ("simulated: median [90% band]", [r.simulated for r in rows]),
            ("result", ["pass" if r.passed else "FAIL" for r in rows])]
    widths = [max(len(h), *(len(v) for v in vals)) for h, vals in cols]
    out = ["  ".join(h.ljust(w) for (h, _), w in zip(cols, widths, strict=True))]
    for i in range(len(rows)):
        out.append("  ".join(vals[i].ljust(w) for (_, vals), w in zip(cols, widths, strict=True)).rstrip())
    return "\n".join(out)


def scenario_results(folder: Path, scenario: Path) -> Results | None:
    """The measures' arrays of one scenario's results folder (areas from its map, the run's threshold).

    Returns:
        None when no run completed.
    """
    from sim.scenario import load_scenario
    from sim.store import ShardStore

    if not ShardStore(folder).completed()[0]:
        return None
    spec, m = load_scenario(scenario)
    return Results.from_folder(folder, dict(zip(m.names, m.area.tolist(), strict=True)),
                               spec.parameters.held_threshold)


def _files(given: Sequence[str]) -> list[Path]:
    import sim

    root = Path(sim.__file__).resolve().parent.parent  # the checkout, where patterns/ lives
    return [Path(f) for f in given] if given else sorted((root / "patterns").glob("*.yaml"))


def _check(patterns: Sequence[Pattern]) -> dict[Path, str]:
    """Each scenario the patterns need, loaded and checked against them; path -> scenario name."""
    from sim.scenario import load_scenario

    loaded = {path: load_scenario(path) for path in dict.fromkeys(p.scenario.resolve() for p in patterns)}
    for p in patterns:
        check_names(p, *loaded[p.scenario.resolve()])
    names = {path: spec.name for path, (spec, _) in loaded.items()}
    if len(set(names.values())) != len(names):
        raise PatternError("patterns: two scenario files share a name; their results folders would collide")
    return names


def cmd_patterns(args: argparse.Namespace) -> int:
    """Run the scenarios the patterns need, measure every pattern, print and write the scorecard.

    Raises:
        PatternError: bad pattern files or options (the command line makes it exit code 2).
    """
    from sim.batch import limits, load_points, run_batch
    from sim.folder import study

    patterns = load_patterns(_files(args.files))
    scenarios = _check(patterns)
    reps = args.replications if args.replications is not None else DEFAULT_REPLICATIONS
    lo, hi = limits("replications")
    if not lo <= reps <= hi:
        raise PatternError(f"--replications: expected {lo} to {hi:,}, found {reps:,}")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise PatternError(f"--seed: expected 0 to {2**64 - 1:,}, found {args.seed:,}")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**32)
    t0 = time.perf_counter()
    with study(args, "patterns", PatternError) as (out, command):
        print(f"Scorecard of {len(patterns)} pattern(s) on {len(scenarios)} scenario(s), {reps} replication(s) "
              f"each, seed {seed}" + ("" if args.seed is not None else " (drawn; pass --seed to repeat)"), flush=True)
        failed = 0
        for path, name in scenarios.items():
            s = run_batch(load_points([path]), reps, seed, out / name, workers=args.workers, finalize=None,
                          log=lambda line: print(line, flush=True), command=command)
            failed += s.failed_runs
        results = {path: scenario_results(out / name, path) for path, name in scenarios.items()}
        rows = [evaluate(p, results[p.scenario.resolve()]) for p in patterns]
        wall = time.perf_counter() - t0
        header = (f"# Pattern scorecard\n\n`{command}`: {reps} replications, seed {seed}, "
                  f"{time.strftime('%Y-%m-%d')}, {wall:.0f} s. A pattern passes if the median over replications "
                  f"lies within the expected value or range, widened by the tolerance (yes/no: more than half "
                  f"of the replications); the band is the 5th to 95th percentile.")
        (out / "scorecard.md").write_text(markdown(rows, header), encoding="utf-8")
        (out / "scorecard.csv").write_text(table_csv(rows), encoding="utf-8")
    print("\n" + console(rows))
    print(f"\n{sum(r.passed for r in rows)} of {len(rows)} pattern(s) pass; {wall:.1f} s. "
          f"Scorecard in {out / 'scorecard.md'} and {out / 'scorecard.csv'}; runs in {out}/<scenario>/")
    if failed:
        print(f"error: {failed} run(s) failed; see errors.jsonl in the scenario folders", flush=True)
        return 1
    return 0
