"""The pattern measures, computed from a results folder: one number per replication.

:class:`Results` holds, as arrays, what the measures read from one scenario's results
folder (trajectories, provinces, donors and, once the model records them, capitals);
:func:`measure` computes a pattern's measure (:mod:`sim.patterns.schema` defines the vocabulary).
Data flows one way: results folder -> :class:`Results` -> measure values -> scorecard.

Who holds a province: with ``stake: capital`` the holder of the province's capital, read
from a ``capitals`` table (replication, step, province, holder) when the results have
one; until the model records capitals, the holder of the province, as with ``stake:
province``: the actors hold it when their summed control share is at least
``held_threshold`` (the model's own rule for ``provinces_held``). Every measure says which
output it read (:attr:`Measured.reads`), and the scorecard prints it.

Values are floats: shares, counts, days, 1 or 0 for yes or no, and dates as days since
1970-01-01, with ``inf`` for an event that never happens within the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STAGE_COLUMN = "recognition_stage"  # donors column of staged recognition: 2 = an ambassador accepted, 3 = formal
AMBASSADOR_STAGE = 2


class NotMeasured(ValueError):
    """The results lack what a measure reads (a column the model does not record yet)."""


@dataclass(frozen=True)
class Measured:
    """A measure's values, one per replication, and the output they were read from."""

    values: np.ndarray
    reads: str


@dataclass(frozen=True)
class Results:
    """What the measures read from one scenario's results folder, as arrays.

    Attributes:
        dates: the date of each step, ``datetime64[D]`` (T).
        factions: faction names (A), the order of the last axis of ``control`` and ``shares``.
        provinces: province names (P).
        donors: donor names (D).
        control: control share, replication x step x province x faction (R, T, P, A).
        shares: ``area`` and ``population`` share of the country, (R, T, A).
        donor_columns: donors-table column -> (R, T, D) floats (``recognises`` as 1 or 0).
        area: province areas (P), to weight control.
        held_threshold: summed control at which the actors hold a province.
        capitals: the capital's holder as a faction index, (R, T, P), -1 for none; None
            when the results have no capitals table.
    """

    dates: np.ndarray
    factions: tuple[str, ...]
    provinces: tuple[str, ...]
    donors: tuple[str, ...]
    control: np.ndarray
    shares: dict[str, np.ndarray]
    donor_columns: dict[str, np.ndarray]
    area: np.ndarray
    held_threshold: float
    capitals: np.ndarray | None = None

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], area: dict[str, float],
                    held_threshold: float) -> Results:
        """Arrays from long tables shaped like the store's (see :mod:`sim.store`).

        Args:
            frames: ``trajectories`` (replication, step, date, actor, territory_share,
                population_share), ``provinces`` (replication, step, province, actor, control),
                ``donors`` (replication, step, donor and its columns) and, optionally,
                ``capitals`` (replication, step, province, holder).
            area: province -> area; its order is the order of the provinces.
            held_threshold: summed control at which the actors hold a province.
        """
        traj, prov, don = frames["trajectories"], frames["provinces"], frames["donors"]
        reps = np.unique(traj["replication"].to_numpy())
        steps = np.unique(traj["step"].to_numpy())
        factions = _names(traj["actor"])
        provinces = tuple(area)
        donors = _names(don["donor"])
        axes = {"replication": list(reps), "step": list(steps)}
        dates = traj.drop_duplicates("step").sort_values("step")["date"].to_numpy().astype("datetime64[D]")
        control = _cube(prov, {**axes, "province": provinces, "actor": factions}, "control")
        shares = {w: _cube(traj, {**axes, "actor": factions}, f"{c}_share")
                  for w, c in (("area", "territory"), ("population", "population"))}
        columns = [c for c in don.columns if c not in ("scenario", "point", "replication", "seed", "step", "date",
                                                       "donor") and pd.api.types.is_numeric_dtype(don[c])]
        donor_columns = {c: _cube(don, {**axes, "donor": donors}, c) for c in columns}
        capitals = None
        if frames.get("capitals") is not None:
            cap = frames["capitals"].assign(holder=lambda d: _codes(d["holder"], factions).astype(float))
            capitals = np.nan_to_num(_cube(cap, {**axes, "province": provinces}, "holder", fill=-1), nan=-1)
            capitals = capitals.astype(int)
        return cls(dates, factions, provinces, donors, control, shares, donor_columns,
                   np.array(list(area.values()), dtype=float), float(held_threshold), capitals)

    @classmethod
    def from_runs(cls, results: Sequence[Any], area: dict[str, float], held_threshold: float) -> Results:
        """The arrays from run results in memory (a worker's chunk), the same as from their stored tables."""
        from sim.tables import capitals_frame, donors_frame, provinces_frame, trajectories_frame

        frames = {"trajectories": trajectories_frame(results), "provinces": provinces_frame(results),
                  "donors": donors_frame(results), "capitals": capitals_frame(results)}
        return cls.from_frames(frames, area, held_threshold)

    @classmethod
    def from_folder(cls, folder: Path, area: dict[str, float], held_threshold: float,
                    point: int | None = None) -> Results:
        """Read a results folder's tables (every part, or one sweep point's) and build the arrays."""
        from sim.store import part_files, read_part, read_parts

        cols = {"trajectories": ["replication", "step", "date", "actor", "territory_share", "population_share"],
                "provinces": ["replication", "step", "province", "actor", "control"]}
        frames: dict[str, Any] = {t: read_parts(folder, t, c, point=point) for t, c in cols.items()}
        frames["donors"] = pd.concat([read_part(f) for f in part_files(folder, "donors", point=point)],
                                     ignore_index=True)
        if (folder / "capitals.parquet").is_dir():  # recorded once the model has capitals as stakes
            frames["capitals"] = read_parts(folder, "capitals", ["replication", "step", "province", "holder"],
                                            point=point)
        return cls.from_frames(frames, area, held_threshold)

    def index(self, actors: Sequence[str]) -> np.ndarray:
        """Faction indices of the named actors (an actor the results do not know holds nothing)."""
        return np.array([self.factions.index(a) for a in actors if a in self.factions], dtype=int)

    def step_at(self, date: Any) -> int:
        """The last step on or before a date (the state as of that date)."""
        return max(0, int(np.searchsorted(self.dates, np.datetime64(date, "D"), side="right")) - 1)

    def held(self, actors: Sequence[str], stake: str) -> np.ndarray:
        """Whether the actors hold each province (or its capital): (R, T, P) booleans."""
        idx = self.index(actors)
        if stake == "capital" and self.capitals is not None:
            return np.isin(self.capitals, idx)
        return self.control[..., idx].sum(axis=-1) >= self.held_threshold

    def holder_source(self, stake: str) -> str:
        """Which output :meth:`held` reads for this stake, in words for the scorecard."""
        rule = f"provinces.control summed over the actors >= held_threshold {self.held_threshold:g}"
        if stake == "province":
            return rule
        if self.capitals is not None:
            return "capitals.holder"
        return f"{rule} (the results have no capitals table: a capital is read as its province)"

    def day(self, t: np.ndarray) -> np.ndarray:
        """Dates of steps as days since 1970 (``inf`` where the step is -1: never)."""
        days = self.dates.astype("int64").astype(float)
        return np.where(t >= 0, days[np.maximum(t, 0)], math.inf)


def _names(col: pd.Series) -> tuple[str, ...]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return tuple(str(c) for c in col.cat.categories)
    return tuple(dict.fromkeys(str(c) for c in col))


def _codes(col: pd.Series, names: Sequence[str]) -> np.ndarray:
    """Positions of a column's names in ``names`` (-1 where absent or missing).

    A categorical column (as the store's tables are read) is mapped through its few
    categories instead of turning every row into a string: the same codes, far faster.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        where = {str(n): i for i, n in enumerate(names)}
        lookup = np.array([where.get(str(c), -1) for c in col.cat.categories] + [-1], dtype=int)
        return lookup[col.cat.codes.to_numpy()]  # a missing value's code -1 picks the final -1
    return pd.Categorical(col.astype(str), categories=list(names)).codes.astype(int)


def _cube(df: pd.DataFrame, axes: dict[str, Sequence[Any]], value: str, fill: float = 0.0) -> np.ndarray:
    """A long table's column as an array over the given axes (missing cells: ``fill``)."""
    out = np.full(tuple(len(v) for v in axes.values()), fill, dtype=float)
    idx = [_codes(df[k], [str(x) for x in v]) if not np.issubdtype(np.asarray(v).dtype, np.number)
           else np.searchsorted(np.asarray(v), df[k].to_numpy()) for k, v in axes.items()]
    keep = np.all([i >= 0 for i in idx], axis=0)
    out[tuple(i[keep] for i in idx)] = df[value].to_numpy(dtype=float)[keep]
    return out


def first_true(x: np.ndarray) -> np.ndarray:
    """The first index along the last axis where ``x`` is true, -1 where it never is."""
    return np.where(x.any(axis=-1), x.argmax(axis=-1), -1)


def _passed(res: Results, m: Any) -> np.ndarray:
    """(R, T, P): held by the actors at a step, but not at the start (and held by ``from`` then, if given)."""
    held = res.held(m.actors, m.stake)
    eligible = ~held[:, 0, :]
    if m.previous:
        eligible &= res.held(m.previous, m.stake)[:, 0, :]
    return held & eligible[:, None, :]


def _by(res: Results, m: Any) -> int:
    return res.step_at(m.by) if m.by is not None else len(res.dates) - 1


def _share_at(res: Results, m: Any) -> np.ndarray:
    return res.shares[m.weight][:, res.step_at(m.date)][..., res.index(m.actors)].sum(axis=-1)


def _share_within(res: Results, m: Any) -> np.ndarray:
    c = res.control[:, res.step_at(m.date)][..., res.index(m.actors)].sum(axis=-1) * res.area
    inside = c[:, [res.provinces.index(p) for p in m.provinces]].sum(axis=1)
    total = c.sum(axis=1)
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)  # holding nothing: none inside


def _held_count_at(res: Results, m: Any) -> np.ndarray:
    return res.held(m.actors, m.stake)[:, res.step_at(m.date)].sum(axis=1).astype(float)


def _present_count(res: Results, m: Any) -> np.ndarray:
    c = res.control[:, res.step_at(m.date)][..., res.index(m.actors)].sum(axis=-1)
    return (c >= m.min_control).sum(axis=1).astype(float)


def _ever_held(res: Results, m: Any) -> np.ndarray:
    held = res.held(m.actors, m.stake)[:, : _by(res, m) + 1, res.provinces.index(m.province)]
    return held.any(axis=1).astype(float)


def _captured_count(res: Results, m: Any) -> np.ndarray:
    return _passed(res, m)[:, : _by(res, m) + 1].any(axis=1).sum(axis=1).astype(float)


def _capture_date(res: Results, m: Any) -> np.ndarray:
    p = _passed(res, m)
    x = p[..., res.provinces.index(m.province)] if m.province is not None else p.any(axis=2)
    return res.day(first_true(x))


def _cascade_days(res: Results, m: Any) -> np.ndarray:
    t0 = first_true(_passed(res, m).any(axis=2))
    count = res.held(m.actors, m.stake).sum(axis=2)
    later = np.arange(len(res.dates))[None, :] >= t0[:, None]
    t1 = np.where(t0 >= 0, first_true((count >= m.count) & later), -1)
    return np.where(t1 >= 0, res.day(t1) - res.day(np.maximum(t0, 0)), math.inf)  # never: no capture or no count


def _column(res: Results, name: str) -> np.ndarray:
    if name not in res.donor_columns:
        raise NotMeasured(f"the results have no donors.{name} column")
    return res.donor_columns[name]


def _donor_value_at(res: Results, m: Any) -> np.ndarray:
    return _column(res, m.column)[:, res.step_at(m.date), res.donors.index(m.donor)]


def _donor_date(res: Results, m: Any) -> np.ndarray:
    v = _column(res, m.column)[..., res.donors.index(m.donor)]
    return res.day(first_true(v >= m.at_least if m.at_least is not None else v <= m.at_most))


def _stage_reached(res: Results, stage: str) -> np.ndarray:
    """(R, T, D): whether each donor has reached the stage of recognition."""
    if stage == "formal":
        return _column(res, "recognises") >= 1
    return _column(res, STAGE_COLUMN) >= AMBASSADOR_STAGE


def _recognition_date(res: Results, m: Any) -> np.ndarray:
    return res.day(first_true(np.moveaxis(_stage_reached(res, m.stage), 1, 2)[:, res.donors.index(m.donor)]))


def _first_to_recognise(res: Results, m: Any) -> np.ndarray:
    days = res.day(first_true(np.moveaxis(_stage_reached(res, m.stage), 1, 2)))  # (R, D)
    d = res.donors.index(m.donor)
    others = np.delete(days, d, axis=1).min(axis=1, initial=math.inf)
    return ((days[:, d] < others) & np.isfinite(days[:, d])).astype(float)


_READS = {"held_count_at", "ever_held", "captured_count", "capture_date", "cascade_days"}  # read the holder
_STAGES = {"recognition_date", "first_to_recognise"}
KERNELS: dict[str, Callable[[Results, Any], np.ndarray]] = {
    "share_at": _share_at, "share_within": _share_within, "held_count_at": _held_count_at,
    "present_count": _present_count, "ever_held": _ever_held, "captured_count": _captured_count,
    "capture_date": _capture_date, "cascade_days": _cascade_days, "donor_value_at": _donor_value_at,
    "donor_date": _donor_date, "recognition_date": _recognition_date, "first_to_recognise": _first_to_recognise,
}


def reads(res: Results, m: Any) -> str:
    """The output a measure reads, in words."""
    if m.kind in _READS:
        return res.holder_source(m.stake)
    if m.kind in _STAGES:
        return "donors.recognises" if m.stage == "formal" else f"donors.{STAGE_COLUMN} >= {AMBASSADOR_STAGE}"
    if m.kind == "share_at":
        return f"trajectories.{'territory' if m.weight == 'area' else 'population'}_share, summed over the actors"
    text = type(m).reads
    return text.replace("<column>", m.column) if hasattr(m, "column") else text


def measure(res: Results, m: Any) -> Measured:
    """One pattern measure over every replication of a results folder.

    Raises:
        NotMeasured: the results lack what the measure reads.
    """
    return Measured(np.asarray(KERNELS[m.kind](res, m), dtype=float), reads(res, m))
