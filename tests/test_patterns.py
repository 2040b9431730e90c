"""Patterns and the scorecard: each measure on hand-made results, the pass rule, bad files, a light run."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.patterns import MEASURES, PatternSpec, load_patterns
from sim.patterns.measures import KERNELS, NotMeasured, Results, measure
from sim.patterns.scorecard import passes, quantiles, show
from tests.conftest import ROOT

FACTIONS = ["gov", "reb1", "reb2"]
PROVINCES = {"A": 1.0, "B": 2.0, "C": 1.0}  # areas
DONORS = ["d1", "d2"]
DATES = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"])
R, T, P, A = 2, len(DATES), len(PROVINCES), len(FACTIONS)


def _control() -> np.ndarray:
    """(R, T, P, A): replication 0, reb1 takes B at step 2 and A at step 3; replication 1 nothing passes.

    reb1 and reb2 share C at 0.3 + 0.3 from step 1 (together a majority, neither alone).
    """
    c = np.zeros((R, T, P, A))
    c[..., 0] = 1.0
    c[0, 2:, 1] = [0.0, 0.6, 0.0]  # B: reb1 0.6 from step 2
    c[0, 3, 0] = [0.2, 0.8, 0.0]  # A: reb1 0.8 at step 3
    c[:, 1:, 2] = [0.4, 0.3, 0.3]  # C: shared by reb1 and reb2
    c[0, 2:, 1, 0] = 0.4
    return c


def _long(cube: np.ndarray, axes: dict[str, list], value: str) -> pd.DataFrame:
    """A cube as a long table, the store's way: one row per cell."""
    idx = np.indices(cube.shape).reshape(len(axes), -1)
    df = pd.DataFrame({k: np.asarray(v)[i] for (k, v), i in zip(axes.items(), idx, strict=True)})
    df[value] = cube.ravel()
    return df


def _frames(donor_stage: bool = False, capitals: np.ndarray | None = None) -> dict[str, pd.DataFrame]:
    control = _control()
    axes = {"replication": list(range(R)), "step": list(range(T))}
    prov = _long(control, {**axes, "province": list(PROVINCES), "actor": FACTIONS}, "control")
    area = np.array(list(PROVINCES.values()))
    share = (control * area[None, None, :, None]).sum(axis=2) / area.sum()
    traj = _long(share, {**axes, "actor": FACTIONS}, "territory_share")
    traj["population_share"] = traj["territory_share"] / 2
    traj["actor"] = pd.Categorical(traj["actor"], categories=FACTIONS)
    traj["date"] = DATES[traj["step"].astype(int)]
    stance = np.zeros((R, T, len(DONORS)))
    stance[:, :, 0] = [0.5, 0.2, -0.1, -0.3]  # d1 turns hostile at step 2
    stance[:, :, 1] = 0.9
    recog = np.zeros_like(stance)
    recog[0, 2:, 1] = 1  # replication 0: d2 recognises at step 2, d1 at step 3
    recog[0, 3:, 0] = 1
    recog[1, 1:, :] = 1  # replication 1: both at step 1, a tie
    don = _long(stance, {**axes, "donor": DONORS}, "stance")
    don["threat"] = 0.1
    don["recognises"] = recog.ravel().astype(bool)
    if donor_stage:
        don["recognition_stage"] = np.where(recog.ravel() > 0, 3, 2)  # an ambassador from the start
    frames = {"trajectories": traj, "provinces": prov, "donors": don}
    if capitals is not None:
        cap = _long(capitals.astype(float), {**axes, "province": list(PROVINCES)}, "holder")
        cap["holder"] = [FACTIONS[int(h)] if h >= 0 else None for h in cap["holder"]]
        frames["capitals"] = cap
    return frames


@pytest.fixture
def res() -> Results:
    return Results.from_frames(_frames(), PROVINCES, held_threshold=0.5)


def _m(**fields):
    """A measure, validated as a pattern file's would be."""
    spec = PatternSpec.model_validate({"id": "x", "title": "t", "measure": fields, "expected": 0, "tolerance": 0,
                                       "sources": ["s"]})
    return spec.measure


def _day(text: str) -> float:
    return float((np.datetime64(text, "D") - np.datetime64("1970-01-01", "D")).astype(int))


def test_every_measure_of_the_vocabulary_is_computed():
    assert set(KERNELS) == set(MEASURES), "a measure kind without its computation, or the other way"


def test_share_at_sums_the_actors_shares_at_the_last_step_on_or_before_the_date(res):
    got = measure(res, _m(kind="share_at", actors=["reb1", "reb2"], date="2020-03-15")).values
    # step 2 (1 March): replication 0 holds 0.6 of B (area 2) and 0.6 of C (area 1) -> (1.2 + 0.6) / 4
    assert got == pytest.approx([1.8 / 4, 0.6 / 4])
    pop = measure(res, _m(kind="share_at", actors=["reb1", "reb2"], date="2020-03-15", weight="population")).values
    assert pop == pytest.approx(got / 2), "weight: population reads population_share"


def test_share_within_is_the_fraction_of_the_actors_territory_in_the_provinces(res):
    got = measure(res, _m(kind="share_within", actors=["reb1"], provinces=["B"], date="2020-03-01")).values
    # replication 0: reb1 has 0.6 x 2 in B and 0.3 x 1 in C -> 1.2 / 1.5; replication 1 only C -> 0
    assert got == pytest.approx([0.8, 0.0])
    nothing = measure(res, _m(kind="share_within", actors=["reb2"], provinces=["B"], date="2020-01-01")).values
    assert list(nothing) == [0.0, 0.0], "holding nothing anywhere: none of it inside"


def test_held_count_sums_a_set_of_actors_against_the_threshold(res):
    one = measure(res, _m(kind="held_count_at", actors=["reb1"], date="2020-04-01")).values
    both = measure(res, _m(kind="held_count_at", actors=["reb1", "reb2"], date="2020-04-01")).values
    assert list(one) == [2, 0], "reb1 alone holds A and B in replication 0, nothing in replication 1"
    assert list(both) == [3, 1], "reb1 + reb2 also hold C (0.3 + 0.3 >= 0.5)"
    strict = Results.from_frames(_frames(), PROVINCES, held_threshold=0.6)
    at = measure(strict, _m(kind="held_count_at", actors=["reb1"], date="2020-04-01")).values
    assert list(at) == [2, 0], "a share equal to the threshold holds (B at 0.6), as in the model's provinces_held"


def test_present_count_counts_provinces_with_some_control(res):
    got = measure(res, _m(kind="present_count", actors=["reb2"], date="2020-02-01", min_control=0.25)).values
    assert list(got) == [1, 1]
    none = measure(res, _m(kind="present_count", actors=["reb2"], date="2020-02-01", min_control=0.5)).values
    assert list(none) == [0, 0]


def test_ever_held_looks_up_to_by(res):
    assert list(measure(res, _m(kind="ever_held", actors=["reb1"], province="A")).values) == [1, 0]
    early = _m(kind="ever_held", actors=["reb1"], province="A", by="2020-03-01")
    assert list(measure(res, early).values) == [0, 0], "A passes only at step 3, after by"


def test_captured_count_counts_only_provinces_not_held_at_the_start(res):
    got = measure(res, _m(kind="captured_count", actors=["reb1", "reb2"])).values
    assert list(got) == [3, 1]
    from_gov = measure(res, _m(**{"kind": "captured_count", "actors": ["reb1"], "from": ["gov"]})).values
    assert list(from_gov) == [2, 0]
    held_at_start = measure(res, _m(kind="captured_count", actors=["gov"])).values
    assert list(held_at_start) == [0, 0], "the government held everything at the start: nothing passes to it"


def test_capture_date_gives_the_first_step_held_or_never(res):
    got = measure(res, _m(kind="capture_date", actors=["reb1"], province="A")).values
    assert got[0] == _day("2020-04-01") and math.isinf(got[1])
    first = measure(res, _m(kind="capture_date", actors=["reb1"])).values
    assert first[0] == _day("2020-03-01"), "the first of any province: B at step 2"


def test_cascade_days_run_from_the_first_capture_to_the_count(res):
    got = measure(res, _m(kind="cascade_days", actors=["reb1"], count=2)).values
    assert got[0] == 31 and math.isinf(got[1]), "B on 1 March, A on 1 April: 31 days; never in replication 1"


def test_donor_measures_read_the_donors_table(res):
    assert list(measure(res, _m(kind="donor_value_at", donor="d1", date="2020-02-10")).values) == [0.2, 0.2]
    hostile = measure(res, _m(kind="donor_date", donor="d1", at_most=0)).values
    assert list(hostile) == [_day("2020-03-01")] * 2
    never = measure(res, _m(kind="donor_date", donor="d2", at_least=1.0)).values
    assert np.isinf(never).all()


def test_recognition_and_first_to_recognise(res):
    got = measure(res, _m(kind="recognition_date", donor="d1", stage="formal")).values
    assert list(got) == [_day("2020-04-01"), _day("2020-02-01")]
    assert list(measure(res, _m(kind="first_to_recognise", donor="d2")).values) == [1, 0], "a tie is not first"
    assert list(measure(res, _m(kind="first_to_recognise", donor="d1")).values) == [0, 0]


def test_an_ambassador_needs_the_staged_recognition_column(res):
    with pytest.raises(NotMeasured, match="recognition_stage"):
        measure(res, _m(kind="recognition_date", donor="d1", stage="ambassador"))
    staged = Results.from_frames(_frames(donor_stage=True), PROVINCES, held_threshold=0.5)
    got = measure(staged, _m(kind="recognition_date", donor="d1", stage="ambassador"))
    assert list(got.values) == [_day("2020-01-01")] * 2 and "recognition_stage" in got.reads


def test_capital_stake_reads_the_capitals_table_when_the_results_have_one(res):
    cm = _m(kind="held_count_at", actors=["reb1"], date="2020-04-01", stake="capital")
    assert "no capitals table" in measure(res, cm).reads, "the stand-in is said"
    capitals = np.zeros((R, T, P), dtype=int)  # the government holds every capital ...
    capitals[1, 3, 2] = 1  # ... except C, which reb1 takes in replication 1 at step 3
    with_caps = Results.from_frames(_frames(capitals=capitals), PROVINCES, held_threshold=0.5)
    got = measure(with_caps, cm)
    assert list(got.values) == [0, 1] and got.reads == "capitals.holder"
    pm = _m(kind="held_count_at", actors=["reb1"], date="2020-04-01", stake="province")
    assert list(measure(with_caps, pm).values) == [2, 0], "stake: province still reads the countryside"


def test_the_pass_rule_is_the_median_within_the_widened_range():
    med, lo, hi = quantiles(np.array([1.0, 2.0, 3.0, 4.0, math.inf]))
    assert med == 3 and lo == pytest.approx(1.2) and math.isinf(hi), "never sorts after every value"
    assert math.isinf(quantiles(np.array([1.0, math.inf]))[0]), "half never: the median is never"
    assert passes(10.0, 5.0, 8.0, 2.0) and not passes(10.5, 5.0, 8.0, 2.0)
    assert passes(math.inf, math.inf, math.inf, 0) and not passes(math.inf, 5.0, 5.0, 100.0)
    yes = np.array([1.0, 1.0, 0.0, 0.0])
    assert not passes(quantiles(yes)[0], 1, 1, 0) and not passes(quantiles(yes)[0], 0, 0, 0), "a tie fails both"
    assert show(_day("2021-08-06"), "date") == "2021-08-06" and show(math.inf, "date") == "never"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


GOOD = """\
period: test
scenario: {scenario}
patterns:
  - id: t1
    title: a test pattern
    measure: {measure}
    expected: {expected}
    tolerance: 0
    sources: {sources}
"""


@pytest.mark.parametrize(("measure", "expected", "sources", "field"), [
    ("{kind: nope, actors: [nrf]}", "1", "[s]", "patterns[0].measure.kind: unknown measure 'nope'"),
    ("{kind: share_at, actors: [nrf], date: 2023-01-01}", "1", "[]", "patterns[0].sources:"),
    ("{kind: share_at, actors: [nrf], date: 2023-01-01, weight: 3}", "1", "[s]", "patterns[0].measure.weight:"),
    ("{kind: share_at, actors: nrf, date: 2023-01-01}", "1", "[s]", "patterns[0].measure.actors:"),
    ("{kind: ever_held, actors: [nrf], province: Panjshir}", "1", "[s]", "patterns[0].expected: expected true or"),
    ("{kind: share_at, actors: [nrf], date: 2023-01-01}", "'a lot'", "[s]", "patterns[0].expected: expected a number"),
    ("{kind: capture_date, actors: [nrf], province: Panjshri}", "never", "[s]",
     "patterns[0].measure.province: unknown province 'Panjshri' in the scenario; did you mean 'Panjshir'?"),
    ("{kind: share_at, actors: [nfr], date: 2023-01-01}", "1", "[s]", "patterns[0].measure.actors[0]: unknown faction"),
    ("{kind: share_at, actors: [nrf], date: 2040-01-01}", "1", "[s]", "patterns[0].measure.date: 2040-01-01 is out"),
])
def test_bad_pattern_files_are_one_line_exit_2(tmp_path, measure, expected, sources, field):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.format(scenario=ROOT / "scenarios" / "baseline.yaml", measure=measure, expected=expected,
                             sources=sources), encoding="utf-8")
    p = cli("patterns", str(f), "-n", "1", "--seed", "1", "--out", str(tmp_path / "out"))
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {f}: {field}"), p.stderr
    assert not (tmp_path / "out").exists(), "nothing is run or written for a bad file"


def test_a_missing_source_field_and_a_missing_scenario_are_named(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.format(scenario="nowhere.yaml", measure="{kind: share_at, actors: [nrf], date: 2023-01-01}",
                             expected="1", sources="[s]").replace("    sources: [s]\n", ""), encoding="utf-8")
    p = cli("patterns", str(f), "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and p.stderr.strip() == f"error: {f}: patterns[0].sources: required field is missing"
    f.write_text(GOOD.format(scenario="nowhere.yaml", measure="{kind: share_at, actors: [nrf], date: 2023-01-01}",
                             expected="1", sources="[s]"), encoding="utf-8")
    p = cli("patterns", str(f), "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "patterns[0].scenario: scenario file 'nowhere.yaml' not found" in p.stderr


def test_the_library_patterns_load_with_unique_ids():
    patterns = load_patterns(sorted((ROOT / "patterns").glob("*.yaml")))
    assert len({p.spec.id for p in patterns}) == len(patterns) >= 20
    assert all(p.spec.sources for p in patterns)


def test_a_light_scorecard_run(tmp_path):
    out = tmp_path / "card"
    p = cli("patterns", "-n", "3", "--seed", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    ids = [q.spec.id for q in load_patterns(sorted((ROOT / "patterns").glob("*.yaml")))]
    with (out / "scorecard.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ids, "one row per pattern, in file order"
    assert {r["passed"] for r in rows} <= {"True", "False"}
    assert all(r["replications"] == "3" or r["simulated"] == "not measured" for r in rows)
    md = (out / "scorecard.md").read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(table) == len(ids) and all(f"`{i}`" in md for i in ids)
    assert all(line.rstrip().endswith(("| pass |", "| **FAIL** |")) for line in table)
    assert all(i in p.stdout for i in ids), "the printed table lists every pattern"
    for scenario in ("baseline", "hindcast_2021_collapse", "hindcast_1996_2001"):
        assert (out / scenario / "manifest.json").is_file(), f"{scenario} ran into its own results folder"
    again = cli("patterns", "-n", "3", "--seed", "1", "--out", str(out))
    assert again.returncode == 2 and "already holds files" in again.stderr, "an --out with results is refused"


def test_the_readme_example_pattern_loads_and_names_what_its_scenario_has(tmp_path):
    from sim.patterns import check_names
    from sim.scenario import load_scenario

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index('period: "2021: the republic')
    f = tmp_path / "example.yaml"
    f.write_text(readme[start:readme.index("```", start)].replace(
        "../scenarios/", f"{ROOT / 'scenarios'}/"), encoding="utf-8")
    (p,) = load_patterns([f])
    check_names(p, *load_scenario(p.scenario))
    assert p.spec.measure.kind == "capture_date" and p.low == p.high
