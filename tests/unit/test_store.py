"""The store's integrity checks, on a toy experiment (fast), one test per kind of damage.

Each kind of edit to a complete result file must be detected: the file is set aside as
``*.rejected`` (never deleted), a :class:`RejectedResultWarning` names it and says why, and the
rerun's numbers equal an untouched run's. Edits that keep the JSON structure are caught by the
checksum; structural edits are caught even when the checksum is recomputed after the edit
(``resigned``), by the schema and the experiment's decoder.
"""

from __future__ import annotations

import errno
import json
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from theory_sim import store as store_module
from theory_sim.experiments import ExperimentConfig
from theory_sim.store import (RejectedResultWarning, Store, StoreError, bool_array, canonical, checksum, config_hash,
                              number_array)


@dataclass(frozen=True)
class Toy(ExperimentConfig):
    reps: int = 3
    seed: int = 0
    KIND = "toy"


UNITS = (10, 20, 30)


def compute(unit, shared):
    rng = np.random.default_rng([unit, 7])
    return {"values": rng.normal(size=3).tolist(), "ok": [True, False, True]}


def decode(raw):
    return {"values": number_array(raw["values"], "values", shape=(3,)),
            "ok": bool_array(raw["ok"], "ok", shape=(3,)).tolist()}


def decode_shared(raw):
    if not isinstance(raw["scale"], float):
        raise TypeError("scale must be a number")
    return raw


def run(folder):
    return Store(folder).run(Toy(), units=UNITS, compute=compute, shared=lambda: {"scale": 2.5},
                             decode_unit=decode, decode_shared=decode_shared)


def as_numbers(record):
    return {u: v["values"].tolist() for u, v in record.units.items()}, record.shared


def _set(path, value):
    def edit(p):
        node = p
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return p
    return edit


def _delete(path):
    def edit(p):
        node = p
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return p
    return edit


def _append(path, value):
    def edit(p):
        node = p
        for key in path:
            node = node[key]
        node.append(value)
        return p
    return edit


def _pop(path):
    def edit(p):
        node = p
        for key in path:
            node = node[key]
        node.pop()
        return p
    return edit


# kind -> an edit of the parsed payload (or of the raw text, for kinds that break the JSON)
PAYLOAD_EDITS = {
    "value changed": _set(("units", "10", "values", 0), 99.0),
    "value scaled": lambda p: _set(("units", "20", "values", 1), p["units"]["20"]["values"][1] * 1.5)(p),
    "value in shared part changed": _set(("shared", "scale"), 3.75),
    "value made NaN": _set(("units", "10", "values", 2), float("nan")),
    "replication added": _append(("units", "10", "values"), 0.5),
    "replication removed": _pop(("units", "30", "values")),
    "flag flipped": _set(("units", "10", "ok", 1), True),
    "number made a string": _set(("units", "10", "values", 0), "1.5"),
    "number made null": _set(("units", "20", "values", 0), None),
    "number made a boolean": _set(("units", "20", "values", 0), True),
    "flag made a number": _set(("units", "10", "ok", 0), 1),
    "list made an object": _set(("units", "10", "values"), {"a": 1.0}),
    "unit made a list": _set(("units", "20"), [1.0, 2.0]),
    "unit removed": _delete(("units", "30")),
    "unit added": _set(("units", "40"), {"values": [0.0, 0.0, 0.0], "ok": [True, True, True]}),
    "units made a list": _set(("units",), [1, 2]),
    "shared part removed": _delete(("shared",)),
    "config hash flipped": _set(("config_hash",), "0" * 16),
    "kind changed": _set(("kind",), "other"),
    "config field changed": _set(("config", "reps"), 4),
    "schema removed": _delete(("schema",)),
    "older schema": _set(("schema",), 0),
    "checksum removed": _delete(("checksum",)),
    "checksum flipped": _set(("checksum",), "f" * 64),
    "complete flag not a boolean": _set(("complete",), "yes"),
    "seconds made a string": _set(("seconds",), "fast"),
}
TEXT_EDITS = {
    "whole file a list": lambda text: "[1, 2]",
    "empty file": lambda text: "",
    "truncated": lambda text: text[: len(text) // 2],
    "not JSON": lambda text: "garbage {",
}
BYTES_EDITS = {"binary": lambda data: b"\xff\xfe\x00\x01" + data[:10]}
# Edits of structure: caught even when the checksum is recomputed after the edit.
STRUCTURAL = ("value made NaN", "replication added", "replication removed", "number made a string",
              "number made null", "number made a boolean", "flag made a number", "list made an object",
              "unit made a list", "unit removed", "unit added", "units made a list", "shared part removed",
              "config hash flipped", "kind changed", "config field changed", "schema removed", "older schema",
              "complete flag not a boolean", "seconds made a string")


def test_there_are_at_least_28_kinds_of_edit():
    assert len(PAYLOAD_EDITS) + len(TEXT_EDITS) + len(BYTES_EDITS) >= 28


@pytest.fixture(scope="module")
def untouched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("untouched")
    record = run(folder)
    return folder, as_numbers(record), record.path.name


def _rerun_and_check(folder, path, untouched_numbers, expect_units):
    calls = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = Store(folder).run(Toy(), units=UNITS, compute=lambda u, s: calls.append(u) or compute(u, s),
                                   shared=lambda: {"scale": 2.5}, decode_unit=decode, decode_shared=decode_shared)
    rejected = [w for w in caught if issubclass(w.category, RejectedResultWarning)]
    assert len(rejected) == 1, "the damaged file was trusted"
    assert str(path) in str(rejected[0].message)
    assert (folder / (path.name + ".rejected")).exists(), "the damaged file was not kept aside"
    assert as_numbers(record) == untouched_numbers
    assert calls == list(expect_units)


def _copy(untouched, tmp_path):
    folder, numbers, name = untouched
    (tmp_path / name).write_bytes((folder / name).read_bytes())
    return tmp_path / name


@pytest.mark.parametrize("kind", sorted(PAYLOAD_EDITS))
def test_edited_payload_is_set_aside(kind, untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    payload = json.loads(path.read_text())
    path.write_text(json.dumps(PAYLOAD_EDITS[kind](payload)))
    _rerun_and_check(tmp_path, path, untouched[1], UNITS)


@pytest.mark.parametrize("kind", STRUCTURAL)
def test_structural_edit_is_caught_without_the_checksum(kind, untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    payload = PAYLOAD_EDITS[kind](json.loads(path.read_text()))
    if isinstance(payload, dict):
        payload["checksum"] = checksum(payload)
    path.write_text(json.dumps(payload))
    _rerun_and_check(tmp_path, path, untouched[1], UNITS)


@pytest.mark.parametrize("kind", sorted(TEXT_EDITS))
def test_damaged_text_is_set_aside(kind, untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    path.write_text(TEXT_EDITS[kind](path.read_text()))
    _rerun_and_check(tmp_path, path, untouched[1], UNITS)


def test_binary_file_is_set_aside(untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    path.write_bytes(BYTES_EDITS["binary"](path.read_bytes()))
    _rerun_and_check(tmp_path, path, untouched[1], UNITS)


def test_a_second_rejection_does_not_overwrite_the_first(untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    for attempt in range(2):
        path.write_text("garbage")
        with pytest.warns(RejectedResultWarning):
            run(tmp_path)
    assert (tmp_path / (path.name + ".rejected")).exists()
    assert (tmp_path / (path.name + ".rejected.1")).exists()


def test_untouched_file_is_reused_and_partial_file_resumed(untouched, tmp_path):
    path = _copy(untouched, tmp_path)
    calls = []
    record = Store(tmp_path).run(Toy(), units=UNITS, compute=lambda u, s: calls.append(u),
                                 decode_unit=decode, decode_shared=decode_shared)
    assert calls == [] and record.computed == ()
    # a partial file, as an interrupted run leaves it: only the missing unit is computed
    payload = json.loads(path.read_text())
    del payload["units"]["20"]
    payload["complete"] = False
    payload["checksum"] = checksum(payload)
    path.write_text(json.dumps(payload))
    record = Store(tmp_path).run(Toy(), units=UNITS, compute=lambda u, s: calls.append(u) or compute(u, s),
                                 shared=lambda: pytest.fail("shared part recomputed"), decode_unit=decode,
                                 decode_shared=decode_shared)
    assert calls == [20] and record.computed == (20,)
    assert as_numbers(record) == untouched[1]


def test_computed_and_read_results_are_identical(untouched, tmp_path):
    computed = run(tmp_path)
    read = run(tmp_path)
    assert read.computed == () and as_numbers(read) == as_numbers(computed) == untouched[1]


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = run(tmp_path).path
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_file_where_the_folder_should_be_is_an_error_naming_it(tmp_path):
    target = tmp_path / "results"
    target.write_text("x")
    with pytest.raises(StoreError, match="results: exists and is not a folder"):
        Store(target)


def test_an_empty_folder_name_is_refused():
    with pytest.raises(ValueError, match="results folder"):
        Store("")


def test_a_failed_write_keeps_the_previous_file_and_names_the_path(untouched, tmp_path, monkeypatch):
    path = _copy(untouched, tmp_path)
    before = path.read_bytes()

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "replace", full_disk)
    with pytest.raises(StoreError, match=rf"{path.name}: cannot write \(No space left on device\)"):
        store_module.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_numpy_scalars_hash_like_python_numbers():
    assert config_hash({"n": np.int64(5), "r": np.float32(0.1)}) == config_hash({"n": 5, "r": 0.1})
    assert canonical((np.bool_(True), np.float64(0.25))) == [True, 0.25]


@pytest.mark.parametrize("value", [["1.5", 2.0], [True, 2.0], [None, 1.0], [{"a": 1}], [[1.0], [1.0, 2.0]], "1.0",
                                   [float("nan")]])
def test_number_array_refuses_what_is_not_a_list_of_finite_numbers(value):
    with pytest.raises((TypeError, ValueError), match="x"):
        number_array(value, "x")


def test_number_array_and_bool_array_accept_their_types():
    np.testing.assert_array_equal(number_array([[1, 2.5]], "x", shape=(1, 2)), [[1.0, 2.5]])
    assert bool_array([True, False], "f").dtype == bool
    with pytest.raises(TypeError, match="f holds 1"):
        bool_array([1, 0], "f")


def test_configs_built_from_numpy_numbers_hash_like_typed_ones():
    from theory_sim.experiments import MonteCarloConfig
    from theory_sim.experiments.scaling_laws import ScalingLawConfig

    typed = MonteCarloConfig(ns=(1000, 10000), r=0.1, reps=20)
    numpy = MonteCarloConfig(ns=(np.int64(1000), np.int64(10000)), r=np.float32(0.1), reps=np.int64(20))
    assert numpy.hash == typed.hash and numpy.r == 0.1
    assert ScalingLawConfig(rs=(np.float32(0.1), np.float16(0.3))).hash == ScalingLawConfig(rs=(0.1, 0.3)).hash
