"""Posterior ensembles: each run's parameters drawn from a calibration's posterior.

A posterior folder (``run.py calibrate``'s output, or a shipped one under ``posteriors/``)
holds ``posterior.parquet``: one row per particle, a column per calibrated scenario path
(``parameters.surrender_rate``...) and the particle's ``weight``. Replication ``i`` of a
batch with base seed ``S`` runs with the particle :func:`sim.random.particle_draw` picks from
``S`` and ``i`` alone (the weights' distribution, with replacement), so

* replication ``i`` draws the same parameters in every scenario and sweep point of the batch
  (comparisons stay paired in parameters as in random numbers);
* a batch with the same posterior and seed replays to the bit, whatever its executor;
* the draw does not depend on the number of replications asked for.

Each run's particle and parameter values are recorded as columns of ``trajectories``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.random import particle_draw
from sim.scenario import ScenarioError

FILE = "posterior.parquet"
#: Columns of a posterior that are not parameters (the calibration's bookkeeping).
BOOKKEEPING = frozenset({"generation", "particle", "weight", "distance", "epsilon", "simulated", "seconds"})
PARTICLE = "particle"  # the trajectories column with each run's particle (its row in posterior.parquet)


class PosteriorError(ScenarioError):
    """A posterior folder that cannot be used (one line naming the file and the field)."""


@dataclass(frozen=True)
class Posterior:
    """The weighted particles of a posterior, as plain values (cheap to send to workers).

    Attributes:
        name: the folder's name, for labels.
        digest: SHA-256 of ``posterior.parquet``: part of the batch's plan.
        paths: the scenario paths the particles set.
        values: one tuple of values (in ``paths`` order) per particle.
        weights: the particles' normalised weights.
    """

    name: str
    digest: str
    paths: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    weights: tuple[float, ...]

    def particle(self, base_seed: int, replication: int) -> int:
        """The particle replication ``replication`` of a batch seeded ``base_seed`` runs with."""
        return particle_draw(base_seed, replication, np.cumsum(self.weights))

    def overrides(self, particle: int) -> dict[str, float]:
        """Scenario path -> value of one particle."""
        return dict(zip(self.paths, self.values[particle], strict=True))

    def effective_size(self) -> float:
        """Kish's effective sample size of the weights."""
        w = np.asarray(self.weights)
        return float(w.sum() ** 2 / (w**2).sum())

    def describe(self, folder: str | Path) -> dict[str, Any]:
        """The posterior as the manifest records it."""
        return {"folder": str(folder), "file": FILE, "sha256": self.digest, "paths": list(self.paths),
                "particles": len(self.values), "effective_sample_size": round(self.effective_size(), 1),
                "draw": "replication i runs with particle_draw(base_seed, i, weights) in every scenario and point"}


def load_posterior(folder: str | Path) -> Posterior:
    """Read a posterior folder (or its ``posterior.parquet`` given directly), checking every value.

    Raises:
        PosteriorError: no folder or file, an unreadable file, no parameter or weight column, a
            value that is not a finite number, a negative weight or weights that sum to zero.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    if folder.is_file() and folder.suffix == ".parquet":  # the file itself, given for its folder
        folder, file = folder.parent, folder
    else:
        file = folder / FILE
    if not folder.is_dir():
        raise PosteriorError(f"--posterior {folder}: no such folder (give the --out folder of run.py calibrate, "
                             f"or one under posteriors/)")
    if not file.is_file():
        raise PosteriorError(f"--posterior {folder}: holds no {FILE} (give the --out folder of run.py calibrate)")
    raw = file.read_bytes()
    try:
        # the file reader on one thread, not read_table's dataset scanner: a command that a bad file
        # ends at once aborted at exit half the time here, its scanner's threads still alive
        # (pyarrow 24; apache/arrow issue 34314); this reader starts none
        table = pq.ParquetFile(pa.BufferReader(raw)).read(use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise PosteriorError(f"{file}: not a readable Parquet file ({exc})") from None
    names = [c for c in table.column_names if c not in BOOKKEEPING]
    if "weight" not in table.column_names:
        raise PosteriorError(f"{file}: weight: missing (a posterior has one weight per particle)")
    if not names:
        raise PosteriorError(f"{file}: no parameter column (expected scenario paths such as parameters.<name>)")
    if table.num_rows == 0:
        raise PosteriorError(f"{file}: no particle")
    columns = {c: _numbers(table, c, file) for c in [*names, "weight"]}
    w = columns.pop("weight")
    if (w < 0).any() or w.sum() <= 0:
        raise PosteriorError(f"{file}: weight: expected non-negative weights with a positive sum")
    values = tuple(tuple(float(columns[c][i]) for c in names) for i in range(table.num_rows))
    return Posterior(folder.name, hashlib.sha256(raw).hexdigest(), tuple(names), values,
                     tuple(float(x) for x in w / w.sum()))


def _numbers(table: Any, column: str, file: Path) -> np.ndarray:
    """A column as finite floats, else refused naming it."""
    import pyarrow as pa

    col = table.column(column)
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)) or col.null_count:
        raise PosteriorError(f"{file}: {column}: expected numbers in every row, found {col.type}"
                             + (" with missing values" if col.null_count else ""))
    x = col.to_numpy().astype(float)
    if not all(math.isfinite(v) for v in x):
        raise PosteriorError(f"{file}: {column}: expected finite numbers, found {x[~np.isfinite(x)][0]}")
    return x
