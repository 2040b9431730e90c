"""ABC-SMC (sim.calibration.smc): known posteriors, parameter recovery, resume to the bit, the budget."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.calibration.smc import Prior, Settings, credible_interval, run_smc, weighted_quantile


def _region_distance(theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How far each point lies outside the box [lo, hi] (0 inside), summed over the dimensions."""
    return (np.maximum(lo - theta, 0.0) + np.maximum(theta - hi, 0.0)).sum(axis=1)


def _mean_sd(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    m = float(np.sum(w * x))
    return m, float(np.sqrt(np.sum(w * (x - m) ** 2)))


def test_a_tolerance_region_gives_the_prior_restricted_to_it():
    """Distance 0 inside a box: the posterior is the prior on the box (uniform, and log-uniform in log b).

    The proposals are far from uniform (Gaussian around the last particles); only correct
    importance weights turn them back into the restricted prior.
    """
    prior = Prior(("a", "b"), np.array([0.0, 0.1]), np.array([1.0, 10.0]), np.array([False, True]))
    lo, hi = np.array([0.2, 1.0]), np.array([0.4, 2.0])
    gens = list(run_smc(prior, lambda th, t, k: _region_distance(th, lo, hi), Settings(population=400, generations=8),
                        seed=5))
    last = gens[-1]
    assert last.epsilon == 0.0, "the sampler reaches the region itself"
    assert np.all((last.theta >= lo) & (last.theta <= hi))
    a_mean, a_sd = _mean_sd(last.theta[:, 0], last.weights)
    logb_mean, logb_sd = _mean_sd(np.log(last.theta[:, 1]), last.weights)
    assert a_mean == pytest.approx(0.3, abs=0.012)
    assert a_sd == pytest.approx(0.2 / np.sqrt(12), abs=0.008)
    assert logb_mean == pytest.approx(np.log(2) / 2, abs=0.03), "uniform in log b: the log-uniform prior kept"
    assert logb_sd == pytest.approx(np.log(2) / np.sqrt(12), abs=0.02)
    assert last.ess > 0.3 * 400


def _noisy_model(reps: int, n: int, seed: int):
    """x = mu + sigma z with z fixed by the seed (common random numbers), summarised by mean and sd."""
    z = np.random.default_rng(seed).standard_normal((reps, n))

    def summaries(theta: np.ndarray) -> np.ndarray:
        x = theta[:, 0, None, None] + theta[:, 1, None, None] * z[None]
        return np.stack([np.median(x.mean(axis=2), axis=1), np.median(x.std(axis=2), axis=1)], axis=1)

    return summaries


def test_it_recovers_known_parameters_from_history_made_with_other_seeds():
    """Make "history" with the model at known values, calibrate on it: the truth is inside the 90% intervals."""
    truth = np.array([[1.2, 0.7]])
    record = _noisy_model(1, 400, seed=99)(truth)[0]  # history: one realisation, seeds the calibration never uses
    tolerance = np.array([0.15, 0.12])  # the patterns' tolerances: a few standard errors of the record
    model = _noisy_model(5, 400, seed=1)

    def distance(theta: np.ndarray, t: int, batch: int) -> np.ndarray:
        return (np.maximum(np.abs(model(theta) - record) - tolerance, 0.0) / tolerance).sum(axis=1)

    prior = Prior(("mu", "sigma"), np.array([-3.0, 0.05]), np.array([3.0, 3.0]), np.array([False, True]))
    last = list(run_smc(prior, distance, Settings(population=200, generations=8), seed=2))[-1]
    for k in range(2):
        lo, hi = credible_interval(last.theta[:, k], last.weights)
        assert lo <= truth[0, k] <= hi, (prior.names[k], lo, hi)
        assert hi - lo < 0.25 * (prior.high[k] - prior.low[k]), "the posterior is narrower than the prior"


def test_a_resumed_calibration_gives_the_same_generations_to_the_bit():
    prior = Prior(("a",), np.array([0.0]), np.array([1.0]), np.array([False]))

    def distance(theta, t, batch):
        return np.abs(theta[:, 0] - 0.37)

    s = Settings(population=50, generations=5)
    straight = list(run_smc(prior, distance, s, seed=9))
    interrupted = list(itertools.islice(run_smc(prior, distance, s, seed=9), 2))
    resumed = interrupted + list(run_smc(prior, distance, s, seed=9, done=interrupted))
    assert [g.t for g in resumed] == [g.t for g in straight] == list(range(5))
    for a, b in zip(straight, resumed, strict=True):
        assert np.array_equal(a.theta, b.theta) and np.array_equal(a.weights, b.weights)
        assert a.epsilon == b.epsilon and a.simulated == b.simulated
    assert all(b.epsilon < a.epsilon for a, b in itertools.pairwise(straight)), "the tolerance falls"


def test_it_stops_at_the_simulation_budget_and_at_low_acceptance():
    prior = Prior(("a",), np.array([0.0]), np.array([1.0]), np.array([False]))
    calls = []

    def distance(theta, t, batch):
        calls.append(len(theta))
        return np.abs(theta[:, 0] - 0.5)

    gens = list(run_smc(prior, distance, Settings(population=40, generations=50, max_simulations=400), seed=1))
    assert sum(g.simulated for g in gens) <= sum(calls) <= 400, "the budget holds, abandoned batches included"
    assert len(gens) < 50
    # a target nobody reaches (distance never below 1): acceptance collapses and the sampler stops
    flat = list(run_smc(prior, lambda th, t, k: 1.0 + 0.0 * th[:, 0], Settings(population=20, generations=6), seed=1))
    assert len(flat) >= 2 and flat[-1].epsilon == 1.0


def test_weighted_quantile_and_interval():
    x = np.array([3.0, 1.0, 2.0, 4.0])
    w = np.array([0.1, 0.4, 0.4, 0.1])
    assert weighted_quantile(x, w, 0.5) == 2.0
    assert weighted_quantile(x, w, 0.4) == 1.0
    assert credible_interval(x, w, 0.8) == (1.0, 3.0)


def test_a_pattern_distance_is_zero_exactly_when_the_scorecard_passes_it():
    """Over every shipped pattern and medians around its range: d == 0 iff the scorecard's rule passes."""
    import math

    from sim.calibration.distance import CAP, miss, pattern_distance, scale, total
    from sim.patterns.load import load_patterns
    from sim.patterns.scorecard import passes
    from tests.conftest import ROOT

    patterns = load_patterns(sorted((ROOT / "patterns").glob("*.yaml")))
    assert len(patterns) >= 20
    rng = np.random.default_rng(0)
    for p in patterns:
        finite = [v for v in (p.low, p.high) if math.isfinite(v)]
        centre = finite[0] if finite else 0.0
        for med in [*(centre + scale(p) * rng.normal(0, 3, 40)), math.inf, p.low, p.high]:
            d = miss(med, p)
            assert 0.0 <= d <= CAP
            assert (d == 0.0) == passes(med, p.low, p.high, p.spec.tolerance), (p.spec.id, med, d)
        if math.isfinite(p.high):
            one_out = p.high + p.spec.tolerance + scale(p)  # one scale beyond the widened range
            assert miss(one_out, p) == pytest.approx(1.0)
            assert pattern_distance(np.array([one_out] * 3 + [math.inf]), p) == pytest.approx(1.0), "the median"
        assert pattern_distance(np.zeros(0), p) == CAP, "not measured: the whole weight"
    assert total([1.0, 0.0], [3.0, 1.0]) == 0.75, "the weighted mean of the misses"


def _calibrate(*args: str):
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run([sys.executable, str(ROOT / "run.py"), "calibrate", *args], capture_output=True, text=True,
                          timeout=900)


def _small_file(tmp_path, name: str = "small", **change: str):
    from tests.conftest import ROOT

    text = {"patterns": f"[{ROOT / 'patterns' / '2021_collapse.yaml'}]",
            "targets": "[{pattern: c2021_first_capital_falls}, {pattern: c2021_cascade}]",
            "held_out": "[c2021_kabul_falls]", **change}
    f = tmp_path / f"{name}.yaml"
    f.write_text(f"patterns: {text['patterns']}\n"
                 "priors:\n  - {path: parameters.capture_superiority, low: 1.5, high: 6.0}\n"
                 "  - {path: parameters.surrender_rate, low: 1.0, high: 100.0, scale: log}\n"
                 f"targets: {text['targets']}\nheld_out: {text['held_out']}\n"
                 "sampler: {population: 6, generations: 2, max_simulations: 60}\nreplications: 1\nseed: 3\n")
    return f


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A small real calibration through the command line, on the 2021 hindcast."""
    tmp = tmp_path_factory.mktemp("cal")
    f = _small_file(tmp)
    p = _calibrate(str(f), "--out", str(tmp / "out"), "-w", "1")
    assert p.returncode == 0, p.stderr
    return f, tmp / "out", p.stdout


def test_calibrate_writes_the_posterior_its_diagnostics_checks_and_report(calibrated):
    import pandas as pd

    _, out, stdout = calibrated
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns[:2]) == ["parameters.capture_superiority", "parameters.surrender_rate"]
    assert len(post) == 6 and post["weight"].sum() == pytest.approx(1.0)
    assert post["parameters.capture_superiority"].between(1.5, 6.0).all()
    assert post["parameters.surrender_rate"].between(1.0, 100.0).all()
    diag = pd.read_csv(out / "diagnostics.csv")
    assert list(diag["generation"]) == [0, 1] and (diag["ess"] > 0).all() and diag["acceptance"].iloc[0] == 1.0
    assert diag["epsilon"].iloc[1] < np.inf and (post["distance"] <= diag["epsilon"].iloc[1]).all()
    checks = pd.read_csv(out / "checks.csv")
    assert list(checks["role"]) == ["target", "target", "held out"]
    assert checks["passing_share"].between(0, 1).all()
    md = (out / "calibration.md").read_text()
    assert md.startswith("# Calibration\n\nThe target patterns identify") and "c2021_kabul_falls" in md
    assert (out / "posterior.png").stat().st_size > 10_000
    assert "generation 1: tolerance" in stdout


def test_a_resumed_calibration_ends_where_an_uninterrupted_one_does(calibrated, tmp_path):
    import shutil

    import pandas as pd

    f, out, _ = calibrated
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    (cut / "generations" / "g001.parquet").unlink()  # as if stopped during generation 1
    for name in ("posterior.parquet", "calibration.md", "checks.csv"):
        (cut / name).unlink()
    shutil.rmtree(cut / "runs" / "g001b000")
    p = _calibrate(str(f), "--out", str(cut), "--resume", "-w", "1")
    assert p.returncode == 0, p.stderr
    assert "resuming after generation 0" in p.stdout
    for name in ("posterior.parquet", "generations/g001.parquet"):
        a, b = (pd.read_parquet(d / name) for d in (cut, out))  # all but the seconds each generation took
        pd.testing.assert_frame_equal(*(x.drop(columns="seconds", errors="ignore") for x in (a, b)))
    pd.testing.assert_frame_equal(pd.read_csv(cut / "checks.csv"), pd.read_csv(out / "checks.csv"))


def test_calibrate_refuses_bad_files_and_folders_in_one_line(calibrated, tmp_path):
    f, out, _ = calibrated
    cases = [
        (_small_file(tmp_path, "a", targets="[{pattern: no_such_pattern}]"), ["targets.0", "no_such_pattern"]),
        (_small_file(tmp_path, "b", held_out="[c2021_cascade]"), ["held_out", "c2021_cascade"]),
        (_small_file(tmp_path, "c", patterns="[nowhere.yaml]"), ["patterns", "nowhere.yaml"]),
    ]
    prior = _small_file(tmp_path, "e")
    prior.write_text(prior.read_text().replace("parameters.surrender_rate", "parameters.no_such_rate"))
    cases.append((prior, ["priors", "no_such_rate"]))
    for bad, words in cases:
        p = _calibrate(str(bad), "--out", str(tmp_path / "x"))
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert all(w in p.stderr for w in words) and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not (tmp_path / "x").exists(), "a refused calibration leaves nothing behind"
    for option in (["--replications", "0"], ["--seed", "-1"]):
        p = _calibrate(str(f), "--out", str(tmp_path / "y"), *option)
        assert p.returncode == 2 and option[0] in p.stderr and not (tmp_path / "y").exists(), p.stderr
    other = _small_file(tmp_path, "d", held_out="[]")
    p = _calibrate(str(other), "--out", str(out), "--resume")
    assert p.returncode == 2 and "another file" in p.stderr
    p = _calibrate(str(f), "--out", str(out))
    assert p.returncode == 2 and "already holds files" in p.stderr


def test_ridges_name_the_pairs_the_posterior_ties_together():
    from sim.calibration.outputs import ridges
    from sim.calibration.smc import Generation

    rng = np.random.default_rng(4)
    a = rng.random(300)
    theta = np.column_stack([a, 1.0 + 2.0 * a + 0.05 * rng.standard_normal(300), rng.random(300)])
    prior = Prior(("a", "b", "c"), np.array([0.0, 0.0, 0.0]), np.array([1.0, 4.0, 1.0]), np.zeros(3, dtype=bool))
    g = Generation(3, theta, np.full(300, 1 / 300), np.zeros(300), 0.0, 300)
    found = ridges(g, prior)
    assert list(zip(found["a"], found["b"], strict=True)) == [("a", "b")]
    assert found["correlation"].iloc[0] > 0.95


def test_an_interrupted_calibration_says_how_to_finish_and_resumes_to_the_same_posterior(calibrated, tmp_path):
    import signal
    import subprocess
    import sys

    import pandas as pd

    from tests.conftest import ROOT

    f, out, _ = calibrated
    cut = tmp_path / "cut"
    p = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "calibrate", str(f), "--out", str(cut), "-w", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:  # interrupt once generation 0 is stored, while generation 1 runs
        if "generation 0:" in line:
            p.send_signal(signal.SIGINT)
            break
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, err
    assert "to finish:" in err and "--resume" in err and "Traceback" not in err, err
    assert (cut / "generations" / "g000.parquet").exists() and not (cut / "posterior.parquet").exists()
    done = _calibrate(str(f), "--out", str(cut), "--resume", "-w", "1")
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(*(pd.read_parquet(d / "posterior.parquet") for d in (cut, out)))


def test_a_calibration_on_dask_gives_the_local_posterior(calibrated, tmp_path):
    """The particles' runs on a real Dask LocalCluster: the same seeds, so the same generations to the bit."""
    import pandas as pd

    pytest.importorskip("distributed")
    f, out, _ = calibrated
    on_dask = tmp_path / "dask.yaml"
    on_dask.write_text(f.read_text() + "executor: dask\n")
    p = _calibrate(str(on_dask), "--out", str(tmp_path / "out"), "-w", "2")
    assert p.returncode == 0, p.stderr
    pd.testing.assert_frame_equal(*(pd.read_parquet(d / "posterior.parquet") for d in (tmp_path / "out", out)))


@pytest.mark.parametrize("pattern_file", ["2021_collapse.yaml", "1996_2001.yaml"])
def test_the_workers_measures_equal_those_read_back_from_the_store(tmp_path, pattern_file):
    """A particle is measured in the worker, on its chunks' runs; a resumed one from the stored tables: same values."""
    from sim.calibration.particles import Particles, _values
    from sim.patterns.load import load_patterns
    from sim.patterns.measures import Results
    from sim.scenario import load_scenario
    from tests.conftest import ROOT

    patterns = load_patterns([ROOT / "patterns" / pattern_file])
    fit = Particles(("parameters.capture_superiority",), patterns, 12, 5, tmp_path, workers=1)
    scenario = patterns[0].scenario.resolve()
    theta = np.array([[2.0], [4.0]])
    probed = fit._run(theta, scenario, tmp_path / "b", patterns)  # 12 replications: two chunks a point
    spec, m = load_scenario(scenario)
    area = dict(zip(m.names, m.area.tolist(), strict=True))
    for k in range(len(theta)):
        res = Results.from_folder(tmp_path / "b", area, spec.parameters.held_threshold, point=k)
        stored = [_values(res, p) for p in patterns]
        assert len(stored[0]) == 12
        for p, a, b in zip(patterns, probed[k], stored, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=p.spec.id)
