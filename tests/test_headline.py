"""The answer a comparison leads with (sim/headline.py): matched contrasts, verified pairing, intervals
and verdicts, on synthetic outcomes whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import headline
from sim.statistics import wilson

LEVER = "donors.us.budget"


def _outcomes(seeds_for: dict[str, int] | None = None, n: int = 40) -> pd.DataFrame:
    """Groups baseline and slight at budget 5 and 20, and lone at 50 (no baseline there), at month 12.

    The resistance's share is 0.5% + 0.02% per M USD + 0.3% in 'slight', plus noise that run i
    shares across groups (common random numbers); 'slight' at 20 holds a capital in every run.
    """
    seeds_for = seeds_for or {}
    noise = np.random.default_rng(0).normal(0.0, 0.002, n)
    rows = []
    for scen, budget in (("baseline", 5), ("baseline", 20), ("slight", 5), ("slight", 20), ("lone", 50)):
        group = f"{scen}[{LEVER}={budget}]"
        for i in range(n):
            share = 0.005 + 0.0002 * budget + (0.003 if scen == "slight" else 0.0) + noise[i]
            rows.append({"group": group, "scenario": scen, LEVER: budget, "replication": i,
                         "seed": seeds_for.get(scen, 0) * 1000 + i, "step": 12, "month": 12.0, "at_month": 12.0,
                         "resistance_territory": share, "government_territory": 1.0 - share,
                         "resistance_provinces": 1 if (scen, budget) == ("slight", 20) else 0, "split": False})
    return pd.DataFrame(rows)


def test_contrasts_are_matched_at_the_same_sweep_point_and_levers_against_their_lowest_value():
    found, unmatched = headline.contrasts(_outcomes(), "baseline", [LEVER])
    pairs = {(c.group, c.reference, c.kind) for c in found}
    assert pairs == {
        (f"slight[{LEVER}=5]", f"baseline[{LEVER}=5]", "scenario"),
        (f"slight[{LEVER}=20]", f"baseline[{LEVER}=20]", "scenario"),  # never slight at 20 against baseline at 5
        (f"baseline[{LEVER}=20]", f"baseline[{LEVER}=5]", f"lever {LEVER}"),
        (f"slight[{LEVER}=20]", f"slight[{LEVER}=5]", f"lever {LEVER}"),
    }
    assert unmatched == [f"lone[{LEVER}=50]"], "a group the baseline was not run at is not compared"
    assert all(c.paired for c in found)


def test_pairing_is_claimed_only_when_the_recorded_seeds_match():
    out = _outcomes({"slight": 7})  # 'slight' ran with other seeds
    found, _ = headline.contrasts(out, "baseline", [LEVER])
    kinds = {(c.group, c.kind): c.paired for c in found}
    assert not kinds[(f"slight[{LEVER}=5]", "scenario")]
    assert kinds[(f"baseline[{LEVER}=20]", f"lever {LEVER}")], "the baseline's own runs still pair"
    table = headline.headline(out, found)
    row = table[(table["group"] == f"slight[{LEVER}=5]") & (table["quantity"] == "resistance_territory")].iloc[0]
    assert not row["paired"] and row["interval"] == "bootstrap, unpaired"
    # the true difference is +0.3 pp; unpaired, the shared noise (sd 0.2 pp) no longer cancels
    assert row["ci_low_pp"] < 0.3 < row["ci_high_pp"] and row["ci_high_pp"] - row["ci_low_pp"] > 0.1


def test_paired_differences_are_exact_when_the_noise_is_shared_and_verdicts_read_the_minimum():
    out = _outcomes()
    found, _ = headline.contrasts(out, "baseline", [LEVER])
    table = headline.headline(out, found, min_territory=0.01, min_probability=0.05)
    get = table.set_index(["group", "contrast", "quantity"])
    r = get.loc[(f"slight[{LEVER}=5]", "scenario", "resistance_territory")]
    assert r["difference_pp"] == pytest.approx(0.3) and r["ci_high_pp"] - r["ci_low_pp"] < 1e-9
    assert r["verdict"] == "negligible (detectable)", "0.3 pp is real but under the 1-pp minimum"
    strict = headline.headline(out, found, min_territory=0.001)
    s = strict.set_index(["group", "contrast", "quantity"]).loc[(f"slight[{LEVER}=5]", "scenario",
                                                                 "resistance_territory")]
    assert s["verdict"] == "meaningful increase"
    cap = get.loc[(f"slight[{LEVER}=20]", "scenario", "p_resistance_holds_capital")]
    assert cap["difference_pp"] == pytest.approx(100.0) and cap["verdict"] == "meaningful increase"
    none = get.loc[(f"slight[{LEVER}=5]", "scenario", "p_resistance_holds_capital")]
    assert none["difference_pp"] == 0 and none["verdict"] == "inconclusive", "0 of 40 in both rules out little"
    text = headline.summary(table, [f"lone[{LEVER}=50]"])
    assert "40 paired runs" in text and "pp" in text and "lone" in text and "not run at their sweep point" in text


def test_newcombe_interval_for_a_difference_of_proportions():
    # Newcombe (1998), Statistics in Medicine 17: 873-890, table II, example (a): 56/70 - 48/80
    d, lo, hi = headline.proportion_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)
    assert wilson(0, 30)[0] == 0.0


@pytest.mark.parametrize(("lo", "hi", "words"), [
    (0.02, 0.03, "meaningful increase"), (-0.03, -0.02, "meaningful decrease"), (-0.005, 0.005, "negligible"),
    (0.002, 0.004, "negligible (detectable)"), (0.005, 0.02, "increase, size uncertain"),
    (-0.02, -0.005, "decrease, size uncertain"), (-0.02, 0.02, "inconclusive"), (np.nan, 0.1, "not measurable"),
])
def test_verdicts(lo, hi, words):
    assert headline.verdict(lo, hi, 0.01) == words
