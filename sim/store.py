"""Store: run results to long-form Parquet tables, an event log and a manifest.

The store never runs models; analysis reads only what it writes, so results made
elsewhere (a cluster) can be analysed anywhere. Each table is a folder of Parquet parts
(``trajectories.parquet/part-<chunk>.parquet``), one per chunk of runs, read as one
table by pandas, polars, pyarrow or DuckDB (see :class:`ShardStore`). Files are first
written under a temporary name and then renamed, so an interrupted write never leaves
a truncated file under the final name. Amounts are per step.

Tables (one row per ...; every table also has scenario, point, replication, seed,
step and date):

* ``trajectories.parquet``: run x step x faction: territory_share, population_share,
  provinces_held, strength, funds, materiel, in_front.
* ``provinces.parquet``: run x step x province x territorial faction: control, with
  the province's sentiment and population.
* ``flows.parquet``: run x step x (source, target, kind): amount (non-zero only).
  Kinds and units: money, arms, trade (million USD); sanctuary, pressure (intensity
  in [0,1]); recognition (1 while recognised); strike (fighters killed); attack (1 per
  attack, weighted over the group's targets).
* ``donors.parquet``: run x step x donor: stance toward the government, threat,
  recognises.
* ``government.parquet``: run x step: cohesion, legitimacy.
* ``events.parquet`` and ``events.txt``: the event log in plain words.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.recorder import RunResult

TABLES = ("trajectories", "provinces", "flows", "donors", "government", "events")


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
            cats = list(dict.fromkeys(c for v in vals for c in v.categories))
            index = {c: i for i, c in enumerate(cats)}
            codes = np.concatenate([
                np.array([index[c] for c in v.categories], dtype=np.int32)[v.codes] for v in vals
            ]) if vals else np.zeros(0, np.int32)
            out[col] = pd.Categorical.from_codes(codes, categories=cats)
        elif columns[col] == "string":
            out[col] = pd.array(np.concatenate(vals), dtype="string")
        else:
            out[col] = np.concatenate(vals).astype(columns[col], copy=False)
    return pd.DataFrame(out)


def _run_columns(r: RunResult, t: np.ndarray) -> dict[str, Any]:
    n = t.size
    return {
        "scenario": _Cat(np.zeros(n, dtype=np.int32), [r.scenario]),
        "point": np.full(n, r.point, dtype=np.int32),
        "replication": np.full(n, r.replication, dtype=np.int32),
        "seed": np.full(n, r.seed, dtype=np.uint64),
        "step": t.astype(np.int32),
        "date": r.dates[t].astype("datetime64[s]"),
    }


_RUN = {"scenario": "category", "point": "int32", "replication": "int32", "seed": "uint64", "step": "int32",
        "date": "datetime64[s]"}


def _grid(steps: int, *sizes: int) -> list[np.ndarray]:
    """Index arrays of a C-ordered (steps, *sizes) grid, flattened."""
    return [g.ravel() for g in np.indices((steps, *sizes))]


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


def _atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------- batch store


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    """A frame as zstd-compressed Parquet bytes, written on one thread.

    Dictionary encoding is used for the categorical columns only: tried on float columns
    it almost never pays and cost most of the write time (provinces: 27 -> 16 ms for ten
    runs, files 30% smaller). Statistics are kept for the columns readers filter on
    (run, time, categories), not for measurements. One thread: Arrow's pool would compete
    with the other worker processes of a batch, and these tables are too small to gain.
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    categorical = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    keyed = [c for c in df.columns if c in categorical or c in _RUN]
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=categorical or False, write_statistics=keyed)
    return buf.getvalue()


def chunk_tables(results: Sequence[RunResult], point: int, values: dict[str, Any]) -> dict[str, bytes]:
    """A chunk's tables as Parquet bytes (built in the worker).

    Swept values become columns of the trajectories table, named by their path.
    """
    results = [dataclasses.replace(r, point=point) for r in results]
    traj = trajectories_frame(results)
    for path, v in values.items():
        traj[path] = v if isinstance(v, int | float | str | bool) else json.dumps(v)
    frames = {
        "trajectories": traj,
        "provinces": provinces_frame(results),
        "flows": flows_frame(results),
        "donors": donors_frame(results),
        "government": government_frame(results),
        "events": events_frame(results),
    }
    return {k: _parquet_bytes(v) for k, v in frames.items()}


def write_parts(out: Path, key: str, tables: dict[str, bytes]) -> None:
    """Write a chunk's tables as its parts, each under a temporary name, then renamed.

    Safe to call from any process on the machine: names are unique per chunk, and a part
    is only ever replaced whole. The ledger line that makes the parts count is written
    afterwards by :meth:`ShardStore.write`, in the process that owns the store.
    """
    out.mkdir(parents=True, exist_ok=True)
    for table, data in tables.items():
        folder = out / f"{table}.parquet"
        folder.mkdir(exist_ok=True)
        tmp = folder / f".part-{key}.parquet.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / f"part-{key}.parquet")


_PART = re.compile(r"^part-(.*)-p(\d+)-r(\d+)-(\d+)\.parquet$")  # part-<scenario>-p<point>-r<first>-<last>


def part_files(out: Path, table: str, scenario: str | None = None, point: int | None = None,
               below_replication: int | None = None) -> list[Path]:
    """The Parquet parts of a table, in chunk order (scenario, point, first replication).

    Args:
        out: a results folder.
        table: e.g. ``"trajectories"``.
        scenario: only the parts of this scenario.
        point: only the parts of this sweep point.
        below_replication: only parts holding some replication below this number.

    Part names say what they hold, so a selection opens no file it does not need.
    """
    folder = out / f"{table}.parquet"
    found = []
    if folder.is_dir():
        for f in folder.iterdir():
            m = _PART.match(f.name)
            if not m:
                continue
            scen, pt, first = m.group(1), int(m.group(2)), int(m.group(3))
            if (scenario is None or scen == scenario) and (point is None or pt == point) \
                    and (below_replication is None or first < below_replication):
                found.append(((scen, pt, first), f))
    return [f for _, f in sorted(found, key=lambda x: x[0])]


def read_parts(out: Path, table: str, columns: Sequence[str], filters: list[tuple[str, str, Any]] | None = None,
               **selection: Any) -> pd.DataFrame:
    """Rows of a table read one part at a time (filters applied to each), for the selected parts.

    Memory holds the rows kept, never a whole batch's table: what the figures and the summary
    of a batch of tens of thousands of runs need.
    """
    frames = [pd.read_parquet(f, columns=list(columns), filters=filters or None)
              for f in part_files(out, table, **selection)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(frames, ignore_index=True)
    for c in columns:  # parts of one scenario share their categories; keep them categorical
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
    return df


def _whole_parquet(path: Path) -> bool:
    """Whether a file looks like a complete Parquet file: its magic number at both ends."""
    try:
        size = path.stat().st_size
        if size < 12:
            return False
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            return head == b"PAR1" and fh.read(4) == b"PAR1"
    except OSError:
        return False


class ShardStore:
    """A results folder written chunk by chunk: crash-safe, resumable, readable as one dataset.

    Layout: ``<table>.parquet/part-<chunk>.parquet`` for each table (a folder that pandas,
    polars, pyarrow and DuckDB read as one table), ``runs.jsonl`` (the ledger: one line per
    completed chunk, appended and flushed after its parts are in place), ``errors.jsonl``
    (failed runs with their tracebacks), ``manifest.json``.

    A chunk's parts are written under temporary names and renamed; the ledger line comes
    last. After a crash, parts without a ledger line are removed on resume and their runs
    done again, so no run is lost or duplicated.
    """

    def __init__(self, out: Path) -> None:
        """Open (or create) a results folder."""
        self.out = out
        self.ledger = out / "runs.jsonl"
        self.errors = out / "errors.jsonl"

    def exists(self) -> bool:
        """Whether the folder already holds a batch."""
        return self.ledger.exists() or (self.out / "manifest.json").exists()

    def _records(self) -> list[tuple[str, dict[str, Any]]]:
        """The ledger's lines with what they record; a torn line (a crash) is left out: its chunk is redone."""
        out = []
        if self.ledger.exists():
            for line in self.ledger.read_text(encoding="utf-8").splitlines():
                try:
                    out.append((line, json.loads(line)))
                except json.JSONDecodeError:
                    continue
        return out

    def completed(self) -> tuple[set[str], set[str]]:
        """Runs and chunks recorded as complete in the ledger (a torn last line is ignored)."""
        runs: set[str] = set()
        chunks: set[str] = set()
        for _, rec in self._records():
            runs.update(rec["runs"])
            chunks.add(rec["chunk"])
        return runs, chunks

    def clean(self) -> int:
        """Make the folder hold exactly the chunks its ledger lists, whole; returns files removed.

        Removes temporary files and parts of chunks the ledger does not list (a crash between
        a chunk's parts and its ledger line). A ledger line whose chunk lacks a part, or has
        one that is not a whole Parquet file (a machine that lost power before the disk had
        it all, a file deleted by hand), is taken out of the ledger with the chunk's parts,
        so that ``--resume`` runs the chunk again instead of trusting it.
        """
        _, chunks = self.completed()
        broken = {c for c in chunks if not all(_whole_parquet(self.out / f"{t}.parquet" / f"part-{c}.parquet")
                                               for t in TABLES)}
        if broken:
            _atomic_text("".join(line + "\n" for line, rec in self._records() if rec["chunk"] not in broken),
                         self.ledger)
            chunks -= broken
        removed = 0
        for table in TABLES:
            folder = self.out / f"{table}.parquet"
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                key = f.name.removeprefix("part-").removesuffix(".parquet")
                if f.name.startswith(".") or key not in chunks:
                    f.unlink()
                    removed += 1
        return removed

    def reset(self) -> None:
        """Delete a previous batch in this folder (for --overwrite)."""
        import shutil

        for table in TABLES:
            shutil.rmtree(self.out / f"{table}.parquet", ignore_errors=True)
        for name in ("runs.jsonl", "errors.jsonl", "manifest.json", "events.txt"):
            (self.out / name).unlink(missing_ok=True)
        shutil.rmtree(self.out / "figures", ignore_errors=True)

    def write(self, key: str, tables: dict[str, bytes], runs: list[str], failures: list[dict[str, Any]]) -> None:
        """Write a chunk's parts (if the worker has not), then its ledger line; failures go to errors.jsonl."""
        write_parts(self.out, key, tables)
        if failures:
            with self.errors.open("a", encoding="utf-8") as fh:
                for f in failures:
                    fh.write(json.dumps(f) + "\n")
        if runs:
            with self.ledger.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"chunk": key, "runs": runs}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def write_event_log(self) -> Path:
        """events.txt from the events table, sorted by scenario, point, replication and step.

        Read one part at a time, in the order of the chunks they hold (a chunk is one
        scenario point and a range of replications), so memory does not grow with the batch
        and the file does not depend on the order in which chunks finished.
        """
        path = self.out / "events.txt"
        parts = part_files(self.out, "events")
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for f in parts:
                ev = pd.read_parquet(f)
                if ev.empty:
                    continue
                ev = ev.sort_values(["replication", "step"], kind="stable")
                for (scen, point, rep, seed), g in ev.groupby(["scenario", "point", "replication", "seed"],
                                                              observed=True, sort=False):
                    fh.write(f"# {scen}, point {point}, replication {rep} (seed {seed})\n")
                    for s, d, t in zip(g["step"], g["date"], g["text"], strict=True):
                        fh.write(f"  step {s} ({str(d)[:10]}): {t}\n")
                    fh.write("\n")
            if fh.tell() == 0:  # no event in the batch
                fh.write("\n")
        os.replace(tmp, path)
        return path
