"""The figures of a run and of the comparison report, drawn from a real small batch of the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import analysis, fans, figstyle, headline, levers, plots
from sim.outcomes import GOVERNMENT_TERRITORY, RESISTANCE_TERRITORY, TERRITORY, kinds
from sim.statistics import wilson
from tests.conftest import BASELINE, ROOT

LEVER = "donors.us.arms_willingness"
MONTHS = 12


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The baseline and the united front (an event at the start), the US lever at 0 and 0.6, and their report."""
    tmp = tmp_path_factory.mktemp("figs")
    res = tmp / "res"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(BASELINE),
                        str(ROOT / "scenarios" / "united_front.yaml"), "-n", "6", "-w", "1", "--seed", "3",
                        "--months", str(MONTHS), "--sweep", f"{LEVER}=0,0.6", "--figures", "summary",
                        "--map-months", "0", "--out", str(res)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    rep = tmp / "rep"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), "--months", "6,12",
                        "--out", str(rep)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    out, meta = analysis.load_outcomes(res)
    return res, rep, out, meta


def test_share_axes_span_at_least_the_documented_minimum():
    lo, hi = figstyle.share_limits(0.989, 0.992)  # the Taliban's wiggle that looked like a collapse
    assert hi - lo >= figstyle.MIN_SHARE_SPAN and lo <= 0.989 and hi >= 0.992 and lo > 0.85 and hi <= 1.02
    lo, hi = figstyle.share_limits(0.0, 0.004)
    assert lo <= 0 and hi >= figstyle.MIN_SHARE_SPAN, "the span moves off 0%, it is not shrunk"
    lo, hi = figstyle.share_limits(0.1, 0.7)
    assert lo <= 0.1 and hi >= 0.7 and hi - lo < 0.7, "wider data keep their own span"
    assert figstyle.count_limits(150.0)[0] == 0.0


def test_colours_do_not_repeat_and_a_lever_reads_dark_to_light():
    assert len(set(figstyle.categorical(28))) == 28
    assert figstyle.categorical(3) == [c.lower() for c in figstyle.OKABE_ITO[:3]]
    from matplotlib.colors import to_rgb

    lum = [np.dot(to_rgb(c), [0.2126, 0.7152, 0.0722]) for c in figstyle.sequential([0, 0.1, 0.6])]
    assert lum[0] < lum[1] < lum[2]
    keys = ["taliban", "nrf", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    assert len(set(figstyle.actor_colours(keys))) == len(keys)


def _bands(res):
    traj = pd.read_parquet(res / "trajectories.parquet")
    traj = traj[(traj["scenario"] == "baseline") & (traj["point"] == 0)]
    return plots.trajectory_bands(traj, [TERRITORY.column])


def test_run_figure_panels_are_labelled_dated_and_honestly_scaled(batch):
    res = batch[0]
    b = _bands(res)
    labels = {k: a.label for k, a in plots.maps.actors_of(res, "baseline").items()}
    fig = plots.draw_trajectories(b, TERRITORY, plots.PanelNotes(labels))
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    assert len(axes) == len(b.actors)
    titles = [ax.get_title() for ax in axes]
    assert "Taliban" in titles and "National Resistance Front" in titles and "nrf" not in titles
    q = b.values[TERRITORY.column]
    for k, ax in enumerate(axes):
        lo, hi = ax.get_ylim()
        assert hi - lo >= figstyle.MIN_SHARE_SPAN, (titles[k], lo, hi)
        assert lo <= q[0, k].min() and hi >= q[4, k].max(), "the bands are inside the axis"
    assert axes[0].get_ylabel() == "% of the country"
    assert any(ax.get_xlabel() == "date" for ax in axes)
    shared = plots.draw_trajectories(b, TERRITORY, shared=True)
    assert len({ax.get_ylim() for ax in shared.axes if ax.axison}) == 1, "one scale for every panel"


def test_run_figure_marks_the_events_of_the_runs(batch):
    res = batch[0]
    marks = figstyle.event_markers(res, 6, "united_front", 0)
    assert [m.name for m in marks] == ["unity_agreement"] and marks[0].fired == marks[0].runs == 6
    log = pd.read_parquet(res / "events.parquet")
    fired = log[(log["scenario"] == "united_front") & (log["point"] == 0)
                & log["text"].str.endswith("[event: unity_agreement]")]
    assert marks[0].date == np.datetime64(pd.Timestamp(fired["date"].min()).date())
    fig = plots.draw_trajectories(_bands(res), TERRITORY, plots.PanelNotes(markers=marks))
    ax = fig.axes[0]
    vertical = [ln for ln in ax.lines if len(set(ln.get_xdata())) == 1]
    assert vertical and vertical[0].get_linestyle() == "--", "an event of every run: a dashed line"


def test_report_fans_are_small_multiples_titled_with_labels(batch):
    res, _, out, meta = batch
    view = fans.group_view(out, [res], meta.manifests, meta.swept)
    for o in (RESISTANCE_TERRITORY, GOVERNMENT_TERRITORY):
        fig = fans.draw_fans(out, o, view)
        axes = [ax for ax in fig.axes if ax.axison]
        assert len(axes) == 4, "one panel per group"
        assert len({ax.get_ylim() for ax in axes}) == 1, "one shared scale by default"
        lo, hi = axes[0].get_ylim()
        assert hi - lo >= figstyle.MIN_SHARE_SPAN
        titles = [ax.get_title() for ax in axes]
        assert all("[" not in t for t in titles), titles
        assert any(t.startswith("Status quo from late 2022") and "arms_willingness = 0.6" in t for t in titles)
    assert view.colours["baseline[donors.us.arms_willingness=0]"] == \
        view.colours["united_front[donors.us.arms_willingness=0]"], "one numeric lever: colour says its value"


def test_probability_curve_has_wilson_bands_that_bracket_it(batch):
    res, _, out, meta = batch
    d = out[out["group"] == "united_front[donors.us.arms_willingness=0.6]"]
    p = fans.probability_curve(d)
    assert (p["low"] <= p["p"]).all() and (p["p"] <= p["high"]).all()
    assert (p["n"] == 6).all() and len(p) == MONTHS + 1
    last = p.iloc[-1]
    assert (last["low"], last["high"]) == wilson(int(last["k"]), 6)
    fig = fans.draw_probability(out, fans.group_view(out, [res], meta.manifests, meta.swept))
    assert all(ax.get_ylim() == (-0.02, 1.02) for ax in fig.axes if ax.axison)


def test_paired_differences_are_each_run_minus_its_matched_run(batch):
    _, rep, out, _ = batch
    found, _ = headline.contrasts(out, "baseline", [LEVER])
    c = next(c for c in found if c.kind == "scenario" and c.group.endswith("=0.6]"))
    assert c.paired
    d = fans.paired_differences(out, c, [12])
    at = analysis.at_months(out, [12]).set_index(["group", "replication"])[RESISTANCE_TERRITORY.name]
    hand = at.loc[c.group] - at.loc[c.reference]
    assert np.allclose(d.set_index("replication")["difference"].sort_index(), hand.sort_index())
    assert (rep / "figures" / "paired_differences.png").is_file()
    assert "figures/paired_differences.png" in (rep / "report.md").read_text()


def test_delivered_support_is_the_flows_table_by_hand(batch):
    res, _, out, meta = batch
    got = levers.delivered(out, meta, [res], LEVER, MONTHS).set_index(["scenario", "value"])["delivered"]
    flows = pd.read_parquet(res / "flows.parquet")
    man = json.loads((res / "manifest.json").read_text())
    for sc in man["scenarios"]:
        spec = sc["resolved_scenario"]
        resistance = [k for k, f in spec["factions"].items() if f["kind"] in kinds("resistance")]
        for p in (p for p in man["points"] if p["scenario"] == spec["name"]):
            f = flows[(flows["scenario"] == spec["name"]) & (flows["point"] == p["point"])
                      & flows["kind"].isin(["money", "arms"]) & (flows["source"] == "us")
                      & flows["target"].isin(resistance) & (flows["step"] <= MONTHS)]
            per_run = f.groupby("replication")["amount"].sum().reindex(range(6), fill_value=0.0)
            assert got[(spec["name"], p["values"][LEVER])] == pytest.approx(per_run.mean() / MONTHS)
    assert got[("baseline", 0)] == 0 and got[("baseline", 0.6)] > 0, "the US gives nothing at 0"


def test_lever_figure_has_points_with_bars_and_no_line(batch):
    res, _, out, meta = batch
    table = analysis.lever_table(out, LEVER, MONTHS)
    given = levers.delivered(out, meta, [res], LEVER, MONTHS)
    fig = levers.draw_lever(table, given, LEVER, "United States")
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert ax.lines and all(ln.get_linestyle() in ("None", "none", "", " ") for ln in ax.lines), \
            "never a line between two measured values"
        assert any(ln.get_marker() not in ("None", "none", "", None) for ln in ax.lines)
        assert ax.collections, "interval bars"
    bottom = fig.axes[2]  # territory against support delivered
    points = [ln for ln in bottom.lines if ln.get_label() in set(table["scenario"])]  # not the bars' caps
    x = np.sort(np.concatenate([ln.get_xdata() for ln in points]))
    assert np.allclose(x, np.sort(given["delivered"].to_numpy())), "points where the runs delivered that much"
    assert "M USD/month" in bottom.get_xlabel() and "United States" in bottom.get_xlabel()
    assert "share, 0-1" in fig.axes[0].get_xlabel()


def test_report_names_the_contrasts_it_cannot_draw_as_paired(tmp_path):
    from sim import report

    found = [headline.Contrast("a", "base", "scenario", True), headline.Contrast("b", "base", "scenario", False)]
    drawn = report._differences_md(found, [tmp_path / "paired_differences.png"])
    assert "![paired differences](figures/paired_differences.png)" in drawn
    assert any("not paired" in line and "b − base" in line and "a − base" not in line for line in drawn)
    assert not any("paired_differences.png" in line for line in report._differences_md(found[1:], []))


def test_compare_scale_own_gives_each_fan_panel_its_own_scale_and_says_so(batch, tmp_path):
    res, rep, out, meta = batch
    assert "every panel shares one y scale" in (rep / "report.md").read_text()
    own = tmp_path / "own"
    p = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), "--months", "6,12",
                        "--scale", "own", "--out", str(own)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr
    assert "its own y scale (`--scale own`)" in (own / "report.md").read_text()
    name = f"fan_{GOVERNMENT_TERRITORY.name}.png"
    assert (own / "figures" / name).read_bytes() != (rep / "figures" / name).read_bytes()
    view = fans.group_view(out, [res], meta.manifests, meta.swept)
    moved = out.copy()  # one group 30 points lower: its own scale follows it, the shared one spans both
    moved.loc[moved["group"] == view.groups[0], GOVERNMENT_TERRITORY.name] -= 0.3
    for shared, scales in ((False, 2), (True, 1)):
        fig = fans.draw_fans(moved, GOVERNMENT_TERRITORY, view, shared=shared)
        assert len({ax.get_ylim() for ax in fig.axes if ax.axison}) == scales
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", str(res), "--scale", "both",
                          "--out", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--scale" in bad.stderr and "Traceback" not in bad.stderr
