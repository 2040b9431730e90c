"""Sensitivity analysis (sim/experiments): the path the command takes recovers the Ishigami function's
known indices, and the sensitivity command runs an experiment file on the model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.experiments.indices import analyze, noise_share, problem, sample
from tests.conftest import ROOT

S1 = np.array([0.3139, 0.4424, 0.0])  # Ishigami (a = 7, b = 0.1): Saltelli et al. (2008), Global Sensitivity Analysis
ST = np.array([0.5576, 0.4424, 0.2437])


def _ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def _replicated(x: np.ndarray, reps: int, sd: float) -> np.ndarray:
    """Each point run ``reps`` times with run-to-run noise (common random numbers: noise_i shared by points)."""
    noise = np.random.default_rng(5).normal(0.0, sd, reps)
    return _ishigami(x)[:, None] + noise[None, :] + np.random.default_rng(6).normal(0.0, sd, (len(x), reps))


def test_sobol_recovers_the_ishigami_indices_through_the_same_path():
    prob = problem(["x1", "x2", "x3"], [(-np.pi, np.pi)] * 3)
    x = sample("sobol", prob, 1024, seed=1)
    assert x.shape == (1024 * 5, 3)
    y = _replicated(x, reps=3, sd=0.1)
    got = analyze("sobol", prob, x, y, seed=1)
    assert got["S1"].to_numpy() == pytest.approx(S1, abs=0.05)
    assert got["ST"].to_numpy() == pytest.approx(ST, abs=0.05)
    assert ((got["S1_low"] <= S1 + 0.02) & (S1 - 0.02 <= got["S1_high"])).all(), "the intervals cover the truth"
    assert got["noise_share"].iloc[0] < 0.01, "noise of sd 0.1 against a variance of 13.8"


def test_morris_ranks_the_ishigami_variables_and_the_noise_share_sees_pure_noise():
    prob = problem(["x1", "x2", "x3"], [(-np.pi, np.pi)] * 3)
    x = sample("morris", prob, 100, seed=2)
    got = analyze("morris", prob, x, _replicated(x, reps=2, sd=0.1), seed=2).set_index("variable")
    assert got.loc["x3", "sigma"] > got.loc["x2", "sigma"], "x3 acts only through its interaction with x1"
    assert got["mu_star"].min() > 0
    pure = np.random.default_rng(0).normal(size=(200, 5))
    assert noise_share(pure) == pytest.approx(1.0, abs=0.1)


def test_the_sensitivity_command_runs_an_experiment_file_on_the_model(tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"""
scenario: {ROOT / 'scenarios' / 'baseline.yaml'}
uncertainties:
  - {{path: parameters.contest_decisiveness, low: 1.0, high: 3.0}}
levers:
  - {{path: donors.us.budget, low: 0, high: 100}}
outcomes: [resistance_territory, government_territory]
months: [12, 24]
method: morris
samples: 4
replications: 2
seed: 3
""", encoding="utf-8")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(exp), "-w", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["outcome"]) == {"resistance_territory", "government_territory"}
    assert set(table["month"]) == {12, 24} and set(table["variable"]) == {"parameters.contest_decisiveness",
                                                                          "donors.us.budget"}
    assert {"mu_star", "mu_star_low", "mu_star_high", "sigma", "noise_share"} <= set(table.columns)
    design = pd.read_csv(out / "design.csv")
    assert len(design) == 4 * 3 and design["donors.us.budget"].between(0, 100).all()
    assert (out / "sensitivity.png").stat().st_size > 10_000
    runs = pd.read_parquet(out / "runs" / "trajectories.parquet", columns=["point", "replication", "seed"])
    assert runs.groupby("replication")["seed"].nunique().eq(1).all(), "common random numbers across points"
    bad = tmp_path / "bad.yaml"
    bad.write_text(exp.read_text().replace("low: 1.0, high: 3.0", "low: 3.0, high: 1.0"), encoding="utf-8")
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(bad), "--out", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 2 and "bad.yaml" in p.stderr and "uncertainties[0]" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_prim_finds_a_known_box_with_its_coverage_and_density():
    from sim.experiments.discovery import discover, words

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(600), "b": rng.random(600), "c": rng.random(600)})
    y = ((x["a"] < 0.3) & (x["b"] > 0.5)).to_numpy()
    trajectory, box = discover(x, y, density=0.9)
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["density"].is_monotonic_increasing
    lim = box.set_index("variable")
    assert lim.loc["a", "high"] == pytest.approx(0.3, abs=0.05) and lim.loc["b", "low"] == pytest.approx(0.5, abs=0.05)
    assert not lim.loc["c", "restricted"] and lim["density"].iloc[0] >= 0.9 and lim["coverage"].iloc[0] > 0.8
    assert "a in [" in words(box, y.mean(), "y", 0.9) and "coverage" in words(box, y.mean(), "y", 0.9)
    _, none = discover(x, np.zeros(600, bool), density=0.9)
    assert none is None and "no box" in words(none, 0.0, "y", 0.9)


def test_a_latin_hypercube_experiment_runs_and_discovers(tmp_path):
    exp = tmp_path / "lhs.yaml"
    exp.write_text(f"scenario: {ROOT / 'scenarios' / 'baseline.yaml'}\nuncertainties:\n  - {{path: "
                   "parameters.contest_decisiveness, low: 0.75, high: 2.25}\noutcomes: [resistance_territory]\n"
                   "months: [12]\nmethod: lhs\nsamples: 12\nreplications: 1\n"
                   "discover: {outcome: resistance_territory, month: 12, above: 0.008, density: 0.5}\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(exp), "-w", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert len(pd.read_csv(out / "outcomes.csv")) == 12 and (out / "discovery.csv").is_file()
    assert not (out / "sensitivity.csv").exists(), "a Latin hypercube gives no indices"
    assert "of runs" in p.stdout
