"""What the dashboard shows of a results folder, computed once and cached beside the results.

A results folder of 20,000 runs holds about 250 million province rows; the dashboard cannot
read them at each move of a slider. :func:`summarise` reduces each group (one scenario at one
sweep point) once, a Parquet part at a time, to:

* ``control``: (steps, provinces, actors) mean control share over the group's runs;
* ``capitals``: (steps, provinces, actors) share of runs in which the actor holds the
  province's capital;
* ``fans``: per actor and step, the quantile bands of its territory share;
* ``outcomes``: one row per run and step of the outcomes (:func:`sim.analysis.load_outcomes`),
  which the paired differences and lever plots read.

They are written under ``<results>/dashboard/`` (``arrays.npz``, ``fans.parquet``,
``outcomes.parquet``, ``key.json``). ``key.json`` holds a fingerprint of the manifest and of
every part's name, size and modification time: a folder that a ``--resume`` or an
``--overwrite`` changed is summarised again, an unchanged one is read in well under a second.
A folder that cannot be written to is summarised in memory only, each time it is opened.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import group_label, load_outcomes
from sim.atomic import write_atomic, write_text_atomic
from sim.calendar import STEP_MONTHS
from sim.folder import SUMMARIES
from sim.maps import Actor, actors_of
from sim.statistics import BAND_NAMES, bands
from sim.store import part_files

__all__ = ["CACHE", "Group", "Summary", "fingerprint", "summarise"]

CACHE = SUMMARIES  # the cache's folder inside a results folder
VERSION = 1  # bumped when what is cached changes, so older caches are rebuilt
SOURCES = ("trajectories", "provinces", "capitals")


@dataclass(frozen=True)
class Group:
    """One scenario at one sweep point of a results folder.

    Attributes:
        label: its name everywhere in the dashboard (:func:`sim.analysis.group_label`).
        scenario: the scenario's name.
        point: the sweep point.
        values: the swept values at this point.
        months_per_step: months a step lasts.
        dates: the date of each step (YYYY-MM-DD).
        replications: runs in the group.
        seeds: the seed of each replication, in replication order (for pairing across folders).
    """

    label: str
    scenario: str
    point: int
    values: dict[str, Any]
    months_per_step: float
    dates: tuple[str, ...]
    replications: int
    seeds: tuple[int, ...]

    @property
    def steps(self) -> int:
        """Steps recorded, the start included."""
        return len(self.dates)


@dataclass
class Summary:
    """The dashboard's view of one results folder (see the module's docstring).

    Attributes:
        folder: the results folder.
        manifest: its manifest.
        groups: its groups, in manifest order.
        actors: key -> label and kind of every faction.
        keys: the actors' keys, the last axis of ``control`` and ``capitals``.
        provinces: province names, the middle axis of ``control`` and ``capitals``.
        control: group label -> (steps, provinces, actors) mean control share.
        capitals: group label -> (steps, provinces, actors) share of runs holding the capital.
        fans: rows of group, actor, step, month, date and the bands of territory share.
        outcomes: one row per group, replication and step (:func:`sim.analysis.outcomes`).
        cached: whether it was read from the cache (False: computed now).
    """

    folder: Path
    manifest: dict[str, Any]
    groups: list[Group]
    actors: dict[str, Actor]
    keys: list[str]
    provinces: list[str]
    control: dict[str, np.ndarray]
    capitals: dict[str, np.ndarray]
    fans: pd.DataFrame
    outcomes: pd.DataFrame
    cached: bool = False
    _rows: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)

    def rows(self, label: str, step: int) -> pd.DataFrame:
        """The outcome rows of a group at a step, in replication order (indexed once, then a lookup)."""
        if not self._rows:
            self._rows.update(self.outcomes.groupby(["group", "step"], observed=True, sort=False).indices)
        return self.outcomes.iloc[self._rows.get((label, step), np.array([], dtype=np.int64))]

    def group(self, label: str) -> Group:
        """The group of this label.

        Raises:
            KeyError: no such group in the folder.
        """
        for g in self.groups:
            if g.label == label:
                return g
        raise KeyError(f"{self.folder}: no group {label!r}")


def _read(path: Path, columns: list[str]) -> Any:
    """A part as a pyarrow Table, read by the file reader (the dataset scanner can abort the process at exit)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read(columns=columns, use_threads=False)


def fingerprint(folder: Path) -> str:
    """A hash of the manifest and of the name, size and modification time of every part summarised."""
    h = hashlib.sha256((folder / "manifest.json").read_bytes())
    for table in SOURCES:
        for f in part_files(folder, table):
            st = f.stat()
            h.update(f"{table}/{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    h.update(f"version {VERSION}".encode())
    return h.hexdigest()


def _codes(column: Any, names: list[str]) -> np.ndarray:
    """Indices into ``names`` of a dictionary-encoded (or plain string) column; -1 for a name not there."""
    import pyarrow as pa

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    index = {n: i for i, n in enumerate(names)}
    lookup = np.array([index.get(str(v), -1) for v in col.dictionary.to_pylist()] + [-1], dtype=np.int64)
    return lookup[col.indices.to_numpy(zero_copy_only=False)]


def _accumulate(parts: list[Path], what: str, shape: tuple[int, int, int],
                provinces: list[str], keys: list[str]) -> np.ndarray:
    """Sum over a group's parts of ``what`` (control, or 1 per capital held) into (steps, provinces, actors)."""
    steps, n_prov, n_act = shape
    total = np.zeros(steps * n_prov * n_act)
    who = "actor" if what == "control" else "holder"
    for f in parts:
        t = _read(f, ["step", "province", who, *(["control"] if what == "control" else [])])
        step = t.column("step").to_numpy()
        prov, act = _codes(t.column("province"), provinces), _codes(t.column(who), keys)
        ok = (prov >= 0) & (act >= 0) & (step < steps)
        flat = (step[ok] * n_prov + prov[ok]) * n_act + act[ok]
        weight = t.column("control").to_numpy()[ok] if what == "control" else None
        total += np.bincount(flat, weights=weight, minlength=total.size)
    return total.reshape(shape)


def _fans(traj: pd.DataFrame, g: Group) -> pd.DataFrame:
    """Bands of each actor's territory share at each step, over the group's replications."""
    rows = []
    for actor, d in traj.groupby("actor", observed=True, sort=False):
        wide = d.pivot_table(index="replication", columns="step", values="territory_share", observed=True)
        q = bands(wide.to_numpy(), axis=0)
        frame = pd.DataFrame({"group": g.label, "actor": str(actor), "step": wide.columns.to_numpy(int),
                              "mean": np.nanmean(wide.to_numpy(), axis=0)})
        frame["month"] = frame["step"] * g.months_per_step
        for name, row in zip(BAND_NAMES, q, strict=True):
            frame[name] = row
        rows.append(frame)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _group_trajectories(folder: Path, scenario: str, point: int) -> pd.DataFrame:
    """The columns the fans and dates need, of one group's trajectory parts."""
    cols = ["replication", "seed", "step", "date", "actor", "territory_share"]
    frames = [_read(f, cols).to_pandas() for f in part_files(folder, "trajectories", scenario, point)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    t = pd.concat(frames, ignore_index=True)
    t["actor"] = t["actor"].astype(str)
    return t


def _groups_and_fans(folder: Path, man: dict[str, Any]) -> tuple[list[Group], pd.DataFrame, dict[str, np.ndarray]]:
    """The folder's groups (with their dates and seeds), their fans, and how many runs recorded each step."""
    mps = {sc["name"]: STEP_MONTHS[sc["resolved_scenario"].get("time_step", "month")] for sc in man["scenarios"]}
    groups, fans, runs = [], [], {}
    for p in man["points"]:
        t = _group_trajectories(folder, p["scenario"], p["point"])
        if not len(t):
            continue
        dates = tuple(str(d)[:10] for d in t.drop_duplicates("step").sort_values("step")["date"])
        seeds = t.drop_duplicates("replication").sort_values("replication")["seed"]
        g = Group(group_label(p["scenario"], p["point"], p["values"]), p["scenario"], p["point"], p["values"],
                  mps[p["scenario"]], dates, len(seeds), tuple(int(s) for s in seeds))
        groups.append(g)
        fans.append(_fans(t, g))
        # a failed run may stop early: each step is averaged over the runs that recorded it
        steps = t.drop_duplicates(["replication", "step"])["step"].to_numpy(int)
        runs[g.label] = np.bincount(steps, minlength=g.steps)[: g.steps]
    return groups, pd.concat(fans, ignore_index=True) if fans else pd.DataFrame(), runs


def _compute(folder: Path, provinces: list[str]) -> Summary:
    """Summarise a folder from its tables (the slow path: one pass over every part)."""
    man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    actors = actors_of(folder)
    keys = list(actors)
    groups, fans, recorded = _groups_and_fans(folder, man)
    control, capitals = {}, {}
    for g in groups:
        shape = (g.steps, len(provinces), len(keys))
        runs = np.maximum(recorded[g.label], 1)[:, None, None]
        control[g.label] = (_accumulate(part_files(folder, "provinces", g.scenario, g.point), "control", shape,
                                        provinces, keys) / runs).astype(np.float32)
        capitals[g.label] = (_accumulate(part_files(folder, "capitals", g.scenario, g.point), "capitals", shape,
                                         provinces, keys) / runs).astype(np.float32)
    out, _ = load_outcomes(folder)
    return Summary(folder, man, groups, actors, keys, provinces, control, capitals, fans, out)


def _frame_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _write(s: Summary, key: str) -> None:
    """Write the cache: arrays, then tables, then the key last (a cache without its key is never read)."""
    cache = s.folder / CACHE
    cache.mkdir(exist_ok=True)
    arrays = {f"control/{k}": v for k, v in s.control.items()} | {f"capitals/{k}": v for k, v in s.capitals.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(cache / "arrays.npz", buf.getvalue())
    write_atomic(cache / "fans.parquet", _frame_bytes(s.fans))
    write_atomic(cache / "outcomes.parquet", _frame_bytes(s.outcomes))
    meta = {"version": VERSION, "fingerprint": key, "keys": s.keys, "provinces": s.provinces,
            "groups": [g.__dict__ for g in s.groups]}
    write_text_atomic(cache / "key.json", json.dumps(meta, indent=1, default=list))


def _cached(folder: Path, key: str) -> Summary | None:
    """The cached summary if its fingerprint is ``key``; None otherwise (absent, stale, unreadable)."""
    cache = folder / CACHE
    try:
        meta = json.loads((cache / "key.json").read_text(encoding="utf-8"))
        if meta.get("version") != VERSION or meta.get("fingerprint") != key:
            return None
        with np.load(cache / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
        fans = _read(cache / "fans.parquet", None).to_pandas()
        out = _read(cache / "outcomes.parquet", None).to_pandas()
    except (OSError, ValueError, KeyError):
        return None
    groups = [Group(**{**g, "dates": tuple(g["dates"]), "seeds": tuple(g["seeds"])}) for g in meta["groups"]]
    man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    pick = lambda kind: {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(kind + "/")}  # noqa: E731
    return Summary(folder, man, groups, actors_of(folder), meta["keys"], meta["provinces"], pick("control"),
                   pick("capitals"), fans, out, cached=True)


def summarise(folder: str | Path, provinces: list[str], key: str | None = None) -> Summary:
    """The dashboard's summary of a results folder: from its cache if current, else computed and cached.

    Args:
        folder: a results folder (it holds ``manifest.json``).
        provinces: the map's province names, in the map's order.
        key: the folder's :func:`fingerprint`, when the caller has just taken it (None: taken here).

    Raises:
        FileNotFoundError: the folder has no manifest.
    """
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{folder}: not a results folder (no manifest.json)")
    key = fingerprint(folder) if key is None else key
    found = _cached(folder, key)
    if found is not None and found.provinces == list(provinces):
        return found
    s = _compute(folder, list(provinces))
    try:
        _write(s, key)
    except OSError:
        pass  # a read-only folder: summarised in memory, again next time (the module's docstring says so)
    return s
