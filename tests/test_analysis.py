"""Statistics of the comparison report, and the compare command end to end."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import analysis, statistics
from tests.conftest import BASELINE, ROOT


def test_a12_known_values():
    assert statistics.a12([3, 4, 5], [0, 1, 2]) == 1.0
    assert statistics.a12([0, 1, 2], [3, 4, 5]) == 0.0
    assert statistics.a12([1, 2, 3], [1, 2, 3]) == 0.5, "identical samples: no effect"
    # 2 beats 1 and ties 2: (1 + 0.5) / 2
    assert statistics.a12([2], [1, 2]) == pytest.approx(0.75)
    assert statistics.a12_magnitude(0.5) == "negligible" and statistics.a12_magnitude(0.75) == "large"


def test_wilson_interval():
    lo, hi = statistics.wilson(0, 30)
    assert lo == 0.0 and hi == pytest.approx(0.1135, abs=1e-3)
    lo, hi = statistics.wilson(15, 30)
    assert lo < 0.5 < hi and hi - lo < 0.4


def test_bootstrap_ci_covers_and_is_reproducible():
    x = np.random.default_rng(1).normal(2.0, 1.0, 200)
    lo, hi = statistics.bootstrap_ci(x)
    assert lo < 2.0 < hi and hi - lo < 0.4
    assert statistics.bootstrap_ci(x) == (lo, hi), "a fixed seed: the report is reproducible"


def test_bootstrap_of_a_large_sample_is_drawn_in_blocks():
    x = np.random.default_rng(2).normal(0.0, 1.0, 50_000)  # 2000 x 50,000 indices: 25 blocks of 80 resamples
    rng = np.random.default_rng(statistics.BOOTSTRAP_SEED)
    means = np.concatenate([x[rng.integers(0, x.size, size=(80, x.size))].mean(axis=1) for _ in range(25)])
    lo, hi = statistics.bootstrap_ci(x)
    assert (lo, hi) == (float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))
    assert lo < x.mean() < hi and hi - lo == pytest.approx(2 * 1.96 / np.sqrt(x.size), rel=0.1)


def test_runs_needed():
    # sd 1, half-width 0.196 -> (1.96 / 0.196)^2 = 100
    assert statistics.runs_needed(1.0, Z := 0.19599639845400542) == 100
    assert Z > 0


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    res = tmp / "res"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(BASELINE),
                        str(ROOT / "scenarios" / "slight_support.yaml"), "-n", "20", "-w", "1", "--seed", "4",
                        "--months", "24", "--sweep", "donors.us.budget=5,20", "--out", str(res)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    rep = tmp / "report"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), "--baseline",
                        "baseline[donors.us.budget=5]", "--months", "12,24", "--out", str(rep)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    return res, rep


def test_compare_writes_report_tables_and_figures(compared):
    _, rep = compared
    text = (rep / "report.md").read_text()
    for section in ("## The answer", "End-state probabilities", "Replication adequacy", "Time to event",
                    "Lever: `donors.us.budget`", "## Provenance"):
        assert section in text, section
    assert text.index("## The answer") < text.index("## Territory over time"), "the report leads with the answer"
    assert "run-to-run randomness only" in text and "20 paired runs" in text and " pp" in text
    assert "uv run run.py run" in text and "--sweep donors.us.budget=5,20" in text, "provenance remakes the batch"
    for f in ("fan_resistance_territory.png", "distributions.png", "probability_holds_province.png",
              "lever_donors.us.budget.png"):
        assert (rep / "figures" / f).is_file(), f
    head = pd.read_csv(rep / "headline.csv")
    # matched: slight support is compared with the baseline at the same budget, never across budgets
    scen = head[head["contrast"] == "scenario"]
    assert set(zip(scen["group"], scen["reference"], strict=True)) == {
        (f"slight_support[donors.us.budget={b}]", f"baseline[donors.us.budget={b}]") for b in (5, 20)}
    lever = head[(head["contrast"] == "lever donors.us.budget") & (head["month"] == 24)
                 & (head["quantity"] == "resistance_territory")].set_index("group")
    # scientific claim: where the US is willing to back the resistance, more US money raises its
    # territory (the lever, all else equal); in the baseline the US backs nobody and money changes nothing
    row = lever.loc["slight_support[donors.us.budget=20]"]
    assert row["paired"] and row["difference_pp"] > 0 and row["ci_low_pp"] > 0
    assert lever.loc["baseline[donors.us.budget=20]", "difference_pp"] == 0
    paired = pd.read_csv(rep / "paired_differences.csv")
    assert {"ci_low", "ci_high", "mean_difference"} <= set(paired.columns)
    ends = pd.read_csv(rep / "end_states.csv")
    assert ((ends["ci_low"] <= ends["probability"]) & (ends["probability"] <= ends["ci_high"])).all()
    assert len(pd.read_csv(rep / "adequacy.csv")) >= 4
    cast = pd.read_csv(rep / "actors.csv").set_index(["scenario", "actor"])
    assert cast.loc[("baseline", "nrf"), "kind"] == "resistance" and cast.loc[("baseline", "nrf"), "label"] != "nrf"


def test_compare_says_when_runs_are_not_paired(tmp_path):
    other = tmp_path / "other"  # the same scenario with another base seed: replication i is not the same run
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(ROOT / "scenarios" / "slight_support.yaml"),
                        "-n", "20", "-w", "1", "--seed", "5", "--months", "24", "--sweep", "donors.us.budget=5",
                        "--figures", "none", "--out", str(other)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    rep = tmp_path / "r"
    base = tmp_path / "base"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "-n", "20", "-w", "1",
                        "--seed", "4", "--months", "24", "--sweep", "donors.us.budget=5", "--figures", "none",
                        "--out", str(base)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(base), str(other), "--months", "24",
                        "--out", str(rep)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    head = pd.read_csv(rep / "headline.csv")
    assert not head["paired"].any() and (head["interval"].str.contains("unpaired")).all()
    assert "20 and 20 unpaired runs" in (rep / "report.md").read_text()


def test_analysis_is_importable_on_results(compared):
    res, _ = compared
    r = analysis.load(res)
    out = analysis.outcomes(r)
    assert set(out["group"]) == {f"{s}[donors.us.budget={b}]" for s in ("baseline", "slight_support") for b in (5, 20)}
    assert out.groupby("group")["replication"].nunique().eq(20).all()


def test_streamed_outcomes_equal_the_in_memory_ones(compared):
    res, _ = compared
    whole = analysis.outcomes(analysis.load(res))
    streamed, _ = analysis.load_outcomes(res)
    keys = ["scenario", "point", "replication", "step"]
    whole = whole.sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(streamed[whole.columns], whole, check_categorical=False)


def test_compare_end_states_are_set_on_the_command_line(compared, tmp_path):
    res, _ = compared
    rep = tmp_path / "r"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), "--months", "24",
                        "--holds", "0.5,2", "--wiped-out", "0.1", "--out", str(rep)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    ends = pd.read_csv(rep / "end_states.csv")
    names = set(ends["end_state"])
    assert {"resistance holds >= 0.5% of the country", "resistance holds >= 2% of the country",
            "resistance wiped out (under 0.1% of the country)"} <= names
    out, _ = analysis.load_outcomes(res)
    at = analysis.at_months(out, [24])
    for g, d in at.groupby("group"):
        row = ends[(ends["group"] == g) & (ends["end_state"] == "resistance wiped out (under 0.1% of the country)")]
        assert row["probability"].iloc[0] == pytest.approx((d["resistance_territory"] < 0.001).mean())
    for bad in (["--holds", "0"], ["--holds", "5,x"], ["--wiped-out", "101"], ["--wiped-out", "1,2"]):
        p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), *bad, "--out", str(rep)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 2 and bad[0] in p.stderr and "Traceback" not in p.stderr, (bad, p.stderr)


def test_compare_bad_input(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(tmp_path), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "not a results folder" in p.stderr and "Traceback" not in p.stderr
