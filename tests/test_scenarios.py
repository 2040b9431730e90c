"""Every scenario file in scenarios/ validates and runs two replications."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.batch import run_replications
from sim.scenario import load_scenario
from tests.conftest import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_library_is_not_empty():
    assert any(p.name == "baseline.yaml" for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs(path: Path):
    spec, m = load_scenario(path)
    results = run_replications(spec, m, base_seed=1, replications=2, months=min(spec.months, 12))
    assert len(results) == 2
    for r in results:
        assert np.allclose(r.control.sum(axis=2), 1.0)
