"""Worker processes of the report that do not outlive it.

The report builds its figures in a pool of spawned processes. Two things keep them from being
left behind (issue 17): each worker dies with its parent — on Linux by a parent-death signal
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``, which the kernel delivers even after ``kill -9`` of the
parent), and everywhere by a thread that watches the parent's pid — and ignores Ctrl-C, which
the parent handles: it cancels the pending figures and terminates the running ones at once, so
nothing is written after the interruption (the files already written are complete: atomic
writes).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from tqdm.auto import tqdm

__all__ = ["map_in_processes"]

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 0.5


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)  # the parent is gone: no cleanup, nothing more written


def _init_worker(parent: int) -> None:
    """Initializer of each worker (module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing RLock, a named semaphore that a terminated worker
    # could not release (the resource tracker then warns at exit): the workers draw no bars.
    tqdm.set_lock(threading.RLock())
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no libc to call: the watcher thread remains
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def map_in_processes(fn, items, workers: int, on_done) -> None:
    """Call ``fn(*item)`` for each item in ``workers`` spawned processes; ``on_done(item, result)``
    in this process as each finishes (in the order they finish).

    On any exception here (a failed item, Ctrl-C) the pending items are cancelled and the
    running ones terminated before the exception propagates.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    try:
        pending = {pool.submit(fn, *item): item for item in items}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_done(pending.pop(future), future.result())
    except BaseException:
        processes = list((pool._processes or {}).values())  # the executor has no public handle on them
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=2)
        pool.shutdown(wait=True)  # the workers are gone: this only frees the queues (no leaked semaphores)
        raise
    pool.shutdown(wait=True)
