"""Batch: scenarios x sweep points x replications, on any executor, streamed to a store.

Replication ``i`` of a batch with base seed ``S`` always runs with
``replication_seed(S, i)``, whatever the number of replications asked for, so the
same replication draws the same random numbers in every scenario and sweep point that
has the same actors in the same order (common random numbers: comparisons are paired).

Runs are grouped into chunks of consecutive replications of one scenario and sweep
point. The chunk plan depends on the batch only, never on the executor or the number
of workers, and each chunk is written as its own Parquet part, so the files of a batch
are the same bit for bit however it was run. Executors: ``workers=1`` runs in this
process; ``local`` uses a process pool whose start method is set on the pool, not
process-wide (a fork server that has imported the model, else spawn);
``dask`` uses Dask distributed, an embedded LocalCluster or a running scheduler.
Workers build the tables; local workers write their parts themselves, Dask
workers send them back; this process alone writes the run ledger that makes parts count.
"""

from __future__ import annotations

import itertools
import platform
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np

import sim
from sim.geography import Map, load_map
from sim.model import ConflictModel
from sim.random import STREAM_NAMES, replication_seed
from sim.recorder import RunResult
from sim.scenario import ScenarioError, ScenarioSpec, parse_override, set_path, validate_data

CHUNK_SIZE = 10  # replications per chunk: fixed, so the files do not depend on the executor
RECYCLE = 50  # chunks a pool process runs before it is replaced by a fresh one


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


# ------------------------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class Point:
    """One scenario at one sweep point: the resolved scenario and the values swept to get it.

    Attributes:
        scenario: the scenario's name.
        point: index of the sweep point (0 when nothing is swept).
        values: swept path -> value at this point.
        spec: the resolved scenario at this point.
        map_folder: the map it runs on.
    """

    scenario: str
    point: int
    values: dict[str, Any]
    spec: ScenarioSpec
    map_folder: Path

    @property
    def key(self) -> str:
        """Identifier of the point in file names and the run ledger."""
        return f"{self.scenario}-p{self.point:03d}"


@dataclass(frozen=True)
class Chunk:
    """Consecutive replications of one point: the unit of work and of storage."""

    point: Point
    replications: tuple[int, ...]

    @property
    def key(self) -> str:
        """Deterministic chunk identifier (names its Parquet parts)."""
        return f"{self.point.key}-r{self.replications[0]:06d}-{self.replications[-1]:06d}"

    def run_ids(self) -> list[str]:
        """Identifiers of the runs in the chunk."""
        return [run_id(self.point, r) for r in self.replications]


def run_id(point: Point, replication: int) -> str:
    """Identifier of one run: scenario, sweep point, replication."""
    return f"{point.key}-r{replication:06d}"


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``path=v1,v2,...`` -> (path, values), each value read as YAML.

    Raises:
        ScenarioError: without '=' or without values.
    """
    if "=" not in text:
        raise ScenarioError(f"--sweep {text}: expected path=value1,value2,...")
    path, raw = (x.strip() for x in text.split("=", 1))
    values = [parse_override(f"{path}={v}")[1] for v in raw.split(",") if v.strip()]
    if not path or not values:
        raise ScenarioError(f"--sweep {text}: expected path=value1,value2,...")
    return path, values


def plan_points(scenarios: Sequence[tuple[ScenarioSpec, Map, dict[str, Any]]],
                sweeps: Sequence[tuple[str, list[Any]]]) -> list[Point]:
    """Every scenario at every point of the sweep grid (full factorial), each validated.

    Args:
        scenarios: (resolved scenario, map, its resolved data) per scenario.
        sweeps: (dotted path, values) per swept field.

    Raises:
        ScenarioError: naming the sweep if a value makes an invalid scenario.
    """
    names = [s.name for s, _, _ in scenarios]
    if len(set(names)) != len(names):
        raise ScenarioError(f"scenarios: two scenarios share a name ({names}); names label the results")
    grid = list(itertools.product(*[values for _, values in sweeps])) or [()]
    points = []
    for spec, m, data in scenarios:
        for k, combo in enumerate(grid):
            values = {path: v for (path, _), v in zip(sweeps, combo, strict=True)}
            d = data
            for path, v in values.items():
                d = set_path(d, path, v, f"--sweep {path}")
            point_spec = validate_data(d, f"--sweep {', '.join(f'{p}={v}' for p, v in values.items())}") \
                if values else spec
            points.append(Point(spec.name, k, values, point_spec, m.folder))
    return points


def plan_chunks(points: Sequence[Point], replications: int, done: set[str] = frozenset(),
                chunk_size: int = CHUNK_SIZE) -> list[Chunk]:
    """Chunks of the runs not yet done, in a fixed order (point, then replication)."""
    chunks = []
    for p in points:
        for start in range(0, replications, chunk_size):
            reps = tuple(r for r in range(start, min(start + chunk_size, replications))
                         if run_id(p, r) not in done)
            if reps:
                chunks.append(Chunk(p, reps))
    return chunks


# ------------------------------------------------------------------------------------------------- workers


@dataclass
class ChunkResult:
    """What a worker sends back: its tables, the runs it completed and its failures.

    The tables are Parquet bytes, or none when the worker wrote the parts itself.
    """

    key: str
    tables: dict[str, bytes]
    completed: list[str]
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


_MAPS: dict[str, Map] = {}


def run_chunk(chunk: Chunk, base_seed: int, months: int | None, out: Path | None = None) -> ChunkResult:
    """Run a chunk in a worker: each run isolated, the successful ones turned into tables.

    A run that raises is reported with its traceback and does not stop the others.

    Args:
        chunk: the runs to do.
        base_seed: the batch's seed.
        months: horizon override.
        out: a results folder on this machine: the worker writes the chunk's parts there
            itself and sends back only their names (no megabytes through a pipe to a busy
            parent). None: the tables travel back as bytes (remote workers).
    """
    from sim.store import chunk_tables, write_parts

    t0 = time.perf_counter()
    folder = str(chunk.point.map_folder)
    m = _MAPS.get(folder) or _MAPS.setdefault(folder, load_map(folder))
    results, failures = [], []
    for r in chunk.replications:
        try:
            res = run_one(chunk.point.spec, m, base_seed, r, months)
            results.append(res)
        except Exception as exc:
            failures.append({"run": run_id(chunk.point, r), "scenario": chunk.point.scenario,
                             "point": chunk.point.point, "replication": r,
                             "seed": replication_seed(base_seed, r), "error": repr(exc),
                             "traceback": traceback.format_exc()})
    tables = chunk_tables(results, chunk.point.point, chunk.point.values) if results else {}
    if out is not None:
        write_parts(out, chunk.key, tables)
        tables = {}
    return ChunkResult(chunk.key, tables, [run_id(chunk.point, r.replication) for r in results],
                       failures, time.perf_counter() - t0)


def execute(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int, executor: str,
            scheduler: str | None = None, out: Path | None = None) -> Iterator[ChunkResult]:
    """Run chunks on the chosen executor; yield results as they complete (any order).

    Args:
        chunks: the work, from :func:`plan_chunks`.
        base_seed: the batch's seed.
        months: horizon override.
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


def _execute_pool(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int,
                  out: Path | None) -> Iterator[ChunkResult]:
    """A pool of ``workers`` processes; this process runs chunks itself only while it starts.

    Starting the pool takes seconds (the fork server imports the model and loads its
    kernels) on one core: meanwhile this process runs chunks on another instead of idling.
    Once a worker runs, this process only hands out work and results (workers write their
    own parts), so its memory stays that of one chunk however long the batch. A chunk's
    bytes do not depend on which process ran it.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # The start method is set on this pool only (no process-wide side effect). Where it
    # exists, a fork server forks the workers: it imports the model and loads its compiled
    # kernels once (sim.warmup), so workers start at once with everything loaded, and never
    # inherit this process's threads (forking a threaded process can deadlock). Elsewhere, spawn.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.batch", "sim.store", "sim.warmup"])
    else:
        ctx = multiprocessing.get_context("spawn")
    todo = iter(chunks)
    # A worker is replaced (forked afresh from the warm fork server, in milliseconds) after
    # RECYCLE chunks: a model process's resident memory creeps up by some kilobytes a run
    # (native allocations, not Python objects), and a batch's memory must not grow with it.
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=RECYCLE) as pool:
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


def _execute_dask(chunks: Sequence[Chunk], base_seed: int, months: int | None, workers: int,
                  scheduler: str | None) -> Iterator[ChunkResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                               dashboard_address=":0")  # any free port: never clashes with a running cluster
        client = Client(cluster)
    try:
        todo = iter(chunks)
        window = 2 * max(workers, len(client.scheduler_info().get("workers", {})), 1)

        def submit(c: Chunk) -> Any:
            return client.submit(run_chunk, c, base_seed, months, key=f"chunk-{c.key}-{base_seed}", pure=False)

        # a bounded window of chunks in flight, as for the local pool
        queue = as_completed([submit(c) for c in itertools.islice(todo, window)])
        for f in queue:
            yield f.result()
            f.release()
            nxt = next(todo, None)
            if nxt is not None:
                queue.add(submit(nxt))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------------------------------------ manifest


def git_commit(path: Path) -> str | None:
    """The commit of the code's repository, with '-dirty' if it has changes; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions and commit of the code that produced a batch."""
    return {
        "package_version": sim.__version__,
        "git_commit": git_commit(Path(sim.__file__).parent),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "random_streams": list(STREAM_NAMES),
    }
