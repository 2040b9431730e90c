"""Random damage to a valid scenario: loading either succeeds or fails with one clean line, never a crash."""

from __future__ import annotations

import math

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import ConflictModel
from sim.scenario import ScenarioError, load_raw, load_scenario
from tests.conftest import BASELINE

RAW, _ = load_raw(BASELINE)


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*prefix, k))
    elif isinstance(node, list) and node and not isinstance(node[0], (dict, list)):
        yield prefix
    else:
        yield prefix


PATHS = [p for p in _leaves(RAW) if p]
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                                    st.integers(), max_size=2),
    st.sampled_from(["Panjsher", "2022-02-30", "-1", "1e400", "nan", "", "taliban", "NaN", "[]"]),
)


def _replace(data, path, value):
    out = yaml.safe_load(yaml.safe_dump(data))
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=JUNK, also_delete=st.booleans())
def test_damaged_scenarios_fail_cleanly_or_run(tmp_path_factory, path, value, also_delete):
    data = _replace(RAW, path, value)
    if also_delete and len(path) > 1:
        node = data
        for k in path[:-2]:
            node = node[k]
        node.pop(path[-2], None)
    f = tmp_path_factory.mktemp("fuzz") / "damaged.yaml"
    f.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        spec, m = load_scenario(f)
    except ScenarioError as exc:
        msg = str(exc)
        assert "\n" not in msg and str(f) in msg, msg
        return
    r = ConflictModel(spec, m, 1, months=3).run()
    for arr in (r.control, r.strength, r.funds, r.sentiment, r.threat, r.money):
        assert np.isfinite(arr).all(), "a scenario that loads must run to finite numbers"
    assert np.allclose(r.control.sum(axis=2), 1.0)
    assert not math.isnan(r.cohesion[-1])
