"""``run.py sensitivity EXPERIMENT.yaml``: sample the design, run it on the batch engine, compute indices.

The design's points are sweep points of one batch (:func:`sim.plan.plan_design`): common random
numbers, the streaming store in ``<out>/runs/``, resume and the executor are the batch
engine's, and each point's values are recorded in their own typed columns.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import ExperimentError
from sim.experiments.indices import analyze, problem, sample
from sim.experiments.schema import ExperimentSpec, load_experiment


def design(spec: ExperimentSpec, file: Path) -> np.ndarray:
    """The design's rows (one column per range, in the file's order), sampled or read from the user's CSV."""
    ranges = spec.ranges
    if spec.method == "csv":
        table_path = (file.parent / spec.design).resolve() if spec.design else file
        try:
            table = pd.read_csv(table_path)
        except (OSError, ValueError) as exc:
            raise ExperimentError(f"{file}: design: cannot read {spec.design!r} ({exc})") from None
        missing = [r.path for r in ranges if r.path not in table.columns]
        if missing:
            raise ExperimentError(f"{file}: design: {spec.design} has no column {missing[0]!r}")
        rows = table[[r.path for r in ranges]].to_numpy(float)
    else:
        rows = sample(spec.method, problem([r.path for r in ranges], [(r.low, r.high) for r in ranges]),
                      spec.samples, spec.seed)
    for j, r in enumerate(ranges):
        if r.integer:
            rows[:, j] = np.round(rows[:, j])
    return rows


def _values(rows: np.ndarray, spec: ExperimentSpec) -> list[list[float | int]]:
    """Plain Python numbers for the scenario schema (integers where the range says so)."""
    return [[int(v) if r.integer else float(v) for v, r in zip(row, spec.ranges, strict=True)] for row in rows]


def run(spec: ExperimentSpec, file: Path, rows: np.ndarray, out: Path, args: argparse.Namespace) -> Path:
    """Run every design point with the experiment's replications, into ``out/runs``."""
    from sim.batch import run_batch
    from sim.plan import plan_design
    from sim.scenario import ScenarioError, load_scenario

    scenario = Path(spec.scenario)
    scenario = scenario if scenario.is_absolute() else (file.parent / scenario).resolve()
    try:
        s, m = load_scenario(scenario)
        points = plan_design([(s, m, s.model_dump(mode="python"))], [r.path for r in spec.ranges],
                             _values(rows, spec), months=max(spec.months), label="design point")
    except ScenarioError as exc:
        raise ExperimentError(f"{file}: {exc}") from None
    reps = args.replications if args.replications is not None else spec.replications
    seed = args.seed if args.seed is not None else spec.seed
    from sim.plan import column_type

    paths = [r.path for r in spec.ranges]
    describe = {  # as run.py run records a sweep, so the analysis reads the design's columns
        "scenarios": [{"name": s.name, "file": str(scenario), "scenario_hash": s.digest(),
                       "resolved_scenario": s.resolved()}],
        "overrides": [],
        "sweeps": [{"path": p, "values": sorted({pt.values[p] for pt in points}),
                    "column_type": column_type([pt.columns[p] for pt in points])} for p in paths],
        "design": {"method": spec.method, "samples": spec.samples, "file": str(file)},
    }
    summary = run_batch(points, reps, seed, out / "runs", workers=args.workers, describe=describe,
                        command=" ".join(["run.py", *args.argv]))
    if summary.failed_runs:
        raise ExperimentError(f"{summary.failed_runs} run(s) failed; see {out / 'runs' / 'errors.jsonl'}")
    return out / "runs"


def indices(spec: ExperimentSpec, rows: np.ndarray, out: pd.DataFrame) -> pd.DataFrame:
    """Every outcome's indices at every month, from the runs' outcomes (``sim.analysis.load_outcomes``)."""
    from sim.analysis import at_months

    prob = problem([r.path for r in spec.ranges], [(r.low, r.high) for r in spec.ranges])
    parts = []
    for month, d in at_months(out, spec.months).groupby("at_month", sort=True):
        for name in spec.outcomes:
            y = d.pivot(index="point", columns="replication", values=name).sort_index().to_numpy(float)
            t = analyze(spec.method, prob, rows, y, spec.seed)
            parts.append(t.assign(outcome=name, month=int(month)))
    table = pd.concat(parts, ignore_index=True)
    return table[["outcome", "month", *[c for c in table.columns if c not in ("outcome", "month")]]]


def outcomes_table(spec: ExperimentSpec, out: pd.DataFrame) -> pd.DataFrame:
    """Each run's outcomes at each month beside its design values (EMA workbench's two tables in one)."""
    from sim.adapters import ema_of

    parts = []
    for month in spec.months:
        experiments, values = ema_of(out, [r.path for r in spec.ranges], spec.outcomes, month)
        parts.append(experiments.assign(month=month, **values))
    return pd.concat(parts, ignore_index=True)


def discovery(spec: ExperimentSpec, per_run: pd.DataFrame, out: Path) -> str:
    """PRIM on the runs (:mod:`sim.experiments.discovery`): writes discovery.csv and discovery_box.csv."""
    from sim.experiments.discovery import discover, words

    d = spec.discover
    assert d is not None
    at = per_run[per_run["month"] == d.month]
    if at.empty:
        raise ExperimentError(f"discover.month: {d.month} is not among the months {spec.months}")
    y = (at[d.outcome] > d.above).to_numpy()
    trajectory, box = discover(at[[r.path for r in spec.ranges]], y, d.density)
    trajectory.to_csv(out / "discovery.csv", index_label="box")
    if box is not None:
        box.to_csv(out / "discovery_box.csv", index=False)
    return words(box, float(y.mean()), f"{d.outcome} exceeds {d.above:g} at month {d.month}", d.density)


_UNITS = {"resistance_territory": (100.0, "pp of the country"), "government_territory": (100.0, "pp of the country"),
          "resistance_provinces": (1.0, "capitals"), "resistance_strength": (1.0, "fighters")}


def figure(table: pd.DataFrame, method: str, path: Path) -> Path:
    """Bars of each variable's indices (with 95% intervals): one row of panels per outcome, one column per month."""
    from sim.plots import new_figure, save

    keys = [("S1", "#0072B2"), ("ST", "#E69F00")] if method == "sobol" else [("mu_star", "#0072B2")]
    outcomes, months = list(dict.fromkeys(table["outcome"])), sorted(set(table["month"]))
    names = list(dict.fromkeys(table["variable"]))
    left = 0.3 + 0.065 * max(len(n) for n in names)  # inches for the variables' names
    width, height = left + 3.0 * len(months), 0.8 + (0.35 * len(names) + 0.9) * len(outcomes)
    fig = new_figure(width, height)
    axes = fig.subplots(len(outcomes), len(months), squeeze=False)
    for (r, outcome), (c, month) in ((a, b) for a in enumerate(outcomes) for b in enumerate(months)):
        ax, d = axes[r][c], table[(table["outcome"] == outcome) & (table["month"] == month)]
        scale, unit = (1.0, "share of variance") if method == "sobol" else _UNITS.get(outcome, (1.0, ""))
        ypos, h = np.arange(len(d)), 0.8 / len(keys)
        for k, (key, colour) in enumerate(keys):
            if key in d:
                err = [scale * (d[key] - d[f"{key}_low"]), scale * (d[f"{key}_high"] - d[key])]
                ax.barh(ypos + (k - (len(keys) - 1) / 2) * h, scale * d[key], h, xerr=err, color=colour,
                        label=key, error_kw={"lw": 0.8})
        ax.set_yticks(ypos, d["variable"] if c == 0 else [""] * len(d), fontsize=7)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(f"{outcome}, month {month} (noise share {d['noise_share'].iloc[0]:.0%})", fontsize=8)
        ax.set_xlabel(("Morris mu*, " if method == "morris" else "") + unit, fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{'Sobol first-order and total' if method == 'sobol' else 'Morris'} indices with 95% intervals",
                 fontsize=9)
    fig.subplots_adjust(left=left / width, right=0.98, top=1 - 0.5 / height, bottom=0.55 / height, wspace=0.15,
                        hspace=0.9 / (0.35 * len(names) + 0.9) + 0.3)
    return save(fig, path)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Sample, run, analyse; print and write the indices.

    Raises:
        ExperimentError: a bad experiment file or option (the command line makes it exit code 2).
    """
    from sim.analysis import load_outcomes
    from sim.folder import study

    file = Path(args.file)
    spec = load_experiment(file)
    rows = design(spec, file)
    t0 = time.perf_counter()
    with study(args, "sensitivity", ExperimentError) as (out, _):
        print(f"Sensitivity ({spec.method}): {len(rows)} design points x {args.replications or spec.replications} "
              f"replications on {spec.scenario}", flush=True)
        pd.DataFrame(rows, columns=[r.path for r in spec.ranges]).rename_axis("point").to_csv(out / "design.csv")
        runs = run(spec, file, rows, out, args)
        out_rows, _ = load_outcomes(runs)  # read once: the per-run table and the indices both use it
        per_run = outcomes_table(spec, out_rows)
        per_run.to_csv(out / "outcomes.csv", index=False)
        if spec.discover is not None:
            print(discovery(spec, per_run, out), flush=True)
        if spec.method in ("lhs", "csv"):  # a design to explore (scenario discovery), not to apportion variance
            print(f"{spec.method}: no indices for this design; each run's outcomes are in {out / 'outcomes.csv'} "
                  f"(sim.adapters.ema({str(runs)!r}) hands them to EMA workbench)")
            return 0
        table = indices(spec, rows, out_rows)
        table.to_csv(out / "sensitivity.csv", index=False)
        figure(table, spec.method, out / "sensitivity.png")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\n{time.perf_counter() - t0:.0f} s. Indices in {out / 'sensitivity.csv'}; figure "
          f"{out / 'sensitivity.png'}; design {out / 'design.csv'}; runs in {out / 'runs'}")
    return 0

