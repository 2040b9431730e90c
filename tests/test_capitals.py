"""Provincial capitals as stakes and the cascade of surrenders (ODD 7.4.1): the rule in isolation, then on
the real scenarios and in the outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.bundles import blank_const, blank_state, pars_bundle
from sim.mechanics.capitals import demoralisation, garrisons, hold_capitals
from sim.model import ConflictModel
from sim.scenario import load_scenario
from tests.conftest import BASELINE, ROOT

P, F = 5, 2  # a chain of five provinces; faction 0 the government, 1 its enemy


def _world(ratio: float, arms: float = 10.0, holder: int = 0, lost_neighbours: int = 0):
    """Every capital held by the government; in province 2 the enemy has ``ratio`` times its power."""
    c = blank_const(P, F, 1, hostility=np.array([[0.0, 1.0], [1.0, 0.0]]))
    s = blank_state(P, F, 1)
    s.control[:] = 0.5
    s.strength[:] = [1000.0, 1000.0]
    s.materiel[:] = [100.0, arms]
    s.funds[:] = 10.0
    s.cohesion[0] = 1.0
    s.holder[:] = holder
    for j in (1, 3)[:lost_neighbours]:
        s.holder[j] = 1
    e = np.ones((P, F))
    e[2, 1] = ratio
    deployed = np.full((P, F), 200.0)
    return c, s, e, deployed


def _falls(ratio: float, months: int = 12, **kw) -> bool:
    """Whether province 2's garrison surrenders within ``months`` of monthly draws of 0.5."""
    c, s, e, deployed = _world(ratio, **kw)
    p = pars_bundle()
    for _ in range(months):
        garrisons(c, p, s, e, deployed, np.full(P, 0.5))
        if s.holder[2] == 1:
            return True
    return False


def test_the_holder_keeps_its_capitals_share_and_rows_still_sum_to_one():
    control = np.array([[0.05, 0.95], [0.6, 0.4], [0.0, 1.0]])
    out = control.copy()
    hold_capitals(out, np.array([0, 0, 0]), 0.15)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert out[0, 0] == 0.15 and out[2, 0] == 0.15 and out[1, 0] == 0.6, "only a holder under the floor moves"
    assert np.isclose(out[0, 1], 0.85)


def test_capture_needs_superiority_and_arms():
    assert not _falls(1.0), "no superiority: the garrison holds"
    assert not _falls(2.0), "a superiority under capture_superiority (2.25) does not take an intact garrison"
    assert _falls(8.0), "overwhelming superiority does"
    assert not _falls(8.0, arms=0.0), "an attacker without arms takes no city"


def test_encirclement_and_a_fallen_centre_make_garrisons_give_up_to_less():
    assert not _falls(2.0)
    assert _falls(2.0, lost_neighbours=2), "a garrison whose neighbouring capitals fell gives up to 2:1"
    c, s, *_ = _world(2.0)
    p = pars_bundle()
    calm = demoralisation(c, p, s, s.holder.copy(), 2, 0)
    s.capital_lost[0] = True
    s.funds[0] = 0.0
    s.cohesion[0] = 0.3
    assert calm == 1.0 and demoralisation(c, p, s, s.holder.copy(), 2, 0) == pytest.approx(11 * 3 * 2.4)


def test_a_surrender_hands_fighters_arms_and_the_city_to_the_victor():
    c, s, e, deployed = _world(50.0)
    s.control[2] = [0.1, 0.9]
    p = pars_bundle()
    pool = s.security_pool[0]
    garrisons(c, p, s, e, deployed, np.zeros(P))
    moved = p.surrender_transfer * 200.0
    # the whole garrison of 200 is lost: a share joins the victor, the rest go home
    assert s.holder[2] == 1 and s.strength[0] == 1000.0 - 200.0 and s.strength[1] == 1000.0 + moved
    assert s.security_pool[0] == pytest.approx(pool + 200.0 - moved)
    assert s.materiel[0] == pytest.approx(100.0 * (1 - moved / 1000.0)) and s.materiel[1] > 10.0
    assert s.control[2, 1] >= p.capital_share and np.isclose(s.control[2].sum(), 1.0)


def test_a_garrison_that_gives_up_hands_the_city_to_a_stronger_friend_of_its_holder():
    # faction 2, at peace with the government and at war with faction 1, is in province 2 too
    c = blank_const(P, 3, 1, hostility=np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    s = blank_state(P, 3, 1)
    s.control[:] = [0.4, 0.3, 0.3]
    s.strength[:] = 1000.0
    s.materiel[:] = 10.0
    s.funds[:] = 10.0
    s.cohesion[0] = 1.0
    deployed = np.full((P, 3), 200.0)
    e = np.ones((P, 3))
    e[2] = [1.0, 50.0, 80.0]  # the garrison is beaten, but the friend is stronger than the attacker
    p = pars_bundle()
    garrisons(c, p, s, e, deployed, np.zeros(P))
    moved = p.surrender_transfer * 200.0
    assert s.holder[2] == 2, "the city passes to the friend (the Panjshir to the NRF, August 2021)"
    assert s.strength[2] == pytest.approx(1000.0 + moved) and s.strength[1] == 1000.0
    s.holder[:] = 0
    e[2] = [1.0, 50.0, 20.0]  # a weaker friend does not stop the attacker
    garrisons(c, p, s, e, deployed, np.zeros(P))
    assert s.holder[2] == 1


def test_the_resistance_holds_valleys_not_capitals_under_the_status_quo():
    spec, m = load_scenario(BASELINE)
    nrf = list(spec.factions).index("nrf")
    panjshir = m.index["Panjshir"]
    for seed in range(4):
        r = ConflictModel(spec, m, seed, months=60).run()
        assert r.provinces_held[:, nrf].max() == 0, "no capital passes to the resistance"
        assert r.control[-1, panjshir, nrf] > 0.02, "but it keeps some ground in its valley"
        assert (r.holder == list(spec.factions).index(spec.government)).all()


def test_the_republic_holds_every_capital_in_july_2021_and_loses_them_in_a_cascade():
    spec, m = load_scenario(ROOT / "scenarios" / "hindcast_2021_collapse.yaml")
    rep, tal = list(spec.factions).index("republic"), list(spec.factions).index("taliban")
    fell = []
    for seed in range(4):
        r = ConflictModel(spec, m, seed).run()
        assert r.provinces_held[0, rep] == 34, "1 July 2021: every capital is the republic's"
        assert r.territory_share[0, tal] > 0.4, "while the Taliban hold much of the countryside"
        fell.append(r.provinces_held[-1, rep])
    assert np.median(fell) <= 3, "within three months the republic holds (almost) no capital"


def test_the_capitals_table_records_each_holder_every_step(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "res"
    hindcast = ROOT / "scenarios" / "hindcast_2021_collapse.yaml"
    # three months: the whole collapse (in July 2021 no capital falls, as in the record)
    args = ["-n", "2", "--seed", "3", "--months", "3", "--figures", "none", "--out", str(out)]
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(hindcast), *args],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    cap = pd.read_parquet(out / "capitals.parquet")
    assert set(cap.columns) >= {"scenario", "point", "replication", "seed", "step", "date", "province", "holder"}
    steps = cap["step"].nunique()
    assert len(cap) == 2 * steps * 34 and steps == 92
    traj = pd.read_parquet(out / "trajectories.parquet")
    held = cap.groupby(["replication", "step", "holder"], observed=True).size()
    rep = traj[traj["actor"] == "republic"].set_index(["replication", "step"])["provinces_held"]
    got = held.xs("republic", level="holder").reindex(rep.index, fill_value=0)
    assert (got.to_numpy() == rep.to_numpy()).all(), "provinces held counts the capitals held"
    events = (out / "events.txt").read_text()
    assert "garrison" in events and "surrenders" in events
