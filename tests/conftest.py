"""Shared fixtures: the baseline scenario, small synthetic maps, and model helpers."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from sim.model import ConflictModel
from sim.scenario import ScenarioSpec, load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="session")
def baseline():
    """The baseline scenario and the Afghan map."""
    return load_scenario(BASELINE)


def variant(spec: ScenarioSpec, **changes) -> ScenarioSpec:
    """A copy of a scenario with dotted-path changes, validated again."""
    data = spec.model_dump()
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return ScenarioSpec.model_validate(data)


def run(spec, m, seed, months=24):
    """One recorded run."""
    return ConflictModel(spec, m, seed, months=months).run()


SYNTHETIC_PROVINCES = """\
province,capital,population,area_km2,lat,lon,region,ruggedness,anti_taliban_prior
Alpha,A-town,500000,10000,34.0,68.0,capital,0.2,0.3
Bravo,B-town,300000,8000,35.0,69.0,north,0.9,0.8
Charlie,C-town,400000,12000,34.0,70.0,east,0.5,0.5
Delta,D-town,200000,9000,33.0,69.0,south,0.1,0.2
"""
SYNTHETIC_ADJACENCY = "a,b\nAlpha,Bravo\nAlpha,Charlie\nAlpha,Delta\nBravo,Charlie\nCharlie,Delta\n"
SYNTHETIC_BORDERS = "province,country\nBravo,Northland\nDelta,Southland\n"

SYNTHETIC_SCENARIO = """\
name: synthetic
title: four provinces, a government, two rebel groups and two donors
start: 2020-01-01
months: 24
map: map
replications: 2
factions:
  gov:
    label: Government
    kind: government
    mode: conventional
    strength: 10000
    funds: 50
    materiel: 20
    holds_remainder: true
    capital: Alpha
    home: [Alpha]
    alignment: -1
    tax_rate: 0.05
    cohesion: 0.8
  rebels:
    label: Rebels
    kind: resistance
    strength: 1500
    funds: 2
    materiel: 3
    control: {Bravo: 0.2}
    home: [Bravo]
    alignment: 1
    governance: 0.5
    tax_rate: 0.02
    front: true
    rivalry: 0.2
  partisans:
    label: Partisans
    kind: resistance
    strength: 1500
    funds: 2
    materiel: 3
    control: {Charlie: 0.2}
    home: [Charlie]
    alignment: 1
    governance: 0.5
    tax_rate: 0.02
    front: true
    rivalry: 0.2
  cell:
    label: Cell
    kind: jihadist
    territorial: false
    strength: 300
    home: [Delta]
    patrons: [gov]
    growth: 0.03
    capacity: 1000
    attack_rate: 0.5
    targets: {north: 1.0}
donors:
  north:
    label: Northland
    country: Northland
    budget: 2
    arms_willingness: 0.5
    sanctuary_willingness: 0.5
    affinity: {gov: -0.3, rebels: 0.5}
    threat_sensitivity: 0.5
    success_weight: 0.5
    sanctions: 0.2
    strike_capacity: 0.5
  south:
    label: Southland
    country: Southland
    budget: 1
    affinity: {gov: 0.5}
    economic_interest: 0.5
    trade: 3
"""


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A four-province map and a scenario on it; returns the scenario file."""
    mdir = tmp_path / "map"
    mdir.mkdir()
    (mdir / "provinces.csv").write_text(SYNTHETIC_PROVINCES)
    (mdir / "adjacency.csv").write_text(SYNTHETIC_ADJACENCY)
    (mdir / "borders.csv").write_text(SYNTHETIC_BORDERS)
    f = tmp_path / "synthetic.yaml"
    f.write_text(textwrap.dedent(SYNTHETIC_SCENARIO))
    return f


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (SIM_REQUIRE_ALL_TESTS=1) a skipped test is a failure: nothing may silently not run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("SIM_REQUIRE_ALL_TESTS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but CI requires every test to run: {report.longrepr}"
