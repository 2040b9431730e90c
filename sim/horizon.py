"""The run's summary: each actor's territory at the horizon of one scenario point.

This is the table ``run.py run`` prints after a batch; it reads the results folder only, like
:mod:`sim.analysis`, and only the rows it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.outcomes import PROVINCES, TERRITORY
from sim.statistics import bands
from sim.store import read_parts

SUMMARY_REPLICATIONS = 50  # which actors ever hold ground is judged on at most this many replications


@dataclass(frozen=True)
class HorizonTable:
    """Each actor's territory share at the last step of one scenario point, across replications.

    Attributes:
        date: the last step's date (YYYY-MM-DD).
        step: the last step.
        replications: how many replications the rows summarise.
        rows: one row per actor that ever holds ground: actor, q05, median, q95 (territory
            share) and provinces_held (median).
    """

    date: str
    step: int
    replications: int
    rows: pd.DataFrame

    def text(self, labels: dict[str, str]) -> str:
        """The table as ``run.py run`` prints it, with actors named by ``labels`` (key -> label)."""
        head = f"{PROVINCES.label} (median)"
        lines = [f"{TERRITORY.label.capitalize()} on {self.date} (step {self.step}), over {self.replications} "
                 "replication(s):", f"  {'actor':<52} {'median':>7}   {'90% band':<18} {head:>23}"]
        for r in self.rows.itertuples(index=False):
            name, held = labels.get(r.actor, r.actor), getattr(r, PROVINCES.column)
            lines.append(f"  {name:<52} {r.median:>7.2%}   [{r.q05:.2%}, {r.q95:.2%}]{'':<2} {held:>20.1f}")
        return "\n".join(lines)


def horizon_table(folder: Path, scenario: str, point: int) -> HorizonTable:
    """The territory each actor holds at the horizon of one scenario point of a results folder.

    Reads only what the table needs, a part at a time (a batch may hold millions of rows): the
    first replications to find the horizon and the actors that ever hold ground, then the
    last step of every replication.
    """
    sel = {"scenario": scenario, "point": point}
    cols = ["step", "actor", TERRITORY.column]
    first = read_parts(folder, "trajectories", cols, [("replication", "<", SUMMARY_REPLICATIONS)], **sel,
                       below_replication=SUMMARY_REPLICATIONS)
    horizon = int(first["step"].max())
    ever = first.groupby("actor", observed=True)[TERRITORY.column].max()
    traj = read_parts(folder, "trajectories", ["actor", "date", "replication", TERRITORY.column, PROVINCES.column],
                      [("step", "==", horizon)], **sel)
    rows = []
    for actor, g in traj.groupby("actor", observed=True, sort=False):
        if ever.get(actor, 0.0) <= 0:
            continue
        q = bands(g[TERRITORY.column].to_numpy())
        rows.append({"actor": str(actor), "q05": q[0], "median": q[2], "q95": q[4],
                     PROVINCES.column: float(np.median(g[PROVINCES.column]))})
    return HorizonTable(str(traj["date"].iloc[0])[:10], horizon, int(traj["replication"].nunique()),
                        pd.DataFrame(rows, columns=["actor", "q05", "median", "q95", PROVINCES.column]))
