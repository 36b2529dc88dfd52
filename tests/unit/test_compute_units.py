"""The units of a config spread over workers (theory_sim.experiments._framework.compute_units).

The contract tests (tests/contract) check, for every experiment, that 2 worker processes write the
same result files as 1; here: that the units really are computed apart and stored as they arrive
(an interruption loses none), that a complete file plans nothing, and a negative control: the
contract goes red for an executor that hands back a wrong unit.
"""

from __future__ import annotations

import json

import pytest

from theory_sim import experiments
from theory_sim.executors import LocalExecutor
from theory_sim.experiments._framework import _plan, compute_units
from theory_sim.store import Store

NAME = "consistency"  # several units (one per n) at the tiny size, seconds to run


class InProcessParallel(LocalExecutor):
    """A 'parallel' executor that runs the unit tasks here, one after the other (so they can be counted)."""

    parallel = True

    def __init__(self, stop_after=None, corrupt=False):
        self.stop_after, self.corrupt, self.tasks = stop_after, corrupt, 0

    def as_completed(self, fn, items):
        for i, item in enumerate(items):
            if self.stop_after is not None and self.tasks == self.stop_after:
                raise KeyboardInterrupt
            raw, seconds = fn(item)
            self.tasks += 1
            if self.corrupt:
                raw = json.loads(json.dumps(raw).replace("e-", "e-0", 1).replace(".", ".9", 1))
            yield i, (raw, seconds)


def _files(folder):
    return {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k not in ("seconds", "versions", "checksum")}
            for p in sorted(folder.glob("*.json"))}


def _n_units(folder):
    return sum(len(json.loads(p.read_text())["units"]) for p in folder.glob("*.json"))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    return folder, experiments.run(NAME, "tiny", folder)


def test_units_are_computed_as_tasks_and_give_the_serial_files(serial, tmp_path, monkeypatch):
    calls = []
    real = Store._compute_unit
    monkeypatch.setattr(Store, "_compute_unit", lambda self, *a: calls.append(1) or real(self, *a))
    executor = InProcessParallel()
    experiments.run(NAME, "tiny", tmp_path, executor=executor)
    total = _n_units(serial[0])
    assert total >= 2
    assert executor.tasks == total, "every unit is one task"
    assert len(calls) == total, "the final pass recomputed units instead of reading them"
    assert _files(tmp_path) == _files(serial[0])


def test_an_interruption_keeps_the_units_already_returned(serial, tmp_path, monkeypatch):
    with pytest.raises(KeyboardInterrupt):
        experiments.run(NAME, "tiny", tmp_path, executor=InProcessParallel(stop_after=1))
    stored = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    # the planning pass stored each shared part; the one unit returned before Ctrl-C is stored too
    assert sum(len(s["units"]) for s in stored) == 1 and not any(s["complete"] for s in stored)
    executor = InProcessParallel()
    experiments.run(NAME, "tiny", tmp_path, executor=executor)
    assert executor.tasks == _n_units(serial[0]) - 1, "the stored unit was computed again"
    assert _files(tmp_path) == _files(serial[0])


def test_a_complete_file_plans_no_unit(serial):
    folder = serial[0]
    for config in experiments.REGISTRY[NAME].configs("tiny").values():
        plan = _plan(config, folder)
        assert plan.todo == [] and len(plan.raw_units) == len(plan.keys) >= 1
    assert compute_units(list(experiments.REGISTRY[NAME].configs("tiny").values()), folder, InProcessParallel()) == 0


def test_control_a_wrong_unit_from_a_worker_breaks_the_workers_contract(serial, tmp_path):
    """Negative control: an executor that alters what a worker returned must make the contract fail."""
    from tests.contract.test_experiments import contract_workers

    folder, results = serial
    with pytest.raises(AssertionError, match="disagree|different result files"):
        contract_workers(NAME, folder, results, tmp_path, InProcessParallel(corrupt=True))


def test_figures_cli_path_computes_every_unit_of_several_figures_first(tmp_path, monkeypatch):
    """figures.compute_all_units (what `theory-sim figures A B --workers N` runs first): one pool of
    tasks over the units of every named figure; building the figures afterwards computes nothing."""
    import figures

    names = ["consistency", "limit"]
    executor = InProcessParallel()
    done = figures.compute_all_units(names, tmp_path, size="small", executor=executor)
    assert done == executor.tasks == _n_units(tmp_path / "results") >= 4
    calls = []
    monkeypatch.setattr(Store, "_compute_unit", lambda self, *a: calls.append(1))
    for name in names:
        figures.build(name, tmp_path, size="small", progress=False)
    assert calls == [], "building the figures recomputed stored units"
    with pytest.raises(ValueError, match="figure"):
        figures.compute_all_units(["no-such-figure"], tmp_path, executor=executor)


def test_a_config_listed_twice_is_planned_once(serial, tmp_path):
    """Two keys of an experiment may name the same config (one file): its units are computed once,
    and no write of one copy's units drops the other's (the file would lose units on Ctrl-C)."""
    config = next(iter(experiments.REGISTRY[NAME].configs("tiny").values()))
    units = len(json.loads(Store(serial[0]).path(config).read_text())["units"])
    executor = InProcessParallel()
    assert compute_units([config, config], tmp_path, executor) == units
    assert executor.tasks == units


def test_planning_writes_nothing_and_a_plan_travels_by_pickle(tmp_path):
    """Plans are made on the workers: a plan writes no file (the caller is the only writer) and comes
    back whole through pickle (UnitPlan is an exception with extra arguments)."""
    import pickle

    config = next(iter(experiments.REGISTRY[NAME].configs("tiny").values()))
    plan = _plan(config, tmp_path)
    assert list(tmp_path.iterdir()) == [], "planning wrote a file"
    assert plan.todo == plan.keys and plan.new_shared == (plan.raw_shared is not None)
    back = pickle.loads(pickle.dumps(plan))
    assert (back.keys, back.todo, back.raw_shared, back.raw_units, back.seconds, back.new_shared) == \
        (plan.keys, plan.todo, plan.raw_shared, plan.raw_units, plan.seconds, plan.new_shared)


def test_compute_units_rejects_no_folder_and_a_wrong_executor(tmp_path):
    configs = list(experiments.REGISTRY[NAME].configs("tiny").values())
    with pytest.raises(ValueError, match="results_dir must be a folder"):
        compute_units(configs, None, InProcessParallel())
    with pytest.raises(TypeError, match="executor must have map and as_completed"):
        compute_units(configs, tmp_path, object())
    assert list(tmp_path.iterdir()) == []


def test_a_warning_in_a_worker_is_raised_again_here(serial, tmp_path):
    """A file set aside while a worker plans its config warns in the calling process (where the CLI
    shows warnings as one line), not only in the worker's own stderr."""
    import shutil
    import warnings

    from theory_sim.executors import ProcessExecutor
    from theory_sim.store import RejectedResultWarning

    folder = tmp_path / "edited"
    shutil.copytree(serial[0], folder)
    target = sorted(folder.glob("*.json"))[0]
    payload = json.loads(target.read_text())
    payload["seconds"] += 1.0  # an edit the checksum catches
    target.write_text(json.dumps(payload))
    with warnings.catch_warnings(record=True) as caught, ProcessExecutor(2) as executor:
        warnings.simplefilter("always")
        experiments.run(NAME, "tiny", folder, executor=executor)
    assert any(issubclass(w.category, RejectedResultWarning) and target.name in str(w.message) for w in caught)
    assert _files(folder) == _files(serial[0])
