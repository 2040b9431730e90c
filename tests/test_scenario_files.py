"""Scenario files: inheritance, overrides, events, time steps, and bad files that must fail cleanly."""

from __future__ import annotations

import ast
import cProfile
import json
import pstats
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.model import ConflictModel
from sim.scenario import MAX_EXTENDS, ScenarioError, check_events, load_scenario
from tests.conftest import BASELINE, ROOT

LIBRARY = {"baseline", "united_front", "slight_support", "united_front_with_support", "russian_patronage",
           "regional_recognition", "taliban_split", "terror_blowback", "ct_partnership",
           "hindcast_2021_collapse", "hindcast_1996_2001"}


def write(tmp: Path, name: str, text: str) -> Path:
    f = tmp / name
    f.write_text(text, encoding="utf-8")
    return f


def child(tmp: Path, body: str, name: str = "child.yaml") -> Path:
    """A scenario extending the baseline (by absolute path, so it may live anywhere)."""
    return write(tmp, name, f"extends: {BASELINE}\n{body}")


def test_library_covers_the_questions():
    names = {load_scenario(p)[0].name for p in (ROOT / "scenarios").glob("*.yaml")}
    assert LIBRARY <= names, f"missing: {LIBRARY - names}"
    for p in (ROOT / "scenarios").glob("*.yaml"):
        spec, _ = load_scenario(p)
        assert spec.claim and spec.sources and spec.mechanisms, f"{p.name} must state claim, mechanisms, sources"


def test_extends_merges_deeply(tmp_path):
    spec, _ = load_scenario(child(tmp_path, "name: kid\nfactions:\n  nrf:\n    strength: 4000\n"))
    base, _ = load_scenario(BASELINE)
    assert spec.factions["nrf"].strength == 4000
    assert spec.factions["nrf"].control == base.factions["nrf"].control, "untouched fields are inherited"
    assert spec.donors == base.donors and spec.name == "kid"
    assert spec.digest() != base.digest(), "the hash names the resolved scenario"


def test_null_removes_an_inherited_entry(tmp_path):
    with pytest.raises(ScenarioError, match=re.escape("donors.diaspora.affinity.ainlm: unknown faction")):
        load_scenario(child(tmp_path, "name: kid\nfactions:\n  ainlm: null\n"))
    body = "name: kid\nfactions:\n  ainlm: null\ndonors:\n  diaspora:\n    affinity:\n      ainlm: null\n"
    spec, _ = load_scenario(child(tmp_path, body))
    assert "ainlm" not in spec.factions and "ainlm" not in spec.donors["diaspora"].affinity


def test_set_overrides(baseline):
    spec, _ = load_scenario(BASELINE, ["factions.nrf.strength=5000", "parameters.control_rate=0.2",
                                       "donors.us.affinity.nrf=0.5"])
    assert spec.factions["nrf"].strength == 5000 and spec.parameters.control_rate == 0.2
    assert spec.donors["us"].affinity["nrf"] == 0.5


def test_scheduled_event_fires_once_with_its_words(baseline):
    spec, m = load_scenario(ROOT / "scenarios" / "regional_recognition.yaml")
    r = ConflictModel(spec, m, 4, months=40).run()
    texts = [t for _, t in r.events if "[event: russia_recognises]" in t]
    assert len(texts) == 1
    step = next(s for s, t in r.events if "russia_recognises" in t)
    assert str(r.dates[step - 1]) <= "2025-07-03" < str(r.dates[step]), "fires in the step containing its date"
    russia = r.donors.index("russia")
    # the baseline's Russia may recognise by itself before the event (ODD 7.1); the event makes it for good
    assert r.recognised[-1, russia] and not r.recognised[0, russia]
    assert (r.recognised[step:, russia]).all(), "recognised for good from the event on"
    assert r.legitimacy[-1] > 0


def test_conditional_event_on_attack(baseline):
    spec, m = load_scenario(ROOT / "scenarios" / "terror_blowback.yaml")
    r = ConflictModel(spec, m, 4, months=36).run()
    fired = [s for s, t in r.events if "pakistan_turns" in t]
    assert len(fired) == 1
    s = fired[0]
    ttp, pak = r.factions.index("ttp"), r.donors.index("pakistan")
    assert r.attacks[s - 1, ttp, pak] > 0, "it fires in the step after a TTP attack hits Pakistan"
    assert str(r.dates[s]) >= "2023-06-01"
    assert r.stance[s + 1, pak] < r.stance[s - 1, pak], "Pakistan's stance drops after the event"


def test_events_keep_random_streams_aligned(baseline):
    spec, m = baseline
    unite, _ = load_scenario(ROOT / "scenarios" / "united_front.yaml")
    a = ConflictModel(spec, m, 9, months=6).run()
    b = ConflictModel(unite, m, 9, months=6).run()
    # the same replication draws the same numbers: the first month's donor decisions match
    assert np.array_equal(a.money[1], b.money[1])
    assert b.in_front[1, b.factions.index("nrf")] and not a.in_front[1].any()


def test_time_steps_agree_on_the_calendar_and_the_average(baseline):
    _, m = baseline
    out = {}
    for step, n in (("month", 24), ("week", 104), ("day", 730)):
        s, _ = load_scenario(BASELINE, [f"time_step={step}"])
        rs = [ConflictModel(s, m, k, months=24).run() for k in range(6)]
        assert rs[0].steps == n
        assert abs((rs[0].dates[-1] - np.datetime64("2024-10-01")).astype(int)) <= 3
        nrf = rs[0].factions.index("nrf")
        out[step] = np.mean([r.territory_share[-1, nrf] for r in rs])
    # rates are per month: a finer step changes little (tolerance: 25% of the monthly mean)
    assert abs(out["week"] - out["month"]) < 0.25 * out["month"], out
    assert abs(out["day"] - out["month"]) < 0.25 * out["month"], out


# ----------------------------------------------------------------------------------------- bad files

BAD = {
    "malformed": ("name: [x\n", "malformed YAML"),
    "tab_indent": ("name: x\n\tstart: 2022-01-01\n", "malformed YAML"),
    "python_tag": ("name: !!python/object/apply:os.system [echo]\n", "refused YAML"),
    "duplicate_key": ("name: a\nname: b\n", "duplicate key 'name'"),
    "not_a_mapping": ("[1, 2]\n", "top level must be a mapping"),
    "empty": ("", "top level must be a mapping"),
    "unknown_top": ("extends: BASE\nnmae: x\n", "did you mean 'name'"),
    "unknown_nested": ("extends: BASE\nfactions:\n  nrf:\n    strenght: 5\n", "factions.nrf.strenght"),
    "wrong_type": ("extends: BASE\nmonths: twelve\n", "months"),
    "out_of_range": ("extends: BASE\nfactions:\n  nrf:\n    rivalry: 1.5\n", "factions.nrf.rivalry"),
    "negative": ("extends: BASE\nfactions:\n  nrf:\n    strength: -10\n", "factions.nrf.strength"),
    "bad_date": ("extends: BASE\nstart: 2022-13-45\n", "start"),
    "unknown_province": ("extends: BASE\nfactions:\n  nrf:\n    home: [Panjsher]\n", "did you mean 'Panjshir'"),
    "shares_over_one": ("extends: BASE\nfactions:\n  nrf:\n    control: {Panjshir: 0.9}\n  aff:\n"
                        "    control: {Panjshir: 0.5}\n", "add up to"),
    "two_governments": ("extends: BASE\nfactions:\n  nrf:\n    kind: government\n", "exactly one"),
    "unknown_state_ref": ("extends: BASE\ndonors:\n  us:\n    backlash: {rusia: 0.5}\n", "did you mean 'russia'"),
    "missing_extends": ("extends: nowhere.yaml\nname: x\n", "extends: file not found"),
    "event_before_start": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {date: 2001-01-01}}\n",
                           "outside the run"),
    "event_two_triggers": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {step: 2, month: 3}}\n",
                           "exactly one trigger"),
    "event_unknown_path": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {step: 2}, "
                           "set: {parameters.contol_rate: 0.1}}\n", "did you mean 'control_rate'"),
    "event_frozen_field": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {step: 2}, "
                           "set: {factions.nrf.strength: 9}}\n", "initial state"),
    "event_impossible_attack": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {attack: "
                                "{by: tip, hits: pakistan}}}\n", "never targets"),
    "event_bad_value": ("extends: BASE\nevents:\n  - {name: e, text: t, when: {step: 2}, "
                        "set: {donors.us.budget: lots}}\n", "budget"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_raise_one_line_naming_file_and_field(tmp_path, case):
    text, expect = BAD[case]
    f = write(tmp_path, f"{case}.yaml", text.replace("BASE", str(BASELINE)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert "\n" not in msg and str(f) in msg and expect in msg, msg


def test_cyclic_extends(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match=re.escape("cycle a.yaml -> b.yaml -> a.yaml")):
        load_scenario(tmp_path / "a.yaml")


def test_alias_bomb_and_oversized_files_are_refused(tmp_path):
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ScenarioError, match="expand"):
        load_scenario(write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n"))
    with pytest.raises(ScenarioError, match="limited to"):
        load_scenario(write(tmp_path, "big.yaml", "# " + "x" * 1_100_000 + "\n"))


def test_bad_override():
    with pytest.raises(ScenarioError, match=re.escape("--set factions.nrf.strenght")):
        load_scenario(BASELINE, ["factions.nrf.strenght=5"])
    with pytest.raises(ScenarioError, match=re.escape("expected path.to.field=value")):
        load_scenario(BASELINE, ["nonsense"])
    # a value that is not YAML, or a mapping with an unhashable key, is text, never a traceback
    with pytest.raises(ScenarioError, match=re.escape("--set months: months: Input should be a valid integer")):
        load_scenario(BASELINE, ["months={[1]: 2}"])


def _cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_cli_bad_file_exit_2_no_traceback_no_side_effects(tmp_path):
    f = write(tmp_path, "bad.yaml", BAD["event_unknown_path"][0].replace("BASE", str(BASELINE)))
    out = tmp_path / "out"
    p = _cli("run", str(f), "--out", str(out))
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()
    p = _cli("validate", str(BASELINE), str(f))
    assert p.returncode == 2 and "ok" in p.stdout and str(f) in p.stderr


def test_cli_list_show_schema(tmp_path):
    p = _cli("list")
    assert p.returncode == 0 and all(name in p.stdout for name in ("baseline.yaml", "hindcast_2021_collapse.yaml"))
    p = _cli("show", str(ROOT / "scenarios" / "united_front.yaml"), "--set", "factions.nrf.strength=3500")
    assert p.returncode == 0 and "resolved scenario united_front" in p.stdout and "strength: 3500" in p.stdout
    out = tmp_path / "schema.json"
    p = _cli("schema", "--out", str(out))
    schema = json.loads(out.read_text())
    assert p.returncode == 0 and "extends" in schema["properties"] and "events" in schema["properties"]
    assert schema["$defs"]["FactionSpec"]["additionalProperties"] is False


# ----------------------------------------------------------------------------------------- extends

REQUIRED = "name: x\nstart: 2022-10-01\nfactions: {}\n"
SECRET = "secret-token-8f3a"  # the first "line" of a foreign file: it must never reach a message


def _foreign_file(folder: Path, name: str) -> Path:
    """A file that is not a scenario, whose content parses as a mapping (as /etc/shadow's can)."""
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder, name, f"{SECRET}:*:20228:0:99999:7:::\n{SECRET}2: 1\n")


@pytest.mark.parametrize("target", ["absolute", "relative_up", "txt", "link"])
def test_extends_refuses_a_file_that_is_not_yaml_and_never_shows_its_content(tmp_path, target):
    shadow = _foreign_file(tmp_path / "etc", "shadow")
    _foreign_file(tmp_path / "etc", "notes.txt")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "link.yaml").symlink_to(shadow)
    parent = {"absolute": str(shadow), "relative_up": "../etc/shadow", "txt": "../etc/notes.txt",
              "link": "link.yaml"}[target]
    f = write(tmp_path / "lib", "child.yaml", f"extends: {parent}\n{REQUIRED}")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert "\n" not in msg and str(f) in msg and f"extends: refused {parent}" in msg, msg
    assert SECRET not in msg, "the refused file's content must not be echoed"


def test_extends_through_a_symlink_loop_is_one_line(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    f = write(tmp_path, "child.yaml", f"extends: a.yaml\n{REQUIRED}")
    with pytest.raises(ScenarioError, match=re.escape(f"{f}: extends: refused a.yaml")):
        load_scenario(f)


def test_extends_with_a_control_character_is_one_line(tmp_path):
    f = write(tmp_path, "child.yaml", f'extends: "base\\nx.yaml"\n{REQUIRED}')
    with pytest.raises(ScenarioError, match=re.escape(f"{f}: extends: expected the name of a scenario file, found")):
        load_scenario(f)


def test_relative_extends_inside_the_tree_work_and_outside_need_the_option(tmp_path):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    write(lib / "sub", "base.yaml", BASELINE.read_text(encoding="utf-8"))
    write(lib / "sub", "middle.yml", "extends: base.yaml\nname: middle\n")
    spec, _ = load_scenario(write(lib, "kid.yaml", "extends: sub/middle.yml\nname: kid\n"))
    base, _ = load_scenario(BASELINE)
    assert spec.name == "kid" and spec.factions == base.factions
    up = write(lib / "sub", "up.yaml", "extends: ../kid.yaml\nname: up\n")  # outside the named file's folder
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario(up)
    assert load_scenario(up, allow_outside=True)[0].name == "up"


def test_a_long_chain_of_extends_is_refused_naming_the_first_file(tmp_path):
    write(tmp_path, "c0.yaml", BASELINE.read_text(encoding="utf-8"))
    for i in range(1, MAX_EXTENDS + 1):
        write(tmp_path, f"c{i}.yaml", f"extends: c{i - 1}.yaml\nname: c{i}\n")
    assert load_scenario(tmp_path / f"c{MAX_EXTENDS - 1}.yaml")[0].name == f"c{MAX_EXTENDS - 1}"
    top = tmp_path / f"c{MAX_EXTENDS}.yaml"
    with pytest.raises(ScenarioError, match=re.escape(f"{top}: extends: a chain of more than {MAX_EXTENDS} files")):
        load_scenario(top)


def test_cli_refused_extends_exit_2_one_line_no_content(tmp_path):
    shadow = _foreign_file(tmp_path, "shadow")
    f = write(tmp_path, "s.yaml", f"extends: {shadow}\n{REQUIRED}")
    p = _cli("validate", str(f))
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "refused" in p.stderr and SECRET not in p.stderr + p.stdout


# ----------------------------------------------------------------------------------------- many events


def _many_events(tmp: Path, n: int) -> Path:
    """A scenario with ``n`` shift events (alternately +/-0.001, so every change stays valid)."""
    lines = [f"extends: {BASELINE}", f"name: events_{n}", "events:"]
    for i in range(n):
        d = 0.001 if i % 2 == 0 else -0.001
        lines.append(f"  - {{name: e{i}, text: shift {i}, when: {{month: {i % 60}}}, "
                     f"shift: {{donors.us.affinity.nrf: {d}}}}}")
    return write(tmp, f"events_{n}.yaml", "\n".join(lines) + "\n")


def _event_check_calls(f: Path) -> tuple[int, int]:
    """Events in the file, and Python function calls made checking them (a measure of work, not time)."""
    spec, m = load_scenario(f)
    prof = cProfile.Profile()
    prof.runcall(check_events, spec, m, str(f))
    return len(spec.events), pstats.Stats(prof).total_calls


def test_validation_work_grows_linearly_with_the_number_of_events(tmp_path):
    n_small, small = _event_check_calls(_many_events(tmp_path, 200))
    n_big, big = _event_check_calls(_many_events(tmp_path, 2000))
    assert n_small == 200 and n_big == 2000, "both files validate"
    # linear work gives a ratio of about 10; re-validating every event per event gave about 100
    assert big < 13 * small, f"checking 2,000 events made {big} calls, 200 made {small}"


# ----------------------------------------------------------------------------------------- package shape

LAYERS = ["errors", "schema", "safe_yaml", "merge", "references", "events", "load"]


@pytest.mark.parametrize("module", LAYERS)
def test_scenario_modules_import_only_those_below_and_only_at_the_top(module):
    source = (ROOT / "sim" / "scenario" / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    inner = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
    late = [x.lineno for n in inner for x in ast.walk(n) if isinstance(x, ast.Import | ast.ImportFrom)]
    assert not late, f"sim/scenario/{module}.py imports inside a function or class at lines {late}"
    ups = [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module
           and n.module.startswith("sim.scenario") and not (
               n.module.count(".") == 2 and LAYERS.index(n.module.split(".")[2]) < LAYERS.index(module))]
    assert not ups, f"sim/scenario/{module}.py imports {ups}, which are not below it in {LAYERS}"
    assert len(source.splitlines()) < 400
