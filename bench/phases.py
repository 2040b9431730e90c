"""Benchmark: where a run's time goes, phase by phase (not a test; numbers go in notes).

    uv run python bench/phases.py [--scenario scenarios/baseline.yaml] [--months 120] [--runs 200]

Runs the scenario's replications with the schedule's compiled loop replaced by one that
reads the CPU's cycle counter around every phase of :data:`sim.schedule.PHASES` (whatever
they are: the loop unrolls the tuple, as ``run_step`` does), then prints microseconds per
month and per run for each phase, the compiled phases' total, and the Python side of a run
(building the model, the draws, the event log and the result: the rest of the wall time).

The timed loop is compiled once and cached with the kernels (about two minutes after an
edit to any of them). The counter is calibrated against ``time.perf_counter``; a phase's
time includes its share of the counter's own cost (a few nanoseconds per call).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llvmlite import ir
from numba import literal_unroll, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

import sim.model
from sim.batch import run_one
from sim.scenario import load_scenario
from sim.schedule import PHASES, phase_names  # importing the schedule points numba's cache at the kernels'


@intrinsic
def cycles(typingctx: Any) -> Any:
    """The CPU's cycle counter (``llvm.readcyclecounter``: RDTSC on x86, constant rate)."""
    sig = types.uint64()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


@njit(cache=True)
def timed_steps(c: Any, p: Any, s: Any, d: Any, r: Any, first: int, last: int, acc: np.ndarray) -> None:
    """``run_steps`` with every phase's cycles added to ``acc`` (one slot per phase, in order)."""
    for t in range(first, last + 1):
        k = 0
        for phase in literal_unroll(PHASES):
            a = cycles()
            phase(c, p, s, d, r, t)
            acc[k] += cycles() - a
            k += 1


@njit(cache=True)
def counter() -> int:
    """The cycle counter, read from Python (for the calibration)."""
    return cycles()


def cycles_per_second(seconds: float = 0.2) -> float:
    """The counter's rate, against ``time.perf_counter``."""
    counter()
    t0, c0 = time.perf_counter(), counter()
    while time.perf_counter() - t0 < seconds:
        pass
    return (counter() - c0) / (time.perf_counter() - t0)


def main() -> None:
    """Time the phases over the runs and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"))
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    spec, m = load_scenario(args.scenario)
    acc = np.zeros(len(PHASES), dtype=np.uint64)

    def timed(c: Any, p: Any, s: Any, d: Any, r: Any, first: int, last: int) -> None:
        timed_steps(c, p, s, d, r, first, last, acc)

    sim.model.run_steps = timed  # the model calls the schedule through its module's name
    t = time.perf_counter()
    run_one(spec, m, 0, 0, args.months)  # compiles the timed loop, or loads it from the cache
    print(f"warm-up (compile or cache load) {time.perf_counter() - t:.1f} s")
    for i in range(1, 5):
        run_one(spec, m, 0, i, args.months)
    acc[:] = 0
    t = time.perf_counter()
    for i in range(args.runs):
        run_one(spec, m, 1, i, args.months)
    wall = (time.perf_counter() - t) / args.runs
    hz = cycles_per_second()
    months = run_one(spec, m, 1, 0, args.months).steps
    per_run = acc / hz / args.runs
    compiled = float(per_run.sum())
    print(f"scenario {spec.name}, {months} steps, {args.runs} runs, one process; {wall * 1e3:.2f} ms per run")
    print(f"  {'phase':<18} {'us/month':>9} {'us/run':>9} {'share':>7}")
    for name, v in zip(phase_names(), per_run, strict=True):
        print(f"  {name:<18} {v / months * 1e6:9.2f} {v * 1e6:9.0f} {v / wall:7.1%}")
    print(f"  {'compiled phases':<18} {compiled / months * 1e6:9.2f} {compiled * 1e6:9.0f} {compiled / wall:7.1%}")
    print(f"  {'python side':<18} {'':>9} {(wall - compiled) * 1e6:9.0f} {(wall - compiled) / wall:7.1%}")


if __name__ == "__main__":
    main()
