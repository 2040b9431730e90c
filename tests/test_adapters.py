"""Adapters (sim/adapters.py): results folders handed to EMA workbench and SALib without glue code."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from sim import adapters
from tests.conftest import BASELINE, ROOT


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("ad") / "res"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "-n", "6", "-w", "1", "--seed", "2",
                        "--months", "12", "--sweep", "parameters.contest_decisiveness=0.8,1.5,2.2",
                        "--figures", "none", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    return out


def test_ema_workbench_reads_experiments_and_outcomes_and_prim_finds_the_box(swept):
    experiments, outcomes = adapters.ema(swept, month=12)
    assert len(experiments) == 18 and {"scenario", "policy", "replication", "seed",
                                       "parameters.contest_decisiveness"} <= set(experiments.columns)
    y = outcomes["resistance_territory"]
    assert y.shape == (18,) and np.isfinite(y).all()
    _, series = adapters.ema(swept)
    assert series["resistance_territory"].shape == (18, 13), "a run's trajectory: 12 months and the start"
    assert series["resistance_territory"][:, -1] == pytest.approx(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA workbench warns about optional parallel back-ends it lacks
        from ema_workbench.analysis import prim
    x = experiments[["parameters.contest_decisiveness"]]
    high = y > np.median(y)
    box = prim.Prim(x, high, threshold=0.6).find_box()
    limits = box.box_lims[-1]["parameters.contest_decisiveness"]
    # the resistance holds more where the contest is less decisive: the box sits at the low end
    assert limits.iloc[0] == pytest.approx(0.8) and limits.iloc[1] < 2.2


def test_salib_reads_a_sensitivity_design(tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"scenario: {BASELINE}\nuncertainties:\n  - {{path: parameters.contest_decisiveness, low: 0.8, "
                   "high: 2.2}\n  - {path: parameters.harm_anger, low: 0.15, high: 0.45}\noutcomes: "
                   "[resistance_territory]\nmonths: [12]\nmethod: morris\nsamples: 4\nreplications: 2\n",
                   encoding="utf-8")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "sensitivity", str(exp), "-w", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    from SALib.analyze import morris

    problem, x, y = adapters.salib(out / "runs", "resistance_territory", 12)
    design = pd.read_csv(out / "design.csv")
    assert x == pytest.approx(design[problem["names"]].to_numpy()), "the design's rows, in point order"
    ours = pd.read_csv(out / "sensitivity.csv").set_index("variable")["mu_star"]
    theirs = morris.analyze(problem, x, y, num_levels=4, seed=1)["mu_star"]
    assert np.asarray(theirs) == pytest.approx(ours[problem["names"]].to_numpy())
    assert len(pd.read_csv(out / "outcomes.csv")) == 4 * 3 * 2


def test_the_actors_table_gives_kind_label_and_side(swept):
    a = adapters.actors(swept).set_index("actor")
    assert a.loc["nrf", "kind"] == "resistance" and a.loc["nrf", "side"] == "resistance"
    assert a.loc["taliban", "side"] == "government" and a.loc["us", "role"] == "donor"
    assert a.loc["nrf", "label"] != "nrf"
