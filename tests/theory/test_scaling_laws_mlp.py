"""Claim C8 with a network (theory_sim.experiments.scaling_laws_mlp): SBPA plateaus while random pruning keeps decaying.

Model: a width-16 tanh MLP trained by full-batch Adam on sine-regression (ω = 3, s = 0.5),
label-free ``distance`` score. Numbers asserted come from an independent recomputation of a cell
(prune + train + quadrature called directly), from the Bayes risk s²/2 (closed form), or from
statistical statements whose false-failure rate is stated at each assertion.
"""

import numpy as np
import pytest

from theory_sim.experiments import scaling_laws_mlp as scaling_mlp
from theory_sim.models.mlp import MLP, train
from theory_sim.models.network_population import population_loss_grad, quadrature_rule
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.experiments.scaling_laws_mlp import MLPScalingConfig, run_mlp_scaling, summary
from theory_sim.core.scores import make_score

TINY = MLPScalingConfig(ns=(40, 80, 160), rs=(0.3,), replications=2, max_iter=50, seed=3)


@pytest.fixture(scope="module")
def tiny():
    return run_mlp_scaling(TINY)


# ---------------------------------------------------------------------------------------
# The run computes what it says: one cell recomputed independently
# ---------------------------------------------------------------------------------------
def test_each_protocol_cell_matches_an_independent_recomputation(tiny):
    res = tiny
    n, j, r = 80, 1, 0.3
    process = make_process("sine-regression", omega=TINY.omega, noise=TINY.noise)
    data = process.sample(n, rng=np.random.SeedSequence(TINY.seed, spawn_key=(0, n, j)))
    g = np.abs(data.x[:, 0])  # the distance score to 0, written out
    np.testing.assert_array_equal(make_score("distance", process)(data.x), g)
    arch = MLP(1, (TINY.width,), "tanh", "mse")
    theta0 = arch.init(np.random.SeedSequence(TINY.seed, spawn_key=(2, n, j)))
    rule = quadrature_rule(process, 1.0)  # µ's rule: the test loss is under µ, not under the pruned law
    r_key = 300_000_000
    selections = {
        "random": prune(g, r, "random", rng=np.random.SeedSequence(TINY.seed, spawn_key=(1, n, j, r_key, 0))),
        "sbpa-hard": prune(g, r, "sbpa", keep="highest",
                           rng=np.random.SeedSequence(TINY.seed, spawn_key=(1, n, j, r_key, 1))),
        "sbpa-easy": prune(g, r, "sbpa", keep="lowest",
                           rng=np.random.SeedSequence(TINY.seed, spawn_key=(1, n, j, r_key, 2))),
        "ec": prune(g, r, "ec", alpha=0.5, keep="highest",
                    rng=np.random.SeedSequence(TINY.seed, spawn_key=(1, n, j, r_key, 3))),
    }
    # The orientation, written out: keep-hard keeps the largest |x|, keep-easy the smallest.
    k = 24
    assert np.sort(g[selections["sbpa-hard"].indices]).tolist() == np.sort(g)[-k:].tolist()
    assert np.sort(g[selections["sbpa-easy"].indices]).tolist() == np.sort(g)[:k].tolist()
    assert np.ptp(selections["ec"].weights) > 0  # EC's two strata have different weights
    for protocol, sel in selections.items():
        fit = train(arch, data.x[sel.indices], data.y[sel.indices], sel.weights, optimizer="adam", lr=TINY.lr,
                    max_iter=TINY.max_iter, theta0=theta0)
        expected = population_loss_grad(arch, fit.params, rule)[0]
        i, p = res.index(r, protocol)
        # Same arithmetic in the same order: equal to rounding (training is deterministic, one BLAS thread).
        np.testing.assert_allclose(res.test_loss[i, p, 1, j], expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(res.excess[i, p, 1, j], expected - 0.5 * TINY.noise**2, rtol=1e-12, atol=0)
    assert res.bayes_loss == 0.5 * TINY.noise**2
    assert res.quadrature_error < 1e-12  # doubling the nodes changes nothing beyond rounding
    assert 0 <= res.floor_excess < 1e-4  # the class floor is far below the excesses (≥ 1e-3 here)
    assert np.all(res.excess > 0)  # L ≥ s²/2 for every function (the Bayes risk)


# ---------------------------------------------------------------------------------------
# The claim: random decays as a power law, SBPA stays high and flattens
# ---------------------------------------------------------------------------------------
CLAIM = MLPScalingConfig(ns=(300, 600, 1200, 2400), rs=(0.3,), protocols=("random", "sbpa-hard", "sbpa-easy"),
                         replications=5, max_iter=1000, seed=0)


@pytest.fixture(scope="module")
def claim():
    res = run_mlp_scaling(CLAIM)
    return res, summary(res)[0.3]


@pytest.mark.slow
def test_random_decays_and_sbpa_stays_above_and_flattens(claim):
    res, s = claim
    rnd, hard, easy = s["random"], s["sbpa-hard"], s["sbpa-easy"]
    # Design false-failure rates below come from the across-seed distribution of each statistic,
    # measured by running this exact config with seeds 0–9 (each statistic's mean and sd over the 10
    # seeds, then a normal tail); they are estimates, not bounds.
    # (1) Random pruning decays: the 95% CI of its exponent lies below 0. Over seeds 0–9 the slope is
    # −0.67…−1.39 and ci_high has mean −0.50, sd 0.18 (max −0.18): rate ≈ Φ(−2.75) ≈ 3e-3.
    assert rnd["fit"].ci_high < 0
    # (2) Both SBPA orientations stay above random at the largest n by a factor 5 (ratio of means).
    # Over seeds 0–9, ln(ratio) has mean 3.59, sd 0.57 (keep-hard; min ratio 11.7) and mean 5.23, sd 0.26
    # (keep-easy; min 117): rate ≈ Φ(−3.5) ≈ 3e-4 and ≪ 1e-9. The misfit off A_r is O(0.01–1) while
    # random's excess is ≈ 2e-3 at k = 720.
    margin = 5.0
    assert hard["plateau"].mean > margin * rnd["plateau"].mean
    assert easy["plateau"].mean > margin * rnd["plateau"].mean
    # (3) Keep-easy falls behind random as a power of n: the slope of the paired ratio
    # excess_easy / excess_random (same data and start per (n, j)) — keep-easy's exponent minus
    # random's — is > 0. Over seeds 0–9 it is 0.53…1.34, mean 0.95, sd 0.27: rate ≈ Φ(−3.5) ≈ 3e-4.
    # (Its 95% CI excludes 0 on 8 of the 10 seeds only — too fragile to assert.) Keep-hard's plateau sets
    # in later (over n ≤ 2400 its paired slope is −0.45…1.48), so keep-hard is checked by its level in
    # (2) and by the default-size figure, not here.
    assert easy["relative"].slope > 0
    # Every protocol fits what it kept (SBPA's excess is not an optimisation failure): the mean final
    # training loss at the largest n is s²/2 = 0.125 within 0.02. Its sd over 5 replications is
    # ≈ s² √(2/k)/(2√5) ≈ 3e-3 (k = 720) and its overfitting bias ≈ −(3h + 1) s²/(2k) ≈ −8.5e-3: the
    # margin left is ≈ 3.9 sd, a two-sided normal false-failure rate ≈ 1e-4 per protocol (seeds 0–9:
    # largest deviation 0.0074).
    np.testing.assert_allclose(res.train_loss[0, :, -1].mean(axis=-1), 0.5 * CLAIM.noise**2, rtol=0, atol=0.02)


# ---------------------------------------------------------------------------------------
# Configuration, seeds, files
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    (dict(omega=0.0), "omega"), (dict(noise=-1.0), "noise"), (dict(width=0), "width"),
    (dict(rs=(0.0,)), "r"), (dict(rs=(0.3, 0.3)), "rs"), (dict(rs=()), "rs"),
    (dict(ns=(100, 50, 1000)), "ns"), (dict(ns=(100, 1000)), "ns"), (dict(ns=(10, 100, 1000)), "ns\\[0\\]"),
    (dict(protocols=("random", "keep-all")), "protocol"), (dict(protocols=()), "protocols"),
    (dict(alpha=1.0), "alpha"), (dict(replications=1), "replications"), (dict(max_iter=0), "max_iter"),
    (dict(lr=0.0), "lr"), (dict(seed=-1), "seed"),
])
def test_config_validation_names_the_parameter(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        MLPScalingConfig(**kwargs)


def test_run_refuses_a_foreign_config():
    from theory_sim.experiments.scaling_laws import ScalingLawConfig

    with pytest.raises(TypeError, match="MLPScalingConfig"):
        run_mlp_scaling(ScalingLawConfig())


def test_same_seed_same_numbers_and_no_dependence_on_the_grid(tiny):
    a = tiny
    b = run_mlp_scaling(TINY)
    np.testing.assert_array_equal(a.excess, b.excess)
    # Fewer n and protocols reproduce their cells exactly (seeds are keyed by n, j, r, protocol).
    sub = MLPScalingConfig(ns=(80, 160, 320), rs=(0.3,), protocols=("ec", "sbpa-hard"), replications=2,
                           max_iter=50, seed=3)
    c = run_mlp_scaling(sub)
    for p, protocol in enumerate(sub.protocols):
        np.testing.assert_array_equal(c.excess[0, p, :2], a.excess[a.index(0.3, protocol)][1:])
    other = run_mlp_scaling(MLPScalingConfig(ns=TINY.ns, rs=TINY.rs, replications=2, max_iter=50, seed=4))
    assert not np.array_equal(other.excess, a.excess)


def test_optimisation_check_reproduces_the_run_cell(tiny):
    res = tiny
    out = scaling_mlp.optimisation_check(TINY, [(160, 0.3, "random", 0)], factor=2)
    i, p = res.index(0.3, "random")
    np.testing.assert_allclose(out[0, 0], res.excess[i, p, 2, 0], rtol=1e-12, atol=0)
    assert out.shape == (1, 2) and out[0, 1] != out[0, 0]
