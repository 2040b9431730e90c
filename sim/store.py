"""Store: run results to long-form Parquet tables, an event log and a manifest.

The store never runs models; analysis reads only what it writes, so results made
elsewhere (a cluster) can be analysed anywhere. Files are first written under a
temporary name and then renamed, so an interrupted write never leaves a truncated
file under the final name.

Tables (one row per ...):

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

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.recorder import RunResult

TABLES = ("trajectories", "provinces", "flows", "donors", "government", "events")


def _run_columns(r: RunResult, n: int) -> dict[str, Any]:
    return {
        "scenario": np.repeat(r.scenario, n),
        "replication": np.full(n, r.replication, dtype=np.int32),
        "seed": np.full(n, r.seed, dtype=np.uint64),
    }


def _grid(steps: int, *sizes: int) -> list[np.ndarray]:
    """Index arrays of a C-ordered (steps, *sizes) grid, flattened."""
    return [g.ravel() for g in np.indices((steps, *sizes))]


def trajectories_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x faction."""
    parts = []
    for r in results:
        T1, F = r.strength.shape
        t, f = _grid(T1, F)
        parts.append(pd.DataFrame({
            **_run_columns(r, t.size),
            "step": t.astype(np.int32),
            "date": r.dates[t],
            "actor": np.asarray(r.factions)[f],
            "territory_share": r.territory_share.ravel(),
            "population_share": r.population_share.ravel(),
            "provinces_held": r.provinces_held.ravel().astype(np.int32),
            "strength": r.strength.ravel(),
            "funds": r.funds.ravel(),
            "materiel": r.materiel.ravel(),
            "in_front": r.in_front.ravel(),
        }))
    return _concat(parts, ("scenario", "actor"))


def provinces_frame(results: Sequence[RunResult], territorial: Sequence[str] | None = None) -> pd.DataFrame:
    """Long table run x step x province x faction (territorial factions only)."""
    parts = []
    for r in results:
        keep = np.array([k in territorial for k in r.factions]) if territorial is not None \
            else r.control.max(axis=(0, 1)) > 0
        cols = np.flatnonzero(keep)
        control = r.control[:, :, cols]
        T1, P, F = control.shape
        t, p, f = _grid(T1, P, F)
        parts.append(pd.DataFrame({
            **_run_columns(r, t.size),
            "step": t.astype(np.int32),
            "date": r.dates[t],
            "province": np.asarray(r.provinces)[p],
            "actor": np.asarray(r.factions)[cols][f],
            "control": control.ravel(),
            "sentiment": r.sentiment[t, p],
            "population": r.population[t, p],
        }))
    return _concat(parts, ("scenario", "province", "actor"))


def flows_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table of the ledger: non-zero flows only."""
    parts = []
    for r in results:
        gov = r.factions[r.gov]
        donors = np.asarray(r.donors)
        factions = np.asarray(r.factions)
        blocks: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        for kind, arr in (("money", r.money), ("arms", r.arms), ("sanctuary", r.sanctuary), ("strike", r.strikes)):
            t, s, f = np.nonzero(arr)
            blocks.append((kind, t, donors[s], factions[f], arr[t, s, f]))  # type: ignore[arg-type]
        for kind, arr in (("trade", r.trade), ("pressure", r.pressure)):
            t, s = np.nonzero(arr[1:])
            t = t + 1
            blocks.append((kind, t, donors[s], np.repeat(gov, t.size), arr[t, s]))  # type: ignore[arg-type]
        t, s = np.nonzero(r.recognised[1:])
        t = t + 1
        blocks.append(("recognition", t, donors[s], np.repeat(gov, t.size), np.ones(t.size)))  # type: ignore[arg-type]
        t, f, s = np.nonzero(r.attacks)
        blocks.append(("attack", t, factions[f], donors[s], r.attacks[t, f, s]))  # type: ignore[arg-type]
        for kind, t, src, tgt, amount in blocks:  # type: ignore[misc]
            if t.size:
                parts.append(pd.DataFrame({
                    **_run_columns(r, t.size),
                    "step": t.astype(np.int32),
                    "date": r.dates[t],
                    "source": src,
                    "target": tgt,
                    "kind": np.repeat(kind, t.size),
                    "amount": amount.astype(float),
                }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in (
            ("scenario", "object"), ("replication", "int32"), ("seed", "uint64"), ("step", "int32"),
            ("date", "datetime64[s]"), ("source", "object"), ("target", "object"), ("kind", "object"),
            ("amount", "float64"))})
    df = _concat(parts, ("scenario", "source", "target", "kind"))
    return df.sort_values(["scenario", "replication", "step", "kind", "source", "target"], kind="stable",
                          ignore_index=True)


def donors_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Long table run x step x donor."""
    parts = []
    for r in results:
        T1, D = r.threat.shape
        t, d = _grid(T1, D)
        parts.append(pd.DataFrame({
            **_run_columns(r, t.size),
            "step": t.astype(np.int32),
            "date": r.dates[t],
            "donor": np.asarray(r.donors)[d],
            "stance": r.stance.ravel(),
            "threat": r.threat.ravel(),
            "recognises": r.recognised.ravel(),
        }))
    return _concat(parts, ("scenario", "donor"))


def government_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """Table run x step: the government's cohesion and legitimacy."""
    parts = []
    for r in results:
        t = np.arange(r.cohesion.size)
        parts.append(pd.DataFrame({
            **_run_columns(r, t.size),
            "step": t.astype(np.int32),
            "date": r.dates,
            "government": np.repeat(r.factions[r.gov], t.size),
            "cohesion": r.cohesion,
            "legitimacy": r.legitimacy,
        }))
    return _concat(parts, ("scenario", "government"))


def events_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """The event log of every run."""
    rows = [
        (r.scenario, r.replication, r.seed, step, r.dates[step], text)
        for r in results for step, text in r.events
    ]
    df = pd.DataFrame(rows, columns=["scenario", "replication", "seed", "step", "date", "text"])
    return df.astype({"replication": "int32", "seed": "uint64", "step": "int32", "date": "datetime64[s]"})


def _concat(parts: list[pd.DataFrame], categorical: Iterable[str]) -> pd.DataFrame:
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    df["date"] = df["date"].astype("datetime64[s]")
    for c in categorical:
        df[c] = df[c].astype("category")
    return df


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
    os.replace(tmp, path)


def _atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def event_log_text(results: Sequence[RunResult], limit_runs: int | None = None) -> str:
    """The event log in plain words, grouped by run."""
    lines: list[str] = []
    for r in results[:limit_runs]:
        lines.append(f"# {r.scenario}, replication {r.replication} (seed {r.seed})")
        if not r.events:
            lines.append("  (no events)")
        for step, text in r.events:
            lines.append(f"  month {step} ({str(r.dates[step])[:7]}): {text}")
        lines.append("")
    return "\n".join(lines)


def write_results(results: Sequence[RunResult], out: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    """Write every table, the event log and the manifest (last, so it marks completion).

    Args:
        results: the runs, in replication order.
        out: output folder (created if missing).
        manifest: run metadata; the list of written files is added.

    Returns:
        Paths of the written files by table name.
    """
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "trajectories": trajectories_frame(results),
        "provinces": provinces_frame(results),
        "flows": flows_frame(results),
        "donors": donors_frame(results),
        "government": government_frame(results),
        "events": events_frame(results),
    }
    paths: dict[str, Path] = {}
    for name, df in frames.items():
        paths[name] = out / f"{name}.parquet"
        _atomic_parquet(df, paths[name])
    paths["event_log"] = out / "events.txt"
    _atomic_text(event_log_text(results), paths["event_log"])
    manifest = {**manifest, "files": {k: p.name for k, p in paths.items()}}
    paths["manifest"] = out / "manifest.json"
    _atomic_text(json.dumps(manifest, indent=2, default=str) + "\n", paths["manifest"])
    return paths


def read_table(folder: str | Path, name: str) -> pd.DataFrame:
    """Read one table of a results folder."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; tables are {', '.join(TABLES)}")
    return pd.read_parquet(Path(folder) / f"{name}.parquet")
