"""The command line end to end, in subprocesses, on real files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py")]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "res"
    p = cli("run", str(BASELINE), "--replications", "3", "--seed", "42", "--months", "14", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out, p


def test_run_writes_every_output(results):
    out, p = results
    for name in ("trajectories", "provinces", "flows", "donors", "government", "events"):
        assert (out / f"{name}.parquet").is_dir() and any((out / f"{name}.parquet").iterdir()), name
    assert (out / "events.txt").is_file() and (out / "manifest.json").is_file()
    figs = sorted(f.name for f in (out / "figures").iterdir())
    assert figs == ["map_month_000.png", "map_month_014.png", "territory.png"], "--figures summary (the default)"
    assert str(out) in p.stdout, "the command says where the results are"
    assert "90% band" in p.stdout and "Taliban" in p.stdout


def test_output_columns_and_shares(results):
    out, _ = results
    traj = pd.read_parquet(out / "trajectories.parquet")
    for col in ("scenario", "replication", "seed", "step", "date", "actor", "territory_share",
                "population_share", "provinces_held", "strength"):
        assert col in traj.columns, col
    assert traj["step"].max() == 14 and traj["replication"].nunique() == 3
    assert str(traj["date"].min())[:10] == "2022-10-01" and str(traj["date"].max())[:10] == "2023-12-01"
    total = traj.groupby(["replication", "step"])["territory_share"].sum()
    assert (abs(total - 1) < 1e-9).all(), "territory shares of all actors sum to 1"
    prov = pd.read_parquet(out / "provinces.parquet")
    for col in ("scenario", "replication", "step", "date", "province", "actor", "control"):
        assert col in prov.columns, col
    sums = prov.groupby(["replication", "step", "province"], observed=True)["control"].sum()
    assert (abs(sums - 1) < 1e-9).all(), "control shares of a province sum to 1"
    flows = pd.read_parquet(out / "flows.parquet")
    for col in ("scenario", "replication", "step", "date", "source", "target", "kind", "amount"):
        assert col in flows.columns, col
    assert {"money", "arms", "trade", "pressure"} <= set(flows["kind"].astype(str))
    assert (flows["amount"] > 0).all()
    assert traj["seed"].nunique() == 3, "each replication's seed is on its rows"


def test_manifest(results):
    out, _ = results
    man = json.loads((out / "manifest.json").read_text())
    assert man["base_seed"] == 42 and man["replications"] == 3 and man["months"] == 14
    assert man["status"] == "complete" and man["completed_runs"] == 3
    scen = man["scenarios"][0]
    assert scen["resolved_scenario"]["name"] == "baseline" and len(scen["scenario_hash"]) == 12
    traj = pd.read_parquet(out / "trajectories.parquet")
    assert traj.groupby("replication")["seed"].first().nunique() == 3
    for key in ("package_version", "git_commit", "wall_time_s", "python", "mesa", "numpy"):
        assert key in man, key


def test_same_seed_twice_gives_identical_files(results, tmp_path):
    out, _ = results
    again = tmp_path / "again"
    p = cli("run", str(BASELINE), "--replications", "3", "--seed", "42", "--months", "14", "--out", str(again))
    assert p.returncode == 0, p.stderr

    def digest(f: Path) -> str:
        return hashlib.sha256(f.read_bytes()).hexdigest()

    data = [f.relative_to(out) for f in out.rglob("*") if f.is_file() and f.name not in ("manifest.json", "runs.jsonl")]
    assert len(data) >= 10
    for rel in data:
        assert digest(out / rel) == digest(again / rel), f"{rel} differs between two runs with the same seed"
    ledger = [sorted((d / "runs.jsonl").read_text().splitlines()) for d in (out, again)]
    assert ledger[0] == ledger[1], "the same runs are recorded (chunks may finish in another order)"
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (out, again))
    for volatile in ("created", "wall_time_s"):
        a.pop(volatile), b.pop(volatile)
    a["seed_drawn_from_entropy"] = b["seed_drawn_from_entropy"]
    assert a == b, "the manifest differs only in its timing fields"


def test_event_log_in_plain_words(results):
    out, _ = results
    text = (out / "events.txt").read_text()
    assert "# baseline, point 0, replication" in text or text.strip() == ""


@pytest.mark.parametrize("content, expect", [
    (None, "scenario file not found"),
    ("name: [unclosed\n", "malformed YAML"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("name: x\nstart: 2022-01-01\nfactions: {}\nmonthz: 3\n", "unknown key; did you mean 'months'"),
    ("name: x\nstart: 2022-01-01\nmonths: many\nfactions: {}\n", "months"),
])
def test_bad_input_one_line_exit_2(tmp_path, content, expect):
    f = tmp_path / "bad.yaml"
    if content is not None:
        f.write_text(content)
    out = tmp_path / "out"
    p = cli("run", str(f), "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr and str(f) in lines[0] and expect in lines[0], lines[0]
    assert not out.exists(), "nothing is written on bad input"


def test_bad_reference_names_field(tmp_path):
    text = BASELINE.read_text().replace("Panjshir: 0.2", "Panjsher: 0.2")
    f = tmp_path / "typo.yaml"
    f.write_text(text)
    p = cli("validate", str(f))
    assert p.returncode == 2
    assert "factions.nrf.control.Panjsher" in p.stderr and "did you mean 'Panjshir'" in p.stderr


def test_existing_results_are_not_overwritten(results):
    out, _ = results
    def snapshot():
        return {f: f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()}

    before = snapshot()
    p = cli("run", str(BASELINE), "--replications", "1", "--seed", "1", "--months", "2", "--out", str(out))
    assert p.returncode == 2 and "already holds results" in p.stderr
    assert snapshot() == before, "nothing already written is touched"


def test_bad_numbers_on_the_command_line(tmp_path):
    p = cli("run", str(BASELINE), "--months", "0", "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "--months" in p.stderr and "Traceback" not in p.stderr
    p = cli("run", str(BASELINE), "--months", "ten")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_validate_and_params():
    p = cli("validate", str(BASELINE))
    assert p.returncode == 0 and "ok" in p.stdout
    p = cli("params")
    assert p.returncode == 0 and "| `control_rate` |" in p.stdout


def test_version():
    import sim

    p = cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"run.py {sim.__version__}"


def test_every_positional_has_help():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_cli", ROOT / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    parser = mod.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            if not action.option_strings:
                assert action.help, f"{name} {action.dest}: a positional argument without help text"


def test_run_py_is_thin():
    assert len((ROOT / "run.py").read_text().splitlines()) <= 150


def test_import_sim_from_any_folder(tmp_path):
    p = subprocess.run([sys.executable, "-c", "import sim, sim.analysis, sim.batch; print(sim.__file__)"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr
    from importlib.resources import files

    data = files("sim") / "data" / "afghanistan"
    for name in ("provinces.csv", "adjacency.csv", "borders.csv", "polygons.geojson", "SOURCES.md"):
        assert (data / name).is_file(), name


@pytest.mark.parametrize("args, option", [
    (["-n", "1000000000"], "--replications"),
    (["-n", "0"], "--replications"),
    (["--months", "5000"], "--months"),
    (["-w", "0"], "--workers"),
    (["-w", "100000"], "--workers"),
    (["--seed", "-1"], "--seed"),
    (["--months", "12", "--map-months", "0,6,99"], "--map-months"),
    (["--map-months", "0,six"], "--map-months"),
    (["--months", "6", "--sweep", "months=3,6"], "--months"),
])
def test_command_line_limits_one_line_exit_2(tmp_path, args, option):
    out = tmp_path / "o"
    p = cli("run", str(BASELINE), *args, "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert not out.exists(), "nothing is written on bad input"


def test_compare_refuses_to_overwrite(results, tmp_path):
    out, _ = results
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "notes.txt").write_text("mine")
    p = cli("compare", str(out), "--months", "12", "--out", str(rep))
    assert p.returncode == 2 and "--overwrite" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert sorted(f.name for f in rep.iterdir()) == ["notes.txt"]
    p = cli("compare", str(out), "--months", "12,72", "--out", str(tmp_path / "late"))
    assert p.returncode == 2 and "--months" in p.stderr and "72" in p.stderr, p.stderr
    p = cli("compare", str(out), "--months", "12", "--out", str(rep), "--overwrite")
    assert p.returncode == 0, p.stderr
    assert (rep / "report.md").is_file() and (rep / "notes.txt").is_file()


def test_progress_bar_on_request(tmp_path):
    p = cli("run", str(BASELINE), "-n", "2", "--seed", "1", "--months", "2", "--progress", "--out", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert "2/2" in p.stderr and "run" in p.stderr, "a tqdm bar of runs on standard error"
    p = cli("run", str(BASELINE), "-n", "2", "--seed", "1", "--months", "2", "--out", str(tmp_path / "q"))
    assert p.returncode == 0 and p.stderr == "", "no bar when standard error is not a terminal"
