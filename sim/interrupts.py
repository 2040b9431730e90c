"""Stopping a batch: signals, and every process it started.

SIGINT and SIGTERM become an exception in the batch, are held while a chunk is recorded,
and on the way out every process the batch started is stopped (pool workers, the fork
server, the resource tracker).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from sim.executors import stop_helper_processes

__all__ = ["BatchInterrupted", "signals_held", "stop_on_signals", "stop_processes"]


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by SIGINT or SIGTERM; its processes are stopped and its manifest says so.

    Attributes:
        signum: the signal (``signal.SIGINT`` or ``signal.SIGTERM``).
        summary: the batch's BatchSummary as far as it got (None while it is being raised inside the batch).
    """

    def __init__(self, signum: int, summary: Any = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.summary = summary


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise BatchInterrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`BatchInterrupted` in the batch (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a chunk is recorded: a ledger line is never torn by them."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows: the ledger's torn-line repair covers it
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def stop_processes(since: float) -> None:
    """Stop every process started during the batch, then the fork server and resource tracker.

    What the executor left running is killed; then the fork server is stopped, and the
    resource tracker (which ignores SIGTERM) exits once the others have gone. Processes are
    told apart by their start time, so the batch scans for them only when it must stop them.
    """
    from multiprocessing import forkserver, resource_tracker

    import psutil

    helpers = {getattr(forkserver._forkserver, "_forkserver_pid", None),
               getattr(resource_tracker._resource_tracker, "_pid", None)}
    new = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if p.pid not in helpers and p.create_time() >= since:
                new.append(p)
    # killed, not asked: what a worker leaves half-done never counts (only ledger lines do)
    for p in new:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(new, timeout=10)
    release_semaphores()
    stop_helper_processes()


def release_semaphores() -> None:
    """Unlink the semaphores this process made for the stopped pool, before the resource tracker stops.

    Otherwise the tracker, stopped with them still registered, warns of leaked semaphores and
    unlinks them, and at exit this process's own finalizers fail to unlink them again: a dozen
    lines of noise after the one-line message, depending on which got there first.
    """
    from multiprocessing import synchronize, util

    for f in list(util._finalizer_registry.values()):
        if getattr(f, "_callback", None) is synchronize.SemLock._cleanup:
            with contextlib.suppress(OSError):
                f()
