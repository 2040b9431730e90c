"""One test module per submodel: each rule checked in isolation, with directional asserts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.bundles import Draws, blank_const, blank_record, blank_state, pars_bundle
from sim.mechanics import alliances, combat, resources, sentiment, space, support, terror

# ----------------------------------------------------------------------------------------------- support


def _donor_args(S=2, F=3, **over):
    a = dict(
        affinity=np.zeros((S, F)), econ=np.zeros(S), ct=np.zeros(S), theta=np.zeros(S),
        threat=np.zeros(S), success=np.zeros(F), eligible=np.array([0.0, 1.0, 1.0])[:F],
        arms_willingness=np.ones(S), success_weight=np.zeros(S), rivals=np.zeros((S, S)),
        rival_weight=np.zeros(S), backlash=np.zeros((S, S)), patron_share=np.zeros((F, S)),
        budget=np.full(S, 10.0), arms_share=np.full(S, 0.5), sanctuary_willingness=np.zeros(S),
        trade=np.zeros(S), sanctions=np.zeros(S), closure=np.zeros(S), stage=np.zeros(S, dtype=np.int64),
        recognition_threshold=np.full(S, 0.8), hysteresis=0.1, weight=np.ones(S),
    )
    a.update(over)
    return a


STATE_FIELDS = ("threat", "patron_share", "stage")


def _bundles(a, P=4):
    """Const, Pars and State of a donor test from its arguments.

    The stance starts at its target (NaN) and a stage is taken at once (no dwell): each test
    sees one month's decision as if the state had long held its interests. Every stage's
    threshold is ``recognition_threshold`` (the lower ones are above it in ``blank_const``).
    """
    S, F = a["affinity"].shape
    fields = {k: v for k, v in a.items() if k not in ("success", "eligible", "hysteresis", "theta", *STATE_FIELDS)}
    c = blank_const(P, F, S, threat_sensitivity=a["theta"], **fields)
    st = blank_state(P, F, S)
    for k in STATE_FIELDS:
        getattr(st, k)[...] = a[k]
    st.sheltered_threat[:] = a["threat"]  # the stance reads the threat blamed on the government
    st.territory[0] = 1.0  # the government holds the country
    st.stance[:] = np.nan
    st.recognised[:] = st.stage == 3
    return c, pars_bundle(recognition_hysteresis=a["hysteresis"], stage_dwell=0.0, bandwagon=0.0), st


def _decide(**over):
    a = _donor_args(**over)
    c, p, st = _bundles(a)
    rf, legit, changed = support.decide(c, p, st, a["success"], a["eligible"])
    out = {**a, "stance": st.stance, "money": st.money, "arms": st.arms, "pressure": st.pressure,
           "recognised": st.recognised}
    return out, rf, legit, changed


def test_threat_turns_a_donor_against_the_government():
    calm, *_ = _decide(affinity=np.array([[0.2, 0.3, 0.0], [0.0, 0.0, 0.0]]), theta=np.array([1.0, 0.0]))
    scared, *_ = _decide(affinity=np.array([[0.2, 0.3, 0.0], [0.0, 0.0, 0.0]]), theta=np.array([1.0, 0.0]),
                         threat=np.array([0.8, 0.0]))
    assert scared["stance"][0] < calm["stance"][0], "threat lowers the stance toward the government"
    assert scared["pressure"][0] > calm["pressure"][0] == 0.0
    assert scared["money"][0, 1] > calm["money"][0, 1], "a hostile donor backs the opposition more"


def test_success_draws_support_catch22():
    aff = np.array([[0.0, 0.1, 0.1], [0.0, 0.0, 0.0]])
    losing, *_ = _decide(affinity=aff, success_weight=np.ones(2), success=np.array([0.0, -0.5, 0.0]))
    winning, *_ = _decide(affinity=aff, success_weight=np.ones(2), success=np.array([0.0, 0.8, 0.0]))
    assert winning["money"][0, 1] > losing["money"][0, 1], "support follows battlefield success"


def test_backlash_from_a_patron_cuts_support():
    aff = np.array([[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]])
    backlash = np.array([[0.0, 0.8], [0.0, 0.0]])  # donor 0 dislikes groups backed by donor 1
    clean, *_ = _decide(affinity=aff, backlash=backlash)
    tainted, *_ = _decide(affinity=aff, backlash=backlash, patron_share=np.array([[0, 0], [0.0, 1.0], [0, 0]]))
    assert tainted["money"][0, 1] < clean["money"][0, 1], "Russian patronage costs Western support"
    assert tainted["money"][1, 1] == clean["money"][1, 1], "the patron itself is not put off"


def test_spending_never_exceeds_budget_and_splits_arms():
    a, *_ = _decide(affinity=np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]))
    spent = a["money"].sum(axis=1) + a["arms"].sum(axis=1)
    assert (spent <= a["budget"] + 1e-12).all()
    assert np.allclose(a["money"], a["arms"]), "arms_share 0.5 splits spending evenly"
    assert (a["money"][:, 0] == 0).all(), "no donor funds an ineligible faction"


def test_recognition_has_hysteresis():
    base = dict(affinity=np.array([[0.85, 0, 0], [0, 0, 0]]), stage=np.array([2, 0]))  # an ambassador accepted
    a, _, legit, changed = _decide(**base)
    assert a["recognised"][0] and changed == 1 and legit == 0.5
    # the stance dips below the threshold but within the hysteresis: recognition stays
    b, _, _, changed = _decide(affinity=np.array([[0.75, 0, 0], [0, 0, 0]]), stage=np.array([3, 0]))
    assert b["recognised"][0] and changed == 0
    c, _, _, changed = _decide(affinity=np.array([[0.6, 0, 0], [0, 0, 0]]), stage=np.array([3, 0]))
    assert not c["recognised"][0] and changed == 1


def test_sanctions_cut_revenue():
    _, rf, *_ = _decide(affinity=np.array([[-1.0, 0, 0], [0, 0, 0]]), sanctions=np.array([0.3, 0.0]))
    assert rf == pytest.approx(0.7)


def test_sanctuary_reaches_only_border_provinces():
    border = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # donor 0 borders province 0 only
    sanct = np.array([[0.0, 0.8], [0.0, 0.9]])  # donor 1 (no border) offers sanctuary in vain
    prot = np.full((3, 2), np.nan)  # written over, whatever it held
    support.protection(border, sanct, 0.5, prot)
    assert prot[0, 1] == pytest.approx(0.4)
    assert prot[1:, :].sum() == 0.0, "no protection away from the giver's border"


def test_what_donors_give_is_what_factions_receive():
    S, F, P = 2, 3, 4
    a = _donor_args(affinity=np.array([[0.5, 0.8, 0.4], [0.6, 0.2, 0.9]]), trade=np.array([3.0, 1.0]))
    c, p, st = _bundles(a, P)
    c = c._replace(donor_eligible=np.array([0.0, 1.0, 1.0]))
    st.strength[:] = 1000.0
    st.funds[:] = [10.0, 1.0, 2.0]
    st.materiel[:] = [5.0, 0.5, 0.5]
    f0, m0 = st.funds.copy(), st.materiel.copy()
    rec = blank_record(1, P, F, S)
    support.step(c, p, st, None, rec, 1)
    given_cash = st.money.sum() + st.trade.sum()
    assert st.funds.sum() - f0.sum() == pytest.approx(given_cash, rel=1e-12)
    assert st.materiel.sum() - m0.sum() == pytest.approx(st.arms.sum(), rel=1e-12)
    assert st.money.sum() > 0 and st.trade.sum() > 0

# --------------------------------------------------------------------------------------------- resources


def test_grievance_rises_with_sentiment_and_falls_with_repression():
    s = np.array([0.2, 0.5, 0.9])
    gov = np.full(3, 0.9)
    opp = np.full(3, 0.1)
    p = pars_bundle(hardship=0.8, risk_aversion=0.5, grievance_threshold=0.1, arrest_constant=2.3, repression=0.0,
                    grievance_spread=0.15)
    a = resources.active_share(p, s, gov, opp)
    assert (np.diff(a) > 0).all(), "more anti-Taliban sentiment, more active rebels (Epstein)"
    harsh = resources.active_share(p, s, np.full(3, 0.2), np.full(3, 0.5))
    assert (harsh > resources.active_share(p._replace(repression=1.0), s, np.full(3, 0.2), np.full(3, 0.5))).all()


def test_offensive_capacity_is_monotone_in_arms():
    s = np.full(4, 1000.0)
    o = np.full(4, np.nan)
    resources.offensive_capacity(np.array([0.0, 0.5, 1.0, 5.0]), s, 2.0, o)
    assert list(o) == [0.0, 0.25, 0.5, 1.0], "no arms, no gains; the bar caps at 1"


def _raise(funds, strength, materiel=None, pool=1000.0, tax_rate=None):
    P, F = 2, 2
    c = blank_const(P, F, 0, tax_rate=np.array([0.05, 0.02]) if tax_rate is None else tax_rate,
                    alignment=np.array([-1.0, 1.0]), recruit_rate=np.array([1e-5, 1e-3]),
                    pro_pool=np.array([1.0, 0.0]), security_appeal=np.array([0.0, 0.5]))
    p = pars_bundle(income_per_capita=30.0, hardship=0.8, risk_aversion=0.5, grievance_threshold=0.1,
                    arrest_constant=2.3, repression=0.2, grievance_spread=0.15, spillover=0.3, momentum_scale=300.0,
                    former_security_uptake=0.01, former_security_attrition=0.0, upkeep=0.15, recruit_cost=0.3,
                    desertion_rate=0.05, arms_purchase=0.2, materiel_decay=0.05, pay_months=6.0, pay_max=3.0)
    st = blank_state(P, F, 0)
    st.control[...] = [[0.9, 0.1], [0.8, 0.2]]
    st.population[:] = [1e5, 2e5]
    st.sentiment[:] = [0.5, 0.7]
    st.strength[:] = strength
    st.funds[:] = funds
    st.materiel[:] = 0.0 if materiel is None else materiel
    st.security_pool[0] = pool
    before = st.strength.copy()
    resources.step(c, p, st, None, None, 1)
    return {"strength": st.strength, "funds": st.funds, "materiel": st.materiel, "before": before}, \
        st.security_pool[0]


def test_no_money_means_deserters_and_no_recruits():
    a, _ = _raise(np.array([0.0, 0.0]), np.array([1000.0, 5000.0]), tax_rate=np.zeros(2))
    assert a["strength"][1] < 5000.0, "unpaid fighters desert"
    unpaid = 5000.0 * (1 - 0.05 * 1.0)  # desertion at a total shortfall of pay
    assert a["strength"][1] == pytest.approx(unpaid), "recruits cost money: none without it"
    assert (a["funds"] >= 0).all() and (a["strength"] >= 0).all()


def test_money_buys_recruits_and_arms():
    poor, _ = _raise(np.array([1.0, 0.5]), np.array([1000.0, 1000.0]))
    rich, _ = _raise(np.array([1.0, 50.0]), np.array([1000.0, 1000.0]))
    assert rich["strength"][1] > poor["strength"][1], "pay pulls recruits (Weinstein)"
    assert rich["materiel"][1] > poor["materiel"][1], "spare cash becomes arms"


def test_former_security_pool_is_drawn_down_not_created():
    a, pool = _raise(np.array([1.0, 50.0]), np.array([1000.0, 1000.0]), pool=1000.0)
    assert 0 < 1000.0 - pool <= a["strength"][1] - a["before"][1] + 1e-9

# ------------------------------------------------------------------------------------------------ combat


def test_contest_shares_sum_to_one_and_follow_power():
    power = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    ctrl = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    p = combat.contest_shares(power, ctrl, np.zeros(3, dtype=bool), 0.0, 1.0)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(0.75)
    assert np.allclose(p[1], ctrl[1]), "where nobody fights, control stays"


def test_united_front_beats_two_separate_groups_of_same_strength():
    # government 6, two groups 2 + 2: united, they fight as one coalition with synergy
    power = np.array([[6.0, 2.0, 2.0]])
    ctrl = np.array([[1.0, 0.0, 0.0]])
    apart = combat.contest_shares(power, ctrl, np.zeros(3, dtype=bool), 0.3, 1.5)
    united = combat.contest_shares(power, ctrl, np.array([False, True, True]), 0.3, 1.5)
    assert united[0, 1:].sum() > apart[0, 1:].sum(), "unity pays (mechanism 2)"
    assert np.isclose(united.sum(), 1.0)


def test_rugged_terrain_slows_the_attacker():
    ctrl = np.array([[0.9, 0.1], [0.9, 0.1]])
    target = np.array([[0.5, 0.5], [0.5, 0.5]])
    rate = 0.2 * (1.0 - 0.6 * np.array([0.0, 1.0]))  # flat province, fully rugged province
    new = combat.shift_control(ctrl, target, rate, np.ones(2), np.zeros((2, 2)))
    gain_flat, gain_rugged = new[0, 1] - 0.1, new[1, 1] - 0.1
    assert gain_flat > gain_rugged > 0, "the attacker gains less in rugged terrain"
    assert np.allclose(new.sum(axis=1), 1.0)


def test_no_arms_no_gains_but_ground_is_kept():
    ctrl = np.array([[0.7, 0.3]])
    target = np.array([[0.2, 0.8]])
    new = combat.shift_control(ctrl, target, np.array([0.5]), np.array([1.0, 0.0]), np.zeros((1, 2)))
    assert np.allclose(new, ctrl), "a group without supplies cannot take ground"


def test_sanctuary_protects_ground():
    ctrl = np.array([[0.5, 0.5]])
    target = np.array([[0.9, 0.1]])
    open_ = combat.shift_control(ctrl, target, np.array([0.5]), np.ones(2), np.zeros((1, 2)))
    safe = combat.shift_control(ctrl, target, np.array([0.5]), np.ones(2), np.array([[0.0, 0.5]]))
    assert safe[0, 1] > open_[0, 1]


def _attrition(D, guerrilla, intel=0.5, rug=0.0, stealth=0.0):
    P, F = D.shape
    c = blank_const(P, F, 0, hostility=1 - np.eye(F), guerrilla=guerrilla, stealth=np.full(F, stealth),
                    ruggedness=np.full(P, rug))
    p = pars_bundle(aimed_fire=0.01, area_fire=0.02, concealment=1.0, max_loss_share=0.9, collateral_rate=0.5)
    return combat.attrition(c, p, D, np.full(D.shape, intel), np.zeros(D.shape))


def test_deitchman_asymmetry():
    # government (conventional) vs guerrillas
    g = np.array([0.0, 1.0])
    base, _ = _attrition(np.array([[10000.0, 1000.0]]), g)
    more_gov, _ = _attrition(np.array([[20000.0, 1000.0]]), g)
    more_rebels, _ = _attrition(np.array([[10000.0, 2000.0]]), g)
    # guerrilla losses grow with both sides' numbers (area fire)
    assert more_gov[0, 1] == pytest.approx(2 * base[0, 1])
    assert more_rebels[0, 1] == pytest.approx(2 * base[0, 1])
    # the visible force's losses grow with the guerrillas' numbers only (aimed fire)
    assert more_gov[0, 0] == pytest.approx(base[0, 0])
    assert more_rebels[0, 0] == pytest.approx(2 * base[0, 0])


def test_terrain_intelligence_and_stealth_hide_guerrillas():
    g = np.array([0.0, 1.0])
    D = np.array([[10000.0, 1000.0]])
    flat, harm_flat = _attrition(D, g)
    assert _attrition(D, g, rug=1.0)[0][0, 1] < flat[0, 1]
    assert _attrition(D, g, intel=0.1)[0][0, 1] < flat[0, 1]
    assert _attrition(D, g, stealth=0.7)[0][0, 1] < flat[0, 1]
    blind_harm = _attrition(D, g, intel=0.1)[1]
    assert blind_harm[0, 0] > harm_flat[0, 0], "fire without intelligence harms civilians"


def test_losses_capped_and_non_negative():
    losses, harm = _attrition(np.array([[1e6, 10.0]]), np.array([0.0, 1.0]), intel=1.0)
    assert losses[0, 1] <= 0.9 * 10.0 + 1e-9
    assert (losses >= 0).all() and (harm >= 0).all()


def test_defectors_go_to_the_strongest_enemy_and_are_conserved():
    s = np.array([1000.0, 5000.0, 200.0])
    host = 1 - np.eye(3)
    d = combat.defections(s, np.array([-0.01, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), host, 2.0)
    assert d.sum() == pytest.approx(0.0)
    assert d[0] < 0 and d[1] > 0 and d[2] == 0

# ------------------------------------------------------------------------------------------ sentiment


def _sentiment(control, harm=None, migration=0.0, role_model=0.0, collaboration=0.05):
    P = control.shape[0]
    c = blank_const(P, 2, 0, alignment=np.array([-1.0, 1.0]), governance_weight=np.array([0.0, 0.8]))
    p = pars_bundle(sentiment_reversion=0.0, collaboration_rate=collaboration, repression=0.0, anger_rate=0.0,
                    harm_anger=0.3, role_model_rate=role_model, migration_rate=migration)
    st = blank_state(P, 2, 0)
    st.control[...] = control
    st.sentiment[:] = 0.5
    st.population[:] = 1e5
    if harm is not None:
        st.harm[...] = harm
    sentiment.step(c, p, st, None, None, 1)
    moved = np.abs(st.population - 1e5).sum() / 2
    return {"sentiment": st.sentiment, "population": st.population}, moved


def test_control_breeds_collaboration():
    a, _ = _sentiment(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert a["sentiment"][0] < 0.5 < a["sentiment"][1]


def test_harm_turns_people_against_the_shooter():
    harm = np.array([[50.0, 0.0], [0.0, 0.0]])  # the government harms civilians in province 0
    a, _ = _sentiment(np.array([[0.5, 0.5], [0.5, 0.5]]), harm=harm, collaboration=0.0)
    assert a["sentiment"][0] > a["sentiment"][1] == 0.5


def test_role_model_zones_attract_people_and_sentiment_population_conserved():
    a, moved = _sentiment(np.array([[1.0, 0.0], [0.4, 0.6]]), migration=0.01, role_model=0.05)
    assert moved > 0
    assert a["population"].sum() == pytest.approx(2e5)
    assert a["population"][1] > 1e5, "people move to the liberated zone"
    assert ((a["sentiment"] >= 0) & (a["sentiment"] <= 1)).all()

# ------------------------------------------------------------------------------------------- alliances


def test_front_forms_when_the_draw_falls_under_the_hazard():
    members = np.zeros(3, dtype=bool)
    eligible = np.array([False, True, True])
    s = np.array([10000.0, 1000.0, 800.0])
    p = pars_bundle(front_formation_rate=0.5, front_breakup_rate=0.0, front_dominance=0.6)
    calm, rivals = blank_const(1, 3, 0), blank_const(1, 3, 0, rivalry=np.ones(3))
    new, joined, _ = alliances.front_changes(calm, p, members, eligible, s, np.full(4, 0.99))
    assert not new.any()
    new, joined, _ = alliances.front_changes(calm, p, members, eligible, s, np.full(4, 0.01))
    assert new.tolist() == [False, True, True] and joined.sum() == 2
    # full rivalry blocks unity whatever the draw
    new, *_ = alliances.front_changes(rivals, p, members, eligible, s, np.zeros(4))
    assert not new.any(), "leaders pursuing their own interests block the front"


def test_pooling_keeps_totals():
    v = np.array([5.0, 1.0, 3.0])
    out = alliances.pool(v, np.array([False, True, True]), np.array([1.0, 3.0, 1.0]))
    assert out.sum() == pytest.approx(v.sum())
    assert out[1] == pytest.approx(3.0) and out[2] == pytest.approx(1.0)


def test_cohesion_and_split_hazard():
    c = blank_const(1, 1, 0, cohesion0=0.8)
    p = pars_bundle(cohesion_reversion=0.03, cohesion_legitimacy=0.02, cohesion_pressure=0.03, cohesion_losses=3.0,
                    factional_tension=0.0, split_threshold=0.35, split_rate=0.3)
    up = alliances.cohesion_change(c, p, 0.5, 1.0, 0.0, 0.0)
    down = alliances.cohesion_change(c, p, 0.5, 0.0, 1.0, -0.01)
    assert up > 0.5 > down, "recognition binds, pressure and lost ground divide"
    assert alliances.split_hazard(p, 0.5, 1.0) == 0.0
    assert 0 < alliances.split_hazard(p, 0.2, 1.0) < alliances.split_hazard(p, 0.0, 1.0)

# ---------------------------------------------------------------------------------------------- terror


def _terror(control_patron, draws, threat=None):
    P, F, S = 2, 2, 1
    c = blank_const(P, F, S, home_weight=np.array([[0.0, 1.0], [0.0, 0.0]]),
                    patrons=np.array([[0.0, 0.0], [1.0, 0.0]]), sheltered=np.array([0.0, 1.0]),
                    growth=np.array([0.0, 0.05]), capacity=np.array([0.0, 5000.0]), attack_rate=np.array([0.0, 1.0]),
                    targets=np.array([[0.0], [1.0]]), strike_capacity=np.array([0.5]))
    p = pars_bundle(shelter_tolerance=0.9, ct_restraint=0.0, jihadist_decay=0.02, strike_lethality=0.02,
                    threat_decay=0.1, threat_per_attack=0.2, latent_threat=0.02)
    st = blank_state(P, F, S)
    st.control[...] = [[control_patron, 1 - control_patron], [1.0, 0.0]]
    st.strength[:] = [10000.0, 1000.0]
    if threat is not None:
        st.threat[:] = threat
    d = Draws(luck=np.ones((1, P, F)), luck_month=np.zeros(1, np.int64), alliance=np.zeros((1, F + 1)),
              split=np.ones(1), attack=np.array([draws]), capture=np.ones((1, P)),
              raid=np.zeros((1, P, F)))
    terror.step(c, p, st, d, None, 1)
    return st.strength, st.threat, st.strikes, st.attacks


def test_sanctuary_grows_jihadists_and_its_loss_shrinks_them():
    sheltered, *_ = _terror(1.0, np.ones(2))
    exposed, *_ = _terror(0.0, np.ones(2))
    assert sheltered[1] > 1000.0 > exposed[1]


def test_attacks_raise_threat_which_stays_in_unit_interval():
    _, quiet, _, no = _terror(1.0, np.ones(2))
    _, loud, _, yes = _terror(1.0, np.zeros(2))
    assert yes.sum() > 0 == no.sum()
    assert loud[0] > quiet[0] > 0, "an attack raises the target's threat; latent threat too"
    _, high, strikes, _ = _terror(1.0, np.zeros(2), threat=np.array([0.99]))
    assert 0 <= high[0] <= 1
    assert strikes[0, 1] > 0, "a threatened state strikes the group that targets it"


def test_observe_momentum_and_held_changes():
    c = blank_const(2, 2, 0, area_weight=np.array([0.5, 0.5]))
    st = blank_state(2, 2, 0)
    st.control[...] = [[0.4, 0.6], [1.0, 0.0]]
    st.territory[:] = [1.0, 0.0]
    st.held[...] = [[True, False], [True, False]]
    space.step(c, pars_bundle(held_threshold=0.5, momentum_memory=0.5), st, None, None, 1)
    assert st.held[0, 1] and not st.held[0, 0] and st.held[1, 0]
    assert st.territory[1] == pytest.approx(0.3) and st.momentum[1] == pytest.approx(0.15)


def test_parameters_bundle_is_generated_from_the_table():
    from sim.parameters import Parameters

    p = pars_bundle()
    assert p._fields == tuple(Parameters.model_fields), "one bundle field per parameter, in order"
    assert p.control_rate == Parameters().control_rate
    with pytest.raises(ValueError):
        pars_bundle(control_rate=-1.0)
    with pytest.raises(TypeError, match="unknown Const fields"):
        blank_const(1, 1, 1, no_such_field=1.0)
