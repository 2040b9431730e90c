"""Executors: where a batch's chunks run (this process, a local process pool, Dask).

Replication ``i`` of a batch with base seed ``S`` always runs with
``replication_seed(S, i)``, whatever the number of replications asked for, so the
same replication draws the same random numbers in every scenario and sweep point that
has the same actors in the same order (common random numbers: comparisons are paired).

``workers=1`` runs in this process; ``local`` uses a process pool whose start method is
set on the pool, not process-wide (a fork server that has imported the model, else
spawn); ``dask`` uses Dask distributed, an embedded LocalCluster or a running scheduler.
Workers build the tables; local workers write their parts themselves, Dask workers send
them back; the process that owns the store alone writes the run ledger that makes parts
count. An interrupted executor stops every process it started before it returns.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.geography import Map, load_map
from sim.lifeline import die_with_parent
from sim.model import ConflictModel
from sim.plan import Chunk, run_id, run_spec
from sim.random import replication_seed
from sim.recorder import RunResult
from sim.scenario import ScenarioSpec

RECYCLE = 50  # chunks a pool process runs before it is replaced by a fresh one
#: Modules the fork server imports before it forks any worker; the last one warms the kernels.
PRELOAD = ["sim.executors", "sim.tables", "sim.store", "sim.preload"]


def run_one(spec: ScenarioSpec, map_: Map, base_seed: int, replication: int, months: int | None = None) -> RunResult:
    """Run replication ``replication`` of a scenario to its horizon."""
    seed = replication_seed(base_seed, replication)
    return ConflictModel(spec, map_, seed, months=months, replication=replication).run()


def run_replications(spec: ScenarioSpec, map_: Map, base_seed: int, replications: int, months: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[RunResult]:
    """Run replications 0..n-1 in this process, in order, keeping every result in memory."""
    out = []
    for i in range(replications):
        out.append(run_one(spec, map_, base_seed, i, months))
        if progress is not None:
            progress(i + 1, replications)
    return out


@dataclass
class ChunkResult:
    """What a worker sends back: its tables, the runs it completed and its failures.

    The tables are Parquet bytes, or none when the worker wrote the parts itself; ``probed`` is
    what the chunk's probe returned (None without one).
    """

    key: str
    tables: dict[str, bytes]
    completed: list[str]
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    probed: Any = None


_MAPS: dict[str, Map] = {}


def run_chunk(chunk: Chunk, base_seed: int, months: int | None = None, out: Path | None = None) -> ChunkResult:
    """Run a chunk in a worker: each run isolated, the successful ones turned into tables.

    A run that raises is reported with its traceback and does not stop the others.

    Args:
        chunk: the runs to do.
        base_seed: the batch's seed.
        months: horizon for every run; None: the chunk's point's own (``Point.months``).
        out: a results folder on this machine: the worker writes the chunk's parts there
            itself and sends back only their names (no megabytes through a pipe to a busy
            parent). None: the tables travel back as bytes (remote workers).
    """
    from sim.store import write_parts
    from sim.tables import chunk_tables

    t0 = time.perf_counter()
    point = chunk.point
    horizon = months if months is not None else point.months
    folder = str(point.map_folder)
    m = _MAPS.get(folder) or _MAPS.setdefault(folder, load_map(folder))
    results, failures, draws = [], [], []
    for r in chunk.replications:
        try:
            spec, drawn = run_spec(point, m, base_seed, r)
            results.append(run_one(spec, m, base_seed, r, horizon))
            draws.append(drawn)
        except Exception as exc:
            failures.append({"run": run_id(point, r), "scenario": point.scenario, "point": point.point,
                             "replication": r, "seed": replication_seed(base_seed, r), "error": repr(exc),
                             "traceback": traceback.format_exc()})
    probed = chunk.probe(results) if chunk.probe is not None and results else None
    tables = chunk_tables(results, point.point, point.columns, draws) if results else {}
    if out is not None:
        write_parts(out, chunk.key, tables)
        tables = {}
    return ChunkResult(chunk.key, tables, [run_id(point, r.replication) for r in results],
                       failures, time.perf_counter() - t0, probed)


def execute(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int, executor: str,
            scheduler: str | None = None, out: Path | None = None) -> Iterator[ChunkResult]:
    """Run chunks on the chosen executor; yield results as they complete (any order).

    Args:
        chunks: the work, from :func:`sim.plan.plan_chunks`.
        base_seed: the batch's seed.
        months: horizon for every run; None: each point's own.
        workers: processes that compute (``local``) or Dask workers to start.
        executor: ``local`` or ``dask``.
        scheduler: address of a running Dask scheduler.
        out: the results folder, when it is on this machine: local workers write their
            chunk's parts there directly. Dask workers always send tables back as bytes
            (they may run on machines that do not see the folder).
    """
    if executor == "dask":
        yield from _execute_dask(chunks, base_seed, months, workers, scheduler)
    elif workers <= 1:
        for c in chunks:
            yield run_chunk(c, base_seed, months, out)
    else:
        yield from _execute_pool(chunks, base_seed, months, workers, out)


def _ready() -> bool:
    """A no-op task: its completion tells that a pool process is running."""
    return True


def worker_init() -> None:
    """Make a pool worker ignore Ctrl-C and end with its parent.

    The terminal sends Ctrl-C to the whole process group; the batch's own process stops
    the workers, so none prints a traceback of its own. If that process is killed outright,
    the worker ends with the fork server (see :mod:`sim.lifeline`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def _pool_context() -> Any:
    """A fork server that has imported the model and loaded its kernels, else spawn.

    The start method is set on this pool only (no process-wide side effect). Workers forked
    by the warm fork server start at once with everything loaded, and never inherit this
    process's threads (forking a threaded process can deadlock).
    """
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        # started here, not by the pool's starting thread: the fork server's life is tied to
        # the thread that started it (PR_SET_PDEATHSIG), and that thread ends in seconds
        forkserver.ensure_running()
        return ctx
    return multiprocessing.get_context("spawn")


def _execute_pool(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int,
                  out: Path | None) -> Iterator[ChunkResult]:
    """A pool of ``workers`` processes; this process runs chunks itself only while it starts.

    Starting the pool takes seconds (the fork server imports the model and loads its
    kernels) on one core: meanwhile this process runs chunks on another instead of idling.
    Once a worker runs, this process only hands out work and results (workers write their
    own parts), so its memory stays that of one chunk however long the batch. A chunk's
    bytes do not depend on which process ran it. If the batch is stopped (a signal, an
    error, the generator closed), the workers are terminated at once, not waited for.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    todo = iter(chunks)
    # A worker is replaced (forked afresh from the warm fork server, in milliseconds) after
    # RECYCLE chunks: a model process's resident memory creeps up by some kilobytes a run
    # (native allocations, not Python objects), and a batch's memory must not grow with it.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), max_tasks_per_child=RECYCLE,
                               initializer=worker_init)
    finished_cleanly = False
    try:
        # The first submit blocks until the fork server is up: a thread makes it.
        ready: Future[Any] = Future()

        def start() -> None:
            try:
                pool.submit(_ready).result()
                ready.set_result(True)
            except BaseException as exc:  # raised in this process's thread below
                ready.set_exception(exc)

        starter = threading.Thread(target=start, name="pool-start", daemon=True)
        starter.start()
        while not ready.done():
            c = next(todo, None)
            if c is None:
                break
            yield run_chunk(c, base_seed, months, out)
        starter.join()
        ready.result()
        # a bounded window of chunks in flight: memory does not grow with the batch
        running = {pool.submit(run_chunk, c, base_seed, months, out) for c in itertools.islice(todo, 2 * workers)}
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                yield f.result()
                nxt = next(todo, None)
                if nxt is not None:
                    running.add(pool.submit(run_chunk, nxt, base_seed, months, out))
        finished_cleanly = True
    finally:
        if not finished_cleanly:
            _terminate_pool(pool)
        pool.shutdown(wait=finished_cleanly, cancel_futures=not finished_cleanly)


def _terminate_pool(pool: Any) -> None:
    """Stop a pool's worker processes now (a chunk in progress is redone on resume)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def stop_helper_processes() -> None:
    """Stop the multiprocessing fork server and resource tracker of this process, if running.

    Both restart on demand for a later pool. Without this, an interrupted batch in a
    long-lived process (a notebook) or a process killed by a signal leaves them behind.
    """
    from multiprocessing import forkserver, resource_tracker

    for helper in (forkserver._forkserver, resource_tracker._resource_tracker):
        try:
            helper._stop()
        except (OSError, ChildProcessError, AttributeError):  # not running, or already reaped
            pass


def _execute_dask(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int,
                  scheduler: str | None) -> Iterator[ChunkResult]:
    """Dask: an embedded loopback TLS cluster, or a running scheduler (see :mod:`sim.cluster`)."""
    from sim.cluster import run_chunks  # imported here: Dask loads only when a batch asks for it

    yield from run_chunks(chunks, base_seed, months, workers, scheduler, task=run_chunk, init=worker_init)
