"""Posterior ensembles (run.py run --posterior): draws recorded, paired, applied, replayed to the bit; bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch import BatchError, load_points, run_batch
from sim.executors import run_one
from sim.geography import load_map
from sim.plan import attach_posterior, particle_spec
from sim.posterior import PosteriorError, load_posterior
from sim.scenario import load_scenario
from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py")]
SHIPPED = ROOT / "posteriors" / "judgement_history"
UNITED = ROOT / "scenarios" / "united_front.yaml"


def _write_posterior(folder: Path, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "posterior.parquet", index=False)
    return folder


def _two_particles(folder: Path) -> Path:
    """A posterior of three particles, the middle one of weight zero."""
    return _write_posterior(folder, pd.DataFrame({"parameters.surrender_rate": [2.0, 50.0, 20.0],
                                                  "parameters.mobile_share": [0.2, 0.9, 0.5],
                                                  "weight": [0.3, 0.0, 0.7], "distance": [0.0, 0.0, 0.0]}))


def _runs(out: Path) -> pd.DataFrame:
    traj = pd.read_parquet(out / "trajectories.parquet")
    traj["scenario"] = traj["scenario"].astype(str)
    return traj.groupby(["scenario", "replication"]).first().reset_index()


def test_each_run_draws_a_particle_records_it_and_pairs_it_across_scenarios(tmp_path):
    post = load_posterior(SHIPPED)
    points = attach_posterior(load_points([BASELINE, UNITED], months=3), post)
    run_batch(points, 30, 11, tmp_path / "out", workers=1, progress=False)
    runs = _runs(tmp_path / "out")
    assert len(runs) == 60
    for _, r in runs.iterrows():
        k = int(r["particle"])
        assert k == post.particle(11, int(r["replication"]))
        assert [r[p] for p in post.paths] == list(post.values[k]), "the values recorded are the particle's"
    by = runs.pivot(index="replication", columns="scenario", values="particle")
    assert (by["baseline"] == by["united_front"]).all(), "replication i draws the same particle in every scenario"
    assert by["baseline"].nunique() >= 20, "30 draws from 100 particles of similar weight are mostly distinct"
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["posterior_sha256"] == post.digest


def test_draws_follow_the_weights_and_not_the_number_of_replications(tmp_path):
    post = load_posterior(_two_particles(tmp_path / "post"))
    draws = [post.particle(5, i) for i in range(2000)]
    assert 1 not in draws, "a particle of weight zero is never drawn"
    assert np.mean(np.array(draws) == 2) == pytest.approx(0.7, abs=0.04)
    assert [post.particle(5, i) for i in range(50)] == draws[:50]
    assert draws != [post.particle(6, i) for i in range(2000)], "another seed, other draws"


def test_a_run_is_the_plain_run_at_its_particle_values():
    """The particle's values reach the model: the same run as --set with them, at the same seed."""
    post = load_posterior(SHIPPED)
    point = attach_posterior(load_points([BASELINE], months=24), post)[0]
    m = load_map(point.map_folder)
    k = post.particle(3, 4)
    drawn = run_one(particle_spec(point, m, k), m, 3, 4, 24)
    spec, m2 = load_scenario(BASELINE, [f"{p}={v!r}" for p, v in post.overrides(k).items()])
    plain = run_one(spec, m2, 3, 4, 24)
    default = run_one(load_scenario(BASELINE)[0], m2, 3, 4, 24)
    assert np.array_equal(drawn.territory_share, plain.territory_share)
    assert not np.array_equal(drawn.territory_share, default.territory_share), "the parameters change the run"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in [*sorted(folder.rglob("*.parquet")), folder / "events.txt"]:
        if f.is_file():
            h.update(f.relative_to(folder).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


def test_posterior_ensembles_replay_to_the_bit_whatever_the_workers(tmp_path):
    args = [*RUN, "run", str(BASELINE), str(UNITED), "-n", "20", "--seed", "4", "--months", "6",
            "--posterior", str(SHIPPED), "--figures", "none"]
    outs = []
    for name, workers in (("one", "1"), ("two", "2"), ("again", "1")):
        p = subprocess.run([*args, "-w", workers, "--out", str(tmp_path / name)], capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr
        outs.append(_digest(tmp_path / name))
    assert outs[0] == outs[1] == outs[2]
    with pytest.raises(BatchError, match="different batch"):  # resuming with another posterior is refused
        other = attach_posterior(load_points([BASELINE, UNITED], months=6),
                                 load_posterior(_two_particles(tmp_path / "post")))
        run_batch(other, 20, 4, tmp_path / "one", resume=True, progress=False)


def test_compare_says_the_intervals_cover_parameter_uncertainty_and_warns_on_mixed_draws(tmp_path):
    base = [*RUN, "run", "-n", "10", "--seed", "2", "--months", "12", "--figures", "none"]
    for scen, out, extra in ((BASELINE, "drawn", ["--posterior", str(SHIPPED)]), (UNITED, "fixed", [])):
        p = subprocess.run([*base, str(scen), "--out", str(tmp_path / out), *extra], capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, p.stderr
    p = subprocess.run([*RUN, "compare", str(tmp_path / "drawn"), "--out", str(tmp_path / "rep1")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "rep1" / "report.md").read_text()
    assert "parameter uncertainty and run-to-run randomness" in text and "judgement_history" in text
    assert f"--posterior {SHIPPED}" in text, "the provenance block's command remakes the ensemble"
    p = subprocess.run([*RUN, "compare", str(tmp_path / "drawn"), str(tmp_path / "fixed"), "--out",
                        str(tmp_path / "rep2")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "warning: the folders compared did not draw their parameters alike" in p.stderr
    assert "did not draw their parameters alike" in (tmp_path / "rep2" / "report.md").read_text()


def _bad(tmp_path: Path, name: str, frame: pd.DataFrame | None = None, raw: bytes | None = None) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    if frame is not None:
        frame.to_parquet(folder / "posterior.parquet", index=False)
    if raw is not None:
        (folder / "posterior.parquet").write_bytes(raw)
    return folder


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "no such folder"),
    ("empty", "holds no posterior.parquet"),
    ("torn", "not a readable Parquet file"),
    ("nan_weight", "weight: expected numbers in every row"),
    ("negative_weight", "weight: expected non-negative weights"),
    ("no_weight", "weight: missing"),
    ("text_value", "parameters.surrender_rate: expected numbers"),
    ("unknown_path", "parameters.no_such_thing"),
    ("out_of_range", "parameters.mobile_share"),
    ("drawn_and_set", "--set parameters.surrender_rate: also drawn"),
    ("drawn_and_swept", "--sweep parameters.surrender_rate: also drawn"),
])
def test_bad_posteriors_are_one_line_and_write_nothing(tmp_path, case, expected):
    good = {"parameters.surrender_rate": [2.0, 3.0], "parameters.mobile_share": [0.2, 0.4], "weight": [0.5, 0.5]}
    extra: list[str] = []
    if case == "missing":
        folder = tmp_path / "nowhere"
    elif case == "empty":
        folder = _bad(tmp_path, case)
    elif case == "torn":
        folder = _bad(tmp_path, case, raw=b"PAR1 not really")
    elif case == "text_value":
        folder = _bad(tmp_path, case, pd.DataFrame({**good, "parameters.surrender_rate": ["a", "b"]}))
    elif case == "no_weight":
        folder = _bad(tmp_path, case, pd.DataFrame({k: v for k, v in good.items() if k != "weight"}))
    else:
        changes = {"nan_weight": {"weight": [np.nan, 1.0]}, "negative_weight": {"weight": [-1.0, 1.0]},
                   "unknown_path": {"parameters.no_such_thing": [1.0, 2.0]},
                   "out_of_range": {"parameters.mobile_share": [0.2, 7.0]}}.get(case, {})
        folder = _bad(tmp_path, case, pd.DataFrame({**good, **changes}))
        extra = {"drawn_and_set": ["--set", "parameters.surrender_rate=4"],
                 "drawn_and_swept": ["--sweep", "parameters.surrender_rate=4,5"]}.get(case, [])
    out = tmp_path / "out"
    p = subprocess.run([*RUN, "run", str(BASELINE), "-n", "2", "--months", "2", "--posterior", str(folder),
                        "--out", str(out), *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], p.stderr
    assert "Traceback" not in p.stderr and not out.exists()


def test_a_posterior_with_no_parameter_is_refused(tmp_path):
    folder = _write_posterior(tmp_path / "p", pd.DataFrame({"weight": [1.0], "distance": [0.0]}))
    with pytest.raises(PosteriorError, match="no parameter column"):
        load_posterior(folder)


def test_tipping_draws_the_same_particle_at_every_lever_value_and_refuses_a_drawn_lever(tmp_path):
    cmd = [*RUN, "tipping", str(ROOT / "scenarios" / "slight_support.yaml"), "--outcome", "share:0.5", "--months",
           "6", "-n", "8", "--seed", "2", "--design", "3,0,1", "-w", "1", "--posterior", str(SHIPPED)]
    p = subprocess.run([*cmd, "--lever", "donors.us.budget=0:100", "--out", str(tmp_path / "tip")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert f"from the posterior {SHIPPED}" in p.stdout
    traj = pd.read_parquet(tmp_path / "tip" / "rounds" / "0" / "trajectories.parquet")
    runs = traj.groupby(["point", "replication"])[["particle"]].first().reset_index()
    by = runs.groupby("replication")["particle"].nunique()
    assert (by == 1).all() and runs.groupby("replication")["point"].nunique().eq(3).all()
    p = subprocess.run([*cmd, "--lever", "parameters.surrender_rate=1:50", "--out", str(tmp_path / "bad")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "also drawn" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "bad").exists()
