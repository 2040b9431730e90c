"""A swept column has one type in every part, so every Parquet reader reads the batch as one table."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.plan import cast_column, column_type
from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py"), "run"]
COLUMN = "donors.us.arms_willingness"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The README's sweep: 0 is read as an integer, 0.6 as a float; 2 points x 20 runs = 4 parts."""
    out = tmp_path_factory.mktemp("sweep") / "mixed"
    p = subprocess.run([*RUN, str(BASELINE), "-n", "20", "-w", "1", "--seed", "2", "--months", "3",
                        "--sweep", f"{COLUMN}=0,0.6", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    return out


def test_pandas_reads_the_mixed_sweep(mixed):
    traj = pd.read_parquet(mixed / "trajectories.parquet")
    assert traj[COLUMN].dtype == "float64"
    assert sorted(set(traj[COLUMN])) == [0.0, 0.6]
    by_point = traj.groupby("point")[COLUMN].unique()
    assert list(by_point[0]) == [0.0] and list(by_point[1]) == [0.6]


def test_polars_reads_the_mixed_sweep(mixed):
    pl = pytest.importorskip("polars", reason="polars is not installed")
    traj = pl.read_parquet(str(mixed / "trajectories.parquet" / "*.parquet"))
    assert traj.schema[COLUMN] == pl.Float64
    assert sorted(traj[COLUMN].unique().to_list()) == [0.0, 0.6]


def test_duckdb_default_reader_reads_the_mixed_sweep(mixed):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
    glob = str(mixed / "trajectories.parquet" / "*.parquet")
    rows = duckdb.sql(f"SELECT point, \"{COLUMN}\" AS v, count(*) FROM read_parquet('{glob}') "
                      "GROUP BY ALL ORDER BY point").fetchall()
    assert [(p, v) for p, v, _ in rows] == [(0, 0.0), (1, 0.6)], rows


def test_analysis_loads_the_mixed_sweep(mixed):
    from sim.analysis import load

    res = load(mixed)
    assert sorted(set(res.trajectories[COLUMN])) == [0.0, 0.6]


def test_manifest_declares_the_column_type(mixed):
    man = json.loads((mixed / "manifest.json").read_text())
    assert man["sweeps"] == [{"path": COLUMN, "values": [0, 0.6], "column_type": "float64"}]


@pytest.mark.parametrize("values, kind", [
    ([0, 0.6], "float64"), ([1, 2], "int64"), ([True, False], "bool"), ([0.5, 1.5], "float64"),
    (["Kabul", "Herat"], "string"), ([1, "x"], "string"), ([True, 1], "string"), ([{"a": 1}, {"a": 2}], "string"),
])
def test_one_type_from_all_values(values, kind):
    assert column_type(values) == kind
    cast = [cast_column(v, kind) for v in values]
    assert len({type(v) for v in cast}) == 1, cast
