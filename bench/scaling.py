"""Benchmark: how the cost of a run grows with months and with provinces (not a test).

    uv run python bench/scaling.py [--runs 40] [--repeats 3]

Months: the baseline scenario on the Afghan map at 12, 60, 120 and 240 months.
Provinces: a synthetic map of 34, 340 and 3,400 provinces (a ring of provinces, each
bordering its two ring neighbours and one across, about 4 neighbours each; areas,
populations, ruggedness and priors drawn once from a fixed seed), with the baseline's
actors placed on it, 60 months. Prints milliseconds per run (median over the repeats)
and per province-month, for a run with full recording and for the long-form tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.batch import run_one
from sim.scenario import load_scenario
from sim.store import provinces_frame, trajectories_frame

ROOT = Path(__file__).resolve().parent.parent


def synthetic_map(folder: Path, n: int) -> None:
    """Write a map folder of ``n`` provinces (see the module docstring)."""
    rng = np.random.default_rng(n)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["province,capital,population,area_km2,lat,lon,region,ruggedness,anti_taliban_prior"]
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    for i in range(n):
        rows.append(f"P{i:05d},C{i:05d},{int(rng.integers(100_000, 3_000_000))},{rng.uniform(2_000, 50_000):.0f},"
                    f"{34 + 4 * np.sin(angle[i]):.4f},{67 + 6 * np.cos(angle[i]):.4f},r{i % 7},"
                    f"{rng.uniform(0, 1):.3f},{rng.uniform(0.1, 0.9):.3f}")
    (folder / "provinces.csv").write_text("\n".join(rows) + "\n")
    edges = {tuple(sorted((i, (i + 1) % n))) for i in range(n)} | {tuple(sorted((i, (i + n // 2) % n)))
                                                                    for i in range(0, n, 2)}
    (folder / "adjacency.csv").write_text("a,b\n" + "".join(f"P{a:05d},P{b:05d}\n" for a, b in sorted(edges)
                                                            if a != b))
    (folder / "borders.csv").write_text("province,country\n" + "".join(
        f"P{i:05d},{c}\n" for i, c in ((0, "Tajikistan"), (1, "Pakistan"), (2, "Iran"), (3, "Uzbekistan"),
                                       (4, "China"), (5, "Turkmenistan"))))


def synthetic_scenario(folder: Path, n: int) -> Path:
    """The baseline's actors on a synthetic map: provinces renamed in order, the rest as in the baseline."""
    import yaml

    base = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
    afg = [line.split(",")[0] for line in (ROOT / "sim" / "data" / "afghanistan" / "provinces.csv")
           .read_text().splitlines()[1:]]
    rename = {name: f"P{i:05d}" for i, name in enumerate(afg)}

    def move(x):
        if isinstance(x, dict):
            return {rename.get(k, k): move(v) for k, v in x.items()}
        if isinstance(x, list):
            return [move(v) for v in x]
        return rename.get(x, x) if isinstance(x, str) else x

    spec = move(base)
    spec.pop("extends", None)
    spec["map"] = str(folder / "map")
    spec["name"] = f"synthetic{n}"
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def per_run(spec, m, months: int, runs: int, repeats: int, tables: bool) -> float:
    """Median milliseconds per run."""
    run_one(spec, m, 0, 0, months)  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(runs):
            r = run_one(spec, m, 1, i, months)
            if tables:
                trajectories_frame([r]), provinces_frame([r])
        out.append((time.perf_counter() - t) / runs * 1000)
    return statistics.median(out)


def main() -> None:
    """Print the two tables."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    spec, m = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    print("months  ms/run (run)  ms/run (run+tables)  µs per month")
    for months in (12, 60, 120, 240):
        a = per_run(spec, m, months, args.runs, args.repeats, False)
        b = per_run(spec, m, months, max(args.runs // 2, 1), args.repeats, True)
        print(f"{months:>6}  {a:12.2f}  {b:19.2f}  {1000 * a / months:12.1f}")
    print("\nprovinces  ms/run (60 months)  ms/run (run+tables)  µs per province-month")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (34, 340, 3400):
            folder = Path(tmp) / f"n{n}"
            synthetic_map(folder / "map", n)
            s, mm = load_scenario(synthetic_scenario(folder, n))
            runs = max(args.runs * 34 // n, 2)
            a = per_run(s, mm, 60, runs, args.repeats, False)
            b = per_run(s, mm, 60, max(runs // 2, 1), args.repeats, True)
            print(f"{n:>9}  {a:18.2f}  {b:19.2f}  {1000 * a / (60 * n):21.2f}")


if __name__ == "__main__":
    main()
