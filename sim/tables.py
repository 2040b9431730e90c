"""Tables: a chunk's run results as long-form frames, and those frames as Parquet bytes.

One function per table (see :mod:`sim.store` for what each holds). Workers call
:func:`chunk_tables`; it builds the frames and encodes them, so only bytes travel or get
written. Columns are built from whole arrays (categorical columns from integer codes);
no Python loop runs per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.recorder import RunResult


class _Cat(NamedTuple):
    """A categorical column of one run: integer codes into that run's category names."""

    codes: np.ndarray
    categories: Sequence[str]


def _assemble(parts: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """Concatenate per-run columns into one frame; categorical columns are built from codes.

    Args:
        parts: one dict of column arrays (or _Cat) per run.
        columns: column name -> dtype, for an empty frame when there are no rows.
    """
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="category" if d == "category" else d) for c, d in columns.items()})
    out: dict[str, Any] = {}
    for col in columns:
        vals = [p[col] for p in parts]
        if isinstance(vals[0], _Cat):
            first = list(vals[0].categories)
            if all(list(v.categories) == first for v in vals):  # the runs of a chunk share their names
                cats, codes = first, np.concatenate([v.codes for v in vals]).astype(np.int32, copy=False)
            else:
                cats = list(dict.fromkeys(c for v in vals for c in v.categories))
                index = {c: i for i, c in enumerate(cats)}
                codes = np.concatenate([np.array([index[c] for c in v.categories], dtype=np.int32)[v.codes]
                                        for v in vals])
            # the codes are in range by construction: pandas need not check them again
            out[col] = pd.Categorical.from_codes(codes, categories=cats, validate=False)
        elif columns[col] == "string":
            out[col] = pd.array(np.concatenate(vals), dtype="string")
        else:
            out[col] = np.concatenate(vals).astype(columns[col], copy=False)
    return pd.DataFrame(out, copy=False)  # the columns are fresh arrays: no copy needed


def _run_columns(r: RunResult, t: np.ndarray) -> dict[str, Any]:
    n = t.size
    return {
        "scenario": _Cat(np.zeros(n, dtype=np.int32), [r.scenario]),
        "point": np.full(n, r.point, dtype=np.int32),
        "replication": np.full(n, r.replication, dtype=np.int32),
        "seed": np.full(n, r.seed, dtype=np.uint64),
        "step": t.astype(np.int32, copy=False),
        "date": r.dates.astype("datetime64[s]")[t],  # convert the run's dates once, then index
    }


_RUN = {"scenario": "category", "point": "int32", "replication": "int32", "seed": "uint64", "step": "int32",
        "date": "datetime64[s]"}


def _grid(steps: int, *sizes: int) -> list[np.ndarray]:
    """Index arrays of a C-ordered (steps, *sizes) grid, flattened."""
    return [g.ravel() for g in np.indices((steps, *sizes), dtype=np.int32)]


def trajectories_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x faction."""
    parts = []
    for r in results:
        T1, F = r.strength.shape
        t, f = _grid(T1, F)
        parts.append({
            **_run_columns(r, t),
            "actor": _Cat(f, r.factions),
            "territory_share": r.territory_share.ravel(),
            "population_share": r.population_share.ravel(),
            "provinces_held": r.provinces_held.ravel(),
            "strength": r.strength.ravel(),
            "funds": r.funds.ravel(),
            "materiel": r.materiel.ravel(),
            "in_front": r.in_front.ravel(),
        })
    return _assemble(parts, {**_RUN, "actor": "category", "territory_share": "float64",
                             "population_share": "float64", "provinces_held": "int32", "strength": "float64",
                             "funds": "float64", "materiel": "float64", "in_front": "bool"})


def provinces_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x province x faction, for factions that ever hold ground in the run."""
    parts = []
    for r in results:
        cols = np.flatnonzero(r.control.max(axis=(0, 1)) > 0)
        control = r.control[:, :, cols]
        T1, P, F = control.shape
        t, p, f = _grid(T1, P, F)
        parts.append({
            **_run_columns(r, t),
            "province": _Cat(p, r.provinces),
            "actor": _Cat(cols[f], r.factions),
            "control": control.ravel(),
            "sentiment": np.repeat(r.sentiment.ravel(), F),
            "population": np.repeat(r.population.ravel(), F),
        })
    return _assemble(parts, {**_RUN, "province": "category", "actor": "category", "control": "float64",
                             "sentiment": "float64", "population": "float64"})


def flows_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table of the ledger: non-zero flows only, ordered by run, step, kind, source, target."""
    kinds = ["money", "arms", "sanctuary", "strike", "trade", "pressure", "recognition", "attack"]
    parts = []
    for r in results:
        names = list(r.donors) + list(r.factions)
        D = len(r.donors)
        blocks = []
        for k, arr in (("money", r.money), ("arms", r.arms), ("sanctuary", r.sanctuary), ("strike", r.strikes)):
            t, s, f = np.nonzero(arr)
            blocks.append((k, t, s, D + f, arr[t, s, f]))
        for k, arr in (("trade", r.trade), ("pressure", r.pressure)):
            t, s = np.nonzero(arr)
            blocks.append((k, t, s, np.full(t.size, D + r.gov), arr[t, s]))
        t, s = np.nonzero(r.recognised[1:])
        blocks.append(("recognition", t + 1, s, np.full(t.size, D + r.gov), np.ones(t.size)))
        t, f, s = np.nonzero(r.attacks)
        blocks.append(("attack", t, D + f, s, r.attacks[t, f, s]))
        t = np.concatenate([b[1] for b in blocks])
        kind = np.concatenate([np.full(b[1].size, kinds.index(b[0])) for b in blocks])
        src = np.concatenate([b[2] for b in blocks])
        tgt = np.concatenate([b[3] for b in blocks])
        amount = np.concatenate([b[4] for b in blocks]).astype(float)
        order = np.lexsort((tgt, src, kind, t))
        t = t[order]
        parts.append({
            **_run_columns(r, t),
            "source": _Cat(src[order], names),
            "target": _Cat(tgt[order], names),
            "kind": _Cat(kind[order], kinds),
            "amount": amount[order],
        })
    return _assemble(parts, {**_RUN, "source": "category", "target": "category", "kind": "category",
                             "amount": "float64"})


def donors_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x donor."""
    parts = []
    for r in results:
        T1, D = r.threat.shape
        t, d = _grid(T1, D)
        parts.append({
            **_run_columns(r, t),
            "donor": _Cat(d, r.donors),
            "stance": r.stance.ravel(),
            "threat": r.threat.ravel(),
            "recognises": r.recognised.ravel(),
        })
    return _assemble(parts, {**_RUN, "donor": "category", "stance": "float64", "threat": "float64",
                             "recognises": "bool"})


def government_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Table run x step: the government's cohesion and international legitimacy."""
    parts = []
    for r in results:
        t = np.arange(r.cohesion.size)
        parts.append({
            **_run_columns(r, t),
            "government": _Cat(np.zeros(t.size, dtype=np.int32), [r.factions[r.gov]]),
            "cohesion": r.cohesion,
            "legitimacy": r.legitimacy,
        })
    return _assemble(parts, {**_RUN, "government": "category", "cohesion": "float64", "legitimacy": "float64"})


def events_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """The event log of every run."""
    parts = []
    for r in results:
        if r.events:
            t = np.array([s for s, _ in r.events])
            parts.append({**_run_columns(r, t), "text": np.array([x for _, x in r.events], dtype=object)})
    return _assemble(parts, {**_RUN, "text": "string"})


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    """A frame as zstd-compressed Parquet bytes, written on one thread.

    Dictionary encoding is used for the categorical columns only: tried on float columns
    it almost never pays and cost most of the write time (provinces: 27 -> 16 ms for ten
    runs, files 30% smaller). Statistics are kept for the columns that select parts. One
    thread: Arrow's pool would compete with the other worker processes of a batch, and these
    tables are too small to gain.
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    categorical = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    # statistics only where they let a reader skip a whole part (a part is one chunk of one
    # scenario point): every part holds every step, actor and province, so their minima and
    # maxima never skip one, and writing them cost a fifth of the encoding
    keyed = [c for c in ("scenario", "point", "replication") if c in df.columns]
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=categorical or False, write_statistics=keyed)
    return buf.getvalue()


def chunk_tables(results: Sequence[RunResult], point: int, columns: dict[str, Any]) -> dict[str, bytes]:
    """A chunk's tables as Parquet bytes (built in the worker).

    Args:
        results: the chunk's runs.
        point: their sweep point.
        columns: swept path -> value, already cast to the column's one type for the whole
            batch (:attr:`sim.plan.Point.columns`); each becomes a trajectories column.
    """
    results = [dataclasses.replace(r, point=point) for r in results]
    traj = trajectories_frame(results)
    for path, v in columns.items():
        traj[path] = v
    frames = {
        "trajectories": traj,
        "provinces": provinces_frame(results),
        "flows": flows_frame(results),
        "donors": donors_frame(results),
        "government": government_frame(results),
        "events": events_frame(results),
    }
    return {k: _parquet_bytes(v) for k, v in frames.items()}
