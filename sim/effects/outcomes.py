"""The outcomes an effect is measured on: one number per replication and step, from one results folder.

The outcomes of the comparison report (:data:`sim.outcomes.OUTCOMES`: the resistance's and the
government's territory, provinces, strength) come from :func:`sim.analysis.load_outcomes`; the
others read the folder's government, trajectories, flows, donors and capitals tables. Which
factions count as the resistance or the government is said once, by :func:`sim.outcomes.side`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import Results, load_outcomes
from sim.outcomes import OUTCOMES as REPORT_OUTCOMES
from sim.outcomes import side

KEYS = ["replication", "step", "month"]


@dataclass(frozen=True)
class OutcomeInfo:
    """An outcome of the effects vocabulary.

    Attributes:
        unit: ``share``, ``provinces``, ``fighters``, ``M USD``, ``capitals``, ``yes/no`` or ``value``.
        words: what it is, for the tables.
        donor: whether it needs ``donor`` (one donor's column).
        donors: whether it takes ``donors`` (a filter of the donors whose flows count).
    """

    unit: str
    words: str
    donor: bool = False
    donors: bool = False


OUTCOMES: dict[str, OutcomeInfo] = {
    **{o.name: OutcomeInfo(o.unit, o.label) for o in REPORT_OUTCOMES},
    "government_cohesion": OutcomeInfo("value", "the government's cohesion (government.cohesion)"),
    "government_legitimacy": OutcomeInfo("share", "the government's international legitimacy (government.legitimacy)"),
    "government_funds": OutcomeInfo("M USD", "the government side's cash in hand (trajectories.funds)"),
    "resistance_support": OutcomeInfo("M USD", "donors' money and arms to the resistance side, summed from the "
                                               "start to the month (flows)", donors=True),
    "donor_stance": OutcomeInfo("value", "a donor's stance toward the government (donors.stance)", donor=True),
    "donor_threat": OutcomeInfo("value", "a donor's threat perception (donors.threat)", donor=True),
    "government_capitals_lost": OutcomeInfo("capitals", "capitals the government side held at the start and no "
                                                        "longer holds (capitals.holder)"),
}


def _sides(res: Results) -> dict[str, str]:
    """Actor -> its side ('resistance', 'government' or '') in the folder's one scenario."""
    return {actor: side(kind) for (_, actor), kind in res.kinds.items()}


def _of_side(names: pd.Series, sides: dict[str, str], which: str) -> np.ndarray:
    return names.astype(str).map(lambda a: sides.get(a, "") == which).to_numpy(bool)


def _per_step(keys: pd.DataFrame, values: pd.DataFrame, column: str, fill: float = 0.0) -> pd.Series:
    """``values`` (replication, step, column) summed per replication and step, on every row of ``keys``."""
    summed = values.groupby(["replication", "step"], observed=True)[column].sum()
    idx = pd.MultiIndex.from_frame(keys[["replication", "step"]])
    return pd.Series(summed.reindex(idx, fill_value=fill).to_numpy(float), index=keys.index)


def _read(folder: Path, table: str, columns: Sequence[str]) -> pd.DataFrame:
    from sim.store import read_parts

    df = read_parts(folder, table, list(columns))
    return df.astype({"replication": int, "step": int}) if len(df) else df


def _support(folder: Path, keys: pd.DataFrame, sides: dict[str, str], donors: Sequence[str] | None) -> pd.Series:
    f = _read(folder, "flows", ["replication", "step", "source", "target", "kind", "amount"])
    keep = f["kind"].astype(str).isin(["money", "arms"]).to_numpy() & _of_side(f["target"], sides, "resistance")
    if donors is not None:
        keep &= f["source"].astype(str).isin(list(donors)).to_numpy()
    monthly = _per_step(keys, f[keep], "amount")
    order = keys.sort_values(["replication", "step"]).index
    return monthly.loc[order].groupby(keys.loc[order, "replication"]).cumsum().reindex(keys.index)


def _capitals_lost(folder: Path, keys: pd.DataFrame, sides: dict[str, str]) -> pd.Series:
    c = _read(folder, "capitals", ["replication", "step", "province", "holder"])
    c = c.assign(gov=_of_side(c["holder"], sides, "government"))
    first = c[c["step"] == c["step"].min()].set_index(["replication", "province"])["gov"]
    held_first = first.reindex(pd.MultiIndex.from_frame(c[["replication", "province"]])).to_numpy(bool)
    c = c.assign(lost=(held_first & ~c["gov"].to_numpy(bool)).astype(float))
    return _per_step(keys, c, "lost")


def values(folder: str | Path, outcome: str, donor: str | None = None,
           donors: Sequence[str] | None = None) -> pd.DataFrame:
    """One outcome of one results folder: a row per replication and step.

    Args:
        folder: a results folder of one scenario (one point).
        outcome: a name of :data:`OUTCOMES`.
        donor: the donor, for ``donor_stance`` and ``donor_threat``.
        donors: for ``resistance_support``, the donors whose money and arms count (default: all).

    Returns:
        Columns replication, step, month and ``value``.

    Raises:
        KeyError: an outcome that is not in :data:`OUTCOMES`.
    """
    folder = Path(folder)
    out, res = load_outcomes(folder)
    keys = out[KEYS].astype({"replication": int, "step": int}).reset_index(drop=True)
    sides = _sides(res)
    if outcome in {o.name for o in REPORT_OUTCOMES}:
        v = pd.Series(out[outcome].to_numpy(float), index=keys.index)
    elif outcome in ("government_cohesion", "government_legitimacy"):
        col = outcome.removeprefix("government_")
        v = _per_step(keys, _read(folder, "government", ["replication", "step", col]), col, np.nan)
    elif outcome == "government_funds":
        t = _read(folder, "trajectories", ["replication", "step", "actor", "funds"])
        v = _per_step(keys, t[_of_side(t["actor"], sides, "government")], "funds")
    elif outcome == "resistance_support":
        v = _support(folder, keys, sides, donors)
    elif outcome in ("donor_stance", "donor_threat"):
        col = outcome.removeprefix("donor_")
        d = _read(folder, "donors", ["replication", "step", "donor", col])
        v = _per_step(keys, d[d["donor"].astype(str) == donor], col, np.nan)
    elif outcome == "government_capitals_lost":
        v = _capitals_lost(folder, keys, sides)
    else:
        raise KeyError(f"no outcome {outcome!r}; outcomes are {sorted(OUTCOMES)}")
    return keys.assign(value=v.to_numpy(float))
