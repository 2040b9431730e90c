"""SIGINT and SIGTERM mid-batch: no process left, the manifest says interrupted, --resume finishes it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BASELINE, ROOT

psutil = pytest.importorskip("psutil", reason="psutil is not installed")

RUN = [sys.executable, str(ROOT / "run.py"), "run"]
ARGS = [str(BASELINE), "-n", "600", "--seed", "9", "--months", "60"]


def _files(folder: Path) -> dict[str, str]:
    skip = {"manifest.json", "runs.jsonl"}
    return {f.relative_to(folder).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in folder.rglob("*") if f.is_file() and f.name not in skip and "figures" not in f.parts}


def _session(sid: int) -> list[psutil.Process]:
    """Processes of a session (the batch was started in its own): what it left behind."""
    found = []
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("signals") / "clean"
    p = subprocess.run([*RUN, *ARGS, "-w", "1", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("signum, code, executor", [(signal.SIGINT, 130, "local"), (signal.SIGTERM, 143, "local"),
                                                    (signal.SIGINT, 130, "dask")])
def test_signal_stops_every_process_and_resume_finishes(tmp_path, clean, signum, code, executor):
    if executor == "dask":
        pytest.importorskip("distributed", reason="Dask distributed is not installed")
    out = tmp_path / "batch"
    proc = subprocess.Popen([*RUN, *ARGS, "-w", "2", "--executor", executor, "--out", str(out)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    ledger = out / "runs.jsonl"
    deadline = time.time() + 600
    # wait until the workers run chunks (pool: the fork server, two workers, the resource tracker;
    # Dask: two worker processes and the resource tracker)
    while time.time() < deadline and proc.poll() is None:
        lines = len(ledger.read_text().splitlines()) if ledger.exists() else 0
        if lines >= 8 and len(psutil.Process(proc.pid).children(recursive=True)) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C: the terminal signals the whole process group
    else:
        proc.send_signal(signum)  # `kill PID`: the batch's own process only
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "--resume" in lines[0] and str(out) in lines[0], lines[0]
    left = _session(proc.pid)
    for _ in range(50):  # a process may still be on its way out
        if not left:
            break
        time.sleep(0.1)
        left = _session(proc.pid)
    assert not left, f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "interrupted"
    done = len(ledger.read_text().splitlines())
    assert done < 60, "the batch was interrupted part-way"

    p = subprocess.run([*RUN, *ARGS, "-w", "2", "--out", str(out), "--resume"], capture_output=True, text=True,
                       cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert _files(out) == _files(clean), "an interrupted and resumed batch equals a clean one"
