"""The report's worker processes do not outlive it: ``kill -9`` of the main process leaves no
process behind, and Ctrl-C returns at once with nothing written after it (issue 17, item 4)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def _ppid_and_state(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone
        return None, None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def _descendants(root):
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid, _ = _ppid_and_state(int(entry.name))
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pids):
    return [pid for pid in pids if _ppid_and_state(pid)[1] not in (None, "Z")]  # a zombie is not running


def _start_report(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "theory_sim.cli", "report", "--preset", "quick", "--workers", "2",
                             "--out", str(tmp_path / "out"), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until both workers exist and one has written a result file
        workers = [pid for pid in _descendants(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        if len(workers) >= 2 and list((tmp_path / "out" / "results").glob("*.json")):
            return proc, _descendants(proc.pid)
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the report's workers did not start")


def _files(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _assert_gone(family, seconds=5):
    deadline = time.monotonic() + seconds
    while _alive(family) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {}
    for pid in _alive(family):
        try:
            left[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
        except OSError:  # gone in the meantime
            pass
    assert not left, f"left running after {seconds} s: {left}"


def test_kill_9_of_the_report_leaves_no_process(tmp_path):
    proc, family = _start_report(tmp_path)
    assert len(family) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _assert_gone(family)


def test_ctrl_c_returns_within_2_s_and_nothing_is_written_after(tmp_path):
    proc, family = _start_report(tmp_path)
    os.kill(proc.pid, signal.SIGINT)
    start = time.monotonic()
    code = proc.wait(timeout=30)
    assert time.monotonic() - start < 2 and code == 130
    assert proc.stderr.read().strip().splitlines() == ["theory-sim report: interrupted"]
    # the workers were terminated and joined; multiprocessing's resource tracker exits when it reads
    # the end of its pipe, a moment after the report (on a loaded machine, after the first look)
    _assert_gone(family)
    before = _files(tmp_path / "out")
    time.sleep(3)
    assert _files(tmp_path / "out") == before  # nothing written after the interruption
