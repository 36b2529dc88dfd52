"""One executor interface for independent experiment configs (docs/theory.md, "Experiments": experiments are
functions of frozen configs).

An executor maps a function over configs and returns the results in order (``map``), or yields
each result with its item's index as it is ready (``as_completed``, used to compute the units of
a config in parallel and store each one as soon as it arrives; ``parallel`` says whether items
run side by side at all). Because every
config carries its own seed and its replications draw from streams keyed by the config
(``SeedSequence(seed, spawn_key=(n, j))``), the numbers do not depend on where or in which
order the configs run: the local and the Dask executors give identical results.

- :class:`LocalExecutor` (default): runs the configs one after the other in this process (the
  numba kernels already use both cores).
- :class:`ProcessExecutor`: runs them in worker processes of this machine, which do not outlive
  it and stop at once on Ctrl-C or an error (issue 17; the report builds its figures in them too).
- :class:`DaskExecutor`: submits them to a ``dask.distributed`` scheduler at ``address``
  (``theory-sim report --scheduler tcp://HOST:8786``) for sweeps that outgrow one machine.
  The workers must see the same results folder (a shared file system): with a results folder,
  the units are computed on the workers and stored by this process, and each config is then
  finished on a worker from its file (``experiments.run``); a worker that cannot see the file
  computes the whole config again. The optional dependency is installed with
  ``pip install 'theory_sim[dask]'``.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Callable, Iterable, Iterator

from tqdm.auto import tqdm

from theory_sim.validation import check_int

__all__ = ["LocalExecutor", "ProcessExecutor", "DaskExecutor", "make_executor"]


class LocalExecutor:
    """Run in this process, in order."""

    parallel = False

    def map(self, fn: Callable, items: Iterable) -> list:
        return [fn(item) for item in items]

    def as_completed(self, fn: Callable, items: Iterable) -> Iterator[tuple[int, object]]:
        for i, item in enumerate(items):
            yield i, fn(item)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "LocalExecutor()"


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 0.5


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)  # the parent is gone: no cleanup, nothing more written


def _init_worker(parent: int) -> None:
    """Initializer of each worker of :class:`ProcessExecutor`: it dies with its parent and ignores Ctrl-C."""
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


class ProcessExecutor:
    """Run in ``workers`` fresh processes of this machine (spawned: nothing inherited).

    The processes start at the first :meth:`map` or :meth:`as_completed` and serve every later one
    until :meth:`close` (or the end of a ``with`` block); :meth:`map` returns the results in the
    order of the items.

    The workers do not outlive this process (issue 17): each dies with its parent, on Linux by a
    parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, which the kernel delivers even after
    ``kill -9`` of the parent) and everywhere by a thread that watches the parent's pid. They ignore
    Ctrl-C, which the parent handles: on Ctrl-C or an error in :meth:`map` or :meth:`as_completed`,
    the pending items are cancelled and the running ones terminated at once, so nothing is
    returned after the interruption (the next call starts fresh workers). A worker that dies
    (killed by the system, e.g. out of memory) is a ``ChildProcessError``, an ``OSError``: the
    environment's failure.

    Parameters
    ----------
    workers : int ≥ 1
    """

    def __init__(self, workers: int = 2):
        self.workers = check_int("workers", workers, low=1)
        self._pool = None

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(os.getpid(),))
        return self._pool

    def _stop(self) -> None:
        """Cancel the pending items and terminate the workers at once (the running items are lost)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((pool._processes or {}).values())  # the executor has no public handle on them
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=2)
        pool.shutdown(wait=True)  # the workers are gone: this only frees the queues (no leaked semaphores)

    def map(self, fn: Callable, items: Iterable) -> list:
        """The results in the order of the items; the first error to happen is raised at once."""
        items = list(items)
        results = [None] * len(items)
        for i, result in self.as_completed(fn, items):
            results[i] = result
        return results

    def as_completed(self, fn: Callable, items: Iterable) -> Iterator[tuple[int, object]]:
        """(index, result) in the order the items finish. On an error, Ctrl-C, or the caller's
        leaving the loop early, the pending items are cancelled and the running ones terminated."""
        pool = self._start()
        try:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
        except BrokenExecutor as exc:  # the environment's failure (exit 1 in the CLI), not a bug
            self._stop()
            raise ChildProcessError(f"a worker process died (killed by the system, e.g. out of memory?): {exc}") \
                from None
        except BaseException:  # also GeneratorExit: the caller stopped (its own error) and wants no more
            self._stop()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProcessExecutor({self.workers})"


class DaskExecutor:
    """Run on a ``dask.distributed`` cluster.

    Parameters
    ----------
    address : str
        The scheduler's address, e.g. ``tcp://127.0.0.1:8786``.
    """

    parallel = True

    def __init__(self, address: str):
        if not isinstance(address, str) or not address:
            raise ValueError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786', got {address!r}")
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs dask.distributed: pip install 'theory_sim[dask]'") from None
        try:
            self.client = Client(address, timeout="10s")
        except OSError as exc:  # the environment, not the input: an OSError (the CLI exits 1)
            raise ConnectionError(f"scheduler {address!r} could not be reached: {exc}") from None
        self.address = address

    def map(self, fn: Callable, items: Iterable) -> list:
        items = list(items)
        # pure=False: each item is its own task even when two configs hash alike to dask
        futures = self.client.map(fn, items, pure=False)
        return self.client.gather(futures)

    def as_completed(self, fn: Callable, items: Iterable) -> Iterator[tuple[int, object]]:
        from distributed import as_completed

        futures = self.client.map(fn, list(items), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                yield index[future.key], future.result()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r})"


def make_executor(scheduler: str | None = None):
    """The local executor, or a Dask one when a scheduler address is given."""
    return LocalExecutor() if scheduler is None else DaskExecutor(scheduler)
