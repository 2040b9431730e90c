"""The documentation matches the code: ODD elements in order, every parameter documented."""

from __future__ import annotations

import re

from sim.parameters import Parameters
from tests.conftest import ROOT

ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
ELEMENTS = [
    "Purpose and patterns",
    "Entities, state variables, and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialization",
    "Input data",
    "Submodels",
]


def test_odd_has_the_seven_elements_in_order():
    headings = re.findall(r"^## (\d)\. (.+)$", ODD, flags=re.M)
    assert [h[1].strip() for h in headings] == ELEMENTS
    assert [int(h[0]) for h in headings] == list(range(1, 8))


def test_parameter_table_is_generated_from_the_code():
    block = ODD.split("<!-- parameters:begin -->")[1].split("<!-- parameters:end -->")[0].strip()
    assert block == Parameters.markdown(), "run `uv run run.py params --update-odd` after changing parameters"


def test_every_parameter_has_a_source_or_rationale():
    rationale = ODD.split("<!-- parameters:end -->")[1]
    missing = [n for n in Parameters.model_fields if f"`{n}`" not in rationale]
    assert not missing, f"parameters without a source or rationale row in docs/ODD.md: {missing}"


def test_every_schema_field_is_documented():
    from sim.scenario import DonorSpec, FactionSpec

    missing = [n for model in (FactionSpec, DonorSpec) for n in model.model_fields if f"`{n}`" not in ODD]
    assert not missing, f"scenario fields missing from docs/ODD.md: {missing}"


def test_map_sources_cited():
    sources = (ROOT / "sim" / "data" / "afghanistan" / "SOURCES.md").read_text(encoding="utf-8")
    for f in ("provinces.csv", "adjacency.csv", "borders.csv"):
        assert f in sources


def test_readme_worked_example_validates(tmp_path):
    from sim.scenario import load_scenario
    from tests.conftest import BASELINE

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("# scenarios/pakistan_turns.yaml")
    block = readme[start:readme.index("```", start)]
    f = tmp_path / "pakistan_turns.yaml"
    f.write_text(block.replace("extends: baseline.yaml", f"extends: {BASELINE}"), encoding="utf-8")
    spec, _ = load_scenario(f)
    assert spec.name == "pakistan_turns" and spec.events[0].name == "border_closed"
