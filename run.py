"""Command line of the Afghan conflict scenario laboratory.

    uv run run.py run scenarios/baseline.yaml [--replications N] [--seed S] [--months M] [--out DIR]
                                              [--set path.to.field=value ...]
    uv run run.py validate FILE...      check scenario files without running them
    uv run run.py list [DIR]            the scenario library, one line each
    uv run run.py show FILE             the resolved scenario (after extends and --set)
    uv run run.py schema [--out FILE]   JSON Schema of scenario files, for editors
    uv run run.py params                the global parameter table

Bad input (missing file, malformed YAML, unknown key, wrong type, out-of-range
value) gets a one-line error naming the file and the field, and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2
SMALL_BATCH = 100  # runs below which the default is to run in this process


class BadInput(Exception):
    """A user error: reported in one line, exit code 2."""


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        bar = "#" * int(30 * done / total)
        print(f"\r  runs [{bar:<30}] {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def _default_out(name: str) -> Path:
    base = Path("results") / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
    out, k = base, 1
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """Run scenarios x sweep points x replications; stream tables to the store; figures; summary."""
    import hashlib
    import json

    import numpy as np

    from sim.batch import environment, execute, parse_sweep, plan_chunks, plan_points
    from sim.calendar import STEP_MONTHS
    from sim.horizon import horizon_table
    from sim.plots import FigureProgress, figure_plan, make_figures
    from sim.scenario import load_scenario
    from sim.store import ShardStore

    loaded = [load_scenario(f, args.set or ()) for f in args.scenarios]
    sweeps = [parse_sweep(t) for t in args.sweep or ()]
    points = plan_points([(spec, m, spec.model_dump(mode="python")) for spec, m in loaded], sweeps)
    first = loaded[0][0]
    months = args.months if args.months is not None else first.months
    if months < 1:
        raise BadInput(f"--months: expected a positive number of months, found {months}")
    reps = args.replications if args.replications is not None else first.replications
    if reps < 1:
        raise BadInput(f"--replications: expected at least 1, found {reps}")
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: expected at least 1, found {args.workers}")
    if args.scheduler and args.executor != "dask":
        raise BadInput("--scheduler: only with --executor dask")
    default_name = first.name + (f"+{len(loaded) - 1}" if len(loaded) > 1 else "")
    out = Path(args.out) if args.out else _default_out(default_name)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out}: exists and is not a folder")
    store = ShardStore(out)
    old = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else None
    seed_drawn = args.seed is None and not (args.resume and old)
    seed = args.seed if args.seed is not None else (old["base_seed"] if args.resume and old else
                                                    int(np.random.SeedSequence().entropy % (2**32)))
    if seed < 0:
        raise BadInput(f"--seed: expected a non-negative integer, found {seed}")
    plan = {"points": [{"scenario": p.scenario, "point": p.point, "values": p.values,
                        "scenario_hash": p.spec.digest()} for p in points],
            "replications": reps, "months": months, "base_seed": seed}
    plan_hash = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()[:16]
    if args.resume:
        if old is None:
            raise BadInput(f"{out}: --resume needs a folder with a batch in it (no manifest.json)")
        if old.get("plan_hash") != plan_hash:
            raise BadInput(f"{out}: --resume with a different batch (scenarios, sweep, replications, months "
                           f"or seed differ from the manifest)")
    elif store.exists():
        if not args.overwrite:
            raise BadInput(f"{out}: already holds results (manifest.json); choose another --out, "
                           f"pass --resume to finish that batch, or --overwrite")
        store.reset()

    map_months = None
    if args.map_months:
        try:
            map_months = [int(x) for x in args.map_months.split(",") if x.strip()]
        except ValueError:
            raise BadInput(f"--map-months: expected comma-separated months, found {args.map_months!r}") from None

    # small batches: a pool's start (seconds) would cost more than it saves
    workers = args.workers if args.workers is not None else \
        ((os.cpu_count() or 1) if len(points) * reps >= SMALL_BATCH else 1)
    out.mkdir(parents=True, exist_ok=True)
    removed = store.clean()
    done, _ = store.completed()
    chunks = plan_chunks(points, reps, done)
    total_runs = len(points) * reps
    info = {
        "scenarios": [{"name": s.name, "file": str(f), "scenario_hash": s.digest(), "resolved_scenario": s.resolved()}
                      for (s, _), f in zip(loaded, args.scenarios, strict=True)],
        "overrides": list(args.set or ()),
        "sweeps": [{"path": p, "values": v} for p, v in sweeps],
        **plan, "plan_hash": plan_hash, "seed_drawn_from_entropy": seed_drawn,
        "seeds": "replication i runs with replication_seed(base_seed, i) in every scenario and point",
        "time_step": first.time_step, "map": loaded[0][1].folder.name,
        "executor": args.executor, "workers": workers, **environment(),
        "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
    }
    (out / "manifest.json").write_text(json.dumps({**info, "status": "running"}, indent=2, default=str) + "\n")
    names = ", ".join(s.name for s, _ in loaded)
    print(f"Running {names}: {len(points)} scenario point(s) x {reps} replication(s) x {months} months, "
          f"seed {seed}" + (" (drawn; pass --seed to repeat)" if seed_drawn else "")
          + (f"; resuming, {len(done)} run(s) already done" if done else "")
          + (f"; removed {removed} unfinished part(s)" if removed else ""), flush=True)

    t0 = time.perf_counter()
    finished = len(done)
    failures: list[dict] = []
    bar = _Progress(total_runs, finished)
    executor = "dask" if args.executor == "dask" else "local"
    for res in execute(chunks, seed, months, workers if executor == "local" else max(workers, 1), executor,
                       args.scheduler, out=out):
        store.write(res.key, res.tables, res.completed, res.failures)
        finished += len(res.completed)
        failures += res.failures
        bar.update(len(res.completed) + len(res.failures))
    bar.close()
    wall = time.perf_counter() - t0
    store.write_event_log()
    completed, _ = store.completed()
    status = "complete" if len(completed) == total_runs else "incomplete"
    (out / "manifest.json").write_text(json.dumps(
        {**info, "status": status, "completed_runs": len(completed), "failed_runs": len(failures),
         "wall_time_s": round(wall, 3)}, indent=2, default=str) + "\n")

    print(f"\nResults in {out}/ (tables are folders of Parquet parts: pandas.read_parquet reads each as one)")
    for name in ("trajectories", "provinces", "flows", "donors", "government", "events"):
        print(f"  {name + '.parquet/':<24} {name}")
    print("  events.txt               the event log in plain words")
    print("  manifest.json            resolved scenarios, seeds, versions, wall time")
    # figures and summaries under one progress bar, printed once it is gone
    drawn = [(spec, m, p) for p in points for spec, m in loaded if spec.name == p.scenario
             and not completed.isdisjoint({f"{p.key}-r{r:06d}" for r in range(reps)})]
    bar = FigureProgress(len(drawn) * len(figure_plan(args.figures, months, map_months)))
    report = []
    for spec, m, p in drawn:
        sub = None if len(points) == 1 else f"{p.key}"
        figs = make_figures(out, m, map_months, STEP_MONTHS[spec.time_step], scenario=p.scenario, point=p.point,
                            subdir=sub, which=args.figures, progress=bar)
        where = f" figures/{sub + '/' if sub else ''}: " + ", ".join(f.name for f in figs) if figs else ""
        report += [f"\n[{p.scenario}{' ' + json.dumps(p.values) if p.values else ''}]{where}",
                   horizon_table(out, p.scenario, p.point).text({k: f.label for k, f in spec.factions.items()})]
    bar.close()
    print("\n".join(report))
    print(f"\n{finished} of {total_runs} run(s) done; {len(failures)} failed; {wall:.1f} s")
    if failures:
        print(f"error: {len(failures)} run(s) failed; tracebacks in {store.errors}; rerun with --resume "
              f"to retry them", file=sys.stderr)
        for f in failures[:5]:
            print(f"  {f['run']}: {f['error']}", file=sys.stderr)
        return 1
    return 0


class _Progress:
    """A progress bar with an ETA on a terminal; silent otherwise."""

    def __init__(self, total: int, done: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="run", file=sys.stderr, smoothing=0.1)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _shares(text: str, option: str) -> list[float]:
    """Comma-separated percentages of the country (0-100] -> shares in (0, 1]."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BadInput(f"{option}: expected comma-separated percentages, found {text!r}") from None
    bad = [v for v in values if not 0 < v <= 100]
    if not values or bad:
        raise BadInput(f"{option}: expected percentages of the country in (0, 100], found {text!r}")
    return [v / 100 for v in values]


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare results folders: report.md, CSV tables and figures."""
    from sim.report import MonthsError, write_report

    for f in args.folders:
        if not (Path(f) / "manifest.json").is_file():
            raise BadInput(f"{f}: not a results folder (no manifest.json)")
    try:
        months = None if args.months is None else [float(x) for x in args.months.split(",") if x.strip()]
    except ValueError:
        raise BadInput(f"--months: expected comma-separated months, found {args.months!r}") from None
    holds = _shares(args.holds, "--holds")
    wiped = _shares(args.wiped_out, "--wiped-out")
    if len(wiped) != 1:
        raise BadInput(f"--wiped-out: expected one percentage, found {args.wiped_out!r}")
    try:
        report = write_report(args.folders, Path(args.out), args.baseline, months, holds, wiped[0])
    except MonthsError as exc:
        raise BadInput(f"--months: {exc}") from None
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    print(f"Report in {report}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files without running them."""
    from sim.scenario import ScenarioError, load_scenario

    bad = 0
    for f in args.files:
        try:
            spec, _ = load_scenario(f, args.set or ())
            print(f"{f}: ok ({spec.name}, {len(spec.factions)} factions, {len(spec.donors)} donors)")
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


ODD_BEGIN, ODD_END = "<!-- parameters:begin -->", "<!-- parameters:end -->"


def cmd_list(args: argparse.Namespace) -> int:
    """One line per scenario file in a folder: file, name, title, and whether it validates."""
    from sim.scenario import ScenarioError, load_scenario

    folder = Path(args.folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise BadInput(f"{folder}: no scenario files (*.yaml)")
    width = max(len(f.name) for f in files)
    for f in files:
        try:
            spec, _ = load_scenario(f)
            print(f"{f.name:<{width}}  {spec.title or spec.name}")
        except ScenarioError as exc:
            print(f"{f.name:<{width}}  INVALID: {exc}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the resolved scenario as YAML, with its hash."""
    import yaml

    from sim.scenario import load_scenario

    spec, m = load_scenario(args.file, args.set or ())
    print(f"# resolved scenario {spec.name}, hash {spec.digest()}, map {m.folder.name} ({m.n} provinces)")
    print(yaml.safe_dump(spec.resolved(), sort_keys=False, allow_unicode=True, width=110), end="")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema of scenario files."""
    import json

    from sim.scenario import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Print the global parameter table (Markdown), or write it into docs/ODD.md."""
    from sim.parameters import Parameters

    table = Parameters.markdown()
    if not args.update_odd:
        print(table)
        return 0
    odd = Path(__file__).resolve().parent / "docs" / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    if ODD_BEGIN not in text or ODD_END not in text:
        raise BadInput(f"{odd}: markers {ODD_BEGIN} and {ODD_END} not found")
    head, rest = text.split(ODD_BEGIN, 1)
    _, tail = rest.split(ODD_END, 1)
    odd.write_text(f"{head}{ODD_BEGIN}\n{table}\n{ODD_END}{tail}", encoding="utf-8")
    print(f"updated the parameter table in {odd}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = argparse.ArgumentParser(prog="run.py", description="Afghan conflict scenario laboratory")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run scenarios x sweep points x replications; write results and figures")
    r.add_argument("scenarios", nargs="+", help="scenario YAML files, e.g. scenarios/baseline.yaml")
    r.add_argument("--replications", "-n", type=int, help="number of replications (default: the scenario's)")
    r.add_argument("--seed", type=int, help="base seed (default: drawn from entropy and recorded)")
    r.add_argument("--months", type=int, help="horizon in months (default: the scenario's)")
    r.add_argument("--out", help="output folder (default: results/<scenario>_<time>)")
    r.add_argument("--map-months", help="months to draw control maps at, e.g. 0,12,36,60")
    r.add_argument("--figures", choices=("none", "summary", "all"), default="summary",
                   help="figures per scenario point: none, summary (territory and maps at the start and the "
                        "horizon; the default) or all (every measure, maps at 0, 12, 36, 60 months and the horizon)")
    r.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    r.add_argument("--sweep", action="append", metavar="PATH=V1,V2,...",
                   help="sweep a field over values; several sweeps form a grid with the scenarios")
    r.add_argument("--workers", "-w", type=int,
                   help="worker processes (default: all cores, or 1 for batches under 100 runs; 1 runs in "
                        "this process)")
    r.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool, or Dask distributed (embedded LocalCluster or --scheduler)")
    r.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    r.add_argument("--resume", action="store_true", help="finish a batch that was interrupted in --out")
    r.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a field of the resolved scenario, e.g. factions.nrf.strength=5000 (repeatable)")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("compare", help="compare results folders: paired differences, probabilities, figures")
    c.add_argument("folders", nargs="+", help="results folders from run.py run")
    c.add_argument("--baseline", help="group to compare against (default: baseline, else the first)")
    c.add_argument("--months", help="months at which to compare, within the results (default 12,36,60, up to the "
                                    "horizon)")
    c.add_argument("--out", required=True, help="folder for report.md, CSV tables and figures")
    c.add_argument("--holds", default="1,5,10", metavar="PCT,...",
                   help="end states: the resistance holds at least these percentages of the country (default 1,5,10)")
    c.add_argument("--wiped-out", default="0.01", metavar="PCT",
                   help="the resistance counts as wiped out under this percentage of the country (default 0.01)")
    c.set_defaults(func=cmd_compare)
    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("files", nargs="+")
    v.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field (repeatable)")
    v.set_defaults(func=cmd_validate)
    ls = sub.add_parser("list", help="list the scenario library, one line each")
    ls.add_argument("folder", nargs="?", default=str(Path(__file__).resolve().parent / "scenarios"))
    ls.set_defaults(func=cmd_list)
    sh = sub.add_parser("show", help="print the resolved scenario (after extends and --set)")
    sh.add_argument("file")
    sh.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field (repeatable)")
    sh.set_defaults(func=cmd_show)
    sc = sub.add_parser("schema", help="write the JSON Schema of scenario files (for editors)")
    sc.add_argument("--out", help="file to write (default: standard output)")
    sc.set_defaults(func=cmd_schema)
    pp = sub.add_parser("params", help="print the global parameter table as Markdown")
    pp.add_argument("--update-odd", action="store_true", help="rewrite the table in docs/ODD.md")
    pp.set_defaults(func=cmd_params)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and dispatch; user errors become one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    from sim.geography import MapError
    from sim.scenario import ScenarioError

    try:
        return int(args.func(args))
    except (BadInput, ScenarioError, MapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
