"""Attacks as events (ODD 7.7.1): the count rule on hand-made bundles, the baseline and the table."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.bundles import blank_const, blank_state, pars_bundle
from sim.mechanics.raids import attention, intensity, poisson_count, raid
from sim.model import ConflictModel
from sim.scenario import load_scenario
from tests.conftest import BASELINE, ROOT

P, F = 3, 2  # faction 0 the government, 1 a resistance group hostile to it


def _world(strength: float = 3000.0, materiel: float = 1.0, funds: float = 2.0, mode: float = 1.0):
    """Two provinces shared by the government and the group, one held by the government alone.

    ``mode`` is the group's guerrilla flag (0 a conventional army).
    """
    hostility = np.array([[0.0, 1.0], [1.0, 0.0]])
    c = blank_const(P, F, 1, hostility=hostility, guerrilla=np.array([0.0, mode]))
    s = blank_state(P, F, 1)
    s.control[...] = [[0.8, 0.2], [0.95, 0.05], [1.0, 0.0]]
    s.strength[:] = [100000.0, strength]
    s.materiel[:] = [100.0, materiel]
    s.funds[:] = [100.0, funds]
    return c, s


def _mean_attacks(n: int = 4000, seed: int = 1, **kw: float) -> float:
    """Mean monthly attacks by the group over ``n`` independent months."""
    p = pars_bundle()
    u = np.random.default_rng(seed).random((n, P, F))
    total = 0.0
    for k in range(n):
        c, s = _world(**kw)
        raid(c, p, s, u[k])
        total += s.raids[:, 1].sum()
    return total / n


def test_poisson_count_inverts_the_cdf():
    assert poisson_count(0.5, 0.0) == 0 and poisson_count(0.3, 1.0) == 0  # P(0) = e^-1 = 0.37
    assert poisson_count(0.5, 1.0) == 1 and poisson_count(0.99, 1.0) == 4
    u = np.random.default_rng(0).random(20000)
    draws = np.array([poisson_count(x, 3.0) for x in u])
    assert abs(draws.mean() - 3.0) < 0.1 and abs(draws.var() - 3.0) < 0.2


def test_counts_follow_the_declared_intensity():
    p = pars_bundle()
    c, s = _world()
    lam = intensity(c, p, s, 1)
    g = p.raid_floor + (1 - p.raid_floor) * np.array([1.0 / 2.0, 2.0 / 3.0])  # arms 1, funds 2, halves 1
    assert lam == pytest.approx(p.raid_rate * 3.0 * g.prod())
    n = 4000
    mean = _mean_attacks(n)
    assert abs(mean - lam) < 6 * math.sqrt(lam / n), "Poisson mean within six standard errors"


def test_more_fighters_arms_and_funds_mean_more_attacks():
    base = _mean_attacks()
    assert _mean_attacks(strength=6000.0) > base
    assert _mean_attacks(materiel=5.0) > base
    assert _mean_attacks(funds=10.0) > base


def test_no_fighters_no_attacks_and_none_where_the_group_is_absent():
    assert _mean_attacks(200, strength=0.0) == 0.0
    p = pars_bundle()
    c, s = _world()
    assert intensity(c, p, s, 0) == 0.0, "the government does not attack itself"
    raid(c, p, s, np.full((P, F), 0.999))
    assert s.raids[2].sum() == 0, "no presence in the third province, no attacks there"
    assert s.raids[:, 1].sum() > 0


def test_a_conventional_army_fights_on_its_fronts_and_does_not_raid():
    assert _mean_attacks(200, mode=0.0) == 0.0 and _mean_attacks(200) > 0.0
    c, s = _world(mode=0.0)
    assert intensity(c, pars_bundle(), s, 1) == 0.0


def test_attacks_feed_harm_losses_and_notice():
    p = pars_bundle()
    c, s = _world()
    raid(c, p, s, np.full((P, F), 0.999))
    n = s.raids[:, 1].sum()
    assert np.allclose(s.harm[:, 1], p.raid_harm * s.raids[:, 1])
    assert s.strength[0] == pytest.approx(100000.0 - p.raid_losses * n)
    assert s.notice[1] == n and attention(p, s.notice)[1] > 0.0 and attention(p, s.notice)[0] == 0.0


def test_the_baseline_has_nrf_and_aff_attacks_in_most_quarters():
    spec, m = load_scenario(BASELINE)
    nrf, aff = (list(spec.factions).index(k) for k in ("nrf", "aff"))
    quarters = []
    for seed in range(6):
        r = ConflictModel(spec, m, seed, months=24).run()
        q = r.raids[1:].sum(axis=1).reshape(8, 3, -1).sum(axis=1)
        quarters.append(q[:, [nrf, aff]])
    q = np.array(quarters)
    assert (q[..., 0] > 0).mean() > 0.9 and (q[..., 1] > 0).mean() > 0.6
    assert np.median(q[..., 0]) >= 5, "the NRF attacks several times a quarter"


def test_same_seed_same_attacks_and_none_without_a_rate():
    spec, m = load_scenario(BASELINE)
    a, b = (ConflictModel(spec, m, 11, months=12).run() for _ in range(2))
    assert a.raids.dtype == np.int32 and a.raids.sum() > 0
    assert np.array_equal(a.raids, b.raids) and np.array_equal(a.strength, b.strength)
    quiet = spec.model_copy(update={"parameters": spec.parameters.model_copy(update={"raid_rate": 0.0})})
    model = ConflictModel(quiet, m, 11, months=12)
    assert model.draws.raid.shape == (12, m.n, model.setup.n_territorial), "one column per ground-holding faction"
    r = model.run()
    assert r.raids.sum() == 0 and np.array_equal(r.control[0], a.control[0])
    assert np.array_equal(model.state.notice, np.zeros(len(r.factions)))


def test_the_attacks_table_through_the_cli(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "run.py", "run", "scenarios/baseline.yaml", "-n", "2", "--seed", "3",
                    "--months", "6", "--figures", "none", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    df = pd.read_parquet(out / "attacks.parquet")
    assert list(df.columns) == ["scenario", "point", "replication", "seed", "step", "date", "group", "province",
                                "target", "count"]
    assert len(df) and (df["count"] > 0).all()
    home = df[df["province"] != "abroad"]
    assert {"nrf", "aff"} <= set(home["group"]) and set(home["target"]) == {"taliban"}
