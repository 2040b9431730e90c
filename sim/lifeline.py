"""Processes that die with their parent: no worker outlives the command, ``kill -9`` included.

A batch's pool workers are forked by a fork server, and both the workers and the fork
server hold the write end of pipes the others wait on (the call queue, the fork server's
"alive" pipe), so when the batch's own process is killed outright none of them sees an
end of file: they would wait for ever, holding memory and the terminal's output. Each
of them therefore asks the kernel, on Linux, to kill it when its parent ends
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the fork server with the batch's process, the
workers with the fork server. Elsewhere a daemon thread polls the parent's id instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent"]

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_S = 1.0  # how often the fallback checks its parent


def _prctl_deathsig() -> bool:
    """Ask Linux to SIGKILL this process when its parent thread ends; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)  # the parent is gone: nothing of this process's work can be recorded any more
        time.sleep(POLL_S)


def die_with_parent() -> None:
    """End this process as soon as its parent does (call it first thing in a child process)."""
    parent = os.getppid()
    if parent == 1:  # the parent died before this process could ask
        os._exit(1)
    if _prctl_deathsig():
        if os.getppid() != parent:  # it died between the two calls
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="lifeline", daemon=True).start()
