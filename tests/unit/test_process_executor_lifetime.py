"""The worker processes of :class:`theory_sim.executors.ProcessExecutor` (``theory-sim figures --workers N``,
which computes an experiment's units in them) do not outlive their parent and stop at once on Ctrl-C or
an error: ``kill -9`` of the parent leaves no process, Ctrl-C returns within 2 s with no worker's
traceback, and an error in one item is raised without waiting for the items still running.

The executor's tasks sleep (no CPU); the last two tests run ``figures width_validity --size small
--workers 2`` for a few seconds."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.unit.test_report_workers import _assert_gone, _descendants
from theory_sim.executors import ProcessExecutor

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads processes from /proc")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The parent: two workers, one item that returns at once and one that sleeps; "ready" once the first
# result is in (one worker is then idle, the other busy).
PARENT = """
import sys, time
from theory_sim.executors import ProcessExecutor

if __name__ == "__main__":
    try:
        with ProcessExecutor(2) as executor:
            for i, _ in executor.as_completed(time.sleep, [0.0, 30.0]):
                print("ready", flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
"""


def _start():
    proc = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    family = _descendants(proc.pid)
    assert len(family) >= 2, family  # the two workers (and multiprocessing's resource tracker)
    return proc, family


def _finish(proc, seconds):
    """Exit code and stderr within ``seconds``; None if the parent is still running (then killed)."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None, ""
    try:
        return proc.returncode, proc.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:  # a worker left behind holds the pipe open
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode, proc.communicate()[1]


def test_kill_9_of_the_parent_leaves_no_worker():
    proc, family = _start()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        _assert_gone(family)
    finally:
        for pid in family:  # a failed run must not leave them behind either
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_ctrl_c_of_the_parent_returns_at_once_and_stops_the_workers():
    proc, family = _start()
    os.kill(proc.pid, signal.SIGINT)  # the parent only (as `kill -INT`): the busy worker is not told
    code, err = _finish(proc, 5)
    assert code == 130, "the parent waited for the running item (30 s) after Ctrl-C"
    assert err.strip().splitlines() == ["interrupted"]
    _assert_gone(family)


def test_ctrl_c_of_the_process_group_prints_no_traceback_of_an_idle_worker():
    proc, family = _start()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the group
    code, err = _finish(proc, 5)
    assert code == 130
    assert err.strip().splitlines() == ["interrupted"], err
    _assert_gone(family)


def _sleep_or_fail(x):
    if x == "fail":
        raise ValueError("bad value in unit 'fail'")
    time.sleep(x)
    return x


def test_an_error_is_raised_without_waiting_for_the_running_items():
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"^bad value in unit 'fail'$"):
        with ProcessExecutor(2) as executor:
            list(executor.as_completed(_sleep_or_fail, [30.0, "fail", 30.0]))
    assert time.monotonic() - start < 10, "the error waited for the items still running"


def test_map_is_stopped_by_an_error_too_and_the_executor_serves_again():
    executor = ProcessExecutor(2)
    try:
        start = time.monotonic()
        with pytest.raises(ValueError, match="bad value"):
            executor.map(_sleep_or_fail, [30.0, "fail"])
        assert time.monotonic() - start < 10, "map waited for the item still running"
        assert executor.map(abs, [-1, 2]) == [1, 2]  # fresh workers after the stop
    finally:
        executor.close()


def _die(_):
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer would


def test_a_worker_killed_by_the_system_is_an_environment_failure():
    """The CLI reports an OSError as the environment's failure (exit 1, one line), not as a bug."""
    with pytest.raises(OSError, match="a worker process died"):
        with ProcessExecutor(2) as executor:
            executor.map(_die, [0])


# -- the same through the CLI: `theory-sim figures NAME --workers 2`, which computes the units in the workers --
def _stored_units(folder):
    total = 0
    for path in folder.glob("*.json"):
        try:
            total += len(json.loads(path.read_text())["units"])
        except (OSError, ValueError, KeyError):  # being replaced
            pass
    return total


def _start_figures(tmp_path, units=1):
    proc = subprocess.Popen([sys.executable, "-m", "theory_sim.cli", "figures", "width_validity", "--workers", "2",
                             "--size", "small", "--quiet", "--out", str(tmp_path / "out")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    results = tmp_path / "out" / "results"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until both workers exist and ``units`` units were stored
        workers = [pid for pid in _descendants(proc.pid) if b"spawn_main" in _cmdline(pid)]
        if len(workers) >= 2 and _stored_units(results) >= units:
            return proc, _descendants(proc.pid), results
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("the workers did not start")


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def test_figures_kill_9_leaves_no_worker(tmp_path):
    proc, family, _ = _start_figures(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        _assert_gone(family)
    finally:
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_figures_ctrl_c_keeps_the_units_returned_and_exits_at_once(tmp_path):
    # 3 of the 4 units stored: one worker computes the last, the other is idle (it printed a
    # KeyboardInterrupt traceback when the workers did not ignore Ctrl-C)
    proc, family, results = _start_figures(tmp_path, units=3)
    before = _stored_units(results)
    os.killpg(proc.pid, signal.SIGINT)
    code, err = _finish(proc, 2)
    assert code == 130
    assert err.strip().splitlines() == ["theory-sim figures: interrupted"]
    _assert_gone(family)
    assert _stored_units(results) >= before >= 3  # what came back before Ctrl-C is in the partial files
