"""Contract tests over the experiment registry (as optax's alias_test crosses every optimizer).

Every experiment registered in :data:`theory_sim.experiments.REGISTRY`, at its "tiny" size, must

1. give the same numbers for the same seed (two fresh runs);
2. reuse a complete result file without computing anything;
3. resume an interrupted run, computing only the units that were missing, to the same numbers;
4. detect an edited result file, set it aside as ``*.rejected`` with a warning naming it, and
   recompute it (only it) to the numbers of an untouched run;
5. give identical results and result files with 1 worker and with 2 worker processes (which
   compute the units of a config side by side).

A new experiment gets these tests by registering. The last section holds negative controls: each
contract run against a deliberately broken store or executor must fail.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from theory_sim import experiments
from theory_sim.executors import LocalExecutor, ProcessExecutor
from theory_sim.store import RejectedResultWarning, Store

NAMES = sorted(experiments.REGISTRY)
VOLATILE = ("seconds", "versions", "checksum")


def numbers(folder) -> dict:
    """Each result file's content less its run time, versions and checksum."""
    out = {}
    for path in sorted(Path(folder).glob("*.json")):
        payload = json.loads(path.read_text())
        out[path.name] = {k: v for k, v in payload.items() if k not in VOLATILE}
    return out


def flatten(obj):
    """A result object as nested lists of numbers and strings (run times and paths left out)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, flatten(getattr(obj, f.name))) for f in dataclasses.fields(obj)
                if f.name not in ("seconds", "path")]
    if isinstance(obj, dict):
        return [(repr(k), flatten(v)) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [flatten(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return flatten(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return "nan" if math.isnan(obj) else float(obj)
    if isinstance(obj, (int, np.integer, bool, np.bool_, str)) or obj is None:
        return obj
    if hasattr(obj, "__dict__"):  # plain result holders
        return [(k, flatten(v)) for k, v in sorted(vars(obj).items()) if k not in ("seconds", "path")]
    return repr(obj)


class Counter:
    """Wraps Store._compute_unit: counts units, and can interrupt at the k-th."""

    def __init__(self, monkeypatch, interrupt_at=None):
        self.calls = 0
        real = Store._compute_unit

        def counted(store, compute, unit, shared):
            self.calls += 1
            if interrupt_at is not None and self.calls == interrupt_at:
                raise KeyboardInterrupt
            return real(store, compute, unit, shared)

        monkeypatch.setattr(Store, "_compute_unit", counted)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One fresh local run per experiment: (folder, assembled results, units computed)."""
    cache = {}

    def get(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp(f"ref-{name}")
            with pytest.MonkeyPatch.context() as mp:
                counter = Counter(mp)
                results = experiments.run(name, "tiny", folder)
            cache[name] = (folder, results, counter.calls)
        return cache[name]

    return get


# -- the contracts, as functions (the negative controls call them with broken parts) --------
def contract_same_seed(name, ref_folder, tmp_path):
    again = tmp_path / "again"
    experiments.run(name, "tiny", again)
    first, second = numbers(ref_folder), numbers(again)
    assert len(first) == len(experiments.REGISTRY[name].configs("tiny")), "one result file per config"
    assert first == second, "same seed, different numbers"


def contract_reuse(name, ref_folder, ref_results, monkeypatch):
    before = numbers(ref_folder)
    counter = Counter(monkeypatch)
    results = experiments.run(name, "tiny", ref_folder)
    assert counter.calls == 0, f"a complete file was recomputed ({counter.calls} units)"
    assert numbers(ref_folder) == before
    assert flatten(results) == flatten(ref_results)


def contract_resume(name, ref_folder, total_units, tmp_path, monkeypatch):
    folder = tmp_path / "resumed"
    interrupt_at = min(2, total_units)  # after one complete unit where there are two or more
    with monkeypatch.context() as mp:
        Counter(mp, interrupt_at=interrupt_at)
        with pytest.raises(KeyboardInterrupt):
            experiments.run(name, "tiny", folder)
    counter = Counter(monkeypatch)
    experiments.run(name, "tiny", folder)
    missing = total_units - (interrupt_at - 1)
    assert counter.calls == missing, f"resumption computed {counter.calls} units; {missing} were missing"
    assert numbers(folder) == numbers(ref_folder)


def _edit_a_number(payload):
    """Change the first number found in the file's units (or shared part)."""
    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, float) and not isinstance(value, bool):
                    node[key] = value * 1.5 + 1.0
                    return True
                if visit(value):
                    return True
        if isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, float):
                    node[i] = value * 1.5 + 1.0
                    return True
                if visit(value):
                    return True
        return False

    assert visit(payload["units"]) or visit(payload["shared"]), "no number to edit"
    return payload


def contract_corruption(name, ref_folder, tmp_path, monkeypatch):
    folder = tmp_path / "edited"
    folder.mkdir()
    files = sorted(Path(ref_folder).glob("*.json"))
    for path in files:
        (folder / path.name).write_bytes(path.read_bytes())
    target = folder / files[0].name
    target.write_text(json.dumps(_edit_a_number(json.loads(target.read_text()))))
    units_of_target = len(json.loads(files[0].read_text())["units"])
    counter = Counter(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        experiments.run(name, "tiny", folder)
    rejected = [w for w in caught if issubclass(w.category, RejectedResultWarning)]
    assert rejected and str(target) in str(rejected[0].message), "the edited file was trusted"
    assert (folder / (target.name + ".rejected")).exists(), "the edited file was not set aside"
    assert counter.calls == units_of_target, f"recomputed {counter.calls} units, expected {units_of_target}"
    assert numbers(folder) == numbers(ref_folder)


def contract_workers(name, ref_folder, ref_results, tmp_path, executor):
    folder = tmp_path / "workers"
    results = experiments.run(name, "tiny", folder, executor=executor)
    assert flatten(results) == flatten(ref_results), "2 workers and 1 worker disagree"
    # with a results folder the units were spread over the workers (compute_units): the same files
    assert numbers(folder) == numbers(ref_folder), "2 workers and 1 worker wrote different result files"


# -- every registered experiment -----------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_numbers(name, reference, tmp_path):
    contract_same_seed(name, reference(name)[0], tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_complete_file_is_reused(name, reference, monkeypatch):
    folder, results, _ = reference(name)
    contract_reuse(name, folder, results, monkeypatch)


@pytest.mark.parametrize("name", NAMES)
def test_interrupted_run_resumes_missing_units_only(name, reference, tmp_path, monkeypatch):
    folder, _, total = reference(name)
    contract_resume(name, folder, total, tmp_path, monkeypatch)


@pytest.mark.parametrize("name", NAMES)
def test_edited_file_is_set_aside_and_recomputed(name, reference, tmp_path, monkeypatch):
    contract_corruption(name, reference(name)[0], tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def two_workers():
    with ProcessExecutor(2) as executor:  # one pool for every experiment: processes start once
        yield executor


@pytest.mark.parametrize("name", NAMES)
def test_one_and_two_workers_agree(name, reference, tmp_path, two_workers):
    folder, results, _ = reference(name)
    contract_workers(name, folder, results, tmp_path, two_workers)


def test_every_experiment_is_named_like_a_figure_and_a_module():
    import figures

    assert set(experiments.REGISTRY) == set(figures.REGISTRY)
    for name in experiments.REGISTRY:
        assert (Path(experiments.__file__).parent / f"{name}.py").exists(), name


# -- negative controls: each contract must fail against a broken part ----------------------
CONTROL = "consistency"


def test_control_same_seed_fails_for_a_runner_with_fresh_entropy(reference, tmp_path, monkeypatch):
    real = Store._compute_unit
    rng = np.random.default_rng()

    def noisy(store, compute, unit, shared):
        raw = real(store, compute, unit, shared)
        raw["delta"][0] += float(rng.random())
        return raw

    monkeypatch.setattr(Store, "_compute_unit", noisy)
    with pytest.raises(AssertionError, match="same seed"):
        contract_same_seed(CONTROL, reference(CONTROL)[0], tmp_path)


def test_control_reuse_fails_for_a_store_that_ignores_its_files(reference, monkeypatch):
    folder, results, _ = reference(CONTROL)
    monkeypatch.setattr(Store, "_load", lambda self, *a, **k: None)
    with pytest.raises(AssertionError, match="recomputed"):
        contract_reuse(CONTROL, folder, results, monkeypatch)


def test_control_resume_fails_for_a_store_that_keeps_no_partial_file(reference, tmp_path, monkeypatch):
    folder, _, total = reference(CONTROL)
    real = Store._write
    monkeypatch.setattr(Store, "_write", lambda self, *a, complete: real(self, *a, complete=complete)
                        if complete else None)
    with pytest.raises(AssertionError, match="resumption computed"):
        contract_resume(CONTROL, folder, total, tmp_path, monkeypatch)


def test_control_corruption_fails_for_a_store_that_trusts_edited_files(reference, tmp_path, monkeypatch):
    monkeypatch.setattr("theory_sim.store.checksum", lambda payload: payload.get("checksum"))
    with pytest.raises(AssertionError, match="trusted"):
        contract_corruption(CONTROL, reference(CONTROL)[0], tmp_path, monkeypatch)


class _OutOfOrderExecutor(LocalExecutor):
    """A broken parallel executor: results in completion order (here: reversed), not submission order."""

    def map(self, fn, items):
        return list(reversed(super().map(fn, items)))


def test_control_workers_fails_for_an_executor_that_reorders_results(reference, tmp_path):
    with pytest.raises(AssertionError, match="disagree"):
        folder, results, _ = reference(CONTROL)
        contract_workers(CONTROL, folder, results, tmp_path, _OutOfOrderExecutor())
