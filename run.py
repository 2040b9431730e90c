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
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2


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


def _summary_table(folder: Path, labels: dict[str, str]) -> str:
    import numpy as np
    import pandas as pd

    traj = pd.read_parquet(folder / "trajectories.parquet")
    horizon = int(traj["step"].max())
    at = traj[traj["step"] == horizon]
    lines = []
    reps = at["replication"].nunique()
    date = str(at["date"].iloc[0])[:10]
    lines.append(f"Territory share on {date} (step {horizon}), over {reps} replication(s):")
    lines.append(f"  {'actor':<52} {'median':>7}   {'90% band':<18} {'provinces held (median)':>23}")
    for actor, g in at.groupby("actor", observed=True, sort=False):
        ever = traj.loc[traj["actor"] == actor, "territory_share"].max()
        if ever <= 0:
            continue
        v = g["territory_share"].to_numpy()
        lo, med, hi = np.quantile(v, [0.05, 0.5, 0.95])
        held = float(np.median(g["provinces_held"]))
        name = labels.get(str(actor), str(actor))
        lines.append(f"  {name:<52} {med:>7.2%}   [{lo:.2%}, {hi:.2%}]{'':<2} {held:>20.1f}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    """Run replications of a scenario; write tables, event log, manifest and figures."""
    import numpy as np

    from sim.batch import manifest, run_replications
    from sim.plots import make_figures
    from sim.scenario import load_scenario
    from sim.setup import STEP_MONTHS
    from sim.store import write_results

    spec, m = load_scenario(args.scenario, args.set or ())
    months = args.months if args.months is not None else spec.months
    if months < 1:
        raise BadInput(f"--months: expected a positive number of months, found {months}")
    reps = args.replications if args.replications is not None else spec.replications
    if reps < 1:
        raise BadInput(f"--replications: expected at least 1, found {reps}")
    seed_drawn = args.seed is None
    seed = int(np.random.SeedSequence().entropy % (2**32)) if seed_drawn else args.seed
    if seed < 0:
        raise BadInput(f"--seed: expected a non-negative integer, found {seed}")
    out = Path(args.out) if args.out else _default_out(spec.name)
    if (out / "manifest.json").exists() and not args.overwrite:
        raise BadInput(f"{out}: already holds results (manifest.json); choose another --out or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out}: exists and is not a folder")

    map_months = None
    if args.map_months:
        try:
            map_months = [int(x) for x in args.map_months.split(",") if x.strip()]
        except ValueError:
            raise BadInput(f"--map-months: expected comma-separated months, found {args.map_months!r}") from None

    t0 = time.perf_counter()
    print(f"Running {spec.name} ({spec.title}): {reps} replication(s) x {months} months "
          f"in {spec.time_step.replace("day", "dai")}ly steps, seed {seed}"
          + (" (drawn; pass --seed to repeat)" if seed_drawn else ""), flush=True)
    results = run_replications(spec, m, seed, reps, months, progress=_progress)
    wall = time.perf_counter() - t0
    info = manifest(spec, m, str(args.scenario), seed, results, months, wall, seed_drawn)
    info["overrides"] = list(args.set or ())
    paths = write_results(results, out, info)
    figures = make_figures(out, m, map_months, STEP_MONTHS[spec.time_step])
    print(f"\nResults in {out}/")
    for name, p in paths.items():
        print(f"  {p.name:<24} {name}")
    print(f"  figures/                 {len(figures)} figures: " + ", ".join(f.name for f in figures))
    print()
    print(_summary_table(out, {k: f.label for k, f in spec.factions.items()}))
    print(f"\n{reps} run(s) in {wall:.1f} s")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files without running them."""
    from sim.scenario import ScenarioError, load_scenario

    bad = 0
    for f in args.files:
        try:
            spec, _ = load_scenario(f, args.set or ())
            print(f"{f}: ok ({spec.name}, {len(spec.factions)} factions, {len(spec.states)} donors)")
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
    r = sub.add_parser("run", help="run replications of a scenario and write results and figures")
    r.add_argument("scenario", help="scenario YAML file, e.g. scenarios/baseline.yaml")
    r.add_argument("--replications", "-n", type=int, help="number of replications (default: the scenario's)")
    r.add_argument("--seed", type=int, help="base seed (default: drawn from entropy and recorded)")
    r.add_argument("--months", type=int, help="horizon in months (default: the scenario's)")
    r.add_argument("--out", help="output folder (default: results/<scenario>_<time>)")
    r.add_argument("--map-months", help="months to draw control maps at, e.g. 0,12,36,60")
    r.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    r.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a field of the resolved scenario, e.g. factions.nrf.strength=5000 (repeatable)")
    r.set_defaults(func=cmd_run)
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
