"""Names that must point somewhere: provinces on the map, factions and states of the scenario.

Run once the map is known, after validation, and again after each event that changes
the rules. The first bad name raises a :class:`ScenarioError` naming the file and the
dotted field, with a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.geography import Map
from sim.scenario.errors import ScenarioError, need, suggest
from sim.scenario.schema import DonorSpec, FactionSpec, ScenarioSpec

SHARE_SLACK = 1e-9  # rounding slack when control shares are added up


@dataclass(frozen=True)
class _Names:
    """The names a reference may point to, and the file the references are in."""

    path: str
    provinces: list[str]
    factions: list[str]
    states: list[str]


def _check_faction_names(key: str, f: FactionSpec, names: _Names) -> None:
    """Provinces, states and factions that one faction names."""
    at = f"{names.path}: factions.{key}"
    for p in f.control:
        need(p, names.provinces, f"{at}.control.{p}", "province")
    for p in f.home:
        need(p, names.provinces, f"{at}.home", "province")
    if f.capital is not None:
        need(f.capital, names.provinces, f"{at}.capital", "province")
    for p in f.garrisons:
        need(p, names.provinces, f"{at}.garrisons", "province")
    for s in f.targets:
        need(s, names.states, f"{at}.targets.{s}", "state")
    for p in f.patrons:
        need(p, names.factions, f"{at}.patrons", "faction")
    for p in f.allies:
        need(p, names.factions, f"{at}.allies", "faction")
    if f.splits_into is not None:
        need(f.splits_into, names.factions, f"{at}.splits_into", "faction")


def _check_faction_rules(key: str, spec: ScenarioSpec, path: str) -> None:
    """A breakaway must be dormant, a sheltered group holds no ground, a dormant one starts empty."""
    f = spec.factions[key]
    at = f"{path}: factions.{key}"
    if f.splits_into is not None and not spec.factions[f.splits_into].dormant:
        raise ScenarioError(f"{at}.splits_into: {f.splits_into!r} must be dormant")
    if not f.territorial and f.control:
        raise ScenarioError(f"{at}.control: a non-territorial faction holds no ground")
    if f.dormant and (f.control or f.strength):
        raise ScenarioError(f"{at}: a dormant faction starts with no control and no strength")


def _check_donor(key: str, d: DonorSpec, names: _Names, m: Map) -> None:
    """Factions and states one donor names, and its country on the map."""
    at = f"{names.path}: donors.{key}"
    for f in d.affinity:
        need(f, names.factions, f"{at}.affinity.{f}", "faction")
    for p in d.backlash:
        need(p, names.states, f"{at}.backlash.{p}", "state")
    for r in d.rivals:
        need(r, names.states, f"{at}.rivals", "state")
    if d.country is not None and d.country not in m.countries:
        raise ScenarioError(
            f"{at}.country: {d.country!r} borders no province of the map{suggest(d.country, list(m.countries))}"
        )


def _check_shares(spec: ScenarioSpec, path: str) -> None:
    """Initial control: the non-remainder shares in a province may not exceed 1."""
    totals: dict[str, float] = {}
    for f in spec.factions.values():
        if not f.holds_remainder:
            for p, v in f.control.items():
                totals[p] = totals.get(p, 0.0) + v
    for p, v in totals.items():
        if v > 1.0 + SHARE_SLACK:
            raise ScenarioError(f"{path}: factions.*.control.{p}: shares add up to {v:.3f}, more than 1")


def check_references(spec: ScenarioSpec, m: Map, path: str) -> None:
    """Check every name in the scenario points to a province, faction or state that exists.

    Args:
        spec: the validated scenario.
        m: the map it runs on.
        path: the start of every message (the file, and the event when one changed the rules).

    Raises:
        ScenarioError: naming the file and the dotted field of the first bad name.
    """
    names = _Names(path, list(m.names), list(spec.factions), list(spec.donors))
    for key, f in spec.factions.items():
        _check_faction_names(key, f, names)
        _check_faction_rules(key, spec, path)
    for key, d in spec.donors.items():
        _check_donor(key, d, names, m)
    _check_shares(spec, path)
    _check_garrisons(spec, path)


def _check_garrisons(spec: ScenarioSpec, path: str) -> None:
    """A capital has one holder at the start, and only a faction that holds ground can hold one."""
    seen: dict[str, str] = {}
    for key, f in spec.factions.items():
        if f.garrisons and not f.territorial:
            raise ScenarioError(f"{path}: factions.{key}.garrisons: a faction that holds no ground holds no capital")
        for p in f.garrisons:
            if p in seen:
                raise ScenarioError(f"{path}: factions.{key}.garrisons: {p}'s capital is already held by {seen[p]}")
            seen[p] = key
