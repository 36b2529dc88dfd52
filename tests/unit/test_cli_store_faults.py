"""Faults of stored results, through the command line (issue: nothing trusted blindly).

``theory-sim consistency`` on a tiny config: an edited, truncated or structurally wrong result
file is set aside with a one-line warning naming it, and the rerun prints the numbers of an
untouched run (exit 0); a folder that becomes unwritable (or a disk that fills) midway ends in
one line naming the path, exit 1, and the units completed before it are kept and not recomputed.
"""

import errno
import json

import pytest

from theory_sim import store as store_module
from theory_sim.cli import main
from theory_sim.store import Store

ARGV = ["consistency", "--protocol", "random", "--r", "0.5", "--n", "200,400,800", "--reps", "2", "--net-size", "8",
        "--quiet"]


def run(capsys, folder):
    code = main(ARGV + ["--results", str(folder)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def untouched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("untouched")
    with pytest.MonkeyPatch.context():
        code = main(ARGV + ["--results", str(folder)])
    assert code == 0
    (path,) = folder.glob("montecarlo-*.json")
    return folder, path.name


def _table(out):
    """The printed rows of numbers (the lines that start with an n)."""
    return [line for line in out.splitlines() if line.strip()[:1].isdigit()]


EDITS = {
    "a replication set to 99": lambda p: p["units"]["400"]["delta"].__setitem__(0, 99.0) or p,
    "a number made a string": lambda p: p["units"]["200"]["validity"].__setitem__(1, "0.5") or p,
    "a replication removed": lambda p: p["units"]["800"]["delta"].pop() and p,
    "the limits scaled": lambda p: p["shared"].__setitem__("v_inf", p["shared"]["v_inf"] * 1.5 + 1.0) or p,
    "per_n as a list": lambda p: p.__setitem__("units", [1, 2]) or p,
}


@pytest.mark.parametrize("kind", sorted(EDITS) + ["truncated", "[1, 2]"])
def test_edited_result_file_is_set_aside_and_recomputed(kind, untouched, tmp_path, capsys):
    folder, name = untouched
    reference = _table(run(capsys, folder)[1])
    path = tmp_path / name
    text = (folder / name).read_text()
    if kind == "truncated":
        path.write_text(text[: len(text) // 3])
    elif kind == "[1, 2]":
        path.write_text("[1, 2]")
    else:
        path.write_text(json.dumps(EDITS[kind](json.loads(text))))
    code, out, err = run(capsys, tmp_path)
    assert code == 0
    warning = [line for line in err.splitlines() if "not trusted" in line]
    assert len(warning) == 1 and str(path) in warning[0] and "Traceback" not in err
    assert (tmp_path / (name + ".rejected")).exists()
    assert _table(out) == reference


@pytest.mark.parametrize("error, cause", [(errno.EACCES, "Permission denied"), (errno.ENOSPC, "No space left")])
def test_write_failure_midway_keeps_completed_units(error, cause, untouched, tmp_path, capsys, monkeypatch):
    folder, name = untouched
    reference = _table(run(capsys, folder)[1])
    real = store_module.os.replace
    writes = []

    def failing_after_first(src, dst):
        writes.append(dst)
        if len(writes) > 1:
            raise OSError(error, cause)
        return real(src, dst)

    monkeypatch.setattr(store_module.os, "replace", failing_after_first)
    code, out, err = run(capsys, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert name in lines[0] and cause in lines[0]
    partial = json.loads((tmp_path / name).read_text())
    assert partial["complete"] is False and list(partial["units"]) == ["200"]
    assert not list(tmp_path.glob(".*.tmp"))

    monkeypatch.setattr(store_module.os, "replace", real)
    computed = []
    real_unit = Store._compute_unit
    monkeypatch.setattr(Store, "_compute_unit", lambda self, c, u, s: computed.append(u) or real_unit(self, c, u, s))
    code, out, err = run(capsys, tmp_path)
    assert code == 0 and computed == [400, 800]  # the unit stored before the failure is kept
    assert _table(out) == reference
