"""Command line of the Afghan conflict scenario laboratory.

    uv run run.py run scenarios/baseline.yaml [--replications N] [--seed S] [--months M] [--out DIR]
                                [--set path.to.field=value ...] [--sweep path=v1,v2 ...] [--posterior DIR]
    uv run run.py compare RESULTS... --out DIR  paired comparisons, end states, figures
    uv run run.py validate FILE... | list [DIR] | show FILE | schema | params   scenario files and parameters
    uv run run.py patterns|effects|robustness [FILE] [-n N] [--seed S] [--out DIR]  scorecard, effects
    uv run run.py tipping SCENARIO --lever PATH=LOW:HIGH [--outcome capital|share:PCT] [--months M]
    uv run run.py sensitivity EXPERIMENT.yaml | calibrate CALIBRATION.yaml [--resume] [-n N] [--seed S] [--out DIR]
    uv run run.py dashboard [RESULTS...] [--host 127.0.0.1] [--port P]   explore results in a browser
This file only parses (the commands: :mod:`sim.cli`); bad input: one line naming the field, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from sim import __version__, cli, dashboard

OUTSIDE = "let extends and map reach files outside the scenario file's folder tree"

class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, like every other bad input: no usage block; exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``error: <command>: <message>`` and exit 2."""
        self.exit(2, f"error: {self.prog}: {message.replace(chr(10), ' ')} (see {self.prog} --help)\n")


def _study(sub: argparse._SubParsersAction, name: str, text: str, reps: str) -> argparse.ArgumentParser:
    """A subcommand that runs its own batches (replications, seed, output folder, workers) by ``cli.cmd_<name>``."""
    s = sub.add_parser(name, help=text)
    s.add_argument("--replications", "-n", type=int, help=reps)
    s.add_argument("--seed", type=int, help="base seed (default: drawn from entropy and printed)")
    s.add_argument("--out", help=f"output folder (default: results/{name}_<time>)")
    s.add_argument("--workers", "-w", type=int, help="worker processes (default: as run.py run)")
    s.set_defaults(func=getattr(cli, f"cmd_{name}"))
    return s


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    p = OneLineParser(prog="run.py", description="Afghan conflict scenario laboratory")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run scenarios x sweep points x replications; write results and figures")
    r.add_argument("scenarios", nargs="+", help="scenario YAML files, e.g. scenarios/baseline.yaml")
    r.add_argument("--replications", "-n", type=int, help="number of replications (default: the scenario's)")
    r.add_argument("--seed", type=int, help="base seed (default: drawn from entropy and recorded)")
    r.add_argument("--months", type=int, help="horizon in months for every scenario (default: each one's own)")
    r.add_argument("--out", help="output folder (default: results/<scenario>_<time>)")
    r.add_argument("--map-months", help="months to draw control maps at, e.g. 0,12,36,60 (within the horizon)")
    r.add_argument("--figures", choices=("none", "summary", "all"), default="summary", help="figures per point: "
                   "none, summary (territory, maps at start and horizon) or all (every measure, maps at 0/12/36/60)")
    r.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    r.add_argument("--sweep", action="append", metavar="PATH=V1,V2,...", help="sweep a field; several form a grid")
    r.add_argument("--workers", "-w", type=int, help="worker processes (default: all cores; 1 under 100 runs)")
    r.add_argument("--posterior", metavar="DIR", help="draw each run's parameters from a calibration's posterior")
    r.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool, or Dask distributed (embedded LocalCluster or --scheduler)")
    r.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    r.add_argument("--resume", action="store_true", help="finish a batch that was interrupted in --out")
    r.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override a field of the resolved scenario, e.g. factions.nrf.strength=5000 (repeatable)")
    r.add_argument("--allow-outside", action="store_true", help="let extends and map reach outside the file's folder")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar of runs on standard error (default: only on a terminal)")
    r.set_defaults(func=cli.cmd_run)
    c = sub.add_parser("compare", help="compare results folders: paired differences, probabilities, figures")
    c.add_argument("folders", nargs="+", help="results folders from run.py run")
    c.add_argument("--baseline", help="baseline scenario, or one of its groups (default: baseline, else the first)")
    c.add_argument("--months", help="months at which to compare, within the horizon (default: those of 12,36,60 "
                                    "within it, else the horizon)")
    c.add_argument("--out", required=True, help="folder for report.md, CSV tables and figures")
    c.add_argument("--overwrite", action="store_true", help="write into an --out that already holds files")
    c.add_argument("--holds", default="1,5,10", metavar="PCT,...",
                   help="end states: the resistance holds at least these percentages of the country (default 1,5,10)")
    c.add_argument("--wiped-out", default="0.01", metavar="PCT",
                   help="the resistance counts as wiped out under this percentage of the country (default 0.01)")
    c.add_argument("--min-effect", default="1,5", metavar="PP,PP", help="smallest meaningful effect, in percentage "
                   "points of the country (territory) and of probability (default 1,5)")
    c.add_argument("--scale", choices=("shared", "own"), default="shared", help="fan charts' y scale: one for every "
                   "panel (default), or each panel its own")
    c.set_defaults(func=cli.cmd_compare)
    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("files", nargs="+", help="scenario YAML files to check")
    v.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field (repeatable)")
    v.add_argument("--allow-outside", action="store_true", help=OUTSIDE)
    v.set_defaults(func=cli.cmd_validate)
    ls = sub.add_parser("list", help="list the scenario library, one line each")
    ls.add_argument("folder", nargs="?", help="folder of scenario files (default: scenarios/)")
    ls.set_defaults(func=cli.cmd_list)
    sh = sub.add_parser("show", help="print the resolved scenario (after extends and --set)")
    sh.add_argument("file", help="scenario YAML file")
    sh.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field (repeatable)")
    sh.add_argument("--allow-outside", action="store_true", help=OUTSIDE)
    sh.set_defaults(func=cli.cmd_show)
    sc = sub.add_parser("schema", help="write the JSON Schema of scenario files (for editors)")
    sc.add_argument("--out", help="file to write (default: standard output)")
    sc.set_defaults(func=cli.cmd_schema)
    pp = sub.add_parser("params", help="print the global parameter table as Markdown")
    pp.add_argument("--update-odd", action="store_true", help="rewrite the table in docs/ODD.md")
    pp.set_defaults(func=cli.cmd_params)
    pa = _study(sub, "patterns", "run the hindcasts and the baseline; score them against historical patterns",
                "replications per scenario (default 20)")
    pa.add_argument("files", nargs="*", help="pattern files (default: every patterns/*.yaml)")
    ef = _study(sub, "effects", "switch each mechanism off (or double it) in paired runs; measure its effect",
                "paired replications per arm (default 30)")
    ef.add_argument("file", nargs="?", help="effects file (default: mechanisms/effects.yaml)")
    ef.add_argument("--update-odd", action="store_true", help="also write the table into docs/ODD.md (7.8.1)")
    ro = _study(sub, "robustness", "the headline conclusions at -50%% and +50%% of every judgement parameter",
                "paired replications per arm (default 20)")
    ro.add_argument("file", nargs="?", help="robustness file (default: mechanisms/robustness.yaml)")
    ro.add_argument("--parameters", metavar="NAME,...", help="only these judgement parameters (default: all)")
    ro.add_argument("--keep-runs", action="store_true", help="keep every setting's results (~3 MB an arm)")
    ro.add_argument("--update-odd", action="store_true", help="also write the table into docs/ODD.md (7.9.1)")
    tp = _study(sub, "tipping", "the lever value at which P(outcome) crosses 0.1, 0.5 and 0.9, with intervals",
                "replications at each lever value (default 100)")
    tp.add_argument("scenario", help="scenario YAML file")
    tp.add_argument("--lever", required=True, metavar="PATH=LOW:HIGH", help="the field varied and its range")
    tp.add_argument("--outcome", default="capital", help="capital (the resistance holds a provincial capital "
                    "within --months) or share:PCT (it holds at least PCT%% of the country at --months)")
    tp.add_argument("--months", type=int, default=36, help="horizon in months (default 36)")
    tp.add_argument("--posterior", metavar="DIR", help="draw each run's parameters from a calibration's posterior")
    tp.add_argument("--design", default="5,2,3", metavar="GRID,ROUNDS,ADDED",
                    help="coarse grid values, refinement rounds, values added per crossing and round (default 5,2,3)")
    se = _study(sub, "sensitivity", "Sobol or Morris indices of an experiment file's outcomes (SALib)",
                "replications per design point (default: the file's)")
    se.add_argument("file", help="experiment YAML file (uncertainties, levers, outcomes, months, method)")
    ca = _study(sub, "calibrate", "ABC-SMC of parameters against the pattern files; posterior and its checks",
                "replications per particle and scenario (default: the file's)")
    ca.add_argument("file", help="calibration YAML file (priors, targets, held_out, sampler)")
    ca.add_argument("--resume", action="store_true", help="continue the calibration in --out where it stopped")
    dashboard.add_parser(sub)  # its arguments beside the code that reads them; Solara loads only when it runs
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the command; user errors: one line on stderr, exit code 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # to print the command that resumes an interrupted batch
    return cli.dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
