"""ConflictModel: the monthly loop over provinces, factions and donors.

The model owns the run's bundles (:mod:`sim.bundles`): the constants compiled from the
scenario and map, the parameters, the state arrays, the draws and the record. It runs the
phases of :data:`sim.schedule.PHASES` in order; between scenario events it runs whole
spans of steps in one compiled call. It never writes files: the record is frozen into a
:class:`sim.recorder.RunResult` at the end, and the event log is written in plain words
from the record (:mod:`sim.narrate`).
"""

from __future__ import annotations

import functools

import numpy as np
from mesa import Model
from mesa.discrete_space import Network

from sim.actors import DONOR_CLASSES, FACTION_CLASSES, Donor, Faction, Government
from sim.bundles import Const, Draws, Pars, Record, State, blank_record, blank_state
from sim.calendar import horizon_steps, step_dates
from sim.events import EventRunner
from sim.geography import Map
from sim.narrate import narrate
from sim.random import Streams, make_streams
from sim.recorder import RECORDED, RunResult
from sim.recorder import step as record_step
from sim.scenario import ScenarioSpec
from sim.schedule import run_steps
from sim.setup import Setup, compile_setup


class ConflictModel(Model):
    """Afghanistan's provinces, armed factions and foreign states, stepped month by month.

    Step order (ODD element 3): ``sim.schedule.PHASES``, each phase one full pass over all actors:

    0. events           scenario events whose trigger holds fire (sim.events, in Python)
    1. support.step     donors decide support and pressure; money, arms and trade are paid;
                        sanctuary, recognition, sanctions and closures take effect (mechanisms 1, 6-8)
    2. resources.step   factions tax, pay upkeep and recruit from the aggrieved, their
                        supporters and former security forces (mechanisms 4, 9)
    3. combat.step      deployment, contest for control, attrition, defections, capital loss
                        (mechanism 3 gates gains)
    3b. raids.step      groups attack the government's forces as counts; harm, losses, notice
    4. sentiment.step   sentiment and migration (mechanisms 4, 5)
    5. alliances.step   resistance fronts form or break; the government's cohesion moves and
                        it may split (mechanisms 2, 7)
    6. terror.step      sheltered groups grow, states strike, attacks raise threat (mechanism 6)
    7. space.step       territory, momentum and held provinces
    8. recorder.step    the recorder takes the step

    Attributes:
        spec: the resolved scenario; ``active_spec`` the scenario as events have changed it.
        setup: names, initial state and constants compiled from the scenario and map.
        const, pars, state, draws, record: the bundles the compiled phases take (``const`` and
            ``pars`` are the setup's).
        streams: the run's named random streams.
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
        self.active_spec = spec
        self.months = months if months is not None else spec.months
        self.setup: Setup = compile_setup(spec, map_)
        self.dt = self.setup.dt  # months per step: rates are per month, scaled by the step
        self.horizon = horizon_steps(self.months, spec.time_step)
        self.dates = step_dates(spec.start, self.horizon, spec.time_step)
        self.state: State = self._initial_state()
        self.draws: Draws = self._draw()
        self.record: Record = blank_record(self.horizon, map_.n, len(self.setup.faction_keys),
                                           len(self.setup.donor_keys))
        self.events: list[tuple[int, str]] = []
        self.factions: list[Faction] = [
            FACTION_CLASSES[f.kind](self, k, i, f) for i, (k, f) in enumerate(spec.factions.items())
        ]
        self.donors: list[Donor] = [
            DONOR_CLASSES[d.kind](self, k, i, d) for i, (k, d) in enumerate(spec.donors.items())
        ]
        gov = self.factions[self.setup.gov]
        assert isinstance(gov, Government)
        self.government: Government = gov
        record_step(self.const, self.pars, self.state, self.draws, self.record, 0)
        self._events = EventRunner(self) if spec.events else None

    def _initial_state(self) -> State:
        st = self.setup
        P, F, D = st.map.n, len(st.faction_keys), len(st.donor_keys)
        s = blank_state(P, F, D)
        for name, value in (("control", st.control0), ("strength", st.strength0), ("funds", st.funds0),
                            ("materiel", st.materiel0), ("air", st.air0), ("sentiment", st.map.prior),
                            ("population", st.map.population), ("threat", st.threat0),
                            ("recognised", st.recognised0), ("stage", st.stage0), ("stance", st.stance0),
                            ("sheltered_threat", st.sheltered_threat0), ("enemy_threat", st.enemy_threat0)):
            getattr(s, name)[...] = value
        s.territory[:] = st.territory0
        s.held[...] = s.control >= self.pars.held_threshold
        s.holder[:] = st.holder0
        s.capital_lost[:] = st.capital_lost0
        s.security_pool[0] = self.pars.former_security_pool
        s.legitimacy[0] = st.legitimacy0
        s.cohesion[0] = st.const.cohesion0
        return s

    def _draw(self) -> Draws:
        """Every stream draws a fixed amount, whatever happens (common random numbers).

        Replication i then sees the same numbers in every scenario with the same actors.
        Luck matters only for factions that hold ground (one column each) and is drawn per
        month, whatever the step, so a finer step does not average it away. The raids' uniforms
        likewise have one column per faction that holds ground (only those can be hostile).
        """
        P, F, T, dt = self.setup.map.n, len(self.setup.faction_keys), self.horizon, self.dt
        months_drawn = int(np.ceil(T * dt - 1e-9))
        self._normals = self.streams.combat.standard_normal((months_drawn, P, self.setup.n_territorial))
        return Draws(
            luck=self._luck(self.pars.combat_noise),
            luck_month=np.minimum(np.floor(np.arange(T) * dt + 1e-9).astype(int), months_drawn - 1),
            alliance=self.streams.alliances.random((T, F + 1)),
            split=self.streams.cohesion.random(T),
            attack=self.streams.terror.random((T, F)),
            capture=self.streams.capitals.random((T, P)),
            raid=self.streams.raids.random((T, P, self.setup.n_territorial)),
        )

    def _luck(self, sd: float) -> np.ndarray:
        """Lognormal combat luck with mean 1 from the run's normal draws: ``exp(sd z - sd^2 / 2)``.

        Computed in one array, in place (the same operations in the same order, so the same
        bits): each temporary of the expression was a fresh allocation of a quarter megabyte.
        """
        luck = np.multiply(sd, self._normals)
        np.subtract(luck, 0.5 * sd * sd, out=luck)
        return np.exp(luck, out=luck)

    # ------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one step through the phases (class docstring).

        Called by Mesa's event loop (``model.step()``, ``mesa.batch_run``), which has
        already counted the step: ``self.steps`` is 1 in the first month.
        """
        t = self.steps
        if t > self.horizon:
            raise RuntimeError(f"the run has reached its horizon ({self.months} months, {self.horizon} steps)")
        self._advance(t, t)
        if t >= self.horizon:
            self.running = False

    def run(self) -> RunResult:
        """Run to the horizon and return the recorded result.

        Same steps, same phases and bit-identical results as calling ``model.step()``
        until ``running`` is False (a test checks it), but the steps between two scenario
        events run in one compiled call, and Mesa's event loop (about a quarter of a run's
        time) is bypassed: the step counter is advanced here directly.
        """
        while self.running:
            first = self.steps + 1
            last = self._events.span_end(first) if self._events is not None else self.horizon
            self.steps = last
            self._advance(first, last)
            if last >= self.horizon:
                self.running = False
        self.time = float(self.steps)
        return self.result()

    def _advance(self, first: int, last: int) -> None:
        """Steps ``first`` to ``last``: the events of the first, then the compiled phases, then the log."""
        if self._events is not None:
            self._events.check(first)
        run_steps(self.const, self.pars, self.state, self.draws, self.record, first, last)
        self.events += narrate(self.setup, self.pars, self.record, first, last)

    def result(self) -> RunResult:
        """The record of the run up to the current step, frozen into a RunResult."""
        st, r, n = self.setup, self.record, self.steps + 1
        if self.steps:
            r.stance[0] = r.stance[1]  # stance is decided during a step; step 0 shows the first decision
        return RunResult(
            scenario=st.spec.name, scenario_hash=st.digest, replication=self.replication, seed=self.seed,
            factions=st.faction_keys, donors=st.donor_keys, provinces=st.map.names, dates=self.dates[:n],
            held_threshold=self.pars.held_threshold, area=st.map.area, gov=st.gov, events=list(self.events),
            **{name: getattr(r, name)[:n] for name in RECORDED},
        )

    def log(self, t: int, text: str) -> None:
        """Add a plain-words event to the log."""
        self.events.append((t, text))

    def rebind(self, spec: ScenarioSpec) -> None:
        """Run on from now with the rules of ``spec`` (an event changed them); the state is kept."""
        if spec.parameters.combat_noise != self.active_spec.parameters.combat_noise:
            self.draws = self.draws._replace(luck=self._luck(spec.parameters.combat_noise))
        self.active_spec = spec
        self.setup = compile_setup(spec, self.setup.map)
        for agent in self.factions:
            agent.spec = spec.factions[agent.key]
        for agent in self.donors:
            agent.spec = spec.donors[agent.key]

    # -------------------------------------------------------------------------------- views on the state
    @property
    def const(self) -> Const:
        """The constants of the rules now in force (the setup's: events may change them)."""
        return self.setup.const

    @property
    def pars(self) -> Pars:
        """The parameters now in force, as the bundle the compiled rules read."""
        return self.setup.pars

    @property
    def control(self) -> np.ndarray:
        """[P, F] control shares, rows summing to 1."""
        return self.state.control

    @property
    def strength(self) -> np.ndarray:
        """[F] fighters."""
        return self.state.strength

    @property
    def funds(self) -> np.ndarray:
        """[F] million USD."""
        return self.state.funds

    @property
    def materiel(self) -> np.ndarray:
        """[F] million USD of arms."""
        return self.state.materiel

    @property
    def sentiment(self) -> np.ndarray:
        """[P] anti-Taliban share."""
        return self.state.sentiment

    @property
    def population(self) -> np.ndarray:
        """[P] people."""
        return self.state.population

    @property
    def threat(self) -> np.ndarray:
        """[D] donors' threat perception."""
        return self.state.threat

    @property
    def recognised(self) -> np.ndarray:
        """[D] bool, who recognises the government."""
        return self.state.recognised

    @property
    def front(self) -> np.ndarray:
        """[F] bool, members of the united front."""
        return self.state.front

    @property
    def territory(self) -> np.ndarray:
        """[F] share of the country's area."""
        return self.state.territory

    @property
    def holder(self) -> np.ndarray:
        """[P] the faction holding each province's capital."""
        return self.state.holder

    @property
    def held(self) -> np.ndarray:
        """[P, F] bool, provinces held."""
        return self.state.held

    @property
    def legitimacy(self) -> float:
        """The government's international legitimacy."""
        return float(self.state.legitimacy[0])

    @functools.cached_property
    def grid(self) -> Network:
        """The provinces as cells of a Mesa Network (built on first use: no rule needs it)."""
        return Network(self.setup.map.graph(), random=self.random, layout=None)
