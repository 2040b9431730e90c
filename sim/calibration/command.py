"""``run.py calibrate CALIBRATION.yaml``: ABC-SMC against the pattern files, on the batch engine.

Each generation's candidates run as batches of the engine (:mod:`sim.calibration.particles`);
each completed generation is stored before the next starts, so ``--resume`` continues an
interrupted calibration where it stopped, to the same result. At the end the posterior's
particles run once more on the scenarios of every target and held-out pattern: the
posterior predictive check.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sim.calibration import outputs
from sim.calibration.distance import total
from sim.calibration.particles import Particles
from sim.calibration.schema import CalibrationError, CalibrationSpec, load_calibration
from sim.calibration.smc import Prior, Settings, run_smc
from sim.patterns.load import Pattern, PatternError, load_patterns

STATE = "calibration.json"  # the file calibrated and its hash: what --resume checks


def prior_of(spec: CalibrationSpec) -> Prior:
    """The sampler's priors from the file's."""
    return Prior(tuple(p.path for p in spec.priors), np.array([p.low for p in spec.priors]),
                 np.array([p.high for p in spec.priors]), np.array([p.scale == "log" for p in spec.priors]))


def patterns_of(spec: CalibrationSpec, file: Path) -> dict[str, Pattern]:
    """Every pattern of the file's pattern files, by id; the targets and held-out ones checked to exist."""
    files: list[Path] = []
    for given in spec.patterns:
        path = (file.parent / given).resolve()
        files += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    try:
        found = {p.spec.id: p for p in load_patterns(files)}
    except PatternError as exc:
        raise CalibrationError(f"{file}: patterns: {exc}") from None
    for field, ids in (("targets", [t.pattern for t in spec.targets]), ("held_out", spec.held_out)):
        for k, i in enumerate(ids):
            if i not in found:
                raise CalibrationError(f"{file}: {field}.{k}: no pattern {i!r} in the pattern files")
    return found


@contextlib.contextmanager
def folder(args: argparse.Namespace, file: Path) -> Iterator[Path]:
    """The calibration's folder: a new or empty one, or, with ``--resume``, one holding this same calibration."""
    from sim.folder import study, writer

    if not args.resume:
        with study(args, "calibrate", CalibrationError) as (out, _):
            (out / STATE).write_text(json.dumps(_state(file), indent=2), encoding="utf-8")
            yield out
        return
    if not args.out:
        raise CalibrationError("--resume: give the --out folder of the calibration to finish")
    out = Path(args.out)
    with writer(out, " ".join(["run.py", *args.argv])):
        try:
            before = json.loads((out / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CalibrationError(f"--resume: {out} holds no calibration ({STATE} is missing)") from None
        if before.get("sha256") != _state(file)["sha256"]:
            raise CalibrationError(f"--resume: {out} holds a calibration of another file; give the same file")
        yield out


def check_priors(prior: Prior, patterns: list[Pattern], file: Path) -> None:
    """Refuse, before anything is written, a prior whose path or either end makes a scenario invalid."""
    from sim.plan import plan_design
    from sim.scenario import ScenarioError, load_scenario

    for scenario in dict.fromkeys(p.scenario.resolve() for p in patterns):
        spec, m = load_scenario(scenario)
        try:
            plan_design([(spec, m, spec.model_dump(mode="python"))], list(prior.names),
                        [prior.low.tolist(), prior.high.tolist()], label="priors")
        except ScenarioError as exc:
            raise CalibrationError(f"{file}: priors: {exc}") from None


def _state(file: Path) -> dict[str, str]:
    return {"file": str(file), "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate, check, and write the posterior and its report; SIGINT or SIGTERM: say how to finish.

    Raises:
        CalibrationError: a bad calibration file or option (the command line makes it exit code 2).
    """
    from sim.folder import resume_command
    from sim.interrupts import BatchInterrupted, stop_on_signals

    try:
        with stop_on_signals():  # between batches too: SIGINT or SIGTERM stops it the same way
            return calibrate(args)
    except BatchInterrupted as exc:  # the generations completed are stored; the batch under way is resumable
        where = "" if args.out else " with --out <the folder printed above>"
        print(f"interrupted ({exc}); to finish: {resume_command(args.argv, None)}{where}", file=sys.stderr)
        return 128 + exc.signum


def calibrate(args: argparse.Namespace) -> int:
    """The calibration itself (:func:`cmd_calibrate` without the signals)."""
    file = Path(args.file)
    spec = load_calibration(file)
    found = patterns_of(spec, file)
    prior, settings = prior_of(spec), Settings(**spec.sampler.model_dump())
    targets = [found[t.pattern] for t in spec.targets]
    weights = [t.weight for t in spec.targets]
    reps = args.replications if args.replications is not None else spec.replications
    seed = args.seed if args.seed is not None else spec.seed
    if not 1 <= reps <= 1_000:
        raise CalibrationError(f"--replications: expected 1 to 1,000, found {reps:,}")
    if not 0 <= seed < 2**63:
        raise CalibrationError(f"--seed: expected 0 to {2**63 - 1:,}, found {seed:,}")
    check_priors(prior, [*targets, *(found[i] for i in spec.held_out)], file)
    t0 = time.perf_counter()
    workers = args.workers
    kept = contextlib.nullcontext()
    if spec.executor == "dask" and not spec.scheduler:  # one cluster for every batch, not one a batch
        from sim.cluster import kept_cluster
        from sim.executors import worker_init

        workers = workers or os.cpu_count() or 1
        kept = kept_cluster(workers, worker_init)
    with folder(args, file) as out, kept:
        done = outputs.read_generations(out, prior) if args.resume else []
        fit = Particles(prior.names, targets, reps, seed, out / "runs", workers, spec.executor, spec.scheduler)

        def simulate(theta: np.ndarray, t: int, batch: int) -> np.ndarray:
            return np.array([total(row, weights) for row in fit.misses(theta, f"g{t:03d}b{batch:03d}")])

        print(f"Calibration: {len(prior.names)} parameter(s), {len(targets)} target pattern(s), "
              f"{len(spec.held_out)} held out; {settings.population} particles, at most {settings.generations} "
              f"generation(s), {reps} replication(s) per particle and scenario, seed {seed}"
              + (f"; resuming after generation {done[-1].t}" if done else "") + f"; in {out}", flush=True)
        gens, tick = list(done), time.perf_counter()
        for g in run_smc(prior, simulate, settings, seed, done):
            outputs.write_generation(out, g, prior, time.perf_counter() - tick)
            gens.append(g)
            tick = time.perf_counter()
            print(f"  generation {g.t}: tolerance {g.epsilon:.4g}, kept {len(g.weights)} of {g.simulated} "
                  f"(acceptance {g.acceptance:.1%}), ESS {g.ess:.0f}", flush=True)
        report(out, spec, gens, found, fit)
    print(f"Calibration in {out} ({time.perf_counter() - t0:.0f} s): calibration.md, posterior.parquet, "
          "parameters.csv, checks.csv, diagnostics.csv, ridges.csv, posterior.png")
    return 0


def report(out: Path, spec: CalibrationSpec, gens: list, found: dict[str, Pattern], fit: Particles) -> None:
    """Run the posterior predictive check and write the tables, the figure and calibration.md.

    Args:
        out: the calibration's folder.
        spec: the calibration file.
        gens: every generation, in order.
        found: the pattern files' patterns by id.
        fit: the particles' runner of the fit (its replications, seed, executor).
    """
    from sim.calibration.figures import posterior_figure
    from sim.calibration.words import calibration_md

    prior = prior_of(spec)
    last = gens[-1]
    checked = [found[t.pattern] for t in spec.targets] + [found[i] for i in spec.held_out]
    check = dataclasses.replace(fit, patterns=checked)
    check.misses(last.theta, "check")
    _, miss, median = check.log[-1]
    tables = {"diagnostics": outputs.diagnostics(gens, out), "parameters": outputs.parameters(last, prior),
              "checks": outputs.checks(last, checked, set(spec.held_out), miss, median),
              "ridges": outputs.ridges(last, prior)}
    outputs.write_parquet(outputs.generation_frame(last, prior), out / "posterior.parquet")
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    posterior_figure(gens[0], last, prior, out / "posterior.png")
    text = calibration_md(spec, tables, fit.replications, fit.seed)
    (out / "calibration.md").write_text(text, encoding="utf-8")
