"""Figures, the run's summary and the declared outcomes, on real results folders and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import analysis, maps, outcomes, plots
from sim.geography import DEFAULT_MAP, load_map
from sim.horizon import horizon_table
from sim.store import read_parts
from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py")]
SMALL = ["--replications", "3", "--seed", "42", "--months", "14"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The same small batch run with each --figures choice."""
    tmp = tmp_path_factory.mktemp("figs")
    done = {}
    for which in plots.FIGURES:
        out = tmp / which
        p = cli("run", str(BASELINE), *SMALL, "--figures", which, "--out", str(out))
        assert p.returncode == 0, p.stderr
        done[which] = (out, p.stdout)
    return done


def _figures(out: Path) -> list[str]:
    return sorted(f.name for f in (out / "figures").iterdir()) if (out / "figures").is_dir() else []


def test_figures_choice_decides_the_files(folders):
    assert _figures(folders["none"][0]) == [], "--figures none writes no figure"
    assert _figures(folders["summary"][0]) == ["map_month_000.png", "map_month_014.png", "territory.png"], \
        "summary: the territory figure and the maps at the start and the horizon"
    assert _figures(folders["all"][0]) == ["map_month_000.png", "map_month_012.png", "map_month_014.png",
                                           "population.png", "strength.png", "territory.png"]
    for which, (out, stdout) in folders.items():
        names = [name for name, _ in plots.figure_plan(which, 14)]
        assert sorted(names) == _figures(out), f"figure_plan says what --figures {which} writes"
        assert "Territory share on 2023-12-01 (step 14), over 3 replication(s):" in stdout
    assert "figures/" not in folders["none"][1], "no figures listed when none are drawn"
    assert "[baseline] figures/: territory.png, map_month_000.png, map_month_014.png" in folders["summary"][1]


def test_figure_plan_defaults_and_explicit_map_months():
    assert [n for n, _ in plots.figure_plan("all", 60)] == [
        "territory.png", "population.png", "strength.png", "map_month_000.png", "map_month_012.png",
        "map_month_036.png", "map_month_060.png"]
    assert [n for n, _ in plots.figure_plan("summary", 60, [6, 24])] == [
        "territory.png", "map_month_006.png", "map_month_024.png"], "--map-months replaces the summary's maps"
    with pytest.raises(ValueError, match="figures: expected one of none, summary, all"):
        plots.figure_plan("some", 60)


def test_bad_figures_choice_exits_2(tmp_path):
    p = cli("run", str(BASELINE), *SMALL, "--figures", "some", "--out", str(tmp_path / "r"))
    assert p.returncode == 2 and "--figures" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "r").exists(), "refused before anything is written"


def test_figures_are_pngs_of_their_stated_size(folders):
    out = folders["all"][0] / "figures"
    from PIL import Image

    with Image.open(out / "territory.png") as im:  # 6 territorial actors: 4 x 2 panels of 3.6 x 2.7 in at 110 dpi
        assert im.size == (round(4 * 3.6 * plots.DPI), round(2 * 2.7 * plots.DPI))
    at = [("step", "in", [0, 14])]
    prov = read_parts(folders["all"][0], "provinces", ["province", "actor", "date", "step", "replication", "control"],
                      at)
    caps = read_parts(folders["all"][0], "capitals", ["province", "holder", "step", "replication"], at)
    d = maps.map_data(prov, caps, load_map(DEFAULT_MAP), 14, maps.actors_of(folders["all"][0]))
    assert len(d.blocs) == 3 and d.odds is not None and d.change is not None, "3 blocs x 3 rows of small maps"
    w, h = maps.figure_size(d)
    with Image.open(out / "map_month_014.png") as im:  # the map on the outlines of polygons.geojson
        assert np.allclose(im.size, (w * plots.DPI, h * plots.DPI), atol=1)
        assert "Software" not in im.info, "no software version: identical runs give identical files"


def _old_summary_table(folder: Path, labels: dict[str, str], scenario: str, point: int) -> str:
    """The run's summary exactly as run.py computed and printed it before it moved to sim.horizon."""
    first = read_parts(folder, "trajectories", ["step", "actor", "territory_share"], [("replication", "<", 50)],
                       scenario=scenario, point=point, below_replication=50)
    horizon = int(first["step"].max())
    ever = first.groupby("actor", observed=True)["territory_share"].max()
    traj = read_parts(folder, "trajectories", ["actor", "date", "replication", "territory_share", "provinces_held"],
                      [("step", "==", horizon)], scenario=scenario, point=point)
    reps = traj["replication"].nunique()
    date = str(traj["date"].iloc[0])[:10]
    lines = [f"Territory share on {date} (step {horizon}), over {reps} replication(s):",
             f"  {'actor':<52} {'median':>7}   {'90% band':<18} {'provinces held (median)':>23}"]
    for actor, g in traj.groupby("actor", observed=True, sort=False):
        if ever.get(actor, 0.0) <= 0:
            continue
        lo, med, hi = np.quantile(g["territory_share"].to_numpy(), [0.05, 0.5, 0.95])
        held = float(np.median(g["provinces_held"]))
        name = labels.get(str(actor), str(actor))
        lines.append(f"  {name:<52} {med:>7.2%}   [{lo:.2%}, {hi:.2%}]{'':<2} {held:>20.1f}")
    return "\n".join(lines)


def test_run_summary_text_is_unchanged(folders, baseline):
    spec, _ = baseline
    labels = {k: f.label for k, f in spec.factions.items()}
    out, stdout = folders["summary"]
    text = horizon_table(out, "baseline", 0).text(labels)
    assert text == _old_summary_table(out, labels, "baseline", 0)
    assert text in stdout, "the CLI prints the library's table"
    # captured from run.py (seed 42, 3 replications, 14 months); recaptured when bounded grievance
    # (ODD 7.5), foreign policy that moves (ODD 7.1), concentrated offensives (ODD 7.4.2) and the
    # government's seat guard (ODD 7.4.2), and then defence by need and the front's pull (ODD 7.4,
    # 7.4.2) moved the numbers
    assert textwrap.dedent("""\
        Territory share on 2023-12-01 (step 14), over 3 replication(s):
          actor                                                 median   90% band           provinces held (median)
          Taliban                                               99.23%   [99.22%, 99.24%]                   34.0
          National Resistance Front                              0.41%   [0.40%, 0.42%]                    0.0
        """) in stdout


def test_outcome_objects_drive_the_columns(folders, monkeypatch):
    res = analysis.load(folders["none"][0])
    out = analysis.outcomes(res)
    names = [o.name for o in outcomes.OUTCOMES]
    assert [c for c in out.columns if c in names] == names
    assert out["split"].dtype == bool and out["resistance_provinces"].ge(0).all()
    summary = analysis.summary_table(out, [12])
    assert list(dict.fromkeys(summary["outcome"])) == [o.name for o in outcomes.COMPARED]
    # one more declared outcome is one more column, computed as declared
    extra = outcomes.Outcome("government_population", "government share of the population", "share",
                             outcomes.POPULATION, "government")
    monkeypatch.setattr(analysis, "OUTCOMES", (*outcomes.OUTCOMES, extra))
    more = analysis.outcomes(res)
    t = res.trajectories
    gov = t[t["actor"] == "taliban"].set_index(["replication", "step"])["population_share"]
    got = more.set_index(["replication", "step"])["government_population"]
    pd.testing.assert_series_equal(got.sort_index(), gov.sort_index(), check_names=False)


def test_side_is_the_actor_classes_kind_rule():
    from sim.actors import FACTION_CLASSES

    for kind, cls in FACTION_CLASSES.items():
        assert (outcomes.side(kind) == "resistance") == cls.resistance, kind
    assert outcomes.side("government") == "government" and outcomes.side("jihadist") == ""
    assert outcomes.side("no such kind") == "" and outcomes.kinds("resistance") == ["resistance"]
    assert outcomes.outcome("split").how == "active"
    with pytest.raises(KeyError, match="no outcome"):
        outcomes.outcome("nope")


def test_numpy_bands_equal_pandas_quantiles(folders):
    traj = read_parts(folders["none"][0], "trajectories", ["actor", "date", "step", "replication", "strength",
                                                           "territory_share"])
    b = plots.trajectory_bands(traj, ["strength"])
    q = traj.groupby(["actor", "step"], observed=True)["strength"].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    for k, actor in enumerate(b.actors):
        np.testing.assert_allclose(b.values["strength"][:, k, :], q.loc[actor].to_numpy().T, rtol=1e-12)
    assert b.replications == 3 and len(b.dates) == 15 and "iskp" in b.actors


def test_no_module_chooses_a_backend():
    offenders = [str(f.relative_to(ROOT)) for f in (ROOT / "sim").rglob("*.py")
                 if "matplotlib.use(" in f.read_text(encoding="utf-8")]
    assert offenders == [], f"matplotlib.use in {offenders}"


def test_importing_plots_and_report_imports_no_matplotlib_and_drawing_needs_no_backend(folders, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import sim.plots, sim.report
        assert "matplotlib" not in sys.modules, "import sim.plots imports matplotlib"
        import matplotlib
        def refuse(*a, **k):
            raise AssertionError("a backend was chosen")
        matplotlib.use = refuse
        from sim.scenario import load_scenario
        _, m = load_scenario({str(BASELINE)!r})
        files = sim.plots.make_figures(Path({str(folders["none"][0])!r}), m, which="summary", subdir="again")
        assert len(files) == 3 and all(f.stat().st_size > 10_000 for f in files)
        assert "matplotlib.pyplot" not in sys.modules, "drawing went through pyplot"
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"})
    assert p.returncode == 0, p.stderr


def test_compare_refuses_months_outside_the_results(folders, tmp_path):
    res = folders["none"][0]
    p = cli("compare", str(res), "--months", "12,72", "--out", str(tmp_path / "r"))
    assert p.returncode == 2 and "--months" in p.stderr and "72" in p.stderr and "14" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    p = cli("compare", str(res), "--out", str(tmp_path / "d"))
    assert p.returncode == 0, p.stderr
    summary = pd.read_csv(tmp_path / "d" / "summary.csv")
    assert sorted(set(summary["month"])) == [12], "the default months stop at the horizon"


def test_progress_of_the_figures_shows_on_a_terminal_only(tmp_path):
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal 120 columns wide
    seen: list[bytes] = []

    def read() -> None:  # drain the terminal while the command runs, so its writes never block
        try:
            while chunk := os.read(master, 65536):
                seen.append(chunk)
        except OSError:  # the terminal's other end is closed: all is read
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    p = subprocess.run([*RUN, "run", str(BASELINE), "-n", "1", "--seed", "1", "--months", "3", "--out",
                        str(tmp_path / "tty")], stdout=subprocess.PIPE, stderr=slave, text=True, cwd=ROOT, timeout=300)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert p.returncode == 0
    terminal = b"".join(seen)
    assert b"figures" in terminal and b"/3 [" in terminal, "a bar over the 3 summary figures on the terminal"
    assert "figures:" not in p.stdout and "\r" not in p.stdout, "nothing of the bar in the printed report"
    assert "[baseline] figures/: territory.png, map_month_000.png, map_month_003.png" in p.stdout
