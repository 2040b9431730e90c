"""Batches: identical results on every executor, crash-safe resume, isolated failures, sweeps and CRN."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import executors
from sim.batch import BatchError, load_points, run_batch
from sim.scenario import load_scenario
from sim.store import ShardStore
from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py"), "run"]


def _points(paths=(BASELINE,), sweeps=(), months=6):
    return load_points(paths, sweeps=sweeps, months=months)


def _batch(out: Path, points, reps, workers, executor):
    summary = run_batch(points, reps, 77, out, executor=executor, workers=workers, progress=False)
    assert summary.out == out and summary.seed == 77 and not summary.seed_drawn
    return ShardStore(out)


def _digest(folder: Path) -> str:
    files = [*sorted(f for f in folder.rglob("*.parquet") if f.is_file()), folder / "events.txt"]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_same_files_for_one_worker_two_workers_and_dask(tmp_path):
    pytest.importorskip("distributed", reason="Dask distributed is not installed")
    points = _points()
    one = _batch(tmp_path / "one", points, 12, 1, "local")
    two = _batch(tmp_path / "two", points, 12, 2, "local")
    dask = _batch(tmp_path / "dask", points, 12, 2, "dask")  # a real LocalCluster with 2 worker processes
    assert _digest(one.out) == _digest(two.out) == _digest(dask.out)
    runs, _ = one.completed()
    assert len(runs) == 12


def test_recycled_workers_give_the_same_files(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "RECYCLE", 1)  # a fresh worker process for every chunk
    points = _points(months=3)
    one = _batch(tmp_path / "one", points, 60, 1, "local")
    recycled = _batch(tmp_path / "recycled", points, 60, 2, "local")
    assert _digest(one.out) == _digest(recycled.out)
    assert len(recycled.completed()[0]) == 60


def test_replication_seed_does_not_depend_on_batch_size(tmp_path):
    points = _points()
    small = _batch(tmp_path / "small", points, 3, 1, "local")
    big = _batch(tmp_path / "big", points, 12, 1, "local")
    a = pd.read_parquet(small.out / "trajectories.parquet")
    b = pd.read_parquet(big.out / "trajectories.parquet")
    b = b[b["replication"] < 3].reset_index(drop=True)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b, check_categorical=False)


def test_failing_run_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    real = executors.run_one

    def flaky(spec, m, seed, replication, months=None):
        if replication == 3:
            raise RuntimeError("boom in replication 3")
        return real(spec, m, seed, replication, months)

    monkeypatch.setattr(executors, "run_one", flaky)
    summary = run_batch(_points(), 8, 77, tmp_path / "out", workers=1, progress=False)
    assert summary.status == "incomplete" and summary.failed_runs == 1 and summary.completed_runs == 7
    store = ShardStore(tmp_path / "out")
    runs, _ = store.completed()
    assert len(runs) == 7 and not any(r.endswith("r000003") for r in runs)
    errors = [json.loads(line) for line in store.errors.read_text().splitlines()]
    assert len(errors) == 1 and errors[0]["replication"] == 3
    assert "boom in replication 3" in errors[0]["traceback"] and "Traceback" in errors[0]["traceback"]
    assert sorted(pd.read_parquet(store.out / "trajectories.parquet")["replication"].unique()) == [0, 1, 2, 4, 5, 6, 7]


def test_sweep_and_scenarios_form_a_grid_with_common_random_numbers(tmp_path):
    out = tmp_path / "grid"
    p = subprocess.run([*RUN, str(BASELINE), str(ROOT / "scenarios" / "slight_support.yaml"), "-n", "4", "-w", "1",
                        "--seed", "3", "--months", "6", "--sweep", "donors.us.arms_willingness=0.0,0.5",
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    traj = pd.read_parquet(out / "trajectories.parquet")
    grid = traj.groupby(["scenario", "point"], observed=True)["replication"].nunique()
    assert len(grid) == 4 and (grid == 4).all(), "2 scenarios x 2 sweep points x 4 replications"
    assert set(traj["donors.us.arms_willingness"]) == {0.0, 0.5}
    seeds = traj.groupby(["scenario", "point", "replication"], observed=True)["seed"].first().unstack("replication")
    assert (seeds.nunique() == 1).all(), "replication i has the same seed in every scenario and point"
    man = json.loads((out / "manifest.json").read_text())
    assert len(man["points"]) == 4 and man["status"] == "complete"
    assert (out / "figures" / "baseline-p001" / "territory.png").is_file()


def _files(folder: Path) -> dict[str, str]:
    skip = {"manifest.json", "runs.jsonl"}
    return {f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in folder.rglob("*") if f.is_file() and f.name not in skip and "figures" not in f.parts}


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_batch_resumes_to_the_same_results(tmp_path, workers):
    args = [str(BASELINE), "-n", "120", "-w", str(workers), "--seed", "9", "--months", "60"]
    clean = tmp_path / "clean"
    p = subprocess.run([*RUN, *args, "--out", str(clean)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*RUN, *args, "--out", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    ledger = killed / "runs.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and not (ledger.exists() and len(ledger.read_text().splitlines()) >= 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(ledger.read_text().splitlines())
    assert 3 <= done_before < 12, "the batch was killed part-way"

    p = subprocess.run([*RUN, *args, "--out", str(killed), "--resume"], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    assert "resuming" in p.stdout
    assert _files(killed) == _files(clean), "a killed and resumed batch equals a clean one"
    runs = [r for line in ledger.read_text().splitlines() for r in json.loads(line)["runs"]]
    assert len(runs) == len(set(runs)) == 120, "no run lost or duplicated"
    traj = pd.read_parquet(killed / "trajectories.parquet", columns=["replication", "step", "actor"])
    assert not traj.duplicated().any() and traj["replication"].nunique() == 120


def test_resume_redoes_chunks_whose_parts_are_missing_or_torn(tmp_path):
    args = [str(BASELINE), "-n", "30", "-w", "1", "--seed", "4", "--months", "6"]
    clean = tmp_path / "clean"
    p = subprocess.run([*RUN, *args, "--out", str(clean)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    damaged = tmp_path / "damaged"
    shutil.copytree(clean, damaged)
    parts = sorted((damaged / "provinces.parquet").glob("part-*.parquet"))
    assert len(parts) == 3
    parts[0].unlink()  # a part lost
    torn = damaged / "flows.parquet" / parts[2].name
    torn.write_bytes(torn.read_bytes()[: torn.stat().st_size // 2])  # a part cut short (power lost mid-write)
    p = subprocess.run([*RUN, *args, "--out", str(damaged), "--resume"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "resuming, 10 run(s) already done" in p.stdout, p.stdout
    assert _files(damaged) == _files(clean)
    runs = [r for line in (damaged / "runs.jsonl").read_text().splitlines() for r in json.loads(line)["runs"]]
    assert sorted(runs) == sorted(set(runs)) and len(runs) == 30


def test_resume_refuses_a_different_batch(tmp_path):
    out = tmp_path / "b"
    base = [*RUN, str(BASELINE), "-n", "2", "-w", "1", "--seed", "1", "--months", "3", "--out", str(out)]
    assert subprocess.run(base, capture_output=True, text=True, timeout=600).returncode == 0
    p = subprocess.run([*base[:-2], "--months", "4", "--out", str(out), "--resume"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 2 and "different batch" in p.stderr


def test_mesa_batch_run_pairs_with_the_batch_runner(tmp_path):
    import mesa

    from sim.mesa_compat import BatchConflictModel

    rows = mesa.batch_run(BatchConflictModel, {"scenario": str(BASELINE), "months": 6, "base_seed": 5,
                                               "donors__us__arms_willingness": [0.0, 0.5]},
                          rng=[0, 2], number_processes=1, display_progress=False)
    assert len(rows) == 4
    assert {r["donors__us__arms_willingness"] for r in rows} == {0.0, 0.5}
    assert all(0 < r["resistance_territory"] < 0.05 and r["Step"] == 6 for r in rows)
    # rng=i is replication i of `run.py run --seed 5`: the same run, actor by actor
    p = subprocess.run([*RUN, str(BASELINE), "--set", "donors.us.arms_willingness=0.0", "-n", "3", "--seed", "5",
                        "--months", "6", "-w", "1", "--out", str(tmp_path / "own")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    traj = pd.read_parquet(tmp_path / "own" / "trajectories.parquet", filters=[("step", "==", 6)])
    spec, _ = load_scenario(BASELINE)
    for rep in (0, 2):
        got = next(r for r in rows if r["donors__us__arms_willingness"] == 0.0 and r["rng"] == rep)
        own = traj[traj["replication"] == rep].set_index("actor")["territory_share"]
        assert {f"territory_{k}" for k in spec.factions} <= set(got), "one territory reporter per faction"
        for key in spec.factions:
            assert got[f"territory_{key}"] == pytest.approx(own[key], rel=1e-12, abs=1e-15), (rep, key)


def test_each_scenario_keeps_its_own_horizon(tmp_path):
    hindcast = ROOT / "scenarios" / "hindcast_2021_collapse.yaml"  # 3 months in daily steps
    s = run_batch(load_points([BASELINE, hindcast]), 2, 1, tmp_path / "mixed", workers=1, progress=False)
    assert s.status == "complete"
    traj = pd.read_parquet(tmp_path / "mixed" / "trajectories.parquet", columns=["scenario", "step", "date"])
    last = traj.groupby("scenario", observed=True)["date"].max().astype(str).str[:10].to_dict()
    assert traj[traj["scenario"] == "baseline"]["step"].max() == 60, "the baseline runs its 60 months"
    first = traj.groupby("scenario", observed=True)["date"].min().astype(str).str[:10].to_dict()
    days = (pd.Timestamp(last["hindcast_2021_collapse"]) - pd.Timestamp(first["hindcast_2021_collapse"])).days
    assert 85 <= days <= 95, f"the hindcast runs its 3 months, not the baseline's 60 ({days} days)"
    man = json.loads((tmp_path / "mixed" / "manifest.json").read_text())
    assert {p["scenario"]: p["months"] for p in man["points"]} == {"baseline": 60, "hindcast_2021_collapse": 3}
    assert man["months"] is None, "no single horizon is claimed for the batch"


def test_swept_months_really_run_that_long(tmp_path):
    s = run_batch(load_points([BASELINE], sweeps=["months=3,6"]), 2, 1, tmp_path / "m", workers=1, progress=False)
    assert [p.months for p in s.points] == [3, 6]
    traj = pd.read_parquet(tmp_path / "m" / "trajectories.parquet", columns=["point", "step", "months"])
    assert traj.groupby("point")["step"].max().to_dict() == {0: 3, 1: 6}
    assert traj.groupby("point")["months"].first().to_dict() == {0: 3, 1: 6}
    assert traj["months"].dtype == "int64"


def test_run_batch_seed_policy_and_refusals(tmp_path):
    points = load_points([BASELINE], months=2)
    out = tmp_path / "b"
    s = run_batch(points, 2, None, out, workers=1, progress=False)
    man = json.loads((out / "manifest.json").read_text())
    assert s.seed_drawn and man["seed_drawn_from_entropy"] and man["base_seed"] == s.seed
    with pytest.raises(BatchError, match="already holds results"):
        run_batch(points, 2, 1, out, workers=1, progress=False)
    again = run_batch(points, 2, None, out, workers=1, resume=True, progress=False)
    assert again.seed == s.seed and again.resumed_runs == 2 and again.status == "complete"
    with pytest.raises(BatchError, match="different batch"):
        run_batch(points, 3, s.seed, out, workers=1, resume=True, progress=False)
    with pytest.raises(BatchError, match="--replications"):
        run_batch(points, 10**9, 1, tmp_path / "huge", progress=False)
    assert not (tmp_path / "huge").exists()
    over = run_batch(points, 1, 3, out, workers=1, overwrite=True, progress=False)
    assert over.total_runs == over.completed_runs == 1


def test_a_torn_ledger_line_is_dropped_before_the_batch_goes_on(tmp_path):
    points = load_points([BASELINE], months=2)
    out = tmp_path / "torn"
    run_batch(points, 30, 4, out, workers=1, progress=False)
    ledger = out / "runs.jsonl"
    lines = ledger.read_text().splitlines()
    ledger.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])  # killed mid-line
    s = run_batch(points, 30, 4, out, workers=1, resume=True, progress=False)
    assert s.status == "complete" and s.resumed_runs == 20 and s.completed_runs == 30
    assert all(json.loads(line) for line in ledger.read_text().splitlines())


def test_warm_up_runs_nothing_at_import_and_the_preload_reports_a_failure(monkeypatch, capsys):
    import importlib
    import sys as _sys

    import sim.warmup

    code = ("import sim.model as m\n"
            "def run(self):\n    raise SystemExit(3)\n"
            "m.ConflictModel.run = run\nimport sim.warmup\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, "importing sim.warmup runs no model"

    def broken():
        raise RuntimeError("no kernels today")

    monkeypatch.setattr(sim.warmup, "warm_up", broken)
    _sys.modules.pop("sim.preload", None)
    importlib.import_module("sim.preload")  # what the fork server does
    err = capsys.readouterr().err
    assert "warm-up failed" in err and "RuntimeError: no kernels today" in err and "Traceback" in err
    _sys.modules.pop("sim.preload", None)
