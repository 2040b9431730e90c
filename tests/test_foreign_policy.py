"""Foreign policy that moves (ODD 7.1): stance with inertia, staged recognition, Salehyan's inverted U.

Every claim is checked on real runs of the baseline (paired seeds where two runs are
compared), except the shape of the viability curve, a pure function.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.bundles import pars_bundle
from sim.mechanics import support
from sim.model import ConflictModel
from sim.patterns.measures import Results, measure
from sim.tables import donors_frame, provinces_frame, trajectories_frame
from tests.conftest import run, variant
from tests.test_patterns import _m

SEEDS = range(6)


def _shock(spec, donor: str, delta: float, date: str = "2023-06-01"):
    """The baseline with a one-off jump of ``donor``'s threat on ``date`` (a state event)."""
    event = {"name": f"{donor}_shock", "text": f"an attack shocks {donor}", "when": {"date": date},
             "state": {"threat": {donor: delta}}}
    return variant(spec, events=[event])


def test_a_threat_shock_moves_the_stance_gradually(baseline):
    spec, m = baseline
    china = list(spec.donors).index("china")
    calm, shocked = run(spec, m, 3, 30), run(_shock(spec, "china", 0.8), m, 3, 30)
    t0 = int(np.searchsorted(shocked.dates, np.datetime64("2023-06-01"), side="right"))  # the step it fires in
    gap = calm.stance[:, china] - shocked.stance[:, china]
    assert np.allclose(gap[:t0], 0.0), "nothing moves before the shock (same seed, same draws)"
    # the target falls by theta * threat (0.6 * 0.8 at once); the stance moves about 6% of the gap a month
    p = pars_bundle(spec.parameters)
    first = gap[t0]
    assert 0.0 < first < 0.1 * 0.6 * 0.8 * 1.5, f"one month takes a small part of the way ({first:.3f})"
    assert first < 1.0 - np.exp(-p.stance_rate) + 0.01, "about the partial-adjustment share, not the whole gap"
    assert (np.diff(gap[t0:t0 + 6]) > 0).all(), "the stance keeps moving for months after the shock"
    assert gap[t0 + 6] > 3 * first, "six months on it has moved much further than in the first"


def test_stages_move_one_at_a_time_and_only_formal_recognition_gives_legitimacy(baseline):
    spec, m = baseline
    weight = np.array([d.weight for d in spec.donors.values()])
    for seed in SEEDS:
        r = run(spec, m, seed, 48)
        stage = r.recognition_stage
        assert ((stage >= 0) & (stage <= 3)).all()
        assert (np.abs(np.diff(stage, axis=0)) <= 1).all(), "one stage at a time"
        assert (r.recognised == (stage == 3)).all(), "recognised means formal recognition, stage 3"
        formal = (weight * (stage == 3)).sum(axis=1) / weight.sum()
        assert np.allclose(r.legitimacy[1:], formal[1:]), "legitimacy counts formal recognition only"
        ambassadors = (stage[1:] == 2).any(axis=1) & (stage[1:] < 3).all(axis=1)
        assert ambassadors.any() and (r.legitimacy[1:][ambassadors] == 0).all(), \
            "an accepted ambassador without formal recognition gives no legitimacy"


def test_a_state_dwells_above_a_threshold_before_each_step(baseline):
    spec, m = baseline
    r = run(spec, m, 5, 48)
    dwell = int(pars_bundle(spec.parameters).stage_dwell)
    for d in range(len(r.donors)):
        for t in np.flatnonzero(np.diff(r.recognition_stage[:, d]) > 0) + 1:
            before = np.flatnonzero(np.diff(r.recognition_stage[:t, d]) != 0)
            since = t - (before[-1] + 1 if before.size else 0)
            assert since >= dwell, f"{r.donors[d]} took a step {since} months after the last (dwell {dwell})"


def test_a_threat_spike_turns_a_state_hostile_sooner(baseline):
    spec, m = baseline
    pak = list(spec.donors).index("pakistan")
    spiked = _shock(spec, "pakistan", 1.0, "2023-01-01")
    earlier = 0
    for seed in SEEDS:
        calm, hit = run(spec, m, seed, 36), run(spiked, m, seed, 36)
        t_calm = np.flatnonzero(calm.stance[:, pak] < 0)
        t_hit = np.flatnonzero(hit.stance[:, pak] < 0)
        assert t_hit.size, "the spike turns Pakistan hostile"
        earlier += not t_calm.size or t_hit[0] < t_calm[0]
        assert hit.pressure[t_hit[0]:, pak].max() > 0, "a hostile state presses the government"
    assert earlier == len(SEEDS), "a threat spike never delays the turn"


def test_the_ttp_turns_pakistan_against_the_taliban_in_the_baseline(baseline):
    spec, m = baseline
    pak = list(spec.donors).index("pakistan")
    stance = np.array([run(spec, m, seed, 40).stance[:, pak] for seed in SEEDS])
    assert (stance[:, 0] > 0).all(), "Pakistan starts engaged"
    assert (stance[:, -1] < 0).all(), "TTP attacks from Afghan sanctuary turn it hostile by 2026"


def test_viability_is_an_inverted_u_in_relative_strength():
    peak = 0.25
    ratios = np.array([0.001, 0.01, 0.05, 0.25, 1.0, 5.0])
    v = np.array([support.viability(r * 100000.0, 100000.0, peak) for r in ratios])
    assert v[3] == pytest.approx(1.0), "most worth backing at the peak ratio"
    assert (np.diff(v[:4]) > 0).all(), "weak groups gain appeal as they grow"
    assert (np.diff(v[3:]) < 0).all(), "strong groups that can win alone draw less"
    # the success signal carries it: same momentum, a group at the peak beats a stronger one
    sig = support.success_signal(np.zeros(3), np.array([100000.0, 25000.0, 200000.0]), 100000.0, 300.0, peak)
    assert sig[1] > sig[2] and sig[1] > sig[0] * 0.99


def test_strength_beyond_the_peak_lowers_support_in_a_real_run(baseline):
    spec, m = baseline
    nrf, dia = list(spec.factions).index("nrf"), list(spec.donors).index("diaspora")

    def aid(strength):
        r = run(variant(spec, **{"factions.nrf.strength": strength}), m, 2, 1)
        return r.money[1, dia, nrf] + r.arms[1, dia, nrf]

    weak, moderate, strong = aid(300), aid(40000), aid(400000)
    assert moderate > weak and moderate > strong, (weak, moderate, strong)


def test_an_ambassador_ends_support_for_the_governments_enemies(baseline):
    spec, m = baseline
    india, nrf = list(spec.donors).index("india"), list(spec.factions).index("nrf")
    r = run(spec, m, 1, 48)
    given = r.money[:, india, nrf] + r.arms[:, india, nrf]
    assert given[1] > 0, "India funds the NRF at first"
    staged = np.flatnonzero(r.recognition_stage[:, india] >= 2)
    assert staged.size, "India's engagement grows to full missions as Pakistan turns on Kabul"
    assert (given[staged] == 0).all(), "and then it stops funding the NRF"


def test_the_donors_table_records_the_stage(baseline):
    spec, m = baseline
    rs = [ConflictModel(spec, m, k, months=40, replication=k).run() for k in range(2)]
    don = donors_frame(rs)
    assert "recognition_stage" in don and np.issubdtype(don["recognition_stage"].dtype, np.integer)
    assert don["recognition_stage"].between(0, 3).all()
    assert (don["recognises"] == (don["recognition_stage"] == 3)).all()
    frames = {"trajectories": trajectories_frame(rs), "provinces": provinces_frame(rs), "donors": don}
    res = Results.from_frames(frames, dict(zip(m.names, m.area, strict=True)), 0.5)
    got = measure(res, _m(kind="recognition_date", donor="china", stage="ambassador"))
    assert np.isfinite(got.values).all() and "recognition_stage" in got.reads, "the ambassador stage is measured"


def test_no_date_of_the_record_is_scripted(baseline):
    spec, _ = baseline
    assert not spec.events, "the baseline's foreign policy is the model's output, never an event"
