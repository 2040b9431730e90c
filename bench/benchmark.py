"""Benchmark: baseline runs per second in one process (not a test; numbers go in notes).

    uv run python bench/benchmark.py [--months 120] [--runs 400] [--repeats 5]

Measures, after a warm-up that compiles the kernels (or loads them from cache):

* ``run``: build a ConflictModel and run it to the horizon with full recording
  (every month's control, strengths, funds, sentiment, ledger), returning a RunResult;
* ``run+tables``: the same plus building the long-form tables the store writes
  (without disk I/O).

Prints the median and spread of runs per second over the repeats, and the
machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.batch import run_one
from sim.scenario import load_scenario
from sim.store import flows_frame, provinces_frame, trajectories_frame


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"))
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    spec, m = load_scenario(args.scenario)
    for i in range(5):  # warm-up: JIT compile or cache load, first allocations
        run_one(spec, m, 0, i, args.months)

    def rate(fn, n: int) -> float:
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        return n / (time.perf_counter() - t)

    def with_tables(i: int) -> None:
        r = run_one(spec, m, 1, i, args.months)
        trajectories_frame([r]), provinces_frame([r]), flows_frame([r])

    rows = {
        "run": [rate(lambda i: run_one(spec, m, 1, i, args.months), args.runs) for _ in range(args.repeats)],
        "run+tables": [rate(with_tables, max(args.runs // 4, 1)) for _ in range(args.repeats)],
    }
    print(f"scenario {spec.name}, {args.months} months, {len(spec.factions)} factions, {len(spec.donors)} donors, "
          f"{m.n} provinces; {args.runs} runs x {args.repeats} repeats, one process")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    for name, v in rows.items():
        print(f"  {name:<11} {statistics.median(v):8.1f} runs/s  (min {min(v):.1f}, max {max(v):.1f}); "
              f"{1000 / statistics.median(v):.2f} ms/run")


if __name__ == "__main__":
    main()
