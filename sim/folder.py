"""Results folders: one writer at a time, and only folders this tool made are ever replaced.

A command that writes a results folder holds its lock (:func:`writer`) from before it
looks at the folder until its last file is written: a second command on the same folder
is refused, naming the holder, instead of both passing the "already holds results" check
and mixing their runs. The lock is an ``flock`` on ``.lock``, so the kernel releases it
when the holder dies, ``kill -9`` included: a stale lock never blocks a ``--resume``.

The lock file is removed when the command ends, so a folder holds one only while in use.
A folder may be written only if it is empty or this tool made it (its manifest carries
:data:`MADE_BY`, or, with an unreadable manifest, it holds nothing but this tool's
files). ``--overwrite`` removes only what this tool writes: a user's file in the folder,
even under ``figures/``, is kept. A filesystem root or the home folder is never a
results folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sim.manifest import MANIFEST
from sim.outcomes import FIGURE_MEASURES
from sim.plan import BatchError
from sim.store import TABLES

__all__ = ["LOCK", "MADE_BY", "SUMMARIES", "FolderError", "clear", "default_out", "holder", "manifest_of", "ours",
           "refuse_special",
           "resume_command", "writer"]

LOCK = ".lock"
SUMMARIES = "dashboard"  # the dashboard's cache of a folder's summaries (sim.dashboard.summary)
MADE_BY = "afghan-conflict-lab"  # the marker a results folder's manifest carries
FILES = frozenset({MANIFEST, "runs.jsonl", "errors.jsonl", "events.txt", "figures", LOCK, SUMMARIES,
                   *(f"{t}.parquet" for t in TABLES)})
# a figure this tool draws: a measure's figure or a map, never a user's file beside them
_NAMES = "|".join(re.escape(m.figure) for m in FIGURE_MEASURES if m.figure)
FIGURE = re.compile(rf"^(?:{_NAMES}|map_month_\d{{3}})\.png$")


class FolderError(BatchError):
    """A results folder that cannot be used: in use, not this tool's, or unreadable."""


def manifest_of(out: Path) -> dict[str, Any] | None:
    """A results folder's manifest; None without one.

    Raises:
        FolderError: it exists but cannot be read as a JSON object (a truncated write by
            an older version, a hand edit); the message says how to recover the folder.
    """
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FolderError(f"{path}: unreadable ({type(exc).__name__}); the batch cannot be resumed; "
                          f"--overwrite starts the folder afresh") from None
    if not isinstance(data, dict):
        raise FolderError(f"{path}: unreadable (not a JSON object); --overwrite starts the folder afresh")
    return data


def _entries(out: Path) -> set[str]:
    return {e.name for e in out.iterdir()} - {LOCK} if out.is_dir() else set()


def ours(out: Path) -> bool:
    """Whether ``out`` is empty or was made by this tool (see the module's docstring).

    Without a readable manifest (deleted, or torn by an older version), a folder is ours if it
    holds nothing but this tool's files and some of its results (a ledger or a table).
    """
    entries = _entries(out)
    if not entries:
        return True
    try:
        data = manifest_of(out)
    except FolderError:
        data = None
    if data is not None:
        return data.get("made_by") == MADE_BY
    return entries <= FILES and bool(entries & (FILES - {MANIFEST, "figures"}))


def occupied(out: Path) -> str | None:
    """The one-line refusal if ``out`` (held by this command) already holds files besides its lock, else None.

    For the commands that write only into a new or empty folder (patterns, effects, robustness).
    """
    if any(e.name != LOCK for e in out.iterdir()):
        return f"--out: {out} already holds files; choose a new or empty folder"
    return None


def default_out(name: str) -> Path:
    """A new folder ``results/<name>_<date-time>`` (with a counter if that exists)."""
    base = Path("results") / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
    out, k = base, 1
    while out.exists():
        out = base.with_name(f"{base.name}-{k}")
        k += 1
    return out


def refuse_special(out: Path, option: str = "--out") -> None:
    """Refuse a filesystem root, the home folder, or an existing file as a results folder."""
    full = out.expanduser().resolve()
    if full == Path(full.anchor) or full == Path.home().resolve():
        raise FolderError(f"{option}: {out} is {'the root' if full == Path(full.anchor) else 'the home'} "
                          f"folder; choose a folder of its own")
    if out.exists() and not out.is_dir():
        raise FolderError(f"{option}: {out} exists and is not a folder")


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"process {info['pid']} since {info['since']}: {info['command']}"
    return "another process"


def _lock(out: Path, command: str) -> int:
    """Take the folder's lock, or refuse; returns the lock file's descriptor."""
    import fcntl

    path = out / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise FolderError(f"{out}: in use by {holder}; wait for it to end, or choose another --out") from None
        # the file may have been removed by a holder that just left (see writer): lock the one in place
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "command": command[:500]}).encode("utf-8"), 0)
    return fd


def holder(out: Path) -> str | None:
    """Who holds ``out``'s lock (a command writing it now), or None."""
    import fcntl

    try:
        fd = os.open(out / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        return _holder(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writer(out: Path, command: str) -> Iterator[Path]:
    """Hold ``out``'s lock for a whole command; create the folder if need be.

    A folder this command created and left empty (it was refused, or failed before
    writing anything) is removed again, so a failed command leaves nothing behind.

    Args:
        out: the results folder.
        command: what holds it, shown to a second writer.

    Raises:
        FolderError: a root or home folder, a file, a folder that cannot be created, or a
            folder in use by another command.
    """
    refuse_special(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FolderError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        fd = _lock(out, command)
    except OSError as exc:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise FolderError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    try:
        yield out
    finally:
        # removed while still held: a command waiting on this file finds it gone and locks afresh (_lock)
        with contextlib.suppress(OSError):
            (out / LOCK).unlink()
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if this command left it empty


def clear(out: Path) -> None:
    """Remove what this tool wrote in ``out`` (for ``--overwrite``); other files stay.

    Raises:
        FolderError: ``out`` is not empty and was not made by this tool.
    """
    import shutil

    if not ours(out):
        raise FolderError(f"{out}: not a results folder of this tool (no manifest made by it); --out and "
                          f"--overwrite take an empty folder or one made by run.py run")
    for table in TABLES:
        shutil.rmtree(out / f"{table}.parquet", ignore_errors=True)
    shutil.rmtree(out / SUMMARIES, ignore_errors=True)  # summaries of the runs being removed
    for name in ("runs.jsonl", "errors.jsonl", "events.txt", MANIFEST):
        (out / name).unlink(missing_ok=True)
    for f in out.glob(".*.tmp"):
        f.unlink(missing_ok=True)
    figures = out / "figures"
    if figures.is_dir():
        for f in sorted(figures.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if f.is_file() and FIGURE.match(f.name):
                f.unlink()
            elif f.is_dir() and not any(f.iterdir()):
                f.rmdir()
        with contextlib.suppress(OSError):
            figures.rmdir()  # only if nothing of the user's is left in it


@contextlib.contextmanager
def study(args: Any, name: str, error: type[Exception]) -> Iterator[tuple[Path, str]]:
    """The results folder of a study command (patterns, effects, robustness, tipping, sensitivity).

    ``--out`` or a new ``results/<name>_<date-time>``, held by :func:`writer` for the whole
    command, and refused (``error``, a one-line message) if it already holds files.

    Args:
        args: the parsed command line (``out`` and ``argv``).
        name: the command, for the default folder's name.
        error: the command's user-error class.

    Yields:
        The folder and the command line that holds it.
    """
    out = Path(args.out) if args.out else default_out(name)
    command = " ".join(["run.py", *args.argv])
    with writer(out, command):
        if refusal := occupied(out):
            raise error(refusal)
        yield out, command


def resume_command(argv: Sequence[str], out: Path | None) -> str:
    """The command that finishes an interrupted one: the same, with ``--resume`` (and ``--out``, if given)."""
    args = [a for a in argv if a not in ("--overwrite", "--resume")]
    if out is not None and not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", str(out)]
    return shlex.join(["uv", "run", "run.py", *args, "--resume"])
