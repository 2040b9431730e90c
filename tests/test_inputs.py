"""Hostile scenario content and command-line values: refused in one line, exit code 2, nothing read or written.

Every case runs the real command line in a subprocess and checks the exit code, that
standard error is one line naming the file (or option) and the field, that there is no
traceback, and that no output folder appears. A few checks of the mechanisms behind
them (the time order of events, the ``allow_outside`` switch) run in process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.model import ConflictModel
from sim.scenario import MAX_EXTENDS, ScenarioError, load_scenario, time_order
from tests.conftest import BASELINE, ROOT

RUN = [sys.executable, str(ROOT / "run.py")]
REQUIRED = "start: 2022-10-01\nfactions: {}\n"
SECRET = "secret-marker-5b1e"  # content of a file outside the tree: it must never reach a message


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / name
    f.write_text(text, encoding="utf-8")
    return f


def child(folder: Path, body: str, name: str = "child.yaml") -> Path:
    """A scenario that extends the library's baseline (which any scenario may extend) and changes ``body``."""
    return write(folder, name, f"extends: {BASELINE}\n{body}")


def run_one(f: Path, out: Path, *more: str) -> subprocess.CompletedProcess:
    """The smallest real run of ``f`` (one month, unless the months are swept)."""
    months = [] if any(a.startswith("months=") for a in more) else ["--months", "1"]
    return cli("run", str(f), "-n", "1", *months, "--out", str(out), "--seed", "1", "--figures", "none", *more)


def refused(p: subprocess.CompletedProcess, *expect: str) -> str:
    """Assert exit code 2, one line on standard error holding every ``expect``, no traceback; return the line."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for text in expect:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


# ----------------------------------------------------------------------------------------- extends


def _secret_outside(tmp: Path) -> Path:
    """A YAML file outside the scenario's folder whose content would be echoed if it were read."""
    return write(tmp / "outside", "secret.yaml", f"{SECRET}: 1\nname: {SECRET}\n{REQUIRED}")


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "symlinked_folder"])
def test_extends_outside_the_tree_is_refused_unread(tmp_path, how):
    secret = _secret_outside(tmp_path)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "link.yaml").symlink_to(secret)
    (lib / "sub").symlink_to(secret.parent, target_is_directory=True)
    parent = {"absolute": str(secret), "dotdot": "../outside/secret.yaml", "symlink": "link.yaml",
              "symlinked_folder": "sub/secret.yaml"}[how]
    f = write(lib, "child.yaml", f"extends: {parent}\nname: x\n{REQUIRED}")
    out = tmp_path / "out"
    for p in (cli("validate", str(f)), run_one(f, out)):
        refused(p, str(f), f"extends: refused {parent}", "outside")
        assert SECRET not in p.stderr + p.stdout, "nothing of a refused file may be shown"
    assert not out.exists()


def test_extends_through_a_symlink_loop_is_one_line(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    f = write(tmp_path, "child.yaml", f"extends: a.yaml\nname: x\n{REQUIRED}")
    refused(cli("validate", str(f)), str(f), "extends: refused a.yaml")
    refused(cli("validate", str(tmp_path / "a.yaml")), str(tmp_path / "a.yaml"))


def test_a_map_folder_outside_the_tree_is_refused(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "provinces.csv", f"{SECRET}\n")
    f = child(tmp_path / "lib", f"name: x\nmap: {outside}\n")
    refused(cli("validate", str(f)), str(f), "map: refused", "outside")
    f = child(tmp_path / "lib", "name: x\nmap: ../../etc\n", "up.yaml")
    p = cli("validate", str(f))
    refused(p, str(f), "map:")
    assert SECRET not in p.stderr


def test_inside_the_tree_and_the_library_are_allowed(tmp_path):
    lib = tmp_path / "lib"
    write(lib / "sub", "base.yaml", f"extends: {BASELINE}\nname: base\n")
    f = write(lib, "kid.yaml", "extends: sub/base.yaml\nname: kid\n")
    p = cli("validate", str(f))
    assert p.returncode == 0 and "ok (kid" in p.stdout, p.stderr


def test_allow_outside_is_the_explicit_way_out(tmp_path):
    write(tmp_path / "outside", "base.yaml", f"extends: {BASELINE}\nname: base\n")
    f = write(tmp_path / "lib", "kid.yaml", "extends: ../outside/base.yaml\nname: kid\n")
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario(f)
    assert load_scenario(f, allow_outside=True)[0].name == "kid"


def test_a_chain_of_1200_extends_blames_the_file_past_the_limit(tmp_path):
    write(tmp_path, "c0.yaml", BASELINE.read_text(encoding="utf-8"))
    for i in range(1, 1200):
        write(tmp_path, f"c{i}.yaml", f"extends: c{i - 1}.yaml\nname: c{i}\n")
    top, past = tmp_path / "c1199.yaml", tmp_path / f"c{1200 - MAX_EXTENDS}.yaml"
    refused(cli("validate", str(top)), str(top), f"a chain of more than {MAX_EXTENDS} files",
            f"exceeded by {past}")


def test_an_error_in_a_chain_blames_the_file_that_is_wrong(tmp_path):
    write(tmp_path, "c0.yaml", BASELINE.read_text(encoding="utf-8"))
    for i in range(1, 10):
        write(tmp_path, f"c{i}.yaml", f"extends: c{i - 1}.yaml\nname: c{i}\n")
    write(tmp_path, "c4.yaml", "extends: c3.yaml\nname: c4\nfactions:\n  nrf:\n    strenght: 5\n")
    write(tmp_path, "c7.yaml", "extends: c6.yaml\nname: c7\nfactions:\n  nrf:\n    home: [Panjsher]\n")
    line = refused(cli("validate", str(tmp_path / "c9.yaml")), "factions.nrf.strenght", "unknown key")
    assert line.startswith(f"error: {tmp_path / 'c4.yaml'}: ") and str(tmp_path / "c9.yaml") in line, line
    write(tmp_path, "c4.yaml", "extends: c3.yaml\nname: c4\n")
    line = refused(cli("validate", str(tmp_path / "c9.yaml")), "factions.nrf.home", "did you mean 'Panjshir'")
    assert line.startswith(f"error: {tmp_path / 'c7.yaml'}: "), line
    line = refused(cli("validate", str(tmp_path / "c5.yaml"), "--set", "factions.nrf.home=[Panjsher]"),
                   "factions.nrf.home")
    assert line.startswith("error: --set factions.nrf.home: "), "a --set value is blamed on the --set"


# ----------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("body, field", [
    ("name: a/b\n", "name"),
    ("name: ../..\n", "name"),
    ('name: "a\\nb"\n', "name"),
    (f"name: {'x' * 300}\n", "name"),
    ("name: .hidden\n", "name"),
    ("name: x\nfactions:\n  a/b: {label: A, kind: insurgent, strength: 1}\n", "factions.a/b"),
    ("name: x\ndonors:\n  ..: {label: D}\n", "donors..."),
    ('name: x\nevents:\n  - {name: "e\\n1", text: t, when: {step: 1}}\n', "events[0].name"),
    ('name: x\nfactions:\n  nrf:\n    label: "two\\nlines"\n', "factions.nrf.label"),
])
def test_unsafe_names_are_refused(tmp_path, body, field):
    f = child(tmp_path, body)
    refused(run_one(f, tmp_path / "out"), str(f), field)
    assert not (tmp_path / "out").exists()


def test_a_name_cannot_put_the_default_folder_outside_results(tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    f = child(work, "name: ../..\n")
    p = cli("run", str(f), "-n", "1", "--months", "1", "--seed", "1", "--figures", "none", cwd=work)
    refused(p, str(f), "name")
    assert sorted(x.name for x in tmp_path.rglob("*")) == ["a", "b", "child.yaml"], "nothing written anywhere"


# ----------------------------------------------------------------------------------------- strict types


@pytest.mark.parametrize("body, field, found", [
    ("months: true\n", "months", "True"),
    ('months: "12"\n', "months", "'12'"),
    ("months: 12.0\n", "months", "12.0"),
    ('factions:\n  nrf:\n    strength: "1e3"\n', "factions.nrf.strength", "'1e3'"),
    ("factions:\n  nrf:\n    strength: true\n", "factions.nrf.strength", "True"),
    ('factions:\n  nrf:\n    front: "no"\n', "factions.nrf.front", "'no'"),
    ("factions:\n  nrf:\n    front: 1\n", "factions.nrf.front", "1"),
    ('parameters:\n  control_rate: "0.2"\n', "parameters.control_rate", "'0.2'"),
    ("start: 20221001\n", "start", "20221001"),
    ('events:\n  - {name: e, text: t, when: {step: 2}, set: {donors.us.budget: "5"}}\n', "donors.us.budget", "'5'"),
])
def test_no_bool_or_text_is_taken_for_a_number(tmp_path, body, field, found):
    f = child(tmp_path, f"name: x\n{body}")
    refused(run_one(f, tmp_path / "out"), str(f), field, f"found {found}")
    assert not (tmp_path / "out").exists()


def test_numbers_are_still_numbers(tmp_path):
    f = child(tmp_path, "name: x\nmonths: 24\nfactions:\n  nrf:\n    strength: 1000\n    effectiveness: 1e0\n"
                        "parameters:\n  control_rate: 1\n")
    spec, _ = load_scenario(f)
    assert spec.factions["nrf"].strength == 1000.0 and spec.factions["nrf"].effectiveness == 1.0
    assert spec.parameters.control_rate == 1.0 and spec.months == 24
    p = cli("validate", *sorted(str(s) for s in (ROOT / "scenarios").glob("*.yaml")))
    assert p.returncode == 0 and p.stdout.count(": ok (") == len(list((ROOT / "scenarios").glob("*.yaml"))), p.stderr


# ----------------------------------------------------------------------------------------- events in time order

OUT_OF_ORDER = """name: x
donors:
  us:
    arms_willingness: 0.8
events:
  - {name: late_set, text: set, when: {month: 30}, set: {donors.us.arms_willingness: 0.3}}
  - {name: early_shift, text: shift, when: {month: 1}, shift: {donors.us.arms_willingness: 0.5}}
"""


def test_events_are_checked_in_the_order_a_run_fires_them(tmp_path):
    f = child(tmp_path, OUT_OF_ORDER)
    refused(cli("validate", str(f)), str(f), "events[1] (early_shift)", "donors.us.arms_willingness", "found 1.3")
    # listed backwards but valid in time order: it validates, and a run fires them by time without failing
    f = child(tmp_path, OUT_OF_ORDER.replace("0.8", "0.1"), "ok.yaml")
    spec, m = load_scenario(f)
    r = ConflictModel(spec, m, 1, months=31).run()
    fired = [t for _, t in r.events if "[event:" in t]
    assert fired == ["shift [event: early_shift]", "set [event: late_set]"], fired


def test_a_condition_is_checked_whenever_it_may_fire(tmp_path):
    body = ("name: x\nevents:\n"
            "  - {name: cond, text: c, when: {cohesion_below: 0.5}, shift: {donors.us.arms_willingness: 0.5}}\n"
            "  - {name: late_set, text: s, when: {month: 30}, set: {donors.us.arms_willingness: 0.8}}\n")
    f = child(tmp_path, body)
    refused(cli("validate", str(f)), str(f), "events[0] (cond)", "donors.us.arms_willingness", "found 1.3",
            "after events[1] (late_set)")
    # a condition that cannot fire before a set (not_before) may shift what the set gave
    body = ("name: x\nevents:\n"
            "  - {name: cond, text: c, when: {cohesion_below: 0.5, not_before: 2025-01-01}, "
            "shift: {donors.us.affinity.ttp: 0.5}}\n"
            "  - {name: early_set, text: s, when: {month: 3}, set: {donors.us.affinity.ttp: 0.1}}\n")
    assert load_scenario(child(tmp_path, body, "late.yaml"))[0].name == "x"
    with pytest.raises(ScenarioError, match=r"events\[0\] \(cond\).*can only shift a number"):
        load_scenario(child(tmp_path, body.replace(", not_before: 2025-01-01", ""), "early.yaml"))


def test_the_time_order_is_the_one_a_run_uses():
    for name in ("hindcast_2021_collapse", "regional_recognition", "hindcast_1996_2001", "terror_blowback"):
        spec, m = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        for step in ("month", "week"):
            s = spec.model_copy(update={"time_step": step})
            runner = ConflictModel(s, m, 1)._events
            assert sorted((st, i) for i, st in runner.fire_step.items()) == time_order(s), (name, step)


def _many_events(tmp: Path, n: int, conditions: int = 0) -> Path:
    """``n`` timed shift events and ``conditions`` conditional ones, all on one field."""
    lines = [f"extends: {BASELINE}", f"name: events_{n}", "events:"]
    for i in range(n):
        lines.append(f"  - {{name: e{i}, text: t, when: {{month: {i % 60}}}, "
                     f"shift: {{donors.us.affinity.nrf: {0.001 if i % 2 == 0 else -0.001}}}}}")
    for i in range(conditions):
        lines.append(f"  - {{name: c{i}, text: t, when: {{cohesion_below: 0.{i + 1}}}, "
                     f"shift: {{donors.us.affinity.nrf: {0.01 if i % 2 == 0 else -0.01}}}}}")
    return write(tmp, f"events_{n}_{conditions}.yaml", "\n".join(lines) + "\n")


@pytest.mark.parametrize("conditions", [0, 6])
def test_two_thousand_events_validate(tmp_path, conditions, capsys):
    f = _many_events(tmp_path, 2000 - conditions, conditions)
    start = time.perf_counter()
    p = cli("validate", str(f))
    took = time.perf_counter() - start
    assert p.returncode == 0 and "ok (events_" in p.stdout, p.stderr
    with capsys.disabled():
        print(f"\n2,000 events ({conditions} conditional), {f.stat().st_size:,} bytes: validate took {took:.1f} s")
    assert took < 120, "a bound that never flakes; the time is printed above"


def test_too_many_conditions_on_one_field_are_refused(tmp_path):
    f = _many_events(tmp_path, 2, 7)
    refused(cli("validate", str(f)), str(f), "donors.us.affinity.nrf", "more than 6 conditional events")


# ----------------------------------------------------------------------------------------- command-line values


@pytest.mark.parametrize("args, expect", [
    (["--set", "months=true"], ["--set months", "found True"]),
    (["--set", "months=1e9"], ["--set months", "1000000000"]),
    (["--set", 'months="12"'], ["--set months", "'12'"]),
    (["--set", "factions.nrf.front=no"], None),  # a YAML boolean: accepted
    (["--set", "name=../x"], ["--set name", "name"]),
    (["--sweep", "months=nan"], ["--sweep months=nan", "months"]),
    (["--sweep", "months=3,1e9"], ["--sweep months=1000000000.0", "months"]),
    (["--sweep", "=1,2"], ["--sweep =1,2", "expected path=value1"]),
    (["--sweep", "factions..strength=1,2"], ["--sweep factions..strength"]),
    (["--sweep", "name=a,b"], ["--sweep name", "cannot be swept"]),
    (["--sweep", "months=3", "--sweep", "months=6"], ["--sweep months", "given twice"]),
    (["--sweep", "time_step=month,year"], ["--sweep time_step=year", "time_step"]),
    ([a for k in range(5) for a in ("--sweep", f"factions.nrf.strength{'' if k == 0 else k}=" +
                                    ",".join(str(v) for v in range(7)))], ["--sweep", "at most"]),
])
def test_command_line_values_obey_the_file_bounds(tmp_path, args, expect):
    p = run_one(BASELINE, tmp_path / "out", *args)
    if expect is None:
        assert p.returncode == 0, p.stderr
        return
    line = refused(p, *expect)
    assert "--set" not in line or args[0] == "--set", "a --sweep value is named as --sweep"
    assert not (tmp_path / "out").exists()


def test_swept_months_really_run_that_long(tmp_path):
    out = tmp_path / "out"
    p = cli("run", str(BASELINE), "-n", "1", "--seed", "1", "--figures", "none", "--sweep", "months=3,6",
            "--out", str(out))
    assert p.returncode == 0, p.stderr
    traj = pd.read_parquet(out / "trajectories.parquet", columns=["point", "step"])
    assert traj.groupby("point")["step"].max().to_dict() == {0: 3, 1: 6}


def test_a_sweep_point_is_checked_like_a_file(tmp_path):
    body = ("name: x\nevents:\n  - {name: e, text: t, when: {step: 20}, "
            "shift: {donors.us.arms_willingness: 0.5}}\n")
    f = child(tmp_path, body)
    refused(run_one(f, tmp_path / "out", "--sweep", "donors.us.arms_willingness=0.2,0.7"),
            "--sweep donors.us.arms_willingness=0.7", "events[0] (e)", "found 1.2")
    refused(run_one(BASELINE, tmp_path / "out", "--sweep", "factions.nrf.home=[Panjsher]"),
            "--sweep", "did you mean 'Panjshir'")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------- hostile files


def _nested(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("case", ["not_utf8", "ten_mb", "nested", "1e400", "nan", "negative_months", "huge_int",
                                  "newline_key", "binary_tag", "duplicate_key", "list_top", "empty", "unknown_key"])
def test_hostile_files_fail_in_one_line(tmp_path, case):
    f = tmp_path / f"{case}.yaml"
    head = f"extends: {BASELINE}\nname: x\n"
    texts = {
        "nested": head + _nested(200),
        "1e400": head + "factions:\n  nrf:\n    strength: 1e400\n",
        "nan": head + "donors:\n  us:\n    budget: .nan\n",
        "negative_months": head + "months: -5\n",
        "huge_int": head + "months: 1" + "0" * 5000 + "\n",
        "newline_key": head + 'factions:\n  nrf:\n    control: {"Pan\\njshir": 0.1}\n',
        "binary_tag": "extends: " + str(BASELINE) + "\nname: !!binary aGVsbG8=\n",
        "duplicate_key": head + "months: 3\nmonths: 4\n",
        "list_top": "- 1\n- 2\n",
        "empty": "",
        "unknown_key": head + "factions:\n  nrf:\n    strenght: 5\n",
    }
    if case == "not_utf8":
        f.write_bytes(b"name: \xff\xfe\n")
    elif case == "ten_mb":
        f.write_bytes(b"# " + b"x" * 10_000_000 + b"\n")
    else:
        f.write_text(texts[case], encoding="utf-8")
    refused(run_one(f, tmp_path / "out"), str(f))
    assert not (tmp_path / "out").exists()
