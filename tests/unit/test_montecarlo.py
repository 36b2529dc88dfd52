"""The Monte Carlo engine's mechanics: reproducibility, result files, resumption, bad configs."""

import json

import numba
import numpy as np
import pytest

from theory_sim.cli import main
from theory_sim.experiments._montecarlo import MonteCarloConfig, parameter_net, run_montecarlo

SMALL = dict(ns=(1_000, 3_000), reps=3, seed=5)


@pytest.mark.parametrize("kw", [dict(protocol="sbpa"), dict(protocol="ec", alpha=0.5, score="el2n")])
def test_numba_and_reference_backends_are_bitwise_identical(kw):
    cfg = MonteCarloConfig(**SMALL, **kw)
    a = run_montecarlo(cfg, progress=False)
    b = run_montecarlo(cfg, backend="reference", progress=False)
    np.testing.assert_array_equal(a.delta, b.delta)
    np.testing.assert_array_equal(a.validity, b.validity)


def test_one_and_two_threads_are_bitwise_identical():
    cfg = MonteCarloConfig(protocol="ac", alpha=0.5, **SMALL)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_montecarlo(cfg, progress=False)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = run_montecarlo(cfg, progress=False)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.delta, two.delta)
    np.testing.assert_array_equal(one.validity, two.validity)


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = run_montecarlo(MonteCarloConfig(**SMALL), progress=False)
    b = run_montecarlo(MonteCarloConfig(**SMALL), progress=False)
    c = run_montecarlo(MonteCarloConfig(**{**SMALL, "seed": 6}), progress=False)
    np.testing.assert_array_equal(a.delta, b.delta)
    assert not np.array_equal(a.delta, c.delta)


@pytest.mark.parametrize("kw, message", [
    (dict(process="nope"), "process must be one of 'gaussian-logistic', 'gaussian-mixture', 'sine-regression'"),
    (dict(process="sine-regression"), "d must be 1 for process 'sine-regression', got 2"),
    (dict(process="sine-regression", d=1), "score 'margin' needs a classification process"),
    (dict(process="sine-regression", d=1, score="distance"), "model 'logistic' is for classification but process "
                                                              "'sine-regression' is a regression process"),
    (dict(process="exponential", d=1), "process 'exponential' declares no population-loss quadrature: population "
                                       "losses will use Monte Carlo; pass method='monte-carlo'"),
    (dict(score="grand"), "score 'grand' has no exact law under 'gaussian-logistic': population losses will use "
                          "Monte Carlo; pass method='monte-carlo'"),
    (dict(protocol="soft"), "policy 'soft' has no limit of the region form"),
    (dict(method="exact"), "method must be one of 'quadrature', 'monte-carlo'"),
    (dict(method="monte-carlo", n_mc=999), "n_mc must be an integer in"),
    (dict(r=0.0), r"r must be in \(0.0, 1.0\], got 0.0"),
    (dict(protocol="ec", alpha=1.0), r"alpha must be in \[0.0, 1.0\), got 1.0"),
    (dict(protocol="ec"), "alpha is required"),
    (dict(protocol="sbpa", alpha=0.5), "alpha applies to protocols 'ec' and 'ac' only"),
    (dict(ns=(10,)), "n=10 is too small for r=0.1"),
    (dict(ns=()), "ns must list at least one sample size"),
    (dict(ns=(1000, 1000)), "strictly increasing"),
    (dict(net_size=0), "net_size must be at least 1: the net W is empty"),
    (dict(net_radius=0.0), "net_radius must be in"),
    (dict(reps=1), "reps must be an integer in"),
    (dict(model="mlp"), "model must be one of 'logistic', 'linear'"),
    (dict(model="linear"), "model 'linear' is for regression"),
    (dict(score="nope"), "score must be one of"),
])
def test_bad_configs_are_rejected_before_any_work(kw, message):
    with pytest.raises(ValueError, match=message):
        MonteCarloConfig(**kw)


def test_parameter_net_is_in_the_ball_and_deterministic():
    net = parameter_net(5, 256, 6.0)
    assert net.shape == (256, 6)
    assert np.all(np.linalg.norm(net, axis=1) <= 6.0 + 1e-12)
    np.testing.assert_array_equal(net, parameter_net(5, 256, 6.0))
    assert len(np.unique(net.round(12), axis=0)) == 256


def test_cli_consistency_and_validity(tmp_path, capsys):
    argv = ["--n", "1000,3000", "--reps", "3", "--results", str(tmp_path), "--quiet"]
    assert main(["consistency", *argv]) == 0
    out = capsys.readouterr().out
    assert "Delta_inf" in out and "log-log slope" in out and "result file" in out
    assert main(["validity", *argv]) == 0  # the same config: reuses the file
    out = capsys.readouterr().out
    assert "V_inf" in out and len(list(tmp_path.glob("montecarlo-*.json"))) == 1


@pytest.mark.parametrize("argv, needle", [
    (["consistency", "--r", "0"], "r must be in"),
    (["consistency", "--protocol", "ec", "--alpha", "1"], "alpha must be in"),
    (["validity", "--n", "5"], "too small"),
    (["consistency", "--net-size", "0"], "net W is empty"),
    (["consistency", "--process", "nope"], "process must be one of"),
])
def test_cli_bad_input_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_blas_thread_count_does_not_change_the_limits():
    """V_∞ and Δ_∞ come from optimisers over quadrature sums (BLAS products). With 1 and 2 BLAS
    threads OpenBLAS rounds those sums differently and the optimiser amplified it (V_∞ of this
    config moved by 2.5e-7 before the runners pinned BLAS to one thread): now bitwise equal."""
    from threadpoolctl import threadpool_limits

    from theory_sim.experiments._montecarlo import population_limits

    config = MonteCarloConfig(process="gaussian-logistic", d=2, score="el2n", protocol="sbpa", r=0.3, keep="highest",
                              ns=(1000, 10000), reps=4, seed=4)  # the validity figure's small EL2N config
    out = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            lim = population_limits(config)
        out.append((lim.v_inf, lim.delta_inf, np.asarray(lim.theta_nu).tobytes()))
    assert out[0] == out[1]


def test_the_new_fields_leave_existing_hashes_alone():
    """method and n_mc (issue 11) enter the hash only away from their defaults: a config that existed before
    them hashes as it did (the hash of its old fields), so its result file is found again."""
    from theory_sim.store import canonical, config_hash

    config = MonteCarloConfig(**SMALL)
    old_fields = {k: v for k, v in config.__dict__.items() if k not in ("method", "n_mc")}
    assert config.hash == config_hash({"kind": "montecarlo", **canonical(old_fields)})
    assert "method" not in config.to_dict() and "n_mc" not in config.to_dict()
    mc = MonteCarloConfig(**{**SMALL, "score": "grand", "method": "monte-carlo"})
    assert mc.to_dict()["method"] == "monte-carlo" and mc.hash != MonteCarloConfig(**{**SMALL, "score": "grand",
                                                                                          "method": "monte-carlo",
                                                                                          "n_mc": 2000}).hash
