"""Plug-ins: an installed package found by its entry points, and ``--plugin FILE.py`` (issue 11).

The installed package is built here: a package and a ``*.dist-info`` folder with ``METADATA`` and
``entry_points.txt`` in a temporary folder put on sys.path (for the CLI: on PYTHONPATH) — what pip
would leave in site-packages, without pip or a network.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import theory_sim as ts
from theory_sim.cli import main

ROOT = Path(__file__).resolve().parents[2]

PACKAGE = '''
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import theory_sim as ts
from theory_sim.core.processes import Data


@dataclass(frozen=True, eq=False)
class Disc(ts.Process):
    """x uniform in the unit disc, P(y = 1 | x) = sigma(3 x_1)."""

    task: ClassVar[str] = "classification"

    @property
    def d(self):
        return 2

    def _sample(self, n, rng):
        rad, ang = np.sqrt(rng.random(n)), rng.uniform(0.0, 2 * np.pi, n)
        x = np.c_[rad * np.cos(ang), rad * np.sin(ang)]
        return Data(x, (rng.random(n) < 1 / (1 + np.exp(-3 * x[:, 0]))).astype(float))


@dataclass(frozen=True, eq=False)
class Radius(ts.Score):
    def values(self, x, y):
        return np.sqrt((x * x).sum(axis=1))


def radius(process=None, **options):
    return Radius("plug-radius", True, "highest", dim=2)


class KeepLowest(ts.Policy):
    name = "plug-lowest"

    def select(self, g, r, *, alpha, keep, rng):
        k = int(r * g.shape[0])
        kept = np.argsort(g if keep == "lowest" else -g, kind="stable")[:k]
        return kept, np.full(k, 1.0 / k)

    def limit(self, r, alpha):
        return ts.RegionLimit(r, 1.0, r, 0.0)


POLICY = KeepLowest()
'''

ENTRY_POINTS = """\
[theory_sim.processes]
plug-disc = tsplug:Disc

[theory_sim.scores]
plug-radius = tsplug:radius

[theory_sim.policies]
plug-lowest = tsplug:POLICY
"""


def _reset_plugins():
    for registry in (ts.PROCESSES, ts.SCORES, ts.MODELS, ts.POLICIES):
        registry.forget_plugins()  # forget what the last scan of the entry points found and loaded


def test_plugins_load_when_the_importlib_metadata_backport_is_imported(installed):
    """Imported (by Sphinx, Jupyter, dask...), the backport makes importlib.metadata return its own
    EntryPoint class: a plug-in must still load, not come back as its entry point."""
    importlib_metadata = pytest.importorskip("importlib_metadata")
    from importlib import metadata

    eps = metadata.entry_points(group="theory_sim.processes")
    assert any(type(ep).__module__ == importlib_metadata.__name__ for ep in eps if ep.name == "plug-disc")
    assert isinstance(ts.get_process("plug-disc"), type)
    assert ts.make_process("plug-disc").d == 2


@pytest.fixture
def installed(tmp_path, monkeypatch):
    (tmp_path / "tsplug").mkdir()
    (tmp_path / "tsplug" / "__init__.py").write_text(PACKAGE)
    info = tmp_path / "tsplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tsplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins()
    yield tmp_path
    monkeypatch.undo()
    sys.modules.pop("tsplug", None)
    _reset_plugins()


def test_an_installed_plugin_is_found_by_name_from_python(installed):
    assert "plug-disc" in ts.PROCESSES and "plug-radius" in ts.SCORES and "plug-lowest" in ts.POLICIES
    assert "plug-disc" in list(ts.PROCESSES)
    mu = ts.make_process("plug-disc")
    score = ts.make_score("plug-radius", mu)
    data = mu.sample(2000, rng=0)
    sel = ts.prune(score(data.x, data.y), 0.25, "plug-lowest", rng=0)
    assert sel.k == 500 and score(data.x[sel.indices]).max() <= np.quantile(score(data.x), 0.25) + 1e-12
    # F_g(q) = q² for the radius of a uniform point of the disc: q_{0.25} = 0.5 (Monte Carlo, 4 SE)
    q = ts.score_quantile(mu, score, 0.25, rng=1)
    assert abs(q.value - 0.5) < 4 * q.stderr and abs(q.value - 0.25) > 4 * q.stderr


def _cli(env_path, *argv):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(env_path), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "theory_sim.cli", *argv], capture_output=True, text=True, env=env,
                          cwd=env_path)


def test_an_installed_plugin_is_found_by_name_from_the_cli(installed):
    proc = _cli(installed, "consistency", "--help")
    assert proc.returncode == 0 and "plug-disc" in proc.stdout and "plug-lowest" in proc.stdout
    proc = _cli(installed, "limit", "--process", "plug-disc", "--score", "plug-radius", "--protocol", "plug-lowest",
                "--r", "0.25", "--n", "400,1600", "--reps", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "# q = " in proc.stdout and "monte-carlo" in proc.stdout
    q = float(proc.stdout.split("# q = ")[1].split()[0])
    assert abs(q - 0.5) < 0.01  # F_g(q) = q²; the CLI's Monte Carlo q has a standard error ~6e-4 here


PLUGIN_FILE = '''
import numpy as np
import theory_sim as ts


class EveryThird(ts.Policy):
    def select(self, g, r, *, alpha, keep, rng):
        k = int(r * g.shape[0])
        kept = np.argsort(g if keep == "lowest" else -g, kind="stable")[:k]
        return kept, np.full(k, 1.0 / k)

    def limit(self, r, alpha):
        return ts.RegionLimit(r, 1.0, r, 0.0)


ts.register_policy("file-lowest", EveryThird())
'''


def test_plugin_file_registers_names_for_the_cli(tmp_path):
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text(PLUGIN_FILE)
    proc = _cli(tmp_path, "--plugin", str(plugin), "validity", "--help")
    assert proc.returncode == 0 and "file-lowest" in proc.stdout
    proc = _cli(tmp_path, "consistency", "--plugin", str(plugin), "--protocol", "file-lowest", "--n", "500,2000",
                "--reps", "2", "--net-size", "8", "--results", str(tmp_path / "res"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Delta_inf" in proc.stdout and "(quadrature)" in proc.stdout  # a region-form limit: quadrature holds
    proc = _cli(tmp_path, "consistency", "--protocol", "file-lowest")
    assert proc.returncode == 2 and "--protocol must be one of" in proc.stderr


@pytest.mark.parametrize("content, needle", [
    (None, "no such file"),
    ("raise RuntimeError('boom')", "failed: RuntimeError: boom"),
])
def test_a_bad_plugin_file_is_one_line_and_exit_2(tmp_path, capsys, content, needle):
    plugin = tmp_path / "bad.py"
    if content is not None:
        plugin.write_text(content)
    code = main(["--plugin", str(plugin), "consistency", "--help"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err
    code = main(["--plugin", str(tmp_path / "x.txt"), "limit"])
    assert code == 2 and "must be a .py file" in capsys.readouterr().err


def test_registered_names_are_accepted_by_the_engines_configs():
    ts.register_policy("file-lowest-2", type("P", (ts.Policy,), {
        "select": lambda self, g, r, *, alpha, keep, rng: (np.argsort(g)[: int(r * g.shape[0])],
                                                            np.full(int(r * g.shape[0]), 1 / int(r * g.shape[0]))),
        "limit": lambda self, r, alpha: ts.RegionLimit(r, 1.0, r, 0.0)})())
    try:
        ts.MonteCarloConfig(protocol="file-lowest-2", net_size=8, ns=(100,), reps=2)
        ts.LimitConfig(process="gaussian-logistic", score="margin", protocol="file-lowest-2", ns=(100,))
        with pytest.raises(ValueError, match="policy 'soft' has no limit of the region form"):
            ts.LimitConfig(process="gaussian-logistic", score="margin", protocol="soft", ns=(100,))
    finally:
        ts.POLICIES.unregister("file-lowest-2")



def test_the_cli_passes_the_method_that_works(tmp_path, capsys):
    argv = ["consistency", "--score", "grand", "--keep", "highest", "--n", "500,1000", "--reps", "2", "--net-size",
            "4", "--results", str(tmp_path), "--quiet"]
    assert main(argv) == 2
    assert "pass --method 'monte-carlo'" in capsys.readouterr().err
    assert main(argv + ["--method", "monte-carlo", "--n-mc", "20000"]) == 0
    out = capsys.readouterr().out
    assert "Delta_inf = " in out and "(Monte Carlo, n_mc=20000, stderr" in out
