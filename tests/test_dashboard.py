"""The dashboard without a browser: summaries and their cache, folder refusal, panels, the rendered page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.dashboard.folders import Outside, Roots, map_of
from sim.dashboard.summary import CACHE, summarise
from sim.dashboard.svgmap import map_svg, outline
from sim.dashboard.views import Pick, bloc_names, differences, event_log, fan_figure, lever_figure, map_values
from sim.statistics import bootstrap_ci
from tests.conftest import ROOT

RUN = [sys.executable, str(ROOT / "run.py")]


def _batch(out: Path, *args: str) -> Path:
    cmd = [*RUN, "run", "scenarios/baseline.yaml", "scenarios/united_front.yaml", "-n", "6", "--months", "24",
           "--seed", "5", "--figures", "none", "--workers", "1", "--out", str(out), *args]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A real batch of two scenarios, six replications each, 24 months."""
    return _batch(tmp_path_factory.mktemp("dash") / "two")


@pytest.fixture(scope="module")
def summary(results):
    man = json.loads((results / "manifest.json").read_text())
    return summarise(results, list(map_of(man).names))


def test_summary_matches_the_tables(results, summary):
    prov = pd.read_parquet(results / "provinces.parquet")
    prov = prov[(prov["scenario"] == "united_front") & (prov["step"] == 12)]
    want = prov.groupby(["province", "actor"], observed=True)["control"].sum() / 6
    s = summary
    got = s.control["united_front"][12]
    for (p, a), v in want.items():
        assert got[s.provinces.index(str(p)), s.keys.index(str(a))] == pytest.approx(v, rel=1e-5, abs=1e-7)
    caps = pd.read_parquet(results / "capitals.parquet")
    caps = caps[(caps["scenario"] == "baseline") & (caps["step"] == 24)]
    odds = caps.groupby(["province", "holder"], observed=True).size() / 6
    for (p, h), v in odds.items():
        assert s.capitals["baseline"][24][s.provinces.index(str(p)), s.keys.index(str(h))] == pytest.approx(v)
    assert [g.label for g in s.groups] == ["baseline", "united_front"]
    assert s.group("baseline").steps == 25 and s.group("baseline").replications == 6


def test_cache_is_read_back_and_rebuilt_when_the_folder_changes(results, summary):
    names = summary.provinces
    again = summarise(results, names)
    assert again.cached
    np.testing.assert_array_equal(again.control["baseline"], summary.control["baseline"])
    pd.testing.assert_frame_equal(again.outcomes, summary.outcomes)
    assert (results / CACHE / "key.json").is_file()
    part = sorted((results / "trajectories.parquet").iterdir())[0]
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 1_000_000))
    assert not summarise(results, names).cached  # the fingerprint moved: summarised again
    assert summarise(results, names).cached


def test_an_open_folder_is_reread_when_its_parts_change(results, tmp_path):
    import shutil

    from sim.dashboard.app import open_summary

    folder = shutil.copytree(results, tmp_path / "copy")
    first = open_summary(folder)
    assert open_summary(folder) is first and open_summary(folder, check=True) is first  # nothing changed
    part = next(f for f in sorted((folder / "provinces.parquet").iterdir()) if "baseline" in f.name)
    part.rename(part.with_name(".hidden"))  # a part gone (as a rename into the folder would add one)
    changed = open_summary(folder)
    assert changed is not first and not changed.cached
    assert changed.control["baseline"].sum() < first.control["baseline"].sum()
    hand = sorted((folder / "trajectories.parquet").iterdir())[0]  # a part touched in place: only a check sees it
    os.utime(hand, ns=(hand.stat().st_atime_ns, hand.stat().st_mtime_ns + 1_000_000))
    assert open_summary(folder) is changed
    assert open_summary(folder, check=True) is not changed


def test_overwrite_removes_the_cache(tmp_path):
    out = _batch(tmp_path / "b")
    summarise(out, list(map_of(json.loads((out / "manifest.json").read_text())).names))
    assert (out / CACHE).is_dir()
    _batch(out, "--overwrite")
    assert not (out / CACHE).exists()


def test_roots_refuse_paths_outside(results, tmp_path):
    roots = Roots([results.parent])
    assert roots.results() == [results.resolve()]
    assert roots.check(results) == results.resolve()
    with pytest.raises(Outside, match="outside"):
        roots.check(tmp_path)
    with pytest.raises(Outside, match="outside"):
        roots.check(results / ".." / ".." )
    link = results.parent / "escape"
    link.symlink_to(tmp_path, target_is_directory=True)
    try:
        assert not roots.holds(link)  # a link out of the root is outside, whatever its name
    finally:
        link.unlink()
    with pytest.raises(Outside, match="not a folder"):
        Roots([tmp_path / "missing"])


def test_map_values_and_svg(summary):
    p = Pick(summary, "united_front")
    blocs = bloc_names(summary)
    resistance = next(b for b in blocs if b.startswith("Resistance"))
    start, later = map_values(p, 0, "control", resistance), map_values(p, 24, "control", resistance)
    idx = [summary.keys.index(k) for k in blocs[resistance]]
    np.testing.assert_allclose(later, summary.control["united_front"][24][:, idx].sum(axis=1))
    np.testing.assert_allclose(map_values(p, 24, "change", resistance), later - start, atol=1e-7)
    assert p.step_at(99) == 24 and p.step_at(-3) == 0
    m = map_of(summary.manifest)
    svg = map_svg(outline(m), later, "control", "Resistance, 2024-09")
    fills = re.findall(r'data-province="([^"]+)" data-value="([^"]+)" d="[^"]+" fill="(#[0-9a-f]{6})"', svg)
    assert [f[0] for f in fills] == list(m.names)
    assert len({f[2] for f in fills}) > 1  # the provinces the resistance holds are coloured apart
    assert "<script" not in svg


def test_differences_pair_by_seed_and_refuse_other_seeds(summary, tmp_path):
    base, uf = Pick(summary, "baseline"), Pick(summary, "united_front")
    rows, notes = differences(base, [uf], 24, False)
    assert not notes and set(rows["outcome"]) >= {"resistance_territory", "government_territory"}
    o = summary.outcomes
    a = o[(o["group"] == "united_front") & (o["step"] == 24)].sort_values("replication")["resistance_territory"]
    b = o[(o["group"] == "baseline") & (o["step"] == 24)].sort_values("replication")["resistance_territory"]
    got = rows.set_index("outcome").loc["resistance_territory"]
    assert got["mean_difference"] == pytest.approx(float((a.to_numpy() - b.to_numpy()).mean()))
    assert got["ci_low"] <= got["mean_difference"] <= got["ci_high"] and got["pairs"] == 6
    diff = a.to_numpy() - b.to_numpy()  # the same interval as compare's (one matrix product: single precision)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(bootstrap_ci(diff), abs=1e-6)
    assert got["sd_of_difference"] == pytest.approx(float(diff.std(ddof=1)))
    other = _batch(tmp_path / "other", "--seed", "6")
    s2 = summarise(other, summary.provinces)
    rows, notes = differences(base, [Pick(s2, "united_front")], 24, True)
    assert rows.empty and "other seeds" in notes[0]


def test_figures_and_event_log(summary):
    picks = [Pick(summary, "baseline"), Pick(summary, "united_front")]
    fig = fan_figure(picks, ["taliban", "nrf"], overlay=True)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    assert len(fan_figure(picks, ["nrf"], overlay=False).axes) == 2
    events = event_log(picks[1], 0)
    assert any("unity agreement" in e for e in events)
    with pytest.raises(KeyError):
        lever_figure(summary, "states.us.arms_willingness", 12)  # not swept in this folder


def test_page_renders_and_the_slider_moves_the_map(results):
    import ipyvuetify as v
    import solara

    from sim.dashboard.app import Explorer

    _box, rc = solara.render(Explorer(Roots([results.parent])), handle_error=False)
    slider = rc.find(v.Slider).widget
    assert slider.max == 24 and slider.v_model == 24

    def html(cls: str) -> str:
        return next(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
                    if cls in w.attributes.get("class", ""))

    before = html("map")
    assert 'data-month="24"' in before and "united_front" in html("diff")
    slider.v_model = 3
    after = html("map")
    assert 'data-month="3"' in after and after != before
    assert "month 3" in html("diff")
