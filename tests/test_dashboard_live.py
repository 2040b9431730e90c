"""The live model and the analyst's moves: branching, same streams, and a scenario file that replays to the bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.dashboard.live import Session, save
from sim.dashboard.moves import Move
from tests.conftest import BASELINE, ROOT

KEYS = ["scenario", "point", "replication", "seed", "step"]
MOVES = [("us", "money", 300.0, ""), ("us", "arms", 1.0, ""), ("us", "favour", 1.0, "nrf")]


def _session(reps: int = 6, months: int = 18) -> Session:
    return Session.start(BASELINE, [], seed=7, replications=reps, months=months)


def _play(s: Session, at: int) -> None:
    s.advance(at)
    for actor, action, value, target in MOVES:
        s.move(Move(s.step, s.step, actor, action, value, target, reason="test: back the NRF"))


def test_the_move_is_the_only_difference():
    s = _session()
    _play(s, 6)
    s.advance(12)
    for p, u in zip(s.played.results(), s.unplayed.results(), strict=True):
        assert p.seed == u.seed
        np.testing.assert_array_equal(p.control[:7], u.control[:7])  # to the month of the move: the same runs
        assert not np.array_equal(p.funds[7:], u.funds[7:])  # from the next step the money arrives
    mean, lo, hi = s.difference()
    assert lo <= mean <= hi and s.changed() > 0
    assert any("reason: test: back the NRF" in text for _, text in s.played.results()[0].events)


def test_live_steps_equal_a_batch_run(tmp_path):
    """The live ensemble, stepped month by month with its moves, is the command line's batch of the exported file."""
    s = _session()
    _play(s, 5)
    s.advance(13)
    path = tmp_path / "played.yaml"
    path.write_text(s.scenario_yaml(), encoding="utf-8")
    out = tmp_path / "cli"
    subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(path), "--seed", "7", "-n", "6",
                    "--figures", "none", "--workers", "1", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    t = pd.read_parquet(out / "trajectories.parquet")
    t = t.assign(actor=t["actor"].astype(str)).sort_values(["replication", "step", "actor"])
    for r in s.played.results():
        got = t[t["replication"] == r.replication]
        live = pd.DataFrame({"step": np.repeat(np.arange(len(r.dates)), len(r.factions)),
                             "actor": np.tile(r.factions, len(r.dates)), "v": r.territory_share.ravel()})
        live = live.sort_values(["step", "actor"])
        np.testing.assert_array_equal(got["territory_share"].to_numpy(), live["v"].to_numpy())


def _tables(folder):
    out = {}
    for table in ("trajectories", "provinces", "flows", "donors", "government", "capitals", "attacks", "events"):
        d = pd.read_parquet(folder / f"{table}.parquet")
        out[table] = d.sort_values([c for c in d.columns if c in KEYS or d[c].dtype.name == "category"],
                                   ignore_index=True)
    return out


def test_saved_runs_and_cli_replay_are_identical(tmp_path):
    s = _session(reps=4, months=12)
    _play(s, 3)
    path, saved = save(s, tmp_path / "live", "t1")
    assert path.read_text(encoding="utf-8") == s.scenario_yaml()
    replay = tmp_path / "replay"
    subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(path), "--seed", "7", "-n", "4",
                    "--figures", "none", "--out", str(replay)], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    a, b = _tables(saved), _tables(replay)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], check_categorical=False)
    assert len(a["events"][a["events"]["text"].str.startswith("move:")]) == 4 * len(MOVES)


@pytest.mark.parametrize(("move", "error"), [
    (Move(1, 1, "narnia", "money", 10), "not a state"),
    (Move(1, 1, "us", "money", 1e6), "outside 0 to 500"),
    (Move(1, 1, "us", "favour", 0.5, "nobody"), "not a faction"),
    (Move(1, 1, "nrf", "join_front", 0, "nrf"), "not with itself"),
    (Move(1, 1, "us", "bribe", 1), "unknown action"),
])
def test_bad_moves_are_refused_and_change_nothing(move, error):
    s = _session(reps=2, months=6)
    s.advance(1)
    before = s.scenario_yaml()
    with pytest.raises(ValueError, match=error):
        s.move(move)
    assert s.scenario_yaml() == before and not s.moves


def test_no_move_past_the_horizon_and_bounded_size():
    s = _session(reps=2, months=3)
    s.advance(10)
    assert s.step == 3
    with pytest.raises(ValueError, match="horizon"):
        s.move(Move(3, 3, "us", "money", 10))
    with pytest.raises(ValueError, match="replications"):
        _session(reps=0)


def test_join_front_unites_two_factions():
    s = _session(reps=2, months=6)
    s.advance(2)
    s.move(Move(2, 2, "aff", "join_front", target="nrf", reason="unity talks"))
    s.advance(1)
    front = s.played.results()[0].in_front
    keys = list(s.base["factions"])
    assert front[3, keys.index("aff")] and front[3, keys.index("nrf")]


def test_live_page_renders_and_steps():
    import ipyvuetify as v
    import solara

    from sim.dashboard.livepage import LivePage

    _box, rc = solara.render(LivePage([]), handle_error=False)
    rc.find(v.Btn, children=["start"]).widget.click()
    rc.find(v.Btn, children=["step 12 months"]).assert_single()

    def live_map() -> str:
        return next(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
                    if "live-map" in w.attributes.get("class", ""))

    assert 'data-month="0"' in live_map()
    rc.find(v.Btn, children=["step 12 months"]).widget.click()
    assert 'data-month="12"' in live_map()
