"""Tipping points (sim/tipping): the estimator recovers a known threshold of a synthetic noisy model,
through the same adaptive design the command uses."""

from __future__ import annotations

import numpy as np
import pytest

from sim.tipping.estimate import adaptive, crossings, observed

THRESHOLD = 0.37  # the synthetic model's true P = 0.5 point


def _synthetic(noise: float, reps: int = 60, seed: int = 3):
    """y = 1 when x + noise_i > THRESHOLD: replication i draws its noise once (common random numbers).

    P(y = 1 | x) = Phi((x - THRESHOLD) / noise), so P crosses 0.5 at THRESHOLD, 0.1 and 0.9 at
    THRESHOLD -+ 1.2816 noise.
    """
    e = np.random.default_rng(seed).normal(0.0, noise, reps)

    def simulate(values):
        x = np.repeat(values, reps)
        rep = np.tile(np.arange(reps), len(values))
        return x, rep, (x + e[rep] > THRESHOLD).astype(float)

    return simulate


def test_the_adaptive_design_recovers_a_known_threshold_with_an_interval_that_covers_it():
    simulate = _synthetic(noise=0.1)
    x, rep, y = adaptive(simulate, (0.0, 1.0), (0.1, 0.5, 0.9), grid=5, rounds=2, count=3)
    assert np.unique(x).size > 5, "refinement added lever values near the crossings"
    got = {c.level: c for c in crossings(x, rep, y, (0.1, 0.5, 0.9), (0.0, 1.0), resamples=400)}
    mid = got[0.5]
    assert mid.low <= THRESHOLD <= mid.high and abs(mid.value - THRESHOLD) < 0.05
    assert mid.high - mid.low < 0.15 and mid.beyond == 0.0
    assert got[0.1].value < mid.value < got[0.9].value
    assert got[0.9].value - got[0.1].value == pytest.approx(2 * 1.2816 * 0.1, abs=0.08)
    assert abs(mid.logistic - THRESHOLD) < 0.05, "the logistic check agrees"


def test_a_sharp_threshold_separates_the_runs_and_the_fit_stays_finite():
    simulate = _synthetic(noise=1e-6)
    x, rep, y = adaptive(simulate, (0.0, 1.0), (0.5,), grid=9, rounds=3, count=3)
    (mid,) = crossings(x, rep, y, (0.5,), (0.0, 1.0), resamples=200)
    assert mid.low <= THRESHOLD <= mid.high and mid.high - mid.low < 0.05


def test_a_threshold_beyond_the_range_is_reported_as_such():
    simulate = _synthetic(noise=0.05)
    x, rep, y = adaptive(simulate, (0.0, 0.2), (0.5,), grid=5, rounds=1)
    (mid,) = crossings(x, rep, y, (0.5,), (0.0, 0.2), resamples=200)
    assert np.isnan(mid.value) and np.isnan(mid.high) and mid.beyond > 0.9 and np.isnan(mid.logistic)
    top = observed(x, y)[-1]
    assert top[0] == 0.2 and top[2] == 0 and top[4] < 0.1, "P at the range's end, with its Wilson interval"


def test_a_plateau_is_followed_by_the_monotone_estimate_not_the_logistic_curve():
    # P jumps from 0 to 10% at 0.25 and stays there: a logistic curve cannot follow it
    def simulate(values):
        x = np.repeat(values, 100)
        rep = np.tile(np.arange(100), len(values))
        return x, rep, ((x >= 0.25) & (rep % 10 == 0)).astype(float)

    x, rep, y = adaptive(simulate, (0.0, 1.0), (0.1,), grid=5, rounds=2, count=3)
    (c,) = crossings(x, rep, y, (0.1,), (0.0, 1.0), resamples=200)
    assert c.value == pytest.approx(0.25, abs=0.02) and c.low <= 0.25


def test_the_tipping_command_runs_the_design_on_the_model_and_refuses_bad_options(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    from tests.conftest import ROOT

    out = tmp_path / "tip"
    cmd = [sys.executable, str(ROOT / "run.py"), "tipping", str(ROOT / "scenarios" / "slight_support.yaml")]
    p = subprocess.run([*cmd, "--lever", "donors.us.budget=0:100", "--outcome", "share:0.5", "--months", "12",
                        "-n", "10", "--seed", "2", "--design", "3,1,2", "-w", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    table = pd.read_csv(out / "tipping.csv")
    assert table["value"].iloc[0] == 0 and table["value"].iloc[-1] == 100 and (table["runs"] == 10).all()
    assert table["delivered_usd_month_m"].is_monotonic_increasing, "more budget, more delivered"
    assert (out / "tipping.png").stat().st_size > 10_000 and len(pd.read_csv(out / "crossings.csv")) == 3
    assert "P(the resistance holds at least 0.5% of the country at month 12)" in p.stdout
    for bad in (["--lever", "donors.us.budget=5"], ["--lever", "donors.us.budget=9:1"],
                ["--lever", "donors.us.budjet=0:9"], ["--outcome", "share:0"], ["--outcome", "capitals"],
                ["--design", "2,1,1"], ["--months", "0"]):
        args = {"--lever": "donors.us.budget=0:10", "--outcome": "capital", "--design": "3,0,1", "--months": "6"}
        args[bad[0]] = bad[1]
        p = subprocess.run([*cmd, *[t for kv in args.items() for t in kv], "-n", "2", "-w", "1",
                            "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert p.returncode == 2 and bad[0] in p.stderr and "Traceback" not in p.stderr, (bad, p.stderr)
