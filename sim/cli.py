"""The command line's commands: each parses its options, calls the library and prints.

``run.py`` builds the parser (:func:`build_parser` there) and dispatches here. Bad input
(missing file, malformed YAML, unknown key, wrong type, out-of-range value) gets a
one-line error naming the file or option and the field, and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sim

if TYPE_CHECKING:
    from sim.batch import BatchSummary

EXIT_BAD_INPUT = 2
ROOT = Path(sim.__file__).resolve().parent.parent  # the checkout: scenarios/ and docs/ live here
DEFAULT_COMPARE_MONTHS = (12.0, 36.0, 60.0)
ODD_BEGIN, ODD_END = "<!-- parameters:begin -->", "<!-- parameters:end -->"


class BadInput(Exception):
    """A user error: reported in one line, exit code 2."""


def _within(option: str, value: int | None, lo: int, hi: int) -> None:
    if value is not None and not lo <= value <= hi:
        raise BadInput(f"{option}: expected {lo} to {hi:,}, found {value:,}")


def _map_months(text: str | None, horizons: dict[str, int]) -> list[int] | None:
    """``--map-months 0,12,36``: every month within every point's horizon, else refused."""
    if not text:
        return None
    try:
        months = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BadInput(f"--map-months: expected comma-separated months, found {text!r}") from None
    for name, horizon in horizons.items():
        late = [m for m in months if not 0 <= m <= horizon]
        if late:
            raise BadInput(f"--map-months: month {late[0]} is outside 0 to {horizon}, the horizon of {name}")
    return months


def cmd_run(args: argparse.Namespace) -> int:
    """Run scenarios x sweep points x replications; stream tables to the store; figures; summary."""
    from sim.batch import MAX_WORKERS, BatchInterrupted, limits, run_batch
    from sim.folder import default_out, resume_command
    from sim.manifest import scenario_entries
    from sim.plan import attach_posterior, column_type, parse_sweep, plan_points
    from sim.posterior import load_posterior
    from sim.scenario import load_scenario, parse_override

    _within("--replications", args.replications, *limits("replications"))
    _within("--months", args.months, *limits("months"))
    _within("--workers", args.workers, 1, MAX_WORKERS)
    _within("--seed", args.seed, 0, 2**64 - 1)
    loaded = [load_scenario(f, args.set or (), allow_outside=args.allow_outside) for f in args.scenarios]
    sweeps = [parse_sweep(t) for t in args.sweep or ()]
    points = plan_points([(spec, m, spec.model_dump(mode="python")) for spec, m in loaded], sweeps, args.months)
    drawn = load_posterior(args.posterior) if args.posterior else None
    if drawn is not None:  # every particle checked at every point before anything is written
        points = attach_posterior(points, drawn, [parse_override(o)[0] for o in args.set or ()])
    map_months = _map_months(args.map_months, {f"{p.scenario} point {p.point}" if p.values else p.scenario: p.months
                                               for p in points})
    first = loaded[0][0]
    reps = args.replications if args.replications is not None else first.replications
    out = Path(args.out) if args.out else default_out(first.name + (f"+{len(loaded) - 1}" if len(loaded) > 1 else ""))
    describe = {
        "scenarios": scenario_entries(loaded, args.scenarios),
        "overrides": list(args.set or ()),
        "sweeps": [{"path": p, "values": v, "column_type": column_type([pt.columns[p] for pt in points])}
                   for p, v in sweeps],
        **({"posterior": drawn.describe(args.posterior)} if drawn is not None else {}),
    }
    def figures(s: BatchSummary) -> list[Path]:
        return _figures_and_summary(s, loaded, map_months, args.figures)

    try:
        s = run_batch(points, reps, args.seed, out, executor=args.executor, workers=args.workers,
                      scheduler=args.scheduler, resume=args.resume, overwrite=args.overwrite, progress=args.progress,
                      describe=describe, log=lambda line: print(line, flush=True), finalize=figures,
                      command=" ".join(["run.py", *args.argv]))
    except BatchInterrupted as exc:
        done = exc.summary.completed_runs if exc.summary else 0
        total = exc.summary.total_runs if exc.summary else len(points) * reps
        print(f"interrupted ({exc}) with {done} of {total} run(s) done; to finish: "
              f"{resume_command(args.argv, out)}", file=sys.stderr)
        return 128 + exc.signum
    print(f"\n{s.completed_runs} of {s.total_runs} run(s) done; {s.failed_runs} failed; {s.wall_time_s:.1f} s")
    if s.failures:
        print(f"error: {s.failed_runs} run(s) failed; tracebacks in {s.errors}; rerun with --resume "
              f"to retry them", file=sys.stderr)
        for f in s.failures[:5]:
            print(f"  {f['run']}: {f['error']}", file=sys.stderr)
        return 1
    return 0


def _figures_and_summary(s: BatchSummary, loaded: list[tuple[Any, Any]], map_months: list[int] | None,
                         which: str) -> list[Path]:
    """Where the results are; per point, its figures and its summary table (printed once the bar is gone).

    Returns:
        The figures written.
    """
    from sim.calendar import STEP_MONTHS
    from sim.horizon import horizon_table
    from sim.plots import FigureProgress, figure_plan, make_figures

    out, points, reps, completed = s.out, s.points, s.total_runs // len(s.points), s.completed
    print(f"\nResults in {out}/ (tables are folders of Parquet parts: pandas.read_parquet reads each as one)")
    for name in ("trajectories", "provinces", "flows", "donors", "government", "events"):
        print(f"  {name + '.parquet/':<24} {name}")
    print("  events.txt               the event log in plain words")
    print("  manifest.json            resolved scenarios, seeds, versions, wall time")
    drawn = [(spec, m, p) for p in points for spec, m in loaded if spec.name == p.scenario
             and not completed.isdisjoint({f"{p.key}-r{r:06d}" for r in range(reps)})]
    bar = FigureProgress(sum(len(figure_plan(which, p.months, map_months)) for _, _, p in drawn))
    report, files = [], []
    for spec, m, p in drawn:
        sub = None if len(points) == 1 else f"{p.key}"
        figs = make_figures(out, m, map_months, STEP_MONTHS[spec.time_step], scenario=p.scenario, point=p.point,
                            subdir=sub, which=which, progress=bar)
        files += figs
        where = f" figures/{sub + '/' if sub else ''}: " + ", ".join(f.name for f in figs) if figs else ""
        report += [f"\n[{p.scenario}{' ' + json.dumps(p.values) if p.values else ''}]{where}",
                   horizon_table(out, p.scenario, p.point).text({k: f.label for k, f in spec.factions.items()})]
    bar.close()
    print("\n".join(report))
    return files


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


def _horizon(man: dict[str, Any]) -> float:
    """The longest horizon, in months, of a results folder's batch (from its manifest)."""
    return max([p["months"] for p in man.get("points", []) if isinstance(p, dict) and p.get("months") is not None]
               or [man.get("months") or 0])


def _compared(folder: Path) -> dict[str, Any]:
    """A results folder's manifest, checked for comparing: runs done, and a warning if it is unfinished."""
    from sim.folder import holder, manifest_of
    from sim.store import ShardStore

    man = manifest_of(folder) if folder.is_dir() else None
    if man is None or not isinstance(man.get("points"), list):
        raise BadInput(f"{folder}: not a results folder (no manifest.json from run.py run)")
    done, _ = ShardStore(folder).completed()
    if not done:
        raise BadInput(f"{folder}: no completed run to compare (status {man.get('status', 'unknown')}; "
                       f"see {folder / 'errors.jsonl'})")
    busy = holder(folder)
    if busy:
        print(f"warning: {folder} is still being written ({busy}); the report covers the {len(done)} run(s) "
              f"done so far", file=sys.stderr)
    elif man.get("status") != "complete":
        print(f"warning: {folder}: the batch's status is {man.get('status', 'unknown')} ({len(done)} run(s) done); "
              f"the report covers those; finish it with run.py run ... --resume", file=sys.stderr)
    return man


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare results folders: report.md, CSV tables and figures."""
    from sim.provenance import coverage

    folders = [Path(f) for f in args.folders]
    manifests = [_compared(f) for f in folders]
    horizon = max(_horizon(m) for m in manifests)
    covered, alike = coverage(folders, manifests)
    if not alike:
        print(covered.replace("**", "").replace("`", "").replace("Warning: ", "warning: "), file=sys.stderr)
    if args.months is None:  # the default months that fall within the horizon, else the horizon
        months = [m for m in DEFAULT_COMPARE_MONTHS if m <= horizon] or [horizon]
    else:
        try:
            months = [float(x) for x in args.months.split(",") if x.strip()]
        except ValueError:
            raise BadInput(f"--months: expected comma-separated months, found {args.months!r}") from None
        late = [m for m in months if not 0 <= m <= horizon]
        if late:
            raise BadInput(f"--months: month {late[0]:g} is outside 0 to {horizon:g}, the longest horizon compared")
    holds = _shares(args.holds, "--holds")
    wiped = _shares(args.wiped_out, "--wiped-out")
    if len(wiped) != 1:
        raise BadInput(f"--wiped-out: expected one percentage, found {args.wiped_out!r}")
    minimum = _shares(args.min_effect, "--min-effect")
    if len(minimum) != 2:
        raise BadInput(f"--min-effect: expected two percentage points (territory, probability), found "
                       f"{args.min_effect!r}")
    from sim.folder import LOCK, writer
    from sim.report import MonthsError, Thresholds, write_report

    out = Path(args.out)
    if out.resolve() in {f.resolve() for f in folders}:
        raise BadInput(f"--out: {out} is one of the results folders compared; choose a folder of its own")
    with writer(out, " ".join(["run.py", *args.argv])):
        if any(e.name != LOCK for e in out.iterdir()) and not args.overwrite:
            raise BadInput(f"{out}: already holds files; choose another --out, or pass --overwrite")
        try:
            limits = Thresholds(holds, wiped[0], *minimum)
            report = write_report(args.folders, out, args.baseline, months, limits, " ".join(["run.py", *args.argv]),
                                  shared=args.scale == "shared")
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
            spec, _ = load_scenario(f, args.set or (), allow_outside=args.allow_outside)
            print(f"{f}: ok ({spec.name}, {len(spec.factions)} factions, {len(spec.donors)} donors)")
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            bad += 1
    return EXIT_BAD_INPUT if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    """One line per scenario file in a folder: file, name, title, and whether it validates."""
    from sim.scenario import ScenarioError, load_scenario

    folder = Path(args.folder) if args.folder else ROOT / "scenarios"
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

    spec, m = load_scenario(args.file, args.set or (), allow_outside=args.allow_outside)
    print(f"# resolved scenario {spec.name}, hash {spec.digest()}, map {m.folder.name} ({m.n} provinces)")
    print(yaml.safe_dump(spec.resolved(), sort_keys=False, allow_unicode=True, width=110), end="")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema of scenario files."""
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
    odd = ROOT / "docs" / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    if ODD_BEGIN not in text or ODD_END not in text:
        raise BadInput(f"{odd}: markers {ODD_BEGIN} and {ODD_END} not found")
    head, rest = text.split(ODD_BEGIN, 1)
    _, tail = rest.split(ODD_END, 1)
    odd.write_text(f"{head}{ODD_BEGIN}\n{table}\n{ODD_END}{tail}", encoding="utf-8")
    print(f"updated the parameter table in {odd}")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    """The pattern scorecard (:mod:`sim.patterns.scorecard`), imported only when asked for: it loads pandas."""
    from sim.patterns import PatternError
    from sim.patterns.scorecard import cmd_patterns

    try:
        return cmd_patterns(args)
    except PatternError as exc:
        raise BadInput(str(exc)) from None


def cmd_effects(args: argparse.Namespace) -> int:
    """The mechanisms' measured effects (:mod:`sim.effects.table`), imported only when asked for."""
    from sim.effects import EffectsError
    from sim.effects.table import cmd_effects

    try:
        return cmd_effects(args)
    except EffectsError as exc:
        raise BadInput(str(exc)) from None


def cmd_robustness(args: argparse.Namespace) -> int:
    """The headline conclusions across the judgement parameters (:mod:`sim.effects.robustness`)."""
    from sim.effects import EffectsError
    from sim.effects.robustness import cmd_robustness

    try:
        return cmd_robustness(args)
    except EffectsError as exc:
        raise BadInput(str(exc)) from None


def cmd_tipping(args: argparse.Namespace) -> int:
    """The lever value at which P(outcome) crosses 0.1, 0.5 and 0.9 (:mod:`sim.tipping.command`)."""
    from sim.effects import EffectsError
    from sim.tipping import TippingError
    from sim.tipping.command import cmd_tipping

    try:
        return cmd_tipping(args)
    except (TippingError, EffectsError) as exc:
        raise BadInput(str(exc)) from None


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Sobol or Morris indices of an experiment (:mod:`sim.experiments.command`)."""
    from sim.experiments import ExperimentError
    from sim.experiments.command import cmd_sensitivity

    try:
        return cmd_sensitivity(args)
    except ExperimentError as exc:
        raise BadInput(str(exc)) from None


def cmd_calibrate(args: argparse.Namespace) -> int:
    """ABC-SMC against the pattern files (:mod:`sim.calibration.command`)."""
    from sim.calibration.command import cmd_calibrate
    from sim.calibration.schema import CalibrationError

    try:
        return cmd_calibrate(args)
    except CalibrationError as exc:
        raise BadInput(str(exc)) from None


def _os_error(exc: OSError) -> str:
    """One line for a failed read or write: the path, what went wrong, and that the folder can be resumed."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename if exc.filename is not None else "a file"
    hint = "; free space, then run the same command with --resume" \
        if getattr(exc, "errno", None) in (28, 122) else ""  # ENOSPC, EDQUOT
    return f"{where}: {what}{hint}"


def dispatch(args: argparse.Namespace) -> int:
    """Run a parsed command; user errors become one line on stderr and exit code 2."""
    from sim.geography import MapError
    from sim.plan import BatchError
    from sim.scenario import ScenarioError

    try:
        return int(args.func(args))
    except (BadInput, BatchError, ScenarioError, MapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # an output that cannot be written: a full disk, a read-only folder, a file in the way
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
