"""The answer a comparison leads with: matched contrasts, their effects with intervals, verdicts.

A *contrast* sets one group against a reference group that differs from it in one thing
only, so its effect is that thing's:

* a **scenario contrast** sets a scenario's group against the baseline scenario's group at
  the same sweep point (the same value of every lever swept in both); a group the baseline
  was not run at is not compared (a comparison across points would mix two levers);
* a **lever contrast** sets a group against the group of the same scenario at the lever's
  lowest swept value, the other levers equal.

Runs are *paired* only when the recorded seeds say so: replication i of both groups ran
with the same seed (common random numbers). Paired differences then remove the noise the
two runs share; otherwise the groups are compared as independent samples, and the table
says so.

Each contrast is measured on the resistance's and the government's share of the country
(differences in percentage points of the country, with percentile bootstrap 95% intervals
from ``scipy.stats.bootstrap``, paired or not) and on the probabilities that the resistance
holds at least one provincial capital and that the government splits (differences in
percentage points of probability, with Newcombe's hybrid score interval built on Wilson
intervals; it ignores pairing, so it is conservative for paired runs). A verdict reads
the interval against a minimum meaningful effect the user declares (defaults
:data:`MIN_TERRITORY`, :data:`MIN_PROBABILITY`):

* *meaningful increase / decrease*: the whole interval lies beyond the minimum;
* *negligible*: the whole interval lies within plus or minus the minimum;
* *increase / decrease, size uncertain*: the interval excludes zero but reaches past the minimum;
* *inconclusive*: the interval holds zero and reaches past the minimum (more runs needed).

What the intervals cover (run-to-run randomness, and parameter uncertainty for posterior ensembles)
is said by :func:`sim.provenance.coverage`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

from sim.outcomes import GOVERNMENT_TERRITORY, RESISTANCE_PROVINCES, RESISTANCE_TERRITORY, SPLIT
from sim.statistics import BOOTSTRAP, BOOTSTRAP_SEED, wilson

MIN_TERRITORY = 0.01  # 1 percentage point of the country: the smallest change an analyst would report
MIN_PROBABILITY = 0.05  # 5 percentage points of probability: one run in twenty

@dataclass(frozen=True)
class Measured:
    """One quantity a contrast is measured on.

    Attributes:
        name: its column in the headline table.
        words: how the summary names it.
        column: the outcome column it reads.
        binary: a probability (the share of runs where the column is at least 1) instead of a mean.
    """

    name: str
    words: str
    column: str
    binary: bool


MEASURED = (
    Measured("resistance_territory", "the resistance's share of the country", RESISTANCE_TERRITORY.name, False),
    Measured("government_territory", "the government's share of the country", GOVERNMENT_TERRITORY.name, False),
    Measured("p_resistance_holds_capital", "P(the resistance holds at least one provincial capital)",
             RESISTANCE_PROVINCES.name, True),
    Measured("p_government_splits", "P(the government splits)", SPLIT.name, True),
)


@dataclass(frozen=True)
class Contrast:
    """A group set against a reference group that differs from it in one thing.

    Attributes:
        group: the group.
        reference: the group it is compared with.
        kind: "scenario" or "lever <path>".
        paired: whether the recorded seeds pair their replications.
    """

    group: str
    reference: str
    kind: str
    paired: bool


def _points(out: pd.DataFrame, swept: Sequence[str]) -> dict[str, tuple[str, dict]]:
    """Each group's scenario and swept values."""
    first = out.drop_duplicates("group")
    return {g: (s, {p: first.loc[i, p] for p in swept if p in first.columns and pd.notna(first.loc[i, p])})
            for i, g, s in zip(first.index, first["group"], first["scenario"], strict=True)}


def paired(out: pd.DataFrame, a: str, b: str) -> bool:
    """Whether every replication the two groups share ran with the same seed in both (and they share some)."""
    sa = out[out["group"] == a].groupby("replication")["seed"].first()
    sb = out[out["group"] == b].groupby("replication")["seed"].first()
    common = sa.index.intersection(sb.index)
    return len(common) > 1 and len(common) == len(sa) == len(sb) and bool((sa[common] == sb[common]).all())


def contrasts(out: pd.DataFrame, base_scenario: str, swept: Sequence[str]) -> tuple[list[Contrast], list[str]]:
    """The matched contrasts of the groups in ``out`` (module docstring), and the groups left unmatched.

    Args:
        out: outcome rows (:func:`sim.analysis.outcomes`) with the swept columns.
        base_scenario: the scenario the others are set against.
        swept: the swept paths.
    """
    points = _points(out, swept)
    base = {tuple(sorted(v.items())): g for g, (s, v) in points.items() if s == base_scenario}
    found, unmatched = [], []
    for g, (s, v) in points.items():
        if s == base_scenario:
            continue
        ref = base.get(tuple(sorted(v.items())))
        if ref is None:
            unmatched.append(g)
        else:
            found.append(Contrast(g, ref, "scenario", paired(out, g, ref)))
    for path in swept:
        found += _lever_contrasts(out, points, path)
    return found, unmatched


def _lever_contrasts(out: pd.DataFrame, points: dict[str, tuple[str, dict]], path: str) -> list[Contrast]:
    """Each group against the same scenario at the lever's lowest swept value, the other levers equal."""
    found = []
    for g, (s, v) in points.items():
        if path not in v:
            continue
        rest = {k: x for k, x in v.items() if k != path}
        same = [(h, w[path]) for h, (t, w) in points.items()
                if t == s and path in w and {k: x for k, x in w.items() if k != path} == rest]
        low, value = min(same, key=lambda hw: hw[1]), v[path]
        if value != low[1]:
            found.append(Contrast(g, low[0], f"lever {path}", paired(out, g, low[0])))
    return found


def difference(x: np.ndarray, y: np.ndarray, pair: bool) -> tuple[float, float, float]:
    """Mean difference ``x - y`` and its percentile bootstrap 95% interval (paired or independent)."""
    if x.size < 2 or y.size < 2:
        return (float(x.mean() - y.mean()) if x.size and y.size else math.nan, math.nan, math.nan)
    d = float(x.mean() - y.mean())
    if np.ptp(np.concatenate([x, y])) == 0.0:
        return (d, d, d)  # every run the same value: nothing to resample
    r = st.bootstrap((x, y), lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis), paired=pair,
                     vectorized=True, method="percentile", n_resamples=BOOTSTRAP,
                     rng=np.random.default_rng(BOOTSTRAP_SEED))
    return (d, float(r.confidence_interval.low), float(r.confidence_interval.high))


def proportion_difference(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """``k1/n1 - k2/n2`` with Newcombe's hybrid score 95% interval (Newcombe 1998, method 10)."""
    if not n1 or not n2:
        return (math.nan, math.nan, math.nan)
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p1 - p2
    return (d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2))


def verdict(lo: float, hi: float, minimum: float) -> str:
    """The interval ``[lo, hi]`` read against a minimum meaningful effect (module docstring)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not measurable"
    if lo > minimum:
        return "meaningful increase"
    if hi < -minimum:
        return "meaningful decrease"
    if -minimum < lo and hi < minimum:
        return "negligible (detectable)" if lo > 0 or hi < 0 else "negligible"
    if lo > 0:
        return "increase, size uncertain"
    if hi < 0:
        return "decrease, size uncertain"
    return "inconclusive"


def measure(at: pd.DataFrame, c: Contrast, q: Measured, minimum: float) -> dict:
    """One row of the headline table: a contrast on one quantity at one month (``at``: that month's rows)."""
    a = at[at["group"] == c.group].set_index("replication")[q.column].astype(float)
    b = at[at["group"] == c.reference].set_index("replication")[q.column].astype(float)
    if c.paired:
        common = a.index.intersection(b.index)
        a, b = a[common], b[common]
    x, y = a.to_numpy(), b.to_numpy()
    if q.binary:
        x, y = (x >= 1).astype(float), (y >= 1).astype(float)
        d, lo, hi = proportion_difference(int(x.sum()), x.size, int(y.sum()), y.size)
        interval = "Newcombe (Wilson), unpaired"
    else:
        d, lo, hi = difference(x, y, c.paired)
        interval = f"bootstrap, {'paired' if c.paired else 'unpaired'}"
    return {"group": c.group, "reference": c.reference, "contrast": c.kind, "paired": c.paired,
            "runs": x.size, "reference_runs": y.size, "quantity": q.name,
            "group_value": float(x.mean()) if x.size else math.nan,
            "reference_value": float(y.mean()) if y.size else math.nan,
            "difference_pp": 100 * d, "ci_low_pp": 100 * lo, "ci_high_pp": 100 * hi,
            "minimum_pp": 100 * minimum, "verdict": verdict(lo, hi, minimum), "interval": interval}


def headline(at: pd.DataFrame, found: Sequence[Contrast], min_territory: float = MIN_TERRITORY,
             min_probability: float = MIN_PROBABILITY) -> pd.DataFrame:
    """The headline table: every contrast on every quantity at every month of ``at`` (``analysis.at_months``)."""
    rows = []
    for m, d in at.groupby("at_month", sort=True):
        for c in found:
            for q in MEASURED:
                r = measure(d, c, q, min_probability if q.binary else min_territory)
                rows.append({"month": m, **r})
    return pd.DataFrame(rows)


def _pp(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:+.2f}"


def _effect(r: pd.Series, of: str) -> str:
    """'0.42% of the country against 0.36% (+0.06 pp, 95% CI +0.04 to +0.08; negligible)'."""
    return (f"{100 * r['group_value']:.3g}% {of} against {100 * r['reference_value']:.3g}% "
            f"({_pp(r['difference_pp'])} pp, 95% CI {_pp(r['ci_low_pp'])} to {_pp(r['ci_high_pp'])}; {r['verdict']})")


def sentence(rows: pd.DataFrame) -> str:
    """One contrast at one month in words (``rows``: its headline rows).

    The government's share mirrors the resistance's and is left to the table; the split is
    named only where it happens.
    """
    r0 = rows.iloc[0]
    what = "the baseline" if r0["contrast"] == "scenario" else f"its lowest `{r0['contrast'][6:]}`"
    pairing = f"{r0['runs']} paired runs" if r0["paired"] else f"{r0['runs']} and {r0['reference_runs']} unpaired runs"
    by = {q: rows[rows["quantity"] == q].iloc[0] for q in rows["quantity"]}
    parts = [f"the resistance holds {_effect(by['resistance_territory'], 'of the country')}",
             f"it holds at least one provincial capital in {_effect(by['p_resistance_holds_capital'], 'of runs')}"]
    split = by.get("p_government_splits")
    if split is not None and (split["group_value"] > 0 or split["reference_value"] > 0):
        parts.append(f"the government splits in {_effect(split, 'of runs')}")
    return (f"**{r0['group']}** against {what}, {r0['reference']} ({pairing}): at month {r0['month']:g} "
            + "; ".join(parts) + ".")


def summary(table: pd.DataFrame, unmatched: Sequence[str], min_territory: float = MIN_TERRITORY,
            min_probability: float = MIN_PROBABILITY) -> str:
    """The paragraph that opens the report: each contrast at the last compared month, in words."""
    if not len(table):
        text = "There is nothing to compare: every group is the baseline scenario's, with no lever swept."
    else:
        last = table[table["month"] == table["month"].max()]
        text = " ".join(sentence(d) for _, d in last.groupby(["group", "contrast"], sort=False))
        n_meaningful = int(last["verdict"].str.startswith("meaningful").sum())
        text = (f"Of {len(last)} effects at month {last['month'].iloc[0]:g}, {n_meaningful} are meaningful "
                f"(the whole 95% interval beyond {100 * min_territory:g} pp of the country for territory, "
                f"{100 * min_probability:g} pp for probabilities). " + text)
    if unmatched:
        text += (" Not compared, because the baseline was not run at their sweep point: "
                 + ", ".join(unmatched) + "; run the baseline with the same sweep to compare them.")
    return text
