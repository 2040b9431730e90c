"""Batch benchmark (not a test; the numbers go in notes): throughput and memory of whole batches.

    uv run python bench/batch_benchmark.py [--runs 4000] [--repeats 3] [--memory-runs 1000,20000] [--months 60]

1. Runs per second for N baseline runs through the project's batch runner (plan, execute,
   write Parquet parts), with 1 and 2 worker processes, against ``mesa.batch_run`` with 2
   processes on the same runs. The 1- and 2-worker batches alternate, ``--repeats`` times,
   and the medians are reported with every repeat (this machine's speed drifts by 10-20%
   from minute to minute, so one pair of numbers says little). A 2-worker batch includes
   starting its pool (``sim.mesa_compat.BatchConflictModel``, its DataCollector
   collecting every month, every row kept in memory as batch_run does).
2. Peak memory, summed over the process tree (read from /proc every 0.1 s), of
   ``run.py run`` with 2 workers for each batch size, to show it stays flat as runs grow:
   resident set (RSS, shared pages counted in every process) and proportional set (PSS,
   shared pages split between the processes that share them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.batch import execute, plan_chunks, plan_points  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.store import ShardStore  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"


def ours(runs: int, months: int, workers: int) -> float:
    """Runs per second through plan -> execute -> store, measured in a fresh process.

    A fresh process per measurement, so every 2-worker batch pays for starting its pool
    (a fork server outlives a pool within one process and would start warm after the first
    repeat). The kernels are loaded before the clock starts, as in any process that has
    run a model.
    """
    out = subprocess.run([sys.executable, __file__, "--measure", str(runs), str(months), str(workers)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def _measure(runs: int, months: int, workers: int) -> float:
    spec, m = load_scenario(BASELINE)
    points = plan_points([(spec, m, spec.model_dump(mode="python"))], [])
    with tempfile.TemporaryDirectory() as tmp:
        for _ in execute(plan_chunks(points, 10), 1, months, 1, "local"):
            pass  # warm-up: kernels loaded from numba's cache
        store = ShardStore(Path(tmp))
        t = time.perf_counter()
        for res in execute(plan_chunks(points, runs), 1, months, workers, "local", out=Path(tmp)):
            store.write(res.key, res.tables, res.completed, res.failures)
        return runs / (time.perf_counter() - t)


def mesa_batch(runs: int, months: int, processes: int) -> float:
    """Runs per second through mesa.batch_run."""
    import mesa

    from sim.mesa_compat import BatchConflictModel

    t = time.perf_counter()
    rows = mesa.batch_run(BatchConflictModel, {"scenario": str(BASELINE), "months": months},
                          rng=list(range(runs)), number_processes=processes, display_progress=False,
                          max_steps=10_000)
    assert len(rows) == runs
    return runs / (time.perf_counter() - t)


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, bytes.

    RSS counts a page shared by several processes (a fork server and the workers forked
    from it share their imported libraries) once per process; PSS splits it between them,
    so the PSS sum is the memory the batch really occupies. Both are reported.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        p = int(d.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(p)
        rss[p] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total_rss = total_pss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        total_rss += rss.get(p, 0)
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total_pss += int(next(x for x in rollup.splitlines() if x.startswith("Pss:")).split()[1]) * 1024
        except (OSError, StopIteration):
            pass
        stack += children.get(p, [])
    return total_rss, total_pss


def peak_memory(runs: int, months: int, workers: int) -> tuple[float, float, float]:
    """(peak RSS MB, peak PSS MB, both summed over the process tree, and wall seconds) of a run.py batch."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "-n", str(runs), "-w", str(workers),
               "--seed", "1", "--months", str(months), "--out", str(Path(tmp) / "out"), "--map-months", "0"]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak_rss = peak_pss = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_rss, peak_pss
            while not stop.is_set():
                r, p = _tree_memory(proc.pid)
                peak_rss, peak_pss = max(peak_rss, r), max(peak_pss, p)
                time.sleep(0.1)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = proc.wait()
        stop.set()
        th.join()
        assert rc == 0, f"batch failed: {cmd}"
        return peak_rss / 2**20, peak_pss / 2**20, time.perf_counter() - t


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4000)
    ap.add_argument("--memory-runs", default="1000,20000")
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--measure", nargs=3, type=int, metavar=("RUNS", "MONTHS", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(f"{_measure(*args.measure):.3f}")
        return
    print(f"machine: {os.cpu_count()} cores; baseline, {args.months} months per run")
    if args.repeats > 0:  # --repeats 0: memory only
        ours(20, args.months, 1)  # warm-up: kernels compiled (once) into numba's cache
        one, two = [], []
        for k in range(args.repeats):
            one.append(ours(args.runs, args.months, 1))
            two.append(ours(args.runs, args.months, 2))
            print(f"repeat {k + 1}: 1 worker {one[-1]:.1f} runs/s, 2 workers {two[-1]:.1f} runs/s "
                  f"({two[-1] / one[-1]:.2f}x)", flush=True)
        r1, r2 = statistics.median(one), statistics.median(two)
        ratios = sorted(b / a for a, b in zip(one, two, strict=True))
        rm = mesa_batch(args.runs, args.months, 2)
        print(f"{args.runs} runs, median of {args.repeats}: ours 1 worker {r1:.1f} runs/s; "
              f"ours 2 workers {r2:.1f} runs/s; "
              f"2 workers / 1 worker, median of the paired repeats {statistics.median(ratios):.2f}x "
              f"(each: {', '.join(f'{x:.2f}' for x in ratios)}); "
              f"mesa.batch_run 2 processes {rm:.1f} runs/s (ours 2 workers {r2 / rm:.2f}x)")
    peaks = {}
    for n in (int(x) for x in args.memory_runs.split(",") if x.strip()):
        rss, pss, secs = peak_memory(n, args.months, 2)
        peaks[n] = (rss, pss)
        print(f"{n} runs with 2 workers: peak memory over all processes {rss:.0f} MB RSS, {pss:.0f} MB PSS; "
              f"{secs:.0f} s", flush=True)
    if len(peaks) >= 2:
        lo, hi = min(peaks), max(peaks)
        print(f"peak memory ratio {hi} vs {lo} runs: RSS {peaks[hi][0] / peaks[lo][0]:.2f}, "
              f"PSS {peaks[hi][1] / peaks[lo][1]:.2f}")


if __name__ == "__main__":
    main()
