"""Batches: scenarios x sweep points x replications, on any executor, streamed to a store.

:func:`run_batch` is the library's batch API, called by the command line, the tests and
notebooks alike. Its shape follows Mesa 4's planned replacement of ``batch_run``,
``run_scenarios(scenarios, run_config, executor=..., store=...)`` (mesa/mesa pull request
3756, tracking issue 3768): the planned points play the scenarios, the replications,
seed and horizons the run configuration, and the results folder the store, so moving to
Mesa 4 means adapting these arguments, not the model or the files.

The seed policy: a batch has one base seed, given or drawn from entropy (then recorded
in the manifest and reported); replication ``i`` runs with ``replication_seed(seed, i)``
in every point (see :mod:`sim.executors`). The plan (points, horizons, replications,
seed) is hashed into the manifest, and a resumed batch must have the same plan.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.executors import ChunkResult, execute, run_chunk, run_one, run_replications
from sim.folder import MADE_BY, clear, manifest_of, ours, writer
from sim.interrupts import BatchInterrupted, signals_held, stop_on_signals, stop_processes
from sim.manifest import environment, plan, plan_hash, write_manifest
from sim.plan import CHUNK_SIZE, BatchError, Chunk, Point, load_points, parse_sweep, plan_chunks, plan_points, run_id
from sim.scenario import ScenarioSpec
from sim.store import ShardStore

__all__ = ["CHUNK_SIZE", "MAX_WORKERS", "SMALL_BATCH", "BatchError", "BatchInterrupted", "BatchSummary", "Chunk",
           "ChunkResult", "Point", "execute", "limits", "load_points", "parse_sweep", "plan_chunks", "plan_points",
           "run_batch", "run_chunk", "run_id", "run_one", "run_replications"]

SMALL_BATCH = 100  # runs below which the default is to run in this process: a pool's start costs more
MAX_WORKERS = 1024


def limits(field: str) -> tuple[int, int]:
    """The bounds a scenario file puts on ``replications`` or ``months``; the batch applies the same."""
    info = ScenarioSpec.model_fields[field]
    lo = next(m.ge for m in info.metadata if getattr(m, "ge", None) is not None)
    hi = next(m.le for m in info.metadata if getattr(m, "le", None) is not None)
    return int(lo), int(hi)


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did.

    Attributes:
        out: the results folder.
        seed: the base seed; ``seed_drawn`` says whether it was drawn from entropy.
        seed_drawn: True when no seed was given (pass ``seed`` to repeat the batch).
        total_runs: points x replications.
        completed_runs: runs recorded in the ledger, including those of earlier attempts.
        failed_runs: runs that raised in this attempt (tracebacks in ``errors.jsonl``).
        failures: those failures: run, scenario, point, replication, seed, error, traceback.
        wall_time_s: seconds spent running this attempt.
        status: ``complete``, ``incomplete`` (some runs failed) or ``interrupted``.
        points: the planned points.
        resumed_runs: runs already done when this attempt started.
        removed_parts: unfinished parts removed before it started.
        workers: processes (or Dask workers) used.
        completed: identifiers of the completed runs (see :func:`sim.plan.run_id`).
        probed: chunk key -> what ``probe`` returned for it, for the chunks run in this attempt.
    """

    out: Path
    seed: int
    seed_drawn: bool
    total_runs: int
    completed_runs: int
    failed_runs: int
    failures: tuple[dict[str, Any], ...]
    wall_time_s: float
    status: str
    points: tuple[Point, ...]
    resumed_runs: int
    removed_parts: int
    workers: int
    completed: frozenset[str]
    probed: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> Path:
        """The file with the failed runs' tracebacks."""
        return self.out / "errors.jsonl"


class _Progress:
    """A tqdm bar of runs on standard error; by default only on a terminal."""

    def __init__(self, enabled: bool | None, total: int, done: int) -> None:
        import sys

        self.bar = None
        if enabled or (enabled is None and sys.stderr.isatty()):
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="run", file=sys.stderr, smoothing=0.1)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check(points: Sequence[Point], replications: int, workers: int | None) -> None:
    lo, hi = limits("replications")
    if not lo <= replications <= hi:
        raise BatchError(f"--replications: expected {lo} to {hi:,}, found {replications:,}")
    lo, hi = limits("months")
    bad = [p.months for p in points if not lo <= p.months <= hi]
    if bad:
        raise BatchError(f"--months: expected {lo} to {hi:,} months, found {bad[0]:,}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise BatchError(f"--workers: expected 1 to {MAX_WORKERS}, found {workers}")
    if not points:
        raise BatchError("scenarios: nothing to run")


def _describe(points: Sequence[Point]) -> dict[str, Any]:
    first = {}
    for p in points:
        first.setdefault(p.scenario, p)
    return {"scenarios": [{"name": p.scenario, "scenario_hash": p.scenario_hash, "resolved_scenario": p.spec.resolved()}
                          for p in first.values()]}


def run_batch(points: Sequence[Point], replications: int, seed: int | None, out: str | Path, *,
              executor: str = "local", workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, overwrite: bool = False, progress: bool | None = None,
              describe: dict[str, Any] | None = None, log: Callable[[str], None] | None = None,
              finalize: Callable[[BatchSummary], Sequence[Path]] | None = None,
              command: str = "sim.batch.run_batch", probe: Any = None) -> BatchSummary:
    """Run every point x replication, streaming each chunk's tables into ``out``.

    The folder's lock is held from before the folder is examined until the final manifest
    is written, ``finalize`` included: one writer per folder (see :mod:`sim.folder`).

    Args:
        points: the planned points (:func:`sim.plan.load_points` or :func:`sim.plan.plan_points`).
        replications: replications per point.
        seed: base seed; None draws one from entropy (or, with ``resume``, takes the manifest's).
        out: results folder: empty, new, or made by this tool.
        executor: ``local`` (this process or a process pool) or ``dask``.
        workers: processes; None: all cores, or 1 for batches under ``SMALL_BATCH`` runs.
        scheduler: with ``dask``, the address of a running scheduler (else a LocalCluster).
        resume: finish the batch already in ``out`` (the same plan), redoing unfinished chunks.
        overwrite: replace results already in ``out`` (only what this tool wrote is removed).
        progress: a progress bar on standard error (None: only on a terminal).
        describe: more fields for the manifest (e.g. the scenario files and overrides).
        log: called with a one-line description of the batch when it starts.
        finalize: called once the runs are recorded, before the manifest says ``complete``
            (the command line draws the figures there); returns the files it wrote.
        command: what holds the folder, shown to a second writer.
        probe: a picklable callable run in the worker on each chunk's run results; what it
            returns is in :attr:`BatchSummary.probed` (chunks of an earlier attempt have none).

    Returns:
        The summary; ``status`` is ``complete`` or ``incomplete`` (runs failed).

    Raises:
        BatchError: a bound exceeded, ``out`` in use, not this tool's, holding results
            (without ``resume`` or ``overwrite``) or with an unreadable manifest, or
            ``resume`` with another plan or no batch in ``out``.
        BatchInterrupted: on SIGINT or SIGTERM, after stopping every process the batch started
            and marking the manifest ``interrupted``.
        OSError: a file could not be written (a full disk, a read-only folder); the
            folder stays resumable.
    """
    out = Path(out)
    _check(points, replications, workers)
    if executor not in ("local", "dask"):
        raise BatchError(f"--executor: expected local or dask, found {executor!r}")
    if scheduler and executor != "dask":
        raise BatchError("--scheduler: only with --executor dask")
    if scheduler:
        from sim.cluster import check_scheduler  # here: Dask is imported only when asked for

        check_scheduler(scheduler)  # an unreachable or bad scheduler fails in seconds, before anything is written
    with writer(out, command):
        return _locked(_Request(tuple(points), replications, seed, out, executor, workers, scheduler, resume,
                                overwrite, progress, describe, log, finalize, probe))


@dataclass(frozen=True)
class _Request:
    """The arguments of :func:`run_batch`, carried into the locked part as one value."""

    points: tuple[Point, ...]
    replications: int
    seed: int | None
    out: Path
    executor: str
    workers: int | None
    scheduler: str | None
    resume: bool
    overwrite: bool
    progress: bool | None
    describe: dict[str, Any] | None
    log: Callable[[str], None] | None
    finalize: Callable[[BatchSummary], Sequence[Path]] | None
    probe: Any = None


def _locked(q: _Request) -> BatchSummary:
    """:func:`run_batch` once the folder's lock is held."""
    points, replications, out, resume = q.points, q.replications, q.out, q.resume
    old = _previous(out, resume, q.overwrite)
    seed, seed_drawn = _seed(q.seed, old if resume else None)
    data = plan(points, replications, seed)
    key = plan_hash(data)
    store = ShardStore(out)
    _claim(store, old, key, resume, q.overwrite)

    total = len(points) * replications
    workers = q.workers
    n_workers = workers if workers is not None else ((os.cpu_count() or 1) if total >= SMALL_BATCH else 1)
    removed = store.clean()
    done, _ = store.completed()
    chunks = plan_chunks(points, replications, done, probe=q.probe)
    info = {"made_by": MADE_BY, **(q.describe if q.describe is not None else _describe(points)), **data,
            "plan_hash": key,
            "seed_drawn_from_entropy": seed_drawn if not resume else bool(old.get("seed_drawn_from_entropy")),
            "seeds": "replication i runs with replication_seed(base_seed, i) in every scenario and point",
            "time_step": points[0].spec.time_step, "map": points[0].map_folder.name,
            "executor": q.executor, "workers": n_workers, **environment(),
            "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))}
    write_manifest(out, {**info, "status": "running"})
    if q.log is not None:
        q.log(_start_line(points, replications, seed, seed_drawn, len(done), removed))

    t0 = time.perf_counter()
    failures: list[dict[str, Any]] = []
    probed: dict[str, Any] = {}
    bar = _Progress(q.progress, total, len(done))
    since = time.time() - 0.05  # start times are in clock ticks: a little slack
    results = execute(chunks, seed, None, n_workers, q.executor, q.scheduler, out=out)

    def summary(status: str) -> BatchSummary:
        completed, _ = store.completed()
        return BatchSummary(out, seed, seed_drawn, total, len(completed), len(failures), tuple(failures),
                            round(time.perf_counter() - t0, 3), status, tuple(points), len(done), removed,
                            n_workers, frozenset(completed), dict(probed))

    def finish(status: str, files: Sequence[Path] = ()) -> BatchSummary:
        s = summary(status)
        fields = {"status": status, "completed_runs": s.completed_runs, "failed_runs": s.failed_runs,
                  "wall_time_s": s.wall_time_s, "figures": sorted(str(f.relative_to(out)) for f in files)}
        write_manifest(out, {**info, **fields})
        return s

    try:
        with stop_on_signals():
            _record(results, store, bar, failures, probed)
            store.write_event_log()
            status = "complete" if len(store.completed()[0]) == total else "incomplete"
            files = q.finalize(summary(status)) if q.finalize is not None else ()
            return finish(status, files)  # "complete" only once everything is written
    except BaseException as exc:
        bar.close()
        results.close()  # the executor stops its pool's workers, or closes its cluster
        stop_processes(since)  # then anything left, the fork server and the resource tracker
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            s = finish(status)
        except OSError:  # a full disk: the manifest saying "running" stays, and --resume works
            s = summary(status)
        if isinstance(exc, KeyboardInterrupt):
            signum = exc.signum if isinstance(exc, BatchInterrupted) else signal.SIGINT
            raise BatchInterrupted(signum, s) from None
        raise


def _previous(out: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """The manifest already in ``out``; an unreadable one is refused, except by ``overwrite``."""
    try:
        return manifest_of(out)
    except BatchError:
        if overwrite and not resume:
            return None
        raise


def _seed(seed: int | None, old: dict[str, Any] | None) -> tuple[int, bool]:
    """The batch's seed and whether it was drawn: given, the resumed batch's, or drawn from entropy."""
    import numpy as np

    drawn = seed is None and old is None
    if seed is None:
        seed = int(old["base_seed"]) if old else int(np.random.SeedSequence().entropy % (2**32))
    if seed < 0:
        raise BatchError(f"--seed: expected a non-negative integer, found {seed}")
    return seed, drawn


def _claim(store: ShardStore, old: dict[str, Any] | None, key: str, resume: bool, overwrite: bool) -> None:
    """Refuse a folder that is not this tool's, a resume of another plan, or results; ``overwrite`` clears."""
    out = store.out
    if not ours(out):
        raise BatchError(f"{out}: not empty and not a results folder of this tool (no manifest made by it); "
                         f"--out takes a new or empty folder, or one made by run.py run")
    if resume:
        if old is None:
            raise BatchError(f"{out}: --resume needs a folder with a batch in it (no manifest.json)")
        if old.get("plan_hash") != key:
            raise BatchError(f"{out}: --resume with a different batch (scenarios, sweep, replications, "
                             f"months or seed differ from the manifest)")
    elif store.exists():
        if not overwrite:
            found = "manifest.json" if (out / "manifest.json").exists() else "runs.jsonl"
            raise BatchError(f"{out}: already holds results ({found}); choose another --out, "
                             f"pass --resume to finish that batch, or --overwrite")
        clear(out)


def _record(results: Iterator[ChunkResult], store: ShardStore, bar: _Progress, failures: list[dict[str, Any]],
            probed: dict[str, Any]) -> None:
    """Record each chunk as it completes: its parts, then its ledger line (the line makes them count)."""
    for res in results:
        with signals_held():  # a chunk is recorded whole or not at all
            store.write(res.key, res.tables, res.completed, res.failures)
        failures += res.failures
        if res.probed is not None:
            probed[res.key] = res.probed
        bar.update(len(res.completed) + len(res.failures))
    bar.close()


def _start_line(points: Sequence[Point], replications: int, seed: int, drawn: bool, done: int, removed: int) -> str:
    names = ", ".join(dict.fromkeys(p.scenario for p in points))
    horizons = sorted({p.months for p in points})
    months = f"{horizons[0]} months" if len(horizons) == 1 else \
        f"{', '.join(map(str, horizons))} months (each point its own horizon)"
    return (f"Running {names}: {len(points)} scenario point(s) x {replications} replication(s) x {months}, "
            f"seed {seed}" + (" (drawn; pass --seed to repeat)" if drawn else "")
            + (f"; resuming, {done} run(s) already done" if done else "")
            + (f"; removed {removed} unfinished part(s)" if removed else ""))
