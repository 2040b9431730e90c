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
* ``capitals.parquet``: run x step x province: holder, the faction holding the province's
  capital (city and district centre); "holds a province" means holding its capital.
* ``attacks.parquet``: run x step x (group, province, target): count of attacks (non-zero
  only); attacks on the government's forces by province, attacks abroad on states with
  province ``abroad`` (count 1 for a month with an attack).
* ``events.parquet`` and ``events.txt``: the event log in plain words.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.atomic import named, write_atomic, write_text_atomic
from sim.tables import (
    attacks_frame,
    capitals_frame,
    chunk_tables,
    donors_frame,
    events_frame,
    flows_frame,
    government_frame,
    provinces_frame,
    trajectories_frame,
)

__all__ = ["TABLES", "ShardStore", "attacks_frame", "capitals_frame", "chunk_tables", "donors_frame", "events_frame",
           "flows_frame", "government_frame", "part_files", "provinces_frame", "read_part", "read_parts",
           "trajectories_frame", "write_parts"]

TABLES = ("trajectories", "provinces", "flows", "donors", "government", "capitals", "attacks", "events")


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
        write_atomic(folder / f"part-{key}.parquet", data, sync=False)  # the ledger line is flushed later


_PART = re.compile(r"^part-(.*)-p(\d+)-r(\d+)-(\d+)\.parquet$")  # part-<scenario>-p<point>-r<first>-<last>


def part_files(out: Path, table: str, scenario: str | None = None, point: int | None = None,
               below_replication: int | None = None, replication: int | None = None) -> list[Path]:
    """The Parquet parts of a table, in chunk order (scenario, point, first replication).

    Args:
        out: a results folder.
        table: e.g. ``"trajectories"``.
        scenario: only the parts of this scenario.
        point: only the parts of this sweep point.
        below_replication: only parts holding some replication below this number.
        replication: only the part holding this replication.

    Part names say what they hold, so a selection opens no file it does not need.
    """
    folder = out / f"{table}.parquet"
    found = []
    if folder.is_dir():
        for f in folder.iterdir():
            m = _PART.match(f.name)
            if not m:
                continue
            scen, pt, first, last = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
            if (scenario is None or scen == scenario) and (point is None or pt == point) \
                    and (below_replication is None or first < below_replication) \
                    and (replication is None or first <= replication <= last):
                found.append(((scen, pt, first), f))
    return [f for _, f in sorted(found, key=lambda x: x[0])]


def read_part(path: Path, columns: Sequence[str] | None = None,
              filters: list[tuple[str, str, Any]] | None = None) -> pd.DataFrame:
    """One Parquet part; a damaged one is an OSError naming it and saying how to redo its chunk.

    Parts are written whole and renamed, so damage means the disk or a hand: deleting the
    part makes ``--resume`` run its chunk again (:meth:`ShardStore.clean`).
    """
    import pyarrow as pa

    try:
        return pd.read_parquet(path, columns=list(columns) if columns is not None else None, filters=filters or None)
    except (OSError, pa.ArrowException) as exc:
        raise _damaged(path, exc) from None


def _damaged(path: Path, exc: Exception) -> OSError:
    """The error for a part that cannot be read: its path, the reader's reason, and the way out."""
    if isinstance(exc, FileNotFoundError):
        return exc
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return OSError(errno.EIO, f"unreadable Parquet part ({reason}); delete it, then run the batch's command "
                              f"with --resume to redo its chunk", str(path))


def read_parts(out: Path, table: str, columns: Sequence[str], filters: list[tuple[str, str, Any]] | None = None,
               **selection: Any) -> pd.DataFrame:
    """Rows of a table read one part at a time (filters applied to each), for the selected parts.

    Memory holds the rows kept, never a whole batch's table: what the figures and the summary
    of a batch of tens of thousands of runs need.
    """
    frames = [read_part(f, columns, filters) for f in part_files(out, table, **selection)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(frames, ignore_index=True)
    for c in columns:  # parts of one scenario share their categories; keep them categorical
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
    return df


def _event_text(part: Path) -> str:
    """One events part in plain words: a header per run, then its events by step.

    A part holds a handful of rows; plain Python over them costs a tenth of pandas' sort
    and group-by, which dominated writing events.txt for a large batch.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        ev = pq.read_table(part, columns=["scenario", "point", "replication", "seed", "step", "date",
                                          "text"]).to_pydict()
    except (OSError, pa.ArrowException) as exc:
        raise _damaged(part, exc) from None
    rows = sorted(zip(ev["replication"], ev["step"], range(len(ev["step"])), strict=True))  # stable by row
    lines: list[str] = []
    last = None
    for rep, step, i in rows:
        run = (ev["scenario"][i], ev["point"][i], rep, ev["seed"][i])
        if run != last:
            if last is not None:
                lines.append("")
            lines.append(f"# {run[0]}, point {run[1]}, replication {rep} (seed {run[3]})")
            last = run
        lines.append(f"  step {step} ({str(ev['date'][i])[:10]}): {ev['text'][i]}")
    return "\n".join([*lines, "", ""]) if lines else ""


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
        """The ledger's lines with what they record.

        A line that is not a whole record (torn by a crash, or edited: no chunk, no list of
        runs) is left out, and its chunk is redone.
        """
        out = []
        if self.ledger.exists():
            text = self.ledger.read_bytes().decode("utf-8", errors="replace")
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("chunk"), str) and isinstance(rec.get("runs"), list) \
                        and all(isinstance(r, str) for r in rec["runs"]):
                    out.append((line, rec))
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
        so that ``--resume`` runs the chunk again instead of trusting it. A torn ledger line
        (a crash mid-line) is removed, so the next line appended is not glued to it.
        """
        _, chunks = self.completed()
        broken = {c for c in chunks if not all(_whole_parquet(self.out / f"{t}.parquet" / f"part-{c}.parquet")
                                               for t in TABLES)}
        text = self.ledger.read_bytes().decode("utf-8", errors="replace") if self.ledger.exists() else ""
        torn = len(self._records()) != len(text.splitlines()) or (text and not text.endswith("\n"))
        if broken or torn:  # a torn line (a crash mid-write) goes too: the next line must start afresh
            write_text_atomic(self.ledger, "".join(line + "\n" for line, rec in self._records()
                                                   if rec["chunk"] not in broken))
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

    def write(self, key: str, tables: dict[str, bytes], runs: list[str], failures: list[dict[str, Any]]) -> None:
        """Write a chunk's parts (if the worker has not), then its ledger line; failures go to errors.jsonl."""
        write_parts(self.out, key, tables)
        if failures or (runs and self.errors.exists()):
            self._write_errors(failures, runs)
        if runs:
            try:
                with self.ledger.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"chunk": key, "runs": runs}) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:  # a torn line is removed by the next attempt's clean()
                raise named(exc, self.ledger) from None

    def _write_errors(self, failures: list[dict[str, Any]], runs: list[str]) -> None:
        """errors.jsonl: one line per run that failed and has not been done since (a retry replaces it)."""
        lines: dict[str, str] = {}
        if self.errors.exists():
            for line in self.errors.read_bytes().decode("utf-8", errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn line: the run fails again or completes; either way it is told again
                if isinstance(rec, dict) and isinstance(rec.get("run"), str):
                    lines[rec["run"]] = line
        for r in runs:
            lines.pop(r, None)
        lines.update({f["run"]: json.dumps(f) for f in failures})
        write_text_atomic(self.errors, "".join(v + "\n" for v in lines.values()))

    def write_event_log(self) -> Path:
        """events.txt from the events table, sorted by scenario, point, replication and step.

        Read one part at a time, in the order of the chunks they hold (a chunk is one
        scenario point and a range of replications), so memory does not grow with the batch
        and the file does not depend on the order in which chunks finished.
        """
        path = self.out / "events.txt"
        parts = part_files(self.out, "events")
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                for f in parts:
                    fh.write(_event_text(f))
                if fh.tell() == 0:  # no event in the batch
                    fh.write("\n")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise named(exc, path, tmp) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path
