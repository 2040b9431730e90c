"""ConflictModel: the monthly loop over provinces, factions and donors.

The model owns the state as arrays (provinces x factions control, per-faction
strength and funds, per-province sentiment and population, per-donor threat and
recognition) and calls the submodels of :mod:`sim.mechanics` in a fixed order. It
never writes files: a :class:`sim.recorder.Recorder` keeps what it observes.
"""

from __future__ import annotations

import numpy as np
from mesa import Model
from mesa.discrete_space import Network

from sim.actors import DONOR_CLASSES, FACTION_CLASSES, Donor, Faction, Government
from sim.calendar import horizon_steps, step_dates
from sim.events import EventRunner
from sim.geography import Map
from sim.mechanics import alliances, combat, resources, sentiment, space, support, terror
from sim.random import Streams, make_streams
from sim.recorder import Recorder, RunResult
from sim.scenario import ScenarioSpec
from sim.setup import Setup, compile_setup


class ConflictModel(Model):
    """Afghanistan's provinces, armed factions and foreign states, stepped month by month.

    Step order (ODD element 3; each phase is one full pass over all actors):

    0. events                scenario events whose trigger holds fire (sim.events)
    1. ``_support_phase``    donors decide support and pressure from their interests,
                             threat, reputation and the groups' success (mechanisms 1, 6-8);
    2.                       then the flows are paid: money, arms and trade; sanctuary,
                             recognition, sanctions and closures take effect; all go to the ledger
    3. ``_resource_phase``   factions tax, pay upkeep and recruit from the aggrieved,
                             their supporters and former security forces (mechanisms 4, 9)
    4. ``_combat_phase``     deployment, contest for control, attrition, capital loss,
                             defections (mechanism 3 gates gains)
    5. ``_sentiment_phase``  sentiment and migration (mechanisms 4, 5)
    6. ``_alliance_phase``   resistance fronts form or break; the government's cohesion
                             moves and it may split (mechanism 2, 7)
    7. ``_terror_phase``     sheltered groups grow, states strike, attacks raise threat (mechanism 6)
    8. ``_observe``          momentum and held provinces update; the recorder takes the month

    Attributes:
        spec: the resolved scenario.
        setup: constant arrays compiled from the scenario and map.
        streams: the run's named random streams.
        grid: the provinces as cells of a Mesa Network.
        control: [P, F] control shares, rows summing to 1.
        strength, funds, materiel: [F] fighters, million USD, million USD of arms.
        sentiment, population: [P] anti-Taliban share and people.
        threat, recognised: [D] donors' threat perception and recognition of the government.
        front: [F] bool, members of the united front.
        events: list of (step, text) in plain words.
    """

    def __init__(self, spec: ScenarioSpec, map_: Map, seed: int, *, months: int | None = None,
                 replication: int = 0) -> None:
        """Build a run.

        Args:
            spec: a validated scenario.
            map_: the map it runs on.
            seed: the run's seed (every draw comes from streams spawned from it).
            months: horizon override (default: the scenario's).
            replication: index of this run in its batch (recorded in outputs).
        """
        self.streams: Streams = make_streams(seed)
        super().__init__(rng=self.streams.mesa)
        self.seed = seed
        self.replication = replication
        self.spec = spec
        self.active_spec = spec  # the scenario as events have changed it so far
        self.months = months if months is not None else spec.months
        st = compile_setup(spec, map_)
        self.setup: Setup = st
        self.pars = spec.parameters
        self.dt = st.dt  # months per step: rates are per month, scaled by the step
        self.horizon = horizon_steps(self.months, spec.time_step)
        self.dates = step_dates(spec.start, self.horizon, spec.time_step)
        self.grid = Network(map_.graph(), random=self.random, layout=None)

        # state arrays (copies of the compiled initial state), updated in place by the kernels
        P, F, D = map_.n, len(st.faction_keys), len(st.donor_keys)
        self.control = st.control0.copy()
        self.strength = st.strength0.copy()
        self.funds = st.funds0.copy()
        self.materiel = st.materiel0.copy()
        self.sentiment = map_.prior.copy()
        self.population = map_.population.astype(float)
        self.threat = st.threat0.copy()
        self.recognised = st.recognised0.copy()
        self.front = np.zeros(F, dtype=bool)
        self.momentum = np.zeros(F)
        self.patron_share = np.zeros((F, D))
        self.protection = np.zeros((P, F))
        self.harm = np.zeros((P, F))
        self.revenue = np.zeros(F)
        self.recruits = np.zeros(F)
        self.losses = np.zeros(F)
        self.offensive = np.ones(F)
        self.security_pool = self.pars.former_security_pool
        self.capital_lost = np.zeros(F, dtype=bool)
        self.territory = st.area_weight @ self.control
        self.held = self.control >= self.pars.held_threshold
        self._held_before = self.held.copy()
        self.legitimacy = float(st.weight @ self.recognised) / max(float(st.weight.sum()), 1e-12)
        self.revenue_factor = 1.0
        self.migrants = 0.0
        self.events: list[tuple[int, str]] = []
        self._joined = np.zeros(F, dtype=bool)
        self._left = np.zeros(F, dtype=bool)

        # actors: one agent per faction and donor, in scenario order
        self.factions: list[Faction] = [
            FACTION_CLASSES[f.kind](self, k, i, f) for i, (k, f) in enumerate(spec.factions.items())
        ]
        self.donors: list[Donor] = [
            DONOR_CLASSES[d.kind](self, k, i, d) for i, (k, d) in enumerate(spec.donors.items())
        ]
        gov = self.factions[st.gov]
        assert isinstance(gov, Government)
        self.government: Government = gov

        # every stream draws a fixed amount per step, whatever happens, so replication i
        # sees the same numbers in every scenario with the same actors (common random numbers)
        P, F, T = map_.n, len(st.faction_keys), self.horizon
        # luck only matters for factions that hold ground: one column per territorial faction
        # luck is drawn per month, whatever the step, so a finer step does not average it away
        months_drawn = int(np.ceil(T * self.dt - 1e-9))
        self._normals = self.streams.combat.standard_normal((months_drawn, P, st.n_territorial))
        self._noise = self._luck(self.pars.combat_noise)
        self._noise_month = np.minimum(np.floor(np.arange(T) * self.dt + 1e-9).astype(int), months_drawn - 1)
        self._alliance_draws = self.streams.alliances.random((T, F + 1))
        self._split_draws = self.streams.cohesion.random(T)
        self._attack_draws = self.streams.terror.random((T, F))

        self.recorder = Recorder(self, T)
        self.recorder.observe(self, 0)
        self._events = EventRunner(self) if spec.events else None

    # ------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one month through the phases listed in the class docstring.

        Called by Mesa's event loop (``model.step()``, ``mesa.batch_run``), which has
        already counted the step: ``self.steps`` is 1 in the first month.
        """
        t = self.steps
        if t > self.horizon:
            raise RuntimeError(f"the run has reached its horizon ({self.months} months, {self.horizon} steps)")
        if self._events is not None:
            self._events.check(t)
        self._support_phase(t)
        self._resource_phase()
        self._combat_phase(t)
        self._sentiment_phase()
        self._alliance_phase(t)
        self._terror_phase(t)
        self._observe(t)
        if t >= self.horizon:
            self.running = False

    def run(self) -> RunResult:
        """Run to the horizon and return the recorded result.

        Same months, same phases and bit-identical results as calling ``model.step()``
        until ``running`` is False (a test checks it), but the step counter is advanced
        here directly: Mesa 3.5's event loop costs about a quarter of a run's time.
        """
        step = type(self).step
        while self.running:
            self.steps += 1
            step(self)
        self.time = float(self.steps)
        return self.result()

    def result(self) -> RunResult:
        """The recorded trajectory up to the current step."""
        return self.recorder.finish(self)

    def log(self, t: int, text: str) -> None:
        """Add a plain-words event to the log."""
        self.events.append((t, text))

    def _luck(self, sd: float) -> np.ndarray:
        """Lognormal combat luck with mean 1 from the run's normal draws: ``exp(sd z - sd^2 / 2)``."""
        return np.exp(sd * self._normals - 0.5 * sd * sd)

    def rebind(self, spec: ScenarioSpec) -> None:
        """Run on from now with the rules of ``spec`` (an event changed them); the state is kept."""
        if spec.parameters.combat_noise != self.pars.combat_noise:
            self._noise = self._luck(spec.parameters.combat_noise)
        self.active_spec = spec
        self.setup = compile_setup(spec, self.setup.map)
        self.pars = spec.parameters
        for agent in self.factions:
            agent.spec = spec.factions[agent.key]
        for agent in self.donors:
            agent.spec = spec.donors[agent.key]

    # ------------------------------------------------------------------------------------------------------
    def _support_phase(self, t: int) -> None:
        """Phases 1-2: donors decide; money, arms and trade are paid; sanctuary and recognition take effect."""
        st, p, rec = self.setup, self.pars, self.recorder
        self.revenue_factor, self.legitimacy, changed = support.support_month(
            st.affinity, st.gov, st.econ, st.ct, st.threat_sensitivity, self.threat, self.momentum,
            self.strength, self.funds, self.materiel, st.donor_eligible, st.arms_willingness,
            st.success_weight, st.rivals, st.rival_weight, st.backlash, self.patron_share, st.budget,
            st.arms_share, st.sanctuary_willingness, st.trade, st.sanctions, st.closure, self.recognised,
            st.recognition_threshold, st.weight, st.donor_border, self.protection, t, rec.stance, rec.money,
            rec.arms, rec.sanctuary, rec.trade, rec.pressure, p.momentum_scale, p.viability_scale,
            p.recognition_hysteresis, p.sanctuary_protection, self.dt)
        if changed:
            for s in np.flatnonzero(rec.recognised[t - 1] != self.recognised):
                verb = "recognises" if self.recognised[s] else "withdraws its recognition of"
                self.log(t, f"{st.donor_labels[s]} {verb} the {st.faction_labels[st.gov]} government")

    def _resource_phase(self) -> None:
        """Phase 3: taxes, upkeep, recruits (aggrieved, supporters, former security forces), arms."""
        st, p, m = self.setup, self.pars, self.setup.map
        gov_factor = self.revenue_factor * (1.0 + p.legitimacy_revenue * self.legitimacy)
        self.security_pool = resources.raise_resources(
            self.control, self.population, self.sentiment, st.extraction, m.nb_ptr, m.nb_idx, st.tax_rate, st.income,
            st.alignment, st.gov, gov_factor, st.recruit_rate, st.pro_pool, st.territorial, st.security_appeal,
            self.momentum, self.strength, self.funds, self.materiel, self.security_pool, p.income_per_capita,
            p.hardship, p.risk_aversion, p.grievance_threshold, p.arrest_constant, p.repression,
            p.grievance_spread, p.spillover, p.momentum_scale, p.former_security_uptake,
            p.former_security_attrition, p.upkeep, p.recruit_cost, p.desertion_rate, p.arms_purchase,
            p.materiel_decay, p.pay_months, p.pay_max, self.dt, self.revenue, self.recruits)
        self.offensive = resources.offensive_capacity(self.materiel, self.strength, p.supply_threshold)

    def _combat_phase(self, t: int) -> None:
        """Phase 4: deployment, contest for control, attrition, defections, capital loss."""
        st, p, m = self.setup, self.pars, self.setup.map
        combat.fight(
            self.control, self.strength, self.materiel, self.sentiment, self._noise[self._noise_month[t - 1]],
            st.noise_column, self.front,
            self.offensive, self.protection, self.momentum, m.nb_ptr, m.nb_idx, st.home, st.territorial,
            st.effectiveness, st.extraction, st.alignment, st.guerrilla, st.stealth, st.hostility, st.defection,
            st.area_ratio, m.ruggedness, st.terrain_rate, p.spillover, p.home_weight, p.deployment_focus,
            p.popular_support_weight, p.materiel_reference, p.materiel_boost, p.front_synergy,
            p.contest_decisiveness, p.aimed_fire, p.area_fire, p.concealment, p.max_loss_share,
            p.collateral_rate, p.defection_scale, self.dt, self.harm, self.losses)
        self._capital_check(t)

    def _capital_check(self, t: int) -> None:
        st, p = self.setup, self.pars
        for f, c in st.capitals:
            lost = bool(self.control[c, f] < p.capital_threshold)
            if lost and not self.capital_lost[f] and self.strength[f] > 0:
                self.strength[f] *= 1.0 - p.capital_collapse
                self.log(t, f"the {st.faction_labels[f]} lose their capital, {st.map.names[c]}; "
                            f"{p.capital_collapse:.0%} of their fighters desert")
            self.capital_lost[f] = lost

    def _sentiment_phase(self) -> None:
        """Phase 5: sentiment (collaboration, repression, harm, role models) and migration."""
        st, p, m = self.setup, self.pars, self.setup.map
        self.migrants = sentiment.update(
            self.sentiment, m.prior, self.control, st.alignment, st.governance_weight, st.gov, self.harm,
            self.population, m.nb_ptr, m.nb_idx, p.sentiment_reversion, p.collaboration_rate, p.repression,
            p.anger_rate, p.harm_anger, p.role_model_rate, p.migration_rate, self.dt)

    def _alliance_phase(self, t: int) -> None:
        """Phase 6: resistance fronts form or break and pool resources; cohesion; the split."""
        st, p = self.setup, self.pars
        labels = st.faction_labels
        was = int(self.front.sum())
        changes = alliances.front_month(
            self.front, st.front_willing, st.rivalry, self.strength, self.funds, self.materiel, st.gov,
            self._alliance_draws[t - 1], p.front_formation_rate, p.front_breakup_rate, p.front_dominance,
            self.dt, self._joined, self._left)
        if changes:
            names = [labels[f] for f in np.flatnonzero(self._joined)]
            if names and was < 2:
                self.log(t, f"the {' and the '.join(names)} form a united front")
            else:
                for name in names:
                    self.log(t, f"the {name} join the united front")
            for f in np.flatnonzero(self._left):
                self.log(t, f"the {labels[f]} leave the united front")
        gov = self.government
        pressure = min(1.0, float(self.recorder.pressure[t] @ st.pressure_weight))
        gov.cohesion = alliances.update_cohesion(
            gov.cohesion, st.cohesion0, self.legitimacy, pressure, float(self.momentum[st.gov]),
            reversion=p.cohesion_reversion, gain_legitimacy=p.cohesion_legitimacy,
            loss_pressure=p.cohesion_pressure, loss_ground=p.cohesion_losses, tension=p.factional_tension,
            dt=self.dt)
        hazard = alliances.split_hazard(gov.cohesion, p.split_threshold, p.split_rate, self.dt)
        if not gov.split and st.split_child >= 0 and self._split_draws[t - 1] < hazard:
            self._split(t)

    def _split(self, t: int) -> None:
        st, g, c = self.setup, self.setup.gov, self.setup.split_child
        share = np.where(st.home[:, c] > 0, st.split_home_share, st.split_other_share)
        moved = self.control[:, g] * share
        self.control[:, g] -= moved
        self.control[:, c] += moved
        for arr in (self.strength, self.funds, self.materiel):
            take = arr[g] * st.split_strength
            arr[g] -= take
            arr[c] += take
        self.government.split = True
        self.log(t, f"the {st.faction_labels[c]} break from the {st.faction_labels[g]} "
                    f"(cohesion {self.government.cohesion:.2f}), taking {st.split_strength:.0%} of their fighters")

    def _terror_phase(self, t: int) -> None:
        """Phase 7: sheltered groups grow; states strike; attacks raise threat."""
        st, p, rec = self.setup, self.pars, self.recorder
        engaged = terror.ct_engagement(st.ct, rec.stance[t])
        tolerance = p.shelter_tolerance * (1.0 - p.ct_restraint * engaged)
        terror.step(
            self.strength, self.control, self.threat, self._attack_draws[t - 1], st.home_weight, st.patrons,
            st.sheltered, st.growth, st.capacity, st.attack_rate, st.targets, st.strike_capacity, tolerance,
            p.jihadist_decay, p.strike_lethality, p.threat_decay, p.threat_per_attack, p.latent_threat, self.dt,
            rec.strikes[t], rec.attacks[t])

    def _observe(self, t: int) -> None:
        """Phase 8: territory and momentum; held provinces; the recorder takes the month."""
        st, p = self.setup, self.pars
        changed = space.observe(self.control, st.area_weight, self.territory, self.momentum, self.held,
                                self._held_before, p.held_threshold, p.momentum_memory, self.dt)
        if changed:
            for i, f in zip(*np.nonzero(self.held & ~self._held_before), strict=True):
                prev = np.flatnonzero(self._held_before[i])
                frm = f" from the {st.faction_labels[prev[0]]}" if prev.size else ""
                self.log(t, f"the {st.faction_labels[f]} take {st.map.names[i]}{frm} "
                            f"({self.control[i, f]:.0%} control)")
        self.recorder.observe(self, t)
