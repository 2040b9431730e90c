"""Benchmark: the whole command, end to end (not a test; numbers go in notes and the README).

    uv run python bench/cli_benchmark.py [--runs 400] [--repeats 5] [--launcher uv|python]

Measures, with real ``run.py run`` processes on the baseline (60 months, tables written,
the default figures drawn, one worker so the figure is per core):

* **runs per second end to end**: (time of 1+N replications - time of 1) / N, so that
  start-up, figures and the summary, which do not grow with N, cancel out;
* **a warm 1-run command to its first figure**: seconds from launch until the first PNG
  is complete, and until the command exits (after one warm-up command, so the kernels are
  compiled and cached, as they are for a user on the second run).

Prints the median and spread over the repeats; the two batch sizes alternate within each
repeat so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command(launcher: str, n: int, out: Path) -> list[str]:
    """The user's command for n replications (in the checkout given by --root)."""
    head = ["uv", "run", "run.py"] if launcher == "uv" else [sys.executable, "run.py"]
    return [*head, "run", "scenarios/baseline.yaml", "-n", str(n), "--seed", "1", "-w", "1", "--out", str(out),
            "--overwrite"]


def timed(cmd: list[str], out: Path, root: Path = ROOT) -> tuple[float, float]:
    """(seconds to the first complete figure, seconds to exit) of a command run in ``root``."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    while proc.poll() is None:
        if first is None and any(p.stat().st_size > 0 for p in (out / "figures").glob("*.png")):
            first = time.perf_counter() - t0
        time.sleep(0.01)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "".join(proc.stderr.readlines()[-15:])
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{tail}")
    return (first if first is not None else total), total


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=400, help="N: extra replications in the large batch")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--launcher", choices=("uv", "python"), default="uv")
    ap.add_argument("--root", default=str(ROOT), help="checkout to measure (e.g. an older commit, for before/after)")
    args = ap.parse_args()
    root = Path(args.root).resolve()
    rates, firsts, ones = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        timed(command(args.launcher, 1, out), out, root)  # warm-up: kernels compiled and cached
        for _ in range(args.repeats):
            first, one = timed(command(args.launcher, 1, out), out, root)
            _, many = timed(command(args.launcher, 1 + args.runs, out), out, root)
            firsts.append(first)
            ones.append(one)
            rates.append(args.runs / (many - one))
    med = statistics.median
    print(f"{root}: baseline, 60 months, tables and default figures, 1 worker; launcher {args.launcher}; "
          f"{args.repeats} repeats")
    print(f"  end to end        {med(rates):7.1f} runs/s  (min {min(rates):.1f}, max {max(rates):.1f}); "
          f"(t(1+{args.runs}) - t(1)) / {args.runs}")
    print(f"  1 run, 1st figure {med(firsts):7.2f} s      (min {min(firsts):.2f}, max {max(firsts):.2f})")
    print(f"  1 run, exit       {med(ones):7.2f} s      (min {min(ones):.2f}, max {max(ones):.2f})")


if __name__ == "__main__":
    main()
