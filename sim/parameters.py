"""Global mechanism parameters: one typed default a line, with unit and meaning.

This table is the single place where the model's rule coefficients get their
defaults (Covasim's ``make_pars`` style). It doubles as the ODD parameter table:
``python run.py params`` prints it as Markdown, and a test checks that docs/ODD.md
lists every name. Actor-specific values (strengths, budgets, affinities) live in
the scenario file, not here. Unknown keys and wrong types are rejected.

Sources are abbreviated; full references are in docs/ODD.md (Further reading).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def P(default: float, unit: str, meaning: str, ge: float = 0.0, le: float | None = None) -> Any:
    """Declare one parameter: default, unit, meaning and its allowed range."""
    # a generous ceiling where none is natural: it keeps a typo such as 1e300 out of a run
    return Field(default, ge=ge, le=1e6 if le is None else le, description=meaning,
                 json_schema_extra={"unit": unit})


class Parameters(BaseModel):
    """Coefficients of the model's rules (ODD element 7), frozen during a run."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True, allow_inf_nan=False)

    # --- territory -------------------------------------------------------------------------------------------
    held_threshold:           float = P(0.5,    "share",         "a province counts as held by an actor whose control share is at least this (a majority)", le=1)
    # --- foreign policy and support (ODD 7.1; Salehyan 2007; Salehyan et al. 2011; Byman et al. 2001) ------
    momentum_memory:          float = P(0.25,   "1/month",       "weight of the latest month in the exponential average of territory change that donors watch", le=1)
    momentum_scale:           float = P(300.0,  "1/(share/month)", "converts a group's average monthly territory gain into the success signal (tanh) donors react to (the Catch-22)")
    viability_peak:           float = P(0.25,   "ratio",         "a group's fighters relative to the government's at which donors find it most worth backing: viability 4x/(1+x)^2 with x = ratio/peak (Salehyan, Gleditsch & Cunningham 2011: moderately strong groups)", ge=1e-3)
    recognition_hysteresis:   float = P(0.15,   "stance",        "a state falls back one stage of recognition only when its stance falls this far below that stage's threshold", le=1)
    stance_rate:              float = P(0.06,   "1/month",       "speed at which a state's stance moves toward the target its interests, threats, rivals and the government's hold set (partial adjustment: 1 - exp(-rate dt) of the gap per step)")
    stage_dwell:              float = P(3.0,    "months",        "months a state's stance must stay above the next stage's threshold before it takes that step of recognition (one stage at a time)", ge=0.0)
    bandwagon:                float = P(0.3,    "stance",        "fall in a stage's threshold when every other state (by recognition weight) has already taken that step: the cost of engaging falls as others engage", le=2)
    hold_weight:              float = P(1.0,    "stance/share",  "stance lost per share of the country the government does not control: states deal with whoever controls the ground (effective-control test of recognition)")
    ambassador_support_cut:   float = P(1.0,    "share",         "share of its support to the government's armed enemies a state stops once it has accepted the government's ambassador (stage 2 or more)", le=1)
    legitimacy_revenue:       float = P(0.5,    "x revenue",     "extra government revenue at full recognition (aid, trade, banking access)")
    # --- resources and recruitment (ODD 7.3; Epstein 2002; Cederman 2003) ------------------------------------
    income_per_capita:        float = P(30.0,   "USD/person/month", "taxable income per person (GDP per head about 360 USD/year after 2021, World Bank)")
    extraction_distance:      float = P(400.0,  "km",            "distance from an actor's base at which its extraction and power projection halve (GeoSim loss-of-strength gradient)")
    upkeep:                   float = P(0.15,   "M USD/1000 fighters/month", "cost of keeping fighters in the field (about 150 USD a fighter a month)")
    recruit_cost:             float = P(0.3,    "M USD/1000 recruits", "one-off cost of arming a recruit")
    desertion_rate:           float = P(0.05,   "1/month",       "share of fighters lost per month at a total shortfall of pay (scaled by the unpaid share of the bill)", le=1)
    hardship:                 float = P(0.8,    "[0,1]",         "perceived hardship H in Epstein's grievance G = H(1-L); high after the 2021 economic collapse", le=1)
    grievance_threshold:      float = P(0.1,    "[0,1]",         "Epstein's activation threshold T: a person rebels when G - R*P > T", le=1)
    risk_aversion:            float = P(0.5,    "[0,1]",         "mean risk aversion R (Epstein: R ~ U(0,1), mean 0.5)", le=1)
    arrest_constant:          float = P(2.3,    "-",             "Epstein's k in the arrest probability P = 1 - exp(-k * regime/opposition presence)")
    grievance_spread:         float = P(0.15,   "[0,1]",         "spread of individual grievance around the provincial mean (logistic scale); departs from Epstein's individual draws to keep provinces as arrays", ge=0.01)
    mobilisation_rate:        float = P(0.0001, "1/month",       "share of the actively aggrieved population reached by a group with full presence that joins per month", le=1)
    government_recruitment:   float = P(0.00001, "1/month",      "share of the supportive population under the government's control that joins its forces per month", le=1)
    pay_months:               float = P(6.0,    "months",        "months of wages in hand at which pay draws recruits at the full rate (half rate when broke; Weinstein 2007)", ge=0.1)
    pay_max:                  float = P(3.0,    "x rate",        "most that pay can multiply the recruitment rate", ge=0.5)
    former_security_pool:     float = P(60000.0, "fighters",     "former army, special forces and police still in the country and available to a resistance (of ~300,000 ANDSF in 2021)")
    former_security_uptake:   float = P(0.003,  "1/month",       "share of the pool a fully successful group with full appeal recruits per month, before the pay pull", le=1)
    former_security_attrition: float = P(0.005, "1/month",       "share of the pool lost per month to emigration and co-option", le=1)
    arms_purchase:            float = P(0.2,    "1/month",       "share of cash left after pay and recruits that a faction turns into arms each month", le=1)
    materiel_decay:           float = P(0.05,   "1/month",       "share of arms stock used up or lost per month", le=1)
    materiel_reference:       float = P(0.5,    "M USD/1000 fighters", "arms stock per fighter at which the arms bonus is half its maximum")
    materiel_boost:           float = P(0.5,    "x power",       "maximum extra combat power from arms stock")
    supply_threshold:         float = P(2.0,    "M USD/1000 fighters", "arms stock per fighter a group needs to take ground at full pace (the seed's minimal support threshold)")
    # --- combat (ODD 7.4; Lanchester/Deitchman 1962; Kress & Szechtman 2009; Hirshleifer 1989) ---------------
    control_rate:             float = P(0.12,   "1/month",       "speed at which control shares move toward the local contest outcome", le=1)
    terrain_drag:             float = P(0.6,    "share",         "share of that speed lost in fully rugged terrain (rugged terrain slows the attacker)", le=1)
    contest_decisiveness:     float = P(1.5,    "-",             "exponent m of the contest success function p_f = E_f^m / sum E^m", ge=0.1)
    spillover:                float = P(0.3,    "-",             "weight of neighbouring provinces' control in where an actor deploys (operations across province lines)")
    deployment_focus:         float = P(10.0,   "-",             "how strongly actors concentrate fighters on contested provinces (counter-insurgent surges)")
    front_pull:               float = P(10.0,    "-",             "extra deployment weight of a province where enemies hold ground, per unit of the faction's own and neighbouring control there times the enemies' share (armies mass at the front, not in quiet rear provinces)")
    home_weight:              float = P(0.3,    "-",             "extra deployment weight of an actor's home provinces")
    concealment:              float = P(1.0,    "x power",       "how much fully rugged terrain hides guerrillas from area fire (losses divided by 1 + concealment * ruggedness)")
    popular_support_weight:   float = P(0.5,    "-",             "how much local sentiment scales an actor's power, in [1-w, 1+w] (Kalyvas: collaboration follows support)", le=1)
    combat_noise:             float = P(0.3,    "log sd",        "month-to-month luck in fighting power (lognormal, mean 1)")
    aimed_fire:               float = P(0.01,   "1/month",       "fighters of a visible force killed per month per enemy fighter facing it (aimed fire, Lanchester square law)")
    area_fire:                float = P(0.02,   "1/month",       "Deitchman area-fire coefficient: guerrilla losses = a (A_ref/A) R (G intel / 1000)")
    area_reference:           float = P(20000.0, "km2",          "province area at which the area-fire coefficient applies as given")
    collateral_rate:          float = P(0.5,    "harm/fighter lost", "civilian harm caused per guerrilla loss inflicted by fire without intelligence (1 - intel)")
    max_loss_share:           float = P(0.2,    "1/month",       "cap on the share of an actor's deployed force lost in one province in a month", le=1)
    sanctuary_protection:     float = P(0.5,    "share",         "reduction of losses and of lost ground in provinces bordering a state that gives sanctuary", le=1)
    # --- provincial capitals and cascades (ODD 7.4.1; Cederman 2003 GeoSim; SIGAR 22-22-IP) --------------------
    capital_share:            float = P(0.15,   "share",         "share of a province's control its capital (city and district centre) carries: its holder keeps at least this much, and a capture moves it", le=0.5)
    capture_superiority:      float = P(2.25,    "ratio",         "the felt superiority (local power ratio times demoralisation) at which a garrison may surrender (near the 3:1 rule of attack, Mearsheimer 1989; calibrated on the hindcasts)", ge=1)
    surrender_rate:           float = P(10.0,   "1/month",       "a garrison's surrender hazard per unit of felt superiority beyond capture_superiority")
    cascade_neighbours:       float = P(3.0,    "x",             "demoralisation of a garrison whose every neighbouring capital is already lost (encirclement, the August 2021 cascade)")
    cascade_national:         float = P(20.0,    "x",             "demoralisation of a government garrison once the government has lost every capital it held at the start (bandwagoning on the national trend, Christia 2012)")
    cascade_cohesion:         float = P(2.0,    "x",             "demoralisation of a government garrison per unit of lost cohesion")
    cascade_unpaid:           float = P(2.0,    "x",             "demoralisation when the holder has no cash left for wages (unpaid ANDSF salaries, SIGAR 22-22-IP)")
    cascade_centre:           float = P(10.0,   "x",             "demoralisation once the holder has lost its own capital (garrisons surrendered within days of Kabul's fall)")
    surrender_transfer:       float = P(0.3,    "share",         "share of a surrendering garrison's fighters and of their arms that pass to the victor (negotiated surrender)", le=1)
    capital_collapse:         float = P(0.4,    "share",         "share of an actor's fighters that desert when it loses its capital", le=1)
    # --- concentrated offensives (ODD 7.4.2; Cederman 1997, 2003 GeoSim) ----------------------------------------
    mobile_share:             float = P(0.22,    "share",         "share of a faction's fighters in its mobile force, sent to objectives instead of spread over its ground", le=1)
    seat_guard:               float = P(0.3,    "share",         "share of a faction's mobile force it keeps at its own capital while it holds it (judgement: governments garrison their seat with their best units)", le=1)
    offensive_objectives:     float = P(3.0,    "objectives",    "most objectives a faction's mobile force attacks at once (it shares the force equally among them)", ge=1, le=34)
    offensive_threshold:      float = P(1.9,    "ratio",         "local superiority the mobile force must give a faction at a stake before it attacks there (GeoSim's superiority threshold)", ge=0)
    offensive_presence:       float = P(0.2,    "share",         "control a faction needs in a province to reach a stake there from inside it; it reaches a stake next to a capital it holds in any case", le=1)
    defence_margin:           float = P(1.8,    "ratio",         "power a threatened capital's garrison is reinforced to, relative to the strongest hostile's spread power there; the mobile force left after the threatened capitals' needs attacks", ge=1)
    cohesion_victory:         float = P(4.0,    "1/capitals share", "government cohesion gained per share of the country's capitals it takes in a step (a movement holds together while it wins)")
    valley_share:             float = P(0.2,    "share",         "an enemy's share of a province whose capital a faction holds at which its valleys become an objective", le=1)
    rugged_defence:           float = P(3.7,    "x power",       "extra power of a stake's defender per unit of ruggedness, in a garrison's surrender and an attacker's choice of objectives (mountain valleys resist)")
    cohesion_capitals:        float = P(3.0,    "1/capitals share", "government cohesion lost per share of the country's capitals it loses in a step (each fall shakes every garrison)")
    cohesion_power:           float = P(0.5,    "share",         "share of the government's fighting power that rests on its cohesion (will to fight): at zero cohesion it fights at 1 - this", le=1)
    dissolution_allies:       float = P(0.1,   "share",         "share of a dissolving government's remaining fighters who join its allies instead of going home", le=1)
    dissolution_cohesion:     float = P(0.2,    "[0,1]",         "a government that has lost its own capital dissolves when its cohesion is below this: its fighters go home", le=1)
    defection_scale:          float = P(2.0,    "1/(share/month)", "fighters defect to the strongest enemy at rate propensity*scale*max(0,-momentum) (bandwagoning cascades, Christia 2012)")
    front_synergy:            float = P(0.3,    "x power",       "extra power of united-front members fighting as one coalition (coordination)")
    # --- sentiment and population (ODD 7.5; Kalyvas 2006; Bennett 2008; Condra & Shapiro 2012) ---------------
    sentiment_reversion:      float = P(0.01,   "1/month",       "pull of provincial sentiment back to its structural prior", le=1)
    collaboration_rate:       float = P(0.01,   "1/month",       "drift of sentiment toward whoever controls a province (control breeds collaboration)", le=1)
    repression:               float = P(0.2,    "[0,1]",         "the government's repression of dissent: raises the arrest probability and the anger it breeds", le=1)
    anger_rate:               float = P(0.02,   "1/month",       "rise of anti-Taliban sentiment per unit repression under government control", le=1)
    harm_anger:               float = P(0.3,    "1/month",       "share of the way to the angry target that sentiment moves per month at saturated anger (1 - exp(-rate dt abs(g)) per step)", le=1)
    anger_half_life:          float = P(2.0,    "months",        "half-life of a province's anger stock from civilian harm (Condra & Shapiro 2012: the reaction fades within weeks to months)", ge=0.1)
    anger_saturation:         float = P(1.0,    "harm/1000 people", "anger stock at which its pull on sentiment is half its maximum (g = A / (abs(A) + this))", ge=1e-6)
    anger_max_shift:          float = P(0.5,    "share",         "largest share of the gap from the prior to 1 (or to 0) that anger can move the target; below 1, so harm never pins sentiment", le=0.9)
    role_model_rate:          float = P(0.02,   "1/month",       "pull toward the resistance in provinces next to a well-governed liberated zone", le=1)
    migration_rate:           float = P(0.002,  "1/month",       "share of opponents under the government who move to liberated zones per month, times min(1, total liberated governance)", le=1)
    # --- alliances and cohesion (ODD 7.6; Christia 2012) -----------------------------------------------------
    front_formation_rate:     float = P(0.04,   "1/month",       "monthly hazard that two willing groups with no rivalry unite, under maximal threat", le=1)
    front_breakup_rate:       float = P(0.03,   "1/month",       "monthly hazard that a dominant, rivalrous member leaves a front", le=1)
    front_dominance:          float = P(0.6,    "share",         "a member holding more than this share of a front's strength no longer needs it", le=1)
    cohesion_reversion:       float = P(0.03,   "1/month",       "pull of the government's cohesion back to its initial level", le=1)
    cohesion_legitimacy:      float = P(0.02,   "1/month",       "cohesion gained per month at full international recognition", le=1)
    cohesion_pressure:        float = P(0.03,   "1/month",       "cohesion lost per month at full foreign pressure (sanctions, strikes)", le=1)
    cohesion_losses:          float = P(3.0,    "1/(share/month)", "cohesion lost per unit of monthly territory loss")
    factional_tension:        float = P(0.004,  "1/month",       "steady erosion of cohesion by the Kandahari-Haqqani rivalry", le=1)
    split_threshold:          float = P(0.35,   "[0,1]",         "below this cohesion the government may split", le=1)
    split_rate:               float = P(0.3,    "1/month",       "monthly hazard of a split at zero cohesion (scaled linearly from the threshold)", le=1)
    # --- terror export (ODD 7.7) ------------------------------------------------------------------------------
    shelter_tolerance:        float = P(0.9,    "[0,1]",         "the host's tolerance of the jihadist groups it shelters", le=1)
    ct_restraint:             float = P(0.5,    "share",         "how much counter-terrorism engagement with donors lowers that tolerance", le=1)
    jihadist_decay:           float = P(0.02,   "1/month",       "share of a jihadist group lost per month without sanctuary", le=1)
    threat_decay:             float = P(0.08,   "1/month",       "fading of a state's threat perception", le=1)
    threat_per_attack:        float = P(0.15,   "threat",        "rise of a state's threat perception per month with an attack on it")
    latent_threat:            float = P(0.02,   "threat/1000 fighters/month", "threat felt per month from the strength of groups that target a state")
    strike_lethality:         float = P(0.02,   "1/month",       "share of a targeted group killed per month by a state's full strike capacity", le=1)
    # --- attacks as events (ODD 7.7.1; UN Monitoring Team S/2022/419, S/2023/370; UNAMA quarterly reports) ----
    raid_rate:                float = P(4.0,    "attacks/1000 fighters/month", "attacks on the government's forces per month by 1000 fighters with ample arms and funds (judgement: a few to ~20 NRF attacks and a few AFF attacks a quarter at baseline strength, the order of magnitude the UN Monitoring Team and UNAMA report every quarter)")
    raid_arms_half:           float = P(1.0,    "million USD",   "materiel at which arms give half their boost to a group's attack tempo (judgement: the resistance's stocks are about this size)")
    raid_funds_half:          float = P(1.0,    "million USD",   "funds at which money gives half its boost to the attack tempo (judgement, as for arms)")
    raid_floor:               float = P(0.25,   "share",         "share of the tempo a group keeps without arms or without funds (small arms and volunteers; judgement)", le=1)
    raid_sanctuary:           float = P(0.5,    "share",         "rise of the attack tempo at full sanctuary across a border (safe rear bases, Salehyan 2007; judgement)")
    raid_harm:                float = P(1.0,    "people/attack", "civilians harmed per attack, blamed on the attacker (modest: UNAMA attributes few civilian casualties to resistance attacks)")
    raid_losses:              float = P(3.0,    "fighters/attack", "government fighters killed per attack (judgement: ambushes and raids on posts kill a few)")
    raid_memory:              float = P(0.3,    "1/month",       "share of the notice of past attacks that fades per month (attention fades in about three months)", le=1)
    raid_attention:           float = P(0.1,    "success",       "most a group's attacks add to the success signal donors see (modest next to territory and viability, 7.1)")
    raid_attention_scale:     float = P(10.0,   "attacks",       "notice of past attacks at which attention is tanh(1) of its maximum", ge=1e-6)

    @classmethod
    def table(cls) -> list[tuple[str, Any, str, str]]:
        """Rows (name, default, unit, meaning) in declaration order."""
        return [
            (name, f.default, (f.json_schema_extra or {}).get("unit", ""), f.description or "")
            for name, f in cls.model_fields.items()
        ]

    @classmethod
    def markdown(cls) -> str:
        """The parameter table as Markdown, for docs/ODD.md."""
        lines = ["| parameter | default | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{n}` | {d:g} | {u} | {m} |" for n, d, u, m in cls.table()]
        return "\n".join(lines)
