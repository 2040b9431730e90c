"""Crash-safe file writes: a temporary file, flushed to disk, then renamed over the target.

A reader (or a resumed batch) sees the old file or the new one, never half of one: a
crash, a kill or a full disk mid-write leaves the previous version in place and no
temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["named", "write_atomic", "write_text_atomic"]


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries, so that a rename survives a power loss (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def named(exc: OSError, path: Path, written: Path | None = None) -> OSError:
    """The error of a failed write, naming ``path``: a failed write names no file (or the temporary one)."""
    if exc.filename is None or (written is not None and Path(exc.filename) == written):
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


def write_atomic(path: Path, data: bytes, sync: bool = True) -> Path:
    """Write bytes to ``path`` through ``.<name>.tmp`` beside it, then rename.

    Args:
        path: the file to write.
        data: its whole content.
        sync: flush the file and its folder to disk before and after the rename (a
            metadata file); False for bulk data whose ledger line is flushed later.

    Raises:
        OSError: the write failed, naming ``path`` (the old file, if any, is untouched and
            the temporary file is removed).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise named(exc, path, tmp) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync:
        _sync_folder(path.parent)
    return path


def write_text_atomic(path: Path, text: str, sync: bool = True) -> Path:
    """:func:`write_atomic` for UTF-8 text."""
    return write_atomic(path, text.encode("utf-8"), sync)
