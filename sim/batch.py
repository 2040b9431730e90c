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

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.executors import ChunkResult, execute, run_chunk, run_one, run_replications, stop_helper_processes
from sim.manifest import environment, plan, plan_hash, read_manifest, write_manifest
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

    @property
    def errors(self) -> Path:
        """The file with the failed runs' tracebacks."""
        return self.out / "errors.jsonl"


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by SIGINT or SIGTERM; its processes are stopped and its manifest says so.

    Attributes:
        signum: the signal (``signal.SIGINT`` or ``signal.SIGTERM``).
        summary: the batch as far as it got (None while it is being raised inside the batch).
    """

    def __init__(self, signum: int, summary: BatchSummary | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.summary = summary


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise BatchInterrupted(signum)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`BatchInterrupted` in the batch (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a chunk is recorded: a ledger line is never torn by them."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows: the ledger's torn-line repair covers it
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _stop_processes(since: float) -> None:
    """Stop every process started during the batch, then the fork server and resource tracker.

    What the executor left running is killed; then the fork server is stopped, and the
    resource tracker (which ignores SIGTERM) exits once the others have gone. Processes are
    told apart by their start time, so the batch scans for them only when it must stop them.
    """
    from multiprocessing import forkserver, resource_tracker

    import psutil

    helpers = {getattr(forkserver._forkserver, "_forkserver_pid", None),
               getattr(resource_tracker._resource_tracker, "_pid", None)}
    new = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if p.pid not in helpers and p.create_time() >= since:
                new.append(p)
    # killed, not asked: what a worker leaves half-done never counts (only ledger lines do)
    for p in new:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(new, timeout=10)
    stop_helper_processes()


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


def _check(points: Sequence[Point], replications: int, workers: int | None, out: Path) -> None:
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
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out}: exists and is not a folder")


def _describe(points: Sequence[Point]) -> dict[str, Any]:
    first = {}
    for p in points:
        first.setdefault(p.scenario, p)
    return {"scenarios": [{"name": p.scenario, "scenario_hash": p.spec.digest(), "resolved_scenario": p.spec.resolved()}
                          for p in first.values()]}


def run_batch(points: Sequence[Point], replications: int, seed: int | None, out: str | Path, *,
              executor: str = "local", workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, overwrite: bool = False, progress: bool | None = None,
              describe: dict[str, Any] | None = None, log: Callable[[str], None] | None = None) -> BatchSummary:
    """Run every point x replication, streaming each chunk's tables into ``out``.

    Args:
        points: the planned points (:func:`sim.plan.load_points` or :func:`sim.plan.plan_points`).
        replications: replications per point.
        seed: base seed; None draws one from entropy (or, with ``resume``, takes the manifest's).
        out: results folder.
        executor: ``local`` (this process or a process pool) or ``dask``.
        workers: processes; None: all cores, or 1 for batches under ``SMALL_BATCH`` runs.
        scheduler: with ``dask``, the address of a running scheduler (else a LocalCluster).
        resume: finish the batch already in ``out`` (the same plan), redoing unfinished chunks.
        overwrite: replace results already in ``out``.
        progress: a progress bar on standard error (None: only on a terminal).
        describe: more fields for the manifest (e.g. the scenario files and overrides).
        log: called with a one-line description of the batch when it starts.

    Returns:
        The summary; ``status`` is ``complete`` or ``incomplete`` (runs failed).

    Raises:
        BatchError: a bound exceeded, ``out`` holds results (without ``resume`` or ``overwrite``),
            or ``resume`` with another plan or no batch in ``out``.
        BatchInterrupted: on SIGINT or SIGTERM, after stopping every process the batch started
            and marking the manifest ``interrupted``.
    """
    out = Path(out)
    _check(points, replications, workers, out)
    if executor not in ("local", "dask"):
        raise BatchError(f"--executor: expected local or dask, found {executor!r}")
    if scheduler and executor != "dask":
        raise BatchError("--scheduler: only with --executor dask")
    old = read_manifest(out)
    if resume and old is None:
        raise BatchError(f"{out}: --resume needs a folder with a batch in it (no manifest.json)")
    seed, seed_drawn = _seed(seed, old if resume else None)
    data = plan(points, replications, seed)
    key = plan_hash(data)
    store = ShardStore(out)
    _claim(store, old, key, resume, overwrite)

    total = len(points) * replications
    n_workers = workers if workers is not None else ((os.cpu_count() or 1) if total >= SMALL_BATCH else 1)
    out.mkdir(parents=True, exist_ok=True)
    removed = store.clean()
    done, _ = store.completed()
    chunks = plan_chunks(points, replications, done)
    info = {**(describe if describe is not None else _describe(points)), **data, "plan_hash": key,
            "seed_drawn_from_entropy": seed_drawn if not resume else bool(old.get("seed_drawn_from_entropy")),
            "seeds": "replication i runs with replication_seed(base_seed, i) in every scenario and point",
            "time_step": points[0].spec.time_step, "map": points[0].map_folder.name,
            "executor": executor, "workers": n_workers, **environment(),
            "created": (old or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))}
    write_manifest(out, {**info, "status": "running"})
    if log is not None:
        log(_start_line(points, replications, seed, seed_drawn, len(done), removed))

    t0 = time.perf_counter()
    failures: list[dict[str, Any]] = []
    bar = _Progress(progress, total, len(done))
    since = time.time() - 0.05  # start times are in clock ticks: a little slack
    results = execute(chunks, seed, None, n_workers, executor, scheduler, out=out)

    def summary(status: str) -> BatchSummary:
        completed, _ = store.completed()
        return BatchSummary(out, seed, seed_drawn, total, len(completed), len(failures), tuple(failures),
                            round(time.perf_counter() - t0, 3), status, tuple(points), len(done), removed,
                            n_workers, frozenset(completed))

    def finish(status: str) -> BatchSummary:
        s = summary(status)
        write_manifest(out, {**info, "status": status, "completed_runs": s.completed_runs,
                             "failed_runs": s.failed_runs, "wall_time_s": s.wall_time_s})
        return s

    try:
        with _stop_on_signals():
            _record(results, store, bar, failures)
            store.write_event_log()
            return finish("complete" if len(store.completed()[0]) == total else "incomplete")
    except BaseException as exc:
        bar.close()
        results.close()  # the executor stops its pool's workers, or closes its cluster
        _stop_processes(since)  # then anything left, the fork server and the resource tracker
        if isinstance(exc, KeyboardInterrupt):
            signum = exc.signum if isinstance(exc, BatchInterrupted) else signal.SIGINT
            raise BatchInterrupted(signum, finish("interrupted")) from None
        finish("failed")
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
    """Refuse a resume of another plan, or a folder that holds results; clear it for ``overwrite``."""
    if resume:
        if old is None or old.get("plan_hash") != key:
            raise BatchError(f"{store.out}: --resume with a different batch (scenarios, sweep, replications, "
                             f"months or seed differ from the manifest)")
    elif store.exists():
        if not overwrite:
            raise BatchError(f"{store.out}: already holds results (manifest.json); choose another --out, "
                             f"pass --resume to finish that batch, or --overwrite")
        store.reset()


def _record(results: Iterator[ChunkResult], store: ShardStore, bar: _Progress, failures: list[dict[str, Any]]) -> None:
    """Record each chunk as it completes: its parts, then its ledger line (the line makes them count)."""
    for res in results:
        with _signals_held():  # a chunk is recorded whole or not at all
            store.write(res.key, res.tables, res.completed, res.failures)
        failures += res.failures
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
