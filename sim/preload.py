"""Warm-up of a batch's fork server: the one module whose import does work, on purpose.

A fork server can only be told which modules to import before it forks workers
(``multiprocessing`` ``set_forkserver_preload``); it cannot be told to call a function.
So the fork server of :func:`sim.executors._execute_pool` imports this module, and this
module's job is to call :func:`sim.warmup.warm_up` there, so that every worker is forked
with the model imported and its compiled kernels loaded, after tying the fork server's
life to the batch's process (:func:`sim.lifeline.die_with_parent`). Nothing else imports it.

A failed warm-up is an optimisation lost, not an error: the workers load what they need on
their first run. It is reported on standard error with its traceback, never swallowed.
"""

from __future__ import annotations

import sys
import traceback

from sim.lifeline import die_with_parent
from sim.warmup import warm_up

die_with_parent()  # the fork server ends with the batch's process, even on kill -9 (see sim.lifeline)
try:
    warm_up()
except Exception:  # reported, not raised: a fork server that fails to start would stop the batch
    print("warning: the fork server's warm-up failed; workers will load the model's kernels on first use:",
          file=sys.stderr)
    traceback.print_exc(file=sys.stderr)
