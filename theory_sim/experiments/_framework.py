"""The experiment framework: frozen configs, one registry, one way to run (docs/theory.md, "Experiments").

An *experiment* (one per figure, same name) is

- a set of frozen configs per size (``configs(size)``: a dict key -> config), each config a
  subclass of :class:`ExperimentConfig` with a ``KIND`` and a stable ``hash``;
- for each config kind, a runner ``run(config, results_dir=None)`` that does its work in units
  through :class:`theory_sim.store.Store` (reuse, resumption, integrity);
- optionally ``assemble(results)``, which turns the dict of per-config results into what the
  figure and the claims read.

:func:`run` runs every config of an experiment through an executor (local, worker processes or
Dask): each config is seeded by itself, so where it runs does not change a number. With a parallel
executor and a results folder, the *units* of the configs are spread over the workers first
(:func:`compute_units`), so that one config of many units (restarts, seeds, n) uses every worker;
each unit draws from streams keyed by its config and itself, so this changes no number either
(the contract tests compare the result files of both ways, for every experiment).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import Any, Callable

from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from theory_sim.executors import LocalExecutor
from theory_sim.store import Store, UnitDone, UnitPlan, canonical, computing_unit, config_hash, planning
from theory_sim.validation import check_choice

__all__ = ["SIZES", "Experiment", "ExperimentConfig", "REGISTRY", "RUNNERS", "compute_units", "one_blas_thread",
           "register", "register_runner", "result_files", "run", "run_config"]

# "tiny" is the smallest size that exercises every unit of an experiment: the contract tests run it.
SIZES = ("tiny", "small", "default", "full")


def one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread: the same seed gives the same numbers whatever the
    thread count.

    OpenBLAS splits a matrix product's sums differently with 1 and 2 threads, and an optimiser
    amplifies the last-bit differences. Every experiment runner is wrapped, so the numbers of a
    run do not depend on the machine's cores, on ``--workers``, or on a Dask worker's settings.
    The numba kernels keep their own threads (their sums are in a fixed order).
    """
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


class ExperimentConfig:
    """Mixin of the frozen experiment configs: ``to_dict`` (JSON types) and ``hash``.

    A subclass sets ``KIND`` (no annotation, so it is not a dataclass field): the hash covers the
    kind and every field, and names the result file ``<KIND>-<hash>.json``. Numpy scalars hash
    like the Python numbers they print as. A field added after configs were stored is listed in
    ``ADDED_FIELDS`` (name -> default): at its default it is left out of ``to_dict`` and the hash,
    so that every existing config keeps its hash and its result file.
    """

    KIND = ""
    ADDED_FIELDS: dict = {}

    def to_dict(self) -> dict:
        fields = {k: v for k, v in self.__dict__.items()
                  if not (k in self.ADDED_FIELDS and v == self.ADDED_FIELDS[k])}
        return canonical(fields)

    @property
    def hash(self) -> str:
        return config_hash({"kind": self.KIND, **self.to_dict()})


# KIND -> runner(config, results_dir=None) -> result
RUNNERS: dict[str, Callable] = {}


def register_runner(config_class: type, runner: Callable) -> Callable:
    """Declare ``runner`` as the way to run configs of ``config_class`` (one runner per kind)."""
    kind = config_class.KIND
    if not kind:
        raise ValueError(f"{config_class.__name__} has no KIND")
    if kind in RUNNERS and RUNNERS[kind] is not runner:
        raise ValueError(f"a runner for kind {kind!r} is already registered")
    RUNNERS[kind] = runner
    return runner


def run_config(config, results_dir=None):
    """Run one config with the runner of its kind."""
    kind = getattr(config, "KIND", None)
    if kind not in RUNNERS:
        raise TypeError(f"config must be a registered experiment config, got {type(config).__name__}")
    return RUNNERS[kind](config, results_dir=results_dir)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes
    ----------
    name : str
        The name of its figure.
    description : str
    claims : tuple of str
        The claims of the register it bears on (docs/theory.md).
    configs : callable size -> dict
        The configs of each size in :data:`SIZES`, keyed as the figure reads them.
    assemble : callable dict -> Any
        The per-config results (same keys) to what the figure and the claims read.
    """

    name: str
    description: str
    claims: tuple
    configs: Callable[[str], dict]
    assemble: Callable[[dict], Any] = field(default=lambda results: results)


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    if experiment.name in REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    REGISTRY[experiment.name] = experiment
    return experiment


def result_files(name: str, size: str) -> list[str]:
    """The names of the result files that experiment ``name`` at ``size`` keeps (``<KIND>-<hash>.json``)."""
    check_choice("experiment", name, REGISTRY)
    check_choice("size", size, SIZES)
    return [f"{config.KIND}-{config.hash}.json" for config in REGISTRY[name].configs(size).values()]


def run(name: str, size: str = "default", results_dir=None, executor=None, progress: bool | None = False):
    """Run (or reuse) every config of experiment ``name`` at ``size``; return the assembled results.

    With a parallel executor (``executor.parallel``) and a ``results_dir``, the units still to
    compute are first spread over the workers (:func:`compute_units`; ``progress``: a bar over
    them, None: only on a terminal); then every config is run, reading its units from its file."""
    check_choice("experiment", name, REGISTRY)
    check_choice("size", size, SIZES)
    experiment = REGISTRY[name]
    configs = experiment.configs(size)
    keys = list(configs)
    chosen = [configs[k] for k in keys]
    executor = executor or LocalExecutor()
    if results_dir is not None and getattr(executor, "parallel", False):
        compute_units(chosen, results_dir, executor, progress=progress, desc=name)
    results = executor.map(partial(run_config, results_dir=results_dir), chosen)
    return experiment.assemble(dict(zip(keys, results)))


def _relayed(fn, item):
    """``(fn(item), warnings)``: the warnings raised by ``fn``, as (message, category), to be raised
    again by the calling process (a worker's own warnings would print in Python's multi-line form,
    not the way the CLI shows them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(item)
    return result, [(str(w.message), w.category) for w in caught]


def _warn_again(relayed):
    """The result of a :func:`_relayed` call, its warnings raised again in this process."""
    result, caught = relayed
    for message, category in caught:
        warnings.warn(message, category, stacklevel=2)
    return result


def _plan(config, results_dir) -> UnitPlan | None:
    """The units of ``config`` still to compute: its runner run up to its :meth:`Store.run` (None for
    a runner that finished without one: it keeps no units to spread)."""
    with planning(config.hash):
        try:
            run_config(config, results_dir)
        except UnitPlan as plan:
            return plan
    return None


def _unit_task(task, results_dir=None):
    """In a worker: compute one unit of a config by its runner (no file written); (payload, seconds)."""
    config, raw_shared, key = task
    with computing_unit(config.hash, raw_shared, key):
        try:
            run_config(config, results_dir)
        except UnitDone as done:
            return done.raw, done.seconds
    raise RuntimeError(f"the runner of {config.KIND} returned without computing unit {key!r}")


def compute_units(configs, results_dir, executor, *, progress: bool | None = False, desc: str = "units") -> int:
    """Compute the missing units of ``configs`` on ``executor``'s workers, one task per unit; write
    each to its config's partial result file as it arrives (this process is the only writer).

    The configs are planned first, one task each on the workers (a plan computes the config's
    shared part when its file has none; it is stored here at once). Returns the number of units
    computed. A later :func:`run_config` of each config reads its units from the file (and checks
    them as it checks any stored unit)."""
    if results_dir is None:  # the units computed apart reach the configs only through their files
        raise ValueError("results_dir must be a folder for the units to be stored in, got None")
    if not callable(getattr(executor, "as_completed", None)):
        raise TypeError(f"executor must have map and as_completed (LocalExecutor, ProcessExecutor, DaskExecutor), "
                        f"got {type(executor).__name__}")
    store = Store(results_dir)
    configs = list({config.hash: config for config in configs}.values())  # one file, one plan, one writer
    # the plans (and the shared parts they compute) on the workers too; the shared parts stored here
    plans = [_warn_again(r) for r in executor.map(partial(_relayed, partial(_plan, results_dir=results_dir)), configs)]
    for config, plan in zip(configs, plans):
        if plan is not None and plan.new_shared:
            store.write_units(config, plan.keys, plan.raw_shared, plan.raw_units, plan.seconds)
    # The configs in their order, each config's units from its last to its first: units usually grow
    # along a config's list (n, sizes), and starting the longest first keeps a worker from being
    # left alone with one long unit at the end.
    tasks, owners = [], []
    for c, (config, plan) in enumerate(zip(configs, plans)):
        if plan is not None:
            tasks += [(config, plan.raw_shared, key) for key in plan.todo[::-1]]
            owners += [c] * len(plan.todo)
    if not tasks:
        return 0
    with tqdm(total=len(tasks), desc=f"{desc} (units)", leave=False,
              disable=(not progress) if progress is not None else None) as bar:
        for t, relayed in executor.as_completed(partial(_relayed, partial(_unit_task, results_dir=results_dir)), tasks):
            raw, seconds = _warn_again(relayed)
            config, _, key = tasks[t]
            plan = plans[owners[t]]
            plan.raw_units[key] = raw
            plan.seconds += seconds
            store.write_units(config, plan.keys, plan.raw_shared, plan.raw_units, plan.seconds)
            bar.update()
    return len(tasks)
