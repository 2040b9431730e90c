"""Compile a scenario and its map into the constant arrays a run needs.

Compiling is done once per (scenario, map) and cached, because a batch builds
thousands of models from the same scenario; each model then copies only the
initial state arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.actors import FACTION_CLASSES
from sim.bundles import Const, Pars, pars_bundle, stance_weight
from sim.calendar import STEP_MONTHS
from sim.geography import Map
from sim.mechanics.capitals import hold_capitals
from sim.scenario import ScenarioSpec


@dataclass(frozen=True, eq=False)
class Setup:
    """A scenario compiled for a map: the constants bundle, the initial state, and names.

    Attributes:
        spec: the scenario.
        map: the map.
        const: the constants the compiled rules read (:class:`sim.bundles.Const`).
        pars: the scenario's parameters as the bundle the compiled rules read.
        digest: hash of the resolved scenario.
        faction_keys, faction_labels, donor_keys, donor_labels: names in array order.
        gov: index of the government faction.
        n_territorial: number of factions that hold ground (columns of the combat luck).
        resistance: [F] bool, factions that count as the armed resistance (kind rule).
        control0: [P, F] initial control; strength0, funds0, materiel0: [F]; threat0: [D];
            recognised0: [D] bool; stage0: [D] int, the stage of recognition; stance0: [D] the
            stance at the start (NaN: the target of the first step); sheltered_threat0,
            enemy_threat0: [D] the initial threat attributed to the government's guests and to
            its enemies (7.7); territory0: [F] initial share of the country's area;
            legitimacy0: the government's initial international legitimacy.
        holder0: [P] the faction holding each province's capital at the start (the government
            unless a faction lists the province in ``garrisons``); capital_lost0: [F] bool,
            factions whose own capital someone else holds at the start.
    """

    spec: ScenarioSpec
    map: Map
    const: Const
    pars: Pars
    digest: str
    faction_keys: tuple[str, ...]
    faction_labels: tuple[str, ...]
    donor_keys: tuple[str, ...]
    donor_labels: tuple[str, ...]
    gov: int
    n_territorial: int
    resistance: np.ndarray
    control0: np.ndarray
    strength0: np.ndarray
    air0: np.ndarray
    funds0: np.ndarray
    materiel0: np.ndarray
    threat0: np.ndarray
    recognised0: np.ndarray
    stage0: np.ndarray
    stance0: np.ndarray
    sheltered_threat0: np.ndarray
    enemy_threat0: np.ndarray
    territory0: np.ndarray
    legitimacy0: float
    holder0: np.ndarray
    capital_lost0: np.ndarray

    @property
    def dt(self) -> float:
        """Months per step."""
        return self.const.dt

    @property
    def area_weight(self) -> np.ndarray:
        """[P] province area / total area."""
        return self.const.area_weight


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
    fs, ds = list(spec.factions.values()), list(spec.donors.values())
    fi = {k: i for i, k in enumerate(spec.factions)}
    gov = fi[spec.government]
    territorial = np.array([1.0 if f.territorial else 0.0 for f in fs])
    classes = [FACTION_CLASSES[f.kind] for f in fs]
    const = Const(**_scalars(spec, fi, gov), **_map_arrays(spec, m), **_faction_arrays(spec, m, fi, territorial),
                  **_relations(spec, fi, classes, territorial), **_donor_arrays(spec, m, fi), held0=np.zeros(len(fs)))
    # The arrays stay writeable on purpose: numba's dispatcher types a read-only array on
    # a slow path (tens of microseconds a call). They are constants by convention.
    holder0 = _holders(spec, m, fi, gov)
    const = const._replace(held0=np.bincount(holder0, minlength=len(fs)).astype(float))
    # a capital carries a floor of its province's control (see combat.hold_capitals): so does the start
    control0 = _control0(spec, m)
    hold_capitals(control0, holder0, spec.parameters.capital_share)
    capital_lost0 = np.array([k >= 0 and holder0[k] != f for f, k in enumerate(const.capital)])
    stage0 = np.array([d.stage0 for d in ds], dtype=np.int64)
    recognised0 = stage0 == 3
    stance0 = np.array([np.nan if d.stance is None else d.stance for d in ds])
    sheltered0, enemy0 = _threat_split(const, _fvec(ds, "threat"), _fvec(fs, "strength"))
    # computed once per scenario, not per run (and no BLAS call, whose threads spin, per run)
    territory0 = const.area_weight @ control0
    legitimacy0 = float(const.weight @ recognised0) / max(float(const.weight.sum()), 1e-12)
    return Setup(
        spec=spec, map=m, const=const, pars=pars_bundle(spec.parameters), digest=spec.digest(),
        faction_keys=tuple(spec.factions), faction_labels=tuple(f.label for f in fs),
        donor_keys=tuple(spec.donors), donor_labels=tuple(d.label for d in ds), gov=gov,
        n_territorial=int(territorial.sum()), resistance=np.array([cls.resistance for cls in classes]),
        control0=control0, strength0=_fvec(fs, "strength"), funds0=_fvec(fs, "funds"), air0=_fvec(fs, "air_support"),
        materiel0=_fvec(fs, "materiel"), threat0=_fvec(ds, "threat"), recognised0=recognised0,
        stage0=stage0, stance0=stance0, sheltered_threat0=sheltered0, enemy_threat0=enemy0,
        territory0=territory0, legitimacy0=legitimacy0, holder0=holder0, capital_lost0=capital_lost0,
    )


def _threat_split(c: Const, threat: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The initial threat split between the government's guests and its enemies, by their latent threat.

    Each state's initial threat is shared in proportion to the strength of the groups that
    target it on either side (all to the guests when no group of either side targets it).
    """
    guests = (c.gov_sheltered * strength) @ c.targets
    enemies = (c.gov_enemy * strength) @ c.targets
    total = guests + enemies
    share = np.divide(enemies, total, out=np.zeros_like(total), where=total > 0)
    return threat * (1.0 - share), threat * share


def _holders(spec: ScenarioSpec, m: Map, fi: dict[str, int], gov: int) -> np.ndarray:
    """The holder of each province's capital at the start: listed garrisons, else the government."""
    holder = np.full(m.n, gov, dtype=np.int64)
    for key, f in spec.factions.items():
        for p in f.garrisons:
            holder[m.index[p]] = fi[key]
    return holder


def _fvec(specs: list, attr: str) -> np.ndarray:
    """One float per faction or donor spec."""
    return np.array([float(getattr(x, attr)) for x in specs])


def _scalars(spec: ScenarioSpec, fi: dict[str, int], gov: int) -> dict:
    """The step length, the government and its breakaway."""
    g = spec.factions[spec.government]
    child = spec.factions[g.splits_into] if g.splits_into else None
    dt = STEP_MONTHS[spec.time_step]
    return dict(
        dt=dt, gov=gov, split_child=fi[g.splits_into] if child else -1,
        stance_weight=stance_weight(spec.parameters.stance_rate, dt),
        cohesion0=g.cohesion, split_strength=child.split_strength if child else 0.0,
        split_home_share=child.split_home_share if child else 0.0,
        split_other_share=child.split_other_share if child else 0.0,
    )


def _map_arrays(spec: ScenarioSpec, m: Map) -> dict:
    """Provinces: neighbours, terrain, prior sentiment, area weights."""
    pars = spec.parameters
    return dict(
        nb_ptr=m.nb_ptr, nb_idx=m.nb_idx, ruggedness=m.ruggedness, prior=m.prior, area_weight=m.area / m.area.sum(),
        area_ratio=pars.area_reference / m.area,
        terrain_rate=pars.control_rate * (1.0 - pars.terrain_drag * m.ruggedness),
    )


def _faction_arrays(spec: ScenarioSpec, m: Map, fi: dict[str, int], territorial: np.ndarray) -> dict:
    """Per-faction constants: fighting, recruiting, taxing, uniting, sheltering."""
    pars, fs = spec.parameters, list(spec.factions.values())
    gov = fi[spec.government]
    alignment = _fvec(fs, "alignment")
    # the government and its breakaway recruit from their supporters at the government's
    # rate; everyone else mobilises the aggrieved
    state_like = {gov} | ({fi[fs[gov].splits_into]} if fs[gov].splits_into else set())
    recruit_rate = np.array([
        pars.government_recruitment if j in state_like else pars.mobilisation_rate for j in range(len(fs))
    ]) * np.array([f.recruitment if f.territorial else 0.0 for f in fs])
    return dict(
        territorial=territorial,
        noise_column=np.where(territorial > 0, np.cumsum(territorial) - 1, -1).astype(np.int64),
        guerrilla=np.array([1.0 if f.mode == "guerrilla" else 0.0 for f in fs]),
        effectiveness=_fvec(fs, "effectiveness"), stealth=_fvec(fs, "stealth"), alignment=alignment,
        governance_weight=_fvec(fs, "governance") * (alignment > 0), tax_rate=_fvec(fs, "tax_rate"),
        income=_fvec(fs, "income"), upkeep=_fvec(fs, "upkeep"),
        air_decay=_fvec(fs, "air_support_decay"), recruit_rate=recruit_rate,
        pro_pool=(alignment <= 0).astype(float),
        security_appeal=_fvec(fs, "former_security_appeal"), defection=_fvec(fs, "defection"),
        front_willing=np.array([f.front for f in fs]), rivalry=_fvec(fs, "rivalry"),
        sheltered=np.array([1.0 if (not f.territorial and f.patrons) else 0.0 for f in fs]),
        growth=_fvec(fs, "growth"), capacity=_fvec(fs, "capacity"), attack_rate=_fvec(fs, "attack_rate"),
        capital=np.array([m.index[f.capital] if f.capital else -1 for f in fs]),
        **_bases(spec, m),
    )


def _bases(spec: ScenarioSpec, m: Map) -> dict:
    """Home provinces, and the loss-of-strength gradient from each faction's base."""
    fs = list(spec.factions.values())
    home = np.zeros((m.n, len(fs)))
    for j, f in enumerate(fs):
        for p in f.home:
            home[m.index[p], j] = 1.0
    # distance to the nearest base province (the capital and the home provinces: an army's
    # regional corps project power too); an actor with no base projects evenly
    extraction = np.ones((m.n, len(fs)))
    for j, f in enumerate(fs):
        bases = [m.index[p] for p in f.home] + ([m.index[f.capital]] if f.capital else [])
        if bases:
            d = m.distance_km[:, bases].min(axis=1)
            extraction[:, j] = 1.0 / (1.0 + d / spec.parameters.extraction_distance)
    return dict(home=home, home_weight=home / np.maximum(home.sum(axis=0), 1.0), extraction=extraction)


def _relations(spec: ScenarioSpec, fi: dict[str, int], classes: list, territorial: np.ndarray) -> dict:
    """Who fights whom, who shelters whom, whom donors may back, whom jihadists target."""
    fs, di = list(spec.factions.values()), {k: i for i, k in enumerate(spec.donors)}
    F = len(fs)
    hostility = np.outer(territorial, territorial)
    for a in range(F):
        for b in range(F):
            if a == b or (classes[a] is classes[b] and not classes[a].fights_own_kind):
                hostility[a, b] = 0.0
    for a, f in enumerate(fs):
        for ally in f.allies:
            hostility[a, fi[ally]] = hostility[fi[ally], a] = 0.0
    patrons = np.zeros((F, F))
    targets = np.zeros((F, len(di)))
    for j, f in enumerate(fs):
        for p in f.patrons:
            patrons[j, fi[p]] = 1.0
        for d, w in f.targets.items():
            targets[j, di[d]] = w
    eligible = territorial * np.array([1.0 if cls.donor_backed else 0.0 for cls in classes])
    gov = fi[spec.government]
    child = fs[gov].splits_into
    hosts = [gov] + ([fi[child]] if child else [])
    sheltered = (patrons[:, hosts].sum(axis=1) > 0).astype(float)
    enemy = hostility[:, gov] * (1.0 - sheltered)
    return dict(hostility=hostility, patrons=patrons, targets=targets, donor_eligible=eligible,
                gov_sheltered=sheltered, gov_enemy=enemy)


def _donor_arrays(spec: ScenarioSpec, m: Map, fi: dict[str, int]) -> dict:
    """Per-donor interests, budgets and instruments."""
    ds, di = list(spec.donors.values()), {k: i for i, k in enumerate(spec.donors)}
    D = len(ds)
    affinity, rivals, backlash = np.zeros((D, len(fi))), np.zeros((D, D)), np.zeros((D, D))
    donor_border = np.zeros((D, m.n))
    for i, d in enumerate(ds):
        for f, v in d.affinity.items():
            affinity[i, fi[f]] = v
        for r in d.rivals:
            rivals[i, di[r]] = 1.0
        for p, v in d.backlash.items():
            backlash[i, di[p]] = v
        if d.country:
            donor_border[i] = m.border_mask(d.country)
    v = {name: _fvec(ds, name) for name in (
        "economic_interest", "ct_interest", "threat_sensitivity", "arms_willingness", "success_weight",
        "rival_weight", "budget", "arms_share", "sanctuary_willingness", "trade", "sanctions", "border_closure",
        "strike_capacity", "engagement_threshold", "ambassador_threshold", "recognition_threshold", "weight",
        "enemy_threat_pull")}
    return dict(
        affinity=affinity, econ=v["economic_interest"], ct=v["ct_interest"],
        threat_sensitivity=v["threat_sensitivity"], arms_willingness=v["arms_willingness"],
        success_weight=v["success_weight"], rivals=rivals, rival_weight=v["rival_weight"], backlash=backlash,
        budget=v["budget"], arms_share=v["arms_share"],
        sanctuary_willingness=v["sanctuary_willingness"] * (donor_border.sum(axis=1) > 0), trade=v["trade"],
        sanctions=v["sanctions"], closure=v["border_closure"], strike_capacity=v["strike_capacity"],
        engagement_threshold=v["engagement_threshold"], ambassador_threshold=v["ambassador_threshold"],
        recognition_threshold=v["recognition_threshold"], enemy_pull=v["enemy_threat_pull"], weight=v["weight"],
        donor_border=donor_border,
        pressure_weight=np.maximum(np.maximum(v["sanctions"], v["border_closure"]), v["strike_capacity"]),
    )


def _control0(spec: ScenarioSpec, m: Map) -> np.ndarray:
    """Initial control shares: as declared, the remainder of each province to the holder of the rest."""
    fs = list(spec.factions.values())
    control0 = np.zeros((m.n, len(fs)))
    rem = next(j for j, f in enumerate(fs) if f.holds_remainder)
    for j, f in enumerate(fs):
        for p, v in f.control.items():
            control0[m.index[p], j] = v
    control0[:, rem] = 0.0
    control0[:, rem] = 1.0 - control0.sum(axis=1)
    return control0
