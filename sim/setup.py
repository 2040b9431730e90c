"""Compile a scenario and its map into the constant arrays a run needs.

Compiling is done once per (scenario, map) and cached, because a batch builds
thousands of models from the same scenario; each model then copies only the
initial state arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calendar import STEP_MONTHS
from sim.geography import Map
from sim.scenario import ScenarioSpec


@dataclass(frozen=True, eq=False)
class Setup:
    """Constant arrays of a scenario on a map (P provinces, F factions, S donors).

    Attributes are documented where they are used in :mod:`sim.model`; shapes are
    given in brackets.
    """

    spec: ScenarioSpec
    map: Map
    dt: float  # months per step
    digest: str  # hash of the resolved scenario
    capitals: tuple[tuple[int, int], ...]  # (faction, province) for factions with a capital
    faction_keys: tuple[str, ...]
    faction_labels: tuple[str, ...]
    donor_keys: tuple[str, ...]
    donor_labels: tuple[str, ...]
    gov: int
    area_weight: np.ndarray  # [P] area / total area
    pop_weight0: np.ndarray  # [P] initial population / total
    area_ratio: np.ndarray  # [P] reference area / area
    terrain_rate: np.ndarray  # [P] control_rate * (1 - drag * ruggedness)
    territorial: np.ndarray  # [F] 1.0 for factions holding ground
    n_territorial: int
    noise_column: np.ndarray  # [F] column of a faction in the combat-noise draws, -1 if it holds no ground
    guerrilla: np.ndarray  # [F]
    effectiveness: np.ndarray  # [F]
    stealth: np.ndarray  # [F]
    alignment: np.ndarray  # [F]
    governance_weight: np.ndarray  # [F] governance where alignment > 0
    tax_rate: np.ndarray  # [F]
    income: np.ndarray  # [F] outside income, million USD/month
    recruit_rate: np.ndarray  # [F] per-month recruitment rate
    pro_pool: np.ndarray  # [F] 1 where a faction recruits from supporters, not the aggrieved
    security_appeal: np.ndarray  # [F]
    defection: np.ndarray  # [F]
    front_willing: np.ndarray  # [F] bool
    rivalry: np.ndarray  # [F]
    sheltered: np.ndarray  # [F] 1.0 for non-territorial groups with patrons
    growth: np.ndarray  # [F]
    capacity: np.ndarray  # [F]
    attack_rate: np.ndarray  # [F]
    targets: np.ndarray  # [F,S] target weights
    patrons: np.ndarray  # [F,F] 1 where column is a patron of row
    home: np.ndarray  # [P,F] 1 for home provinces
    home_weight: np.ndarray  # [P,F] home / number of home provinces
    extraction: np.ndarray  # [P,F] loss-of-strength gradient from the base
    capital: np.ndarray  # [F] province index or -1
    hostility: np.ndarray  # [F,F] 1 where two territorial factions fight
    donor_eligible: np.ndarray  # [F] 1 where donors may back a faction
    control0: np.ndarray  # [P,F]
    strength0: np.ndarray  # [F]
    funds0: np.ndarray  # [F]
    materiel0: np.ndarray  # [F]
    cohesion0: float
    split_child: int  # -1 if the government cannot split
    split_strength: float
    split_home_share: float
    split_other_share: float
    # donors
    affinity: np.ndarray  # [S,F]
    econ: np.ndarray
    ct: np.ndarray
    threat_sensitivity: np.ndarray
    threat0: np.ndarray
    arms_willingness: np.ndarray
    success_weight: np.ndarray
    rivals: np.ndarray  # [S,S]
    rival_weight: np.ndarray
    backlash: np.ndarray  # [S,S]
    budget: np.ndarray
    arms_share: np.ndarray
    sanctuary_willingness: np.ndarray
    trade: np.ndarray
    sanctions: np.ndarray
    closure: np.ndarray
    strike_capacity: np.ndarray
    recognised0: np.ndarray  # [S] bool
    recognition_threshold: np.ndarray
    weight: np.ndarray
    donor_border: np.ndarray  # [S,P] 1 where a donor borders a province
    pressure_weight: np.ndarray  # [S] strongest pressure instrument of each donor (cohesion)


_CACHE: dict[tuple[int, int], Setup] = {}


def compile_setup(spec: ScenarioSpec, m: Map) -> Setup:
    """Build (or fetch from the per-process cache) the constant arrays of a scenario.

    Args:
        spec: a validated scenario (references already checked against ``m``).
        m: the map.

    Returns:
        The compiled setup.
    """
    # keyed by identity (a frozen scenario object is compiled once per process); the
    # stored objects guard against a recycled id
    key = (id(spec), id(m))
    hit = _CACHE.get(key)
    if hit is not None and hit.spec is spec and hit.map is m:
        return hit
    if len(_CACHE) > 64:
        _CACHE.clear()
    setup = _compile(spec, m)
    _CACHE[key] = setup
    return setup


def _compile(spec: ScenarioSpec, m: Map) -> Setup:
    pars = spec.parameters
    fk = tuple(spec.factions)
    dk = tuple(spec.donors)
    fs = [spec.factions[k] for k in fk]
    ds = [spec.donors[k] for k in dk]
    P, F, S = m.n, len(fk), len(dk)
    fi = {k: i for i, k in enumerate(fk)}
    di = {k: i for i, k in enumerate(dk)}
    gov = fi[spec.government]

    def fvec(attr: str) -> np.ndarray:
        return np.array([float(getattr(f, attr)) for f in fs])

    def dvec(attr: str) -> np.ndarray:
        return np.array([float(getattr(d, attr)) for d in ds])

    territorial = np.array([1.0 if f.territorial else 0.0 for f in fs])
    noise_column = np.where(territorial > 0, np.cumsum(territorial) - 1, -1).astype(np.int64)
    home = np.zeros((P, F))
    for j, f in enumerate(fs):
        for p in f.home:
            home[m.index[p], j] = 1.0
    n_home = home.sum(axis=0)
    home_weight = home / np.maximum(n_home, 1.0)
    capital = np.array([m.index[f.capital] if f.capital else -1 for f in fs])

    # Loss-of-strength gradient: distance to the nearest base province (the capital,
    # else the home provinces); an actor with no base projects evenly.
    extraction = np.ones((P, F))
    for j, f in enumerate(fs):
        bases = [m.index[f.capital]] if f.capital else [m.index[p] for p in f.home]
        if bases:
            d = m.distance_km[:, bases].min(axis=1)
            extraction[:, j] = 1.0 / (1.0 + d / pars.extraction_distance)

    control0 = np.zeros((P, F))
    rem = next(j for j, f in enumerate(fs) if f.holds_remainder)
    for j, f in enumerate(fs):
        for p, v in f.control.items():
            control0[m.index[p], j] = v
    control0[:, rem] = 0.0
    control0[:, rem] = 1.0 - control0.sum(axis=1)

    hostility = np.outer(territorial, territorial)
    kinds = [f.kind for f in fs]
    for a in range(F):
        for b in range(F):
            if a == b or (kinds[a] == "resistance" and kinds[b] == "resistance"):
                hostility[a, b] = 0.0
    for a, f in enumerate(fs):
        for ally in f.allies:
            hostility[a, fi[ally]] = hostility[fi[ally], a] = 0.0
    patrons = np.zeros((F, F))
    targets = np.zeros((F, S))
    for j, f in enumerate(fs):
        for p in f.patrons:
            patrons[j, fi[p]] = 1.0
        for s, w in f.targets.items():
            targets[j, di[s]] = w

    child = -1
    gspec = fs[gov]
    if gspec.splits_into:
        child = fi[gspec.splits_into]
    child_spec = fs[child] if child >= 0 else None

    affinity = np.zeros((S, F))
    rivals = np.zeros((S, S))
    backlash = np.zeros((S, S))
    donor_border = np.zeros((S, P))
    for i, d in enumerate(ds):
        for f, v in d.affinity.items():
            affinity[i, fi[f]] = v
        for r in d.rivals:
            rivals[i, di[r]] = 1.0
        for p, v in d.backlash.items():
            backlash[i, di[p]] = v
        if d.country:
            donor_border[i] = m.border_mask(d.country)

    alignment = fvec("alignment")
    pro_pool = (alignment <= 0).astype(float)
    is_gov = np.zeros(F)
    is_gov[gov] = 1.0
    # the government and its breakaway recruit from their supporters at the government's
    # rate; everyone else mobilises the aggrieved
    state_like = {gov} | ({fi[fs[gov].splits_into]} if fs[gov].splits_into else set())
    recruit_rate = np.array([
        pars.government_recruitment if j in state_like else pars.mobilisation_rate for j in range(F)
    ]) * np.array([f.recruitment if f.territorial else 0.0 for f in fs])
    sheltered = np.array([1.0 if (not f.territorial and f.patrons) else 0.0 for f in fs])
    # donors may back any armed faction that holds ground, other than the government and
    # jihadist groups (no state backs ISKP openly); whether they do is their inclination
    eligible = np.array([1.0 if (f.territorial and f.kind in ("resistance", "insurgent")) else 0.0 for f in fs])
    arrays = dict(
        area_weight=m.area / m.area.sum(),
        pop_weight0=m.population / m.population.sum(),
        area_ratio=pars.area_reference / m.area,
        terrain_rate=pars.control_rate * (1.0 - pars.terrain_drag * m.ruggedness),
        territorial=territorial,
        noise_column=noise_column,
        guerrilla=np.array([1.0 if f.mode == "guerrilla" else 0.0 for f in fs]),
        effectiveness=fvec("effectiveness"),
        stealth=fvec("stealth"),
        alignment=alignment,
        governance_weight=fvec("governance") * (alignment > 0),
        tax_rate=fvec("tax_rate"),
        income=fvec("income"),
        recruit_rate=recruit_rate,
        pro_pool=pro_pool,
        security_appeal=fvec("former_security_appeal"),
        defection=fvec("defection"),
        front_willing=np.array([f.front for f in fs]),
        rivalry=fvec("rivalry"),
        sheltered=sheltered,
        growth=fvec("growth"),
        capacity=fvec("capacity"),
        attack_rate=fvec("attack_rate"),
        targets=targets,
        patrons=patrons,
        home=home,
        home_weight=home_weight,
        extraction=extraction,
        capital=capital,
        hostility=hostility,
        donor_eligible=eligible,
        control0=control0,
        strength0=fvec("strength"),
        funds0=fvec("funds"),
        materiel0=fvec("materiel"),
        affinity=affinity,
        econ=dvec("economic_interest"),
        ct=dvec("ct_interest"),
        threat_sensitivity=dvec("threat_sensitivity"),
        threat0=dvec("threat"),
        arms_willingness=dvec("arms_willingness"),
        success_weight=dvec("success_weight"),
        rivals=rivals,
        rival_weight=dvec("rival_weight"),
        backlash=backlash,
        budget=dvec("budget"),
        arms_share=dvec("arms_share"),
        sanctuary_willingness=dvec("sanctuary_willingness") * (donor_border.sum(axis=1) > 0),
        trade=dvec("trade"),
        sanctions=dvec("sanctions"),
        closure=dvec("border_closure"),
        strike_capacity=dvec("strike_capacity"),
        recognised0=np.array([d.recognises for d in ds], dtype=bool),
        recognition_threshold=dvec("recognition_threshold"),
        weight=dvec("weight"),
        donor_border=donor_border,
        pressure_weight=np.maximum(np.maximum(dvec("sanctions"), dvec("border_closure")), dvec("strike_capacity")),
    )
    # The arrays stay writeable on purpose: numba's dispatcher types a read-only array on
    # a slow path (tens of microseconds a call). They are constants by convention.
    return Setup(
        spec=spec,
        map=m,
        dt=STEP_MONTHS[spec.time_step],
        digest=spec.digest(),
        n_territorial=int(territorial.sum()),
        capitals=tuple((j, int(c)) for j, c in enumerate(capital) if c >= 0),
        faction_keys=fk,
        faction_labels=tuple(f.label for f in fs),
        donor_keys=dk,
        donor_labels=tuple(d.label for d in ds),
        gov=gov,
        cohesion0=gspec.cohesion,
        split_child=child,
        split_strength=child_spec.split_strength if child_spec else 0.0,
        split_home_share=child_spec.split_home_share if child_spec else 0.0,
        split_other_share=child_spec.split_other_share if child_spec else 0.0,
        **arrays,
    )
