"""The results folder under faults and races: one writer, only our folders replaced, crash-safe metadata,
children that die with their parent, unwritable outputs in one line. Real subprocesses, real files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import executors
from sim.batch import run_batch
from sim.folder import MADE_BY
from sim.plan import BatchError, load_points
from sim.random import replication_seed
from tests.conftest import BASELINE, ROOT

psutil = pytest.importorskip("psutil", reason="psutil is not installed")

RUN = [sys.executable, str(ROOT / "run.py")]
SMALL = [str(BASELINE), "-n", "4", "--seed", "5", "--months", "3", "--figures", "none"]


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def one_line(p: subprocess.CompletedProcess, code: int = 2) -> str:
    """The process failed with ``code`` and one line on stderr, no traceback; returns the line."""
    assert p.returncode == code, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    lines = [line for line in p.stderr.strip().splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, p.stderr
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    """Every data file's hash (not the manifest, ledger, lock or figures, whose bytes hold times)."""
    skip = {"manifest.json", "runs.jsonl", ".lock"}
    return {f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file() and f.name not in skip and "figures" not in f.parts}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {f.relative_to(folder).as_posix(): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


# --- one writer per folder -------------------------------------------------------------------------------

def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*RUN, "run", str(BASELINE), "-n", "3000", "--seed", "21", "--months", "60",
                             "-w", "2", "--figures", "none", "--out", str(out), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for_lines(ledger: Path, proc: subprocess.Popen, n: int = 2, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ledger.exists() and len(ledger.read_text().splitlines()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the batch wrote no ledger line in time (exit {proc.poll()})")


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "shared"
    a = _start(out)
    try:
        _wait_for_lines(out / "runs.jsonl", a)
        for extra in (["--seed", "22", "--overwrite"], ["--resume"], []):
            b = cli("run", str(BASELINE), "-n", "3000", "--months", "60", "--figures", "none", "--out", str(out),
                    *(extra or ["--seed", "21"]))
            line = one_line(b)
            assert "in use by process" in line and str(a.pid) in line and "run.py run" in line, line
        a.send_signal(signal.SIGTERM)
        a.communicate(timeout=120)
        assert a.returncode == 143
    finally:
        if a.poll() is None:
            a.kill()
    man = json.loads((out / "manifest.json").read_text())
    assert man["base_seed"] == 21 and man["status"] == "interrupted"
    # once the holder is gone, the lock is free: resume finishes the batch, and every run is seed 21's
    r = cli("run", str(BASELINE), "-n", "3000", "--seed", "21", "--months", "60", "-w", "2", "--figures", "none",
            "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr
    traj = pd.read_parquet(out / "government.parquet", columns=["replication", "seed"]).drop_duplicates()
    assert len(traj) == 3000
    assert all(int(s) == replication_seed(21, int(i)) for i, s in zip(traj["replication"], traj["seed"], strict=True))
    chunks = [json.loads(line)["chunk"] for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(chunks) == len(set(chunks)) == 300


def test_two_plain_runs_started_together_one_wins(tmp_path):
    out = tmp_path / "race"
    for attempt in range(3):
        target = out / str(attempt)
        procs = [subprocess.Popen([*RUN, "run", *SMALL, "--out", str(target)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
        errs = [p.communicate(timeout=600)[1] for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 2], (codes, errs)
        loser = errs[[p.returncode for p in procs].index(2)]
        assert "Traceback" not in loser and ("in use by" in loser or "already holds results" in loser), loser
        assert json.loads((target / "manifest.json").read_text())["status"] == "complete"
        assert len((target / "runs.jsonl").read_text().splitlines()) == 1


# --- only folders this tool made --------------------------------------------------------------------------

def test_overwrite_refuses_a_folder_this_tool_did_not_make(tmp_path):
    out = tmp_path / "paper"
    (out / "figures").mkdir(parents=True)
    (out / "manifest.json").write_text('{"title": "my paper"}\n')
    (out / "figures" / "fig1_for_paper.png").write_bytes(b"\x89PNG user figure")
    before = snapshot(out)
    for extra in (["--overwrite"], [], ["--resume"]):
        line = one_line(cli("run", *SMALL, "--out", str(out), *extra))
        assert str(out) in line, line
    assert snapshot(out) == before, "nothing of the user's was touched"
    # a folder with only a user's notes is not ours either
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    one_line(cli("run", *SMALL, "--out", str(notes), "--overwrite"))
    assert sorted(p.name for p in notes.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("target", ["/", "~", "/."])
def test_root_and_home_are_never_results_folders(target):
    root_before = sorted(os.listdir("/"))
    line = one_line(cli("run", *SMALL, "--out", target, "--overwrite"))
    assert "folder of its own" in line, line
    assert sorted(os.listdir("/")) == root_before


def test_overwrite_removes_only_what_the_tool_wrote(tmp_path):
    out = tmp_path / "ours"
    assert cli("run", str(BASELINE), "-n", "2", "--seed", "1", "--months", "2", "--out", str(out)).returncode == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["made_by"] == MADE_BY and man["figures"] == ["figures/map_month_000.png", "figures/map_month_002.png",
                                                            "figures/territory.png"]
    (out / "figures" / "my_annotated_copy.png").write_bytes(b"mine")
    (out / "README.txt").write_text("about this batch")
    one_line(cli("run", *SMALL, "--out", str(out)))  # results there: refused without --overwrite
    p = cli("run", *SMALL, "--out", str(out), "--overwrite")
    assert p.returncode == 0, p.stderr
    assert (out / "figures" / "my_annotated_copy.png").read_bytes() == b"mine"
    assert (out / "README.txt").read_text() == "about this batch"
    assert not (out / "figures" / "territory.png").exists(), "the old batch's figures went (this one draws none)"
    assert json.loads((out / "manifest.json").read_text())["base_seed"] == 5


# --- crash-safe metadata ----------------------------------------------------------------------------------

def test_an_unreadable_manifest_is_one_line_and_overwrite_recovers(tmp_path):
    out = tmp_path / "torn"
    assert cli("run", *SMALL, "--out", str(out)).returncode == 0
    text = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(text[: len(text) // 3])  # what an in-place write on a full disk left
    for extra in (["--resume"], []):
        line = one_line(cli("run", *SMALL, "--out", str(out), *extra))
        assert "manifest.json" in line and "--overwrite" in line, line
    p = cli("run", *SMALL, "--out", str(out), "--overwrite")
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    line = one_line(cli("run", *SMALL, "--out", str(out)))
    assert "already holds results (manifest.json)" in line


def test_without_a_manifest_the_message_names_what_is_there(tmp_path):
    out = tmp_path / "nomanifest"
    assert cli("run", *SMALL, "--out", str(out)).returncode == 0
    (out / "manifest.json").unlink()
    line = one_line(cli("run", *SMALL, "--out", str(out)))
    assert "runs.jsonl" in line and "manifest.json" not in line.split("(")[1], line
    line = one_line(cli("run", *SMALL, "--out", str(out), "--resume"))
    assert "no manifest.json" in line
    assert cli("run", *SMALL, "--out", str(out), "--overwrite").returncode == 0


def test_a_ledger_line_without_runs_is_redone_by_one_resume(tmp_path):
    points = load_points([BASELINE], months=2)
    out = tmp_path / "ledger"
    run_batch(points, 30, 4, out, workers=1, progress=False)
    clean = digest(out)
    ledger = out / "runs.jsonl"
    lines = ledger.read_text().splitlines()
    rec = json.loads(lines[1])
    ledger.write_text(f"{lines[0]}\n{json.dumps({'chunk': rec['chunk']})}\n{lines[2][:7]}")  # no runs; torn tail
    s = run_batch(points, 30, 4, out, workers=1, resume=True, progress=False)
    assert s.status == "complete" and s.completed_runs == 30 and s.resumed_runs == 10
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert digest(out) == clean


def test_errors_keep_one_line_per_failed_run_across_resumes(tmp_path, monkeypatch):
    real = executors.run_one
    failing = {3, 5}

    def flaky(spec, m, seed, replication, months=None):
        if replication in failing:
            raise RuntimeError(f"boom in replication {replication}")
        return real(spec, m, seed, replication, months)

    monkeypatch.setattr(executors, "run_one", flaky)
    points = load_points([BASELINE], months=2)
    out = tmp_path / "flaky"
    for _ in range(3):
        s = run_batch(points, 8, 7, out, workers=1, resume=out.exists(), progress=False)
        assert s.status == "incomplete" and s.failed_runs == 2
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert sorted(e["replication"] for e in errors) == [3, 5]
    failing.clear()  # the cause is fixed: a resume retries them, and the errors file empties
    s = run_batch(points, 8, 7, out, workers=1, resume=True, progress=False)
    assert s.status == "complete" and (out / "errors.jsonl").read_text() == ""


def test_complete_only_after_the_figures(tmp_path):
    seen = {}

    def finalize(summary):
        seen["status"] = json.loads((summary.out / "manifest.json").read_text())["status"]
        seen["summary"] = summary.status
        return []

    s = run_batch(load_points([BASELINE], months=2), 2, 1, tmp_path / "f", workers=1, progress=False,
                  finalize=finalize)
    assert seen == {"status": "running", "summary": "complete"}
    assert s.status == "complete" and json.loads((tmp_path / "f" / "manifest.json").read_text())["status"] == "complete"

    def broken(summary):
        raise OSError(28, "No space left on device", str(summary.out / "figures" / "territory.png"))

    with pytest.raises(OSError):
        run_batch(load_points([BASELINE], months=2), 2, 1, tmp_path / "g", workers=1, progress=False, finalize=broken)
    assert json.loads((tmp_path / "g" / "manifest.json").read_text())["status"] == "failed"


def test_the_library_refuses_a_folder_in_use(tmp_path):
    from sim.folder import writer

    out = tmp_path / "held"
    with writer(out, "a notebook cell"), pytest.raises(BatchError, match=r"in use by process .*a notebook cell"):
        run_batch(load_points([BASELINE], months=2), 2, 1, out, workers=1, progress=False)
    assert not out.exists(), "a folder created for a refused command is removed again"


# --- children die with their parent -----------------------------------------------------------------------

def _session(sid: int) -> list:
    found = []
    for p in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
    return found


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_kill_9_leaves_no_process_and_no_open_output(tmp_path, executor):
    if executor == "dask":
        pytest.importorskip("distributed", reason="Dask distributed is not installed")
    out = tmp_path / "k9"
    proc = subprocess.Popen([*RUN, "run", str(BASELINE), "-n", "6000", "--seed", "3", "--months", "60", "-w", "2",
                             "--executor", executor, "--figures", "none", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        lines = len((out / "runs.jsonl").read_text().splitlines()) if (out / "runs.jsonl").exists() else 0
        if lines >= 4 and len(psutil.Process(proc.pid).children(recursive=True)) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the batch ended before it could be killed"
    proc.kill()
    t0 = time.time()
    proc.stdout.read()  # like `| tee`: returns only once no process holds the output open
    proc.wait()
    waited = time.time() - t0
    left = _session(proc.pid)
    for _ in range(100):
        if not left:
            break
        time.sleep(0.1)
        left = _session(proc.pid)
    assert not left, [p.cmdline() for p in left]
    assert waited < 30, f"the output stayed open {waited:.0f} s after kill -9"
    r = cli("run", str(BASELINE), "-n", "6000", "--seed", "3", "--months", "60", "-w", "2", "--executor", executor,
            "--figures", "none", "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr


# --- unwritable outputs -------------------------------------------------------------------------------------

def test_unwritable_outputs_are_one_line_naming_the_path(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    line = one_line(cli("run", *SMALL, "--out", str(a_file)))
    assert str(a_file) in line
    line = one_line(cli("run", *SMALL, "--out", str(a_file / "sub")))
    assert str(a_file) in line, line
    assert a_file.read_text() == "not a folder"
    res = tmp_path / "res"
    assert cli("run", *SMALL, "--out", str(res)).returncode == 0
    readme = tmp_path / "README.md"
    readme.write_text("# mine\n")
    line = one_line(cli("compare", str(res), "--out", str(readme)))
    assert str(readme) in line and readme.read_text() == "# mine\n"
    line = one_line(cli("compare", str(res), "--out", str(res)))
    assert "one of the results folders" in line


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small filesystem of its own, to fill; the test skips where none can be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {p.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_is_one_line_and_resume_finishes_identically(tmp_path):
    args = [str(BASELINE), "-n", "200", "--seed", "8", "--months", "24", "-w", "2", "--figures", "summary"]
    ref = tmp_path / "ref"
    assert cli("run", *args, "--out", str(ref)).returncode == 0
    with tmpfs(tmp_path / "disk", "3m") as disk:
        out = disk / "batch"
        line = one_line(cli("run", *args, "--out", str(out)))
        assert "No space left on device" in line and str(disk) in line and "--resume" in line, line
        man = json.loads((out / "manifest.json").read_text())  # whole, never truncated
        assert man["status"] in ("running", "failed")
        assert not list(out.rglob(".*.tmp")), "no temporary file is left behind"
        subprocess.run(["mount", "-o", "remount,size=200m", str(disk)], check=True)
        r = cli("run", *args, "--out", str(out), "--resume")
        assert r.returncode == 0, r.stderr
        assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
        assert digest(out) == digest(ref)


def test_a_disk_that_fills_at_any_moment_leaves_a_usable_folder(tmp_path):
    """The disk full at the manifest, the ledger, a part, the event log or a figure: always one line, and
    the folder resumes (or, with no manifest yet, runs afresh)."""
    args = [str(BASELINE), "-n", "6", "--seed", "8", "--months", "6", "-w", "1", "--figures", "summary"]
    with tmpfs(tmp_path / "disk", "2m") as disk:
        sizes = [2048 * 1024 - k * 40 * 1024 for k in range(1, 16)]
        outcomes = set()
        for i, fill in enumerate(sizes):
            filler = disk / "filler"
            with contextlib.suppress(OSError):
                filler.write_bytes(b"\0" * fill)
            out = disk / f"b{i}"
            p = cli("run", *args, "--out", str(out))
            assert "Traceback" not in p.stderr, p.stderr
            outcomes.add(p.returncode)
            if p.returncode == 0:
                filler.unlink()
                continue
            one_line(p)
            man = out / "manifest.json"
            if man.exists():
                json.loads(man.read_text())  # never truncated
            filler.unlink()
            again = ["--resume"] if man.exists() else []
            r = cli("run", *args, "--out", str(out), *again)
            assert r.returncode == 0, (fill, r.stderr)
            assert json.loads(man.read_text())["status"] == "complete"
            subprocess.run(["rm", "-rf", str(out)])
        assert 2 in outcomes, "the disk never filled: the test exercised nothing"


def test_a_read_only_filesystem_is_one_line(tmp_path):
    with tmpfs(tmp_path / "ro", "1m") as ro:
        (ro / "existing").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        for target in (ro / "new", ro / "existing"):
            line = one_line(cli("run", *SMALL, "--out", str(target)))
            assert str(target) in line and "Read-only file system" in line, line


def test_compare_names_a_folder_without_runs_and_warns_on_an_unfinished_one(tmp_path, monkeypatch):
    def failing(spec, m, seed, replication, months=None):
        raise RuntimeError("every run fails")

    monkeypatch.setattr(executors, "run_one", failing)
    dead = tmp_path / "dead"
    s = run_batch(load_points([BASELINE], months=2), 3, 1, dead, workers=1, progress=False)
    assert s.completed_runs == 0
    line = one_line(cli("compare", str(dead), "--out", str(tmp_path / "r0")))
    assert str(dead) in line and "no completed run" in line, line
    assert not (tmp_path / "r0").exists()
    line = one_line(cli("compare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r1")))
    assert "not a results folder" in line
    # a batch still running: the report is written, with a warning that names the writer
    out = tmp_path / "running"
    a = _start(out)
    try:
        _wait_for_lines(out / "runs.jsonl", a)
        p = cli("compare", str(out), "--out", str(tmp_path / "r2"), "--months", "1")
        assert p.returncode == 0, p.stderr
        assert "warning:" in p.stderr and "still being written" in p.stderr and str(a.pid) in p.stderr, p.stderr
    finally:
        a.kill()
        a.wait()
    p = cli("compare", str(out), "--out", str(tmp_path / "r3"), "--months", "1")  # killed: status running
    assert p.returncode == 0 and "--resume" in p.stderr, p.stderr
    for months in ("-5", "nan", "61"):
        line = one_line(cli("compare", str(out), "--out", str(tmp_path / "r4"), "--months", months))
        assert "--months" in line, line


def test_a_damaged_part_is_named_and_resume_redoes_its_chunk(tmp_path):
    out = tmp_path / "damaged"
    args = ["run", *SMALL[:-2], "--figures", "summary", "--out", str(out)]
    assert cli(*args).returncode == 0
    clean = digest(out)
    part = sorted((out / "trajectories.parquet").iterdir())[0]
    data = bytearray(part.read_bytes())
    data[200:2000] = bytes(b ^ 0x5A for b in data[200:2000])  # the disk, or a hand, damaged it
    part.write_bytes(bytes(data))
    line = one_line(cli("compare", str(out), "--out", str(tmp_path / "r")))
    assert str(part) in line and "unreadable Parquet part" in line and "--resume" in line, line
    line = one_line(cli(*args, "--resume"))  # the figures read it: the same line
    assert str(part) in line
    part.unlink()
    assert cli(*args, "--resume").returncode == 0
    assert digest(out) == clean
