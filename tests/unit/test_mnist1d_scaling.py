"""MNIST-1D generation (offline, deterministic, no global state), the experiment's shapes and design, and
the verdict logic of its evidence on constructed results whose answer is known."""

import random
import socket

import numpy as np
import pytest

from theory_sim.claims import MNIST1D_MARGIN, evaluate
from theory_sim.experiments import mnist1d_scaling as m1
from theory_sim.experiments.mnist1d_scaling import MNIST1DConfig, MNIST1DResult, load_mnist1d, run_mnist1d


def test_mnist1d_is_generated_offline_deterministically_and_leaves_global_state(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    m1._generate.cache_clear()
    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.get_state()[1].copy(), random.getstate()
    x, y, xt, yt = load_mnist1d(60, 40, seed=4)
    assert np.array_equal(np.random.get_state()[1], before_np) and random.getstate() == before_py
    assert x.shape == (60, 40) and xt.shape == (40, 40) and not x.flags.writeable
    # make_dataset draws (pool + n_test) / 10 examples of each class
    assert np.array_equal(np.bincount(np.concatenate([y, yt]), minlength=10), np.full(10, 10))
    m1._generate.cache_clear()
    again = load_mnist1d(60, 40, seed=4)
    assert np.array_equal(again[0], x) and np.array_equal(again[3], yt)
    other = load_mnist1d(60, 40, seed=5)  # negative control: the seed is used
    assert not np.array_equal(other[0], x)
    with pytest.raises(ValueError, match="multiple of 10"):
        load_mnist1d(301, 200)


def test_config_checks():
    with pytest.raises(ValueError, match="ns must not exceed pool"):
        MNIST1DConfig(ns=(100, 500), pool=400, n_test=200)
    with pytest.raises(ValueError, match="strategy must be one of"):
        MNIST1DConfig(strategies=("random", "best"))
    with pytest.raises(ValueError, match="keep floor"):
        MNIST1DConfig(ns=(10, 100), rs=(0.1,), pool=100, n_test=100)
    assert m1.training_epochs(100, 3, 32, 40) == 10 and m1.training_epochs(10000, 3, 32, 40) == 3


def test_tiny_run_shapes_and_pairing(tmp_path):
    cfg = MNIST1DConfig(**m1.SIZES["tiny"])
    res = run_mnist1d(cfg, results_dir=tmp_path)
    S, R, N = len(cfg.strategies), len(cfg.rs), len(cfg.ns)
    assert res.error.shape == (S, R, N, cfg.seeds) and res.full_error.shape == (N, cfg.seeds)
    assert res.finite.all()
    again = run_mnist1d(cfg, results_dir=tmp_path)  # read back from the store: the same numbers
    assert np.array_equal(again.error, res.error)
    diff, mean, low, high = res.paired_difference("sbpa-hard", "random")
    assert diff.shape == (R, N, cfg.seeds) and np.all(low <= mean) and np.all(mean <= high)


def _synthetic(shift_hard, shift_control, seeds=5, noise=0.001):
    """A result whose random error is 0.4 ± noise and whose strategies are shifted by known amounts."""
    cfg = MNIST1DConfig(ns=(1000, 3000, 10000), rs=(0.1, 0.3, 0.5), seeds=seeds, pool=10000, n_test=10000)
    rng = np.random.default_rng(0)
    S, R, N = len(cfg.strategies), len(cfg.rs), len(cfg.ns)
    base = 0.4 * (np.asarray(cfg.ns, float) / 1000) ** -0.2
    error = base[None, None, :, None] + noise * rng.standard_normal((S, R, N, seeds))
    error[cfg.strategies.index("sbpa-hard")] += shift_hard
    error[cfg.strategies.index("random-b")] += shift_control
    zeros = np.zeros((N, seeds))
    return {"mnist1d": MNIST1DResult(cfg, error, error.copy(), np.ones_like(error, bool), zeros + 0.3, zeros,
                                     zeros + 0.5, 0.0)}


@pytest.mark.parametrize("shift_hard,shift_control,verdict", [
    (0.05, 0.0, "supported"),  # SBPA keep-hard worse by 5 points: random better beyond the margin
    (-0.05, 0.0, "not supported"),  # SBPA better
    (0.0, 0.0, "not supported"),  # equivalent within the margin
    (0.05, 0.05, "inconclusive"),  # the negative control declares a winner: no verdict
])
def test_mnist1d_verdict_logic(shift_hard, shift_control, verdict):
    ev = evaluate("mnist1d_scaling", _synthetic(shift_hard, shift_control))["MNIST-1D"]
    assert ev["verdict"] == verdict, ev["numbers"]
    assert MNIST1D_MARGIN == 0.01 and "negative control" in ev["criterion"]
