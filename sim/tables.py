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


@dataclasses.dataclass
class _Columns:
    """A table's columns as arrays, before they become a frame or Arrow: name -> array or _Cat."""

    values: dict[str, Any]
    dtypes: dict[str, str]

    @property
    def rows(self) -> int:
        """Number of rows."""
        first = next(iter(self.values.values()), None)
        return 0 if first is None else len(first.codes if isinstance(first, _Cat) else first)


def _assemble(parts: list[dict[str, Any]], columns: dict[str, str]) -> _Columns:
    """Concatenate per-run columns; categorical columns stay integer codes into one list of names.

    Args:
        parts: one dict of column arrays (or _Cat) per run.
        columns: column name -> dtype.
    """
    out: dict[str, Any] = {}
    for col, dtype in columns.items():
        vals = [p[col] for p in parts]
        if dtype == "category":
            first = list(vals[0].categories) if vals else []
            if all(list(v.categories) == first for v in vals):  # the runs of a chunk share their names
                cats = first
                codes = np.concatenate([v.codes for v in vals]).astype(np.int32, copy=False) if vals \
                    else np.zeros(0, np.int32)
            else:
                cats = list(dict.fromkeys(c for v in vals for c in v.categories))
                index = {c: i for i, c in enumerate(cats)}
                codes = np.concatenate([np.array([index[c] for c in v.categories], dtype=np.int32)[v.codes]
                                        for v in vals])
            out[col] = _Cat(codes, cats)
        elif dtype == "string":
            out[col] = np.concatenate(vals) if vals else np.zeros(0, dtype=object)
        else:
            out[col] = np.concatenate(vals).astype(dtype, copy=False) if vals else np.zeros(0, dtype=dtype)
    return _Columns(out, dict(columns))


def _frame(c: _Columns, rows: int | None = None) -> pd.DataFrame:
    """The columns as a pandas frame (the first ``rows`` rows only, if given)."""
    out: dict[str, Any] = {}
    for col, v in c.values.items():
        if isinstance(v, _Cat):
            # the codes are in range by construction: pandas need not check them again
            out[col] = pd.Categorical.from_codes(v.codes[:rows], categories=v.categories, validate=False)
        elif c.dtypes[col] == "string":
            out[col] = pd.array(v[:rows], dtype="string")
        else:
            out[col] = v[:rows]
    return pd.DataFrame(out, copy=False)  # the columns are fresh arrays: no copy needed


_SCHEMAS: dict[tuple, Any] = {}  # the Arrow schema of each table's columns and names, per process


def _arrow(c: _Columns) -> Any:
    """The columns as an Arrow table, with the schema pandas would give the frame.

    The same table as ``pa.Table.from_pandas(_frame(c))`` (pandas' metadata included, so
    pandas reads it back the same), built from the arrays without the frame: the round
    trip through pandas cost a third of a chunk's encoding.
    """
    import pyarrow as pa

    key = tuple((name, c.dtypes[name], tuple(v.categories) if isinstance(v, _Cat) else None)
                for name, v in c.values.items())
    schema = _SCHEMAS.get(key)
    if schema is None:  # once per table and set of names in a process: pandas' schema costs 1 ms
        # a one-row frame gives pandas' schema (an empty one would type a column of text as null)
        schema = pa.Schema.from_pandas(_frame(c, rows=min(c.rows, 1)), preserve_index=False)
        if c.rows:  # an empty table's schema is not the one its rows would have
            if len(_SCHEMAS) > 256:
                _SCHEMAS.clear()
            _SCHEMAS[key] = schema
    arrays = []
    for field in schema:
        v = c.values[field.name]
        if isinstance(v, _Cat):
            indices = pa.array(v.codes, type=field.type.index_type)
            arrays.append(pa.DictionaryArray.from_arrays(indices, pa.array(v.categories, type=field.type.value_type)))
        else:
            arrays.append(pa.array(v, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


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


def _trajectories(results: Sequence[RunResult]) -> _Columns:
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


def _provinces(results: Sequence[RunResult]) -> _Columns:
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


def _flows(results: Sequence[RunResult]) -> _Columns:
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


def _donors(results: Sequence[RunResult]) -> _Columns:
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
            "recognition_stage": r.recognition_stage.ravel(),
        })
    return _assemble(parts, {**_RUN, "donor": "category", "stance": "float64", "threat": "float64",
                             "recognises": "bool", "recognition_stage": "int8"})


def _government(results: Sequence[RunResult]) -> _Columns:
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


def _capitals(results: Sequence[RunResult]) -> _Columns:
    """Long table run x step x province: the faction holding the province's capital."""
    parts = []
    for r in results:
        T1, P = r.holder.shape
        t, p = _grid(T1, P)
        parts.append({**_run_columns(r, t), "province": _Cat(p, r.provinces),
                      "holder": _Cat(r.holder.ravel(), r.factions)})
    return _assemble(parts, {**_RUN, "province": "category", "holder": "category"})


def _attacks(results: Sequence[RunResult]) -> _Columns:
    """Attacks (non-zero counts only): on the government's forces by province, and abroad on states."""
    parts = []
    for r in results:
        P = len(r.provinces)
        t, i, f = np.nonzero(r.raids)
        n = r.raids[t, i, f]
        ta, fa, q = np.nonzero(r.attacks)
        parts.append({
            **_run_columns(r, np.concatenate([t, ta])),
            "group": _Cat(np.concatenate([f, fa]), r.factions),
            "province": _Cat(np.concatenate([i, np.full(ta.size, P)]), [*r.provinces, "abroad"]),
            "target": _Cat(np.concatenate([np.zeros(t.size, np.int64), 1 + q]), [r.factions[r.gov], *r.donors]),
            "count": np.concatenate([n, np.ones(ta.size, np.int32)]),
        })
    return _assemble(parts, {**_RUN, "group": "category", "province": "category", "target": "category",
                             "count": "int32"})


def _events(results: Sequence[RunResult]) -> _Columns:
    """The event log of every run."""
    parts = []
    for r in results:
        if r.events:
            t = np.array([s for s, _ in r.events])
            parts.append({**_run_columns(r, t), "text": np.array([x for _, x in r.events], dtype=object)})
    return _assemble(parts, {**_RUN, "text": "string"})


def trajectories_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x faction."""
    return _frame(_trajectories(results))


def provinces_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x province x faction, for factions that ever hold ground in the run."""
    return _frame(_provinces(results))


def flows_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table of the ledger: non-zero flows only, ordered by run, step, kind, source, target."""
    return _frame(_flows(results))


def donors_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x donor."""
    return _frame(_donors(results))


def government_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Table run x step: the government's cohesion and international legitimacy."""
    return _frame(_government(results))


def capitals_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x province: the holder of each province's capital."""
    return _frame(_capitals(results))


def attacks_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Attacks (non-zero counts only): on the government's forces by province, and abroad on states."""
    return _frame(_attacks(results))


def events_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """The event log of every run."""
    return _frame(_events(results))


def _parquet_bytes(c: _Columns) -> bytes:
    """A table's columns as zstd-compressed Parquet bytes, written on one thread.

    Dictionary encoding is used for the categorical columns only: tried on float columns
    it almost never pays and cost most of the write time (provinces: 27 -> 16 ms for ten
    runs, files 30% smaller). Statistics are kept for the columns that select parts. One
    thread: Arrow's pool would compete with the other worker processes of a batch, and these
    tables are too small to gain.
    """
    import io

    import pyarrow.parquet as pq

    table = _arrow(c)
    categorical = [name for name, dtype in c.dtypes.items() if dtype == "category"]
    # statistics only where they let a reader skip a whole part (a part is one chunk of one
    # scenario point): every part holds every step, actor and province, so their minima and
    # maxima never skip one, and writing them cost a fifth of the encoding
    keyed = [name for name in ("scenario", "point", "replication") if name in c.values]
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=categorical or False, write_statistics=keyed)
    return buf.getvalue()


def chunk_tables(results: Sequence[RunResult], point: int, columns: dict[str, Any],
                 draws: Sequence[dict[str, Any]] = ()) -> dict[str, bytes]:
    """A chunk's tables as Parquet bytes (built in the worker).

    Args:
        results: the chunk's runs.
        point: their sweep point.
        columns: swept path -> value, already cast to the column's one type for the whole
            batch (:attr:`sim.plan.Point.columns`); each becomes a trajectories column.
        draws: per run, what it drew from a posterior (``particle`` and each path's value,
            see :func:`sim.plan.run_spec`); each becomes a trajectories column (int32 particle,
            float64 values). Empty: nothing drawn.
    """
    results = [dataclasses.replace(r, point=point) for r in results]
    traj = _trajectories(results)
    for path, v in columns.items():  # one value per chunk, of the type the plan gave its column
        traj.values[path] = np.full(traj.rows, v, dtype=object if isinstance(v, str) else None)
        traj.dtypes[path] = "object" if isinstance(v, str) else str(traj.values[path].dtype)
    if draws and draws[0]:
        rows = [r.strength.size for r in results]  # a run's rows: steps x factions
        for name in draws[0]:
            dtype = "int32" if name == "particle" else "float64"
            traj.values[name] = np.repeat(np.array([d[name] for d in draws], dtype=dtype), rows)
            traj.dtypes[name] = dtype
    tables = {
        "trajectories": traj,
        "provinces": _provinces(results),
        "flows": _flows(results),
        "donors": _donors(results),
        "government": _government(results),
        "capitals": _capitals(results),
        "attacks": _attacks(results),
        "events": _events(results),
    }
    return {k: _parquet_bytes(v) for k, v in tables.items()}
