"""Claim C12: EC's conditional variance is the stratified-sampling formula (theory_sim.core.pruning.ec_variance).

Fix D_n; draw R = 8000 independent EC selections; the sample variance s² of L^EC must match the
formula σ²: (R − 1) s²/σ² is approximately χ²_{R−1} (L^EC is a sum of hundreds of terms), so
|s²/σ² − 1| ≤ 4.5 √(2/(R − 1)) ≈ 0.071 has design false-failure rate ≈ 7e-6. Negative control:
the formula without its finite-population factor (N − m)/(N − 1) (here 0.82) must fail the
same criterion.
"""

import numpy as np
import pytest

import theory_sim as ts
from theory_sim.core.pruning import ec_variance

R = 8000
TOL = 4.5 * np.sqrt(2 / (R - 1))


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(12)
    n = 2000
    g = rng.standard_normal(n)
    f = np.exp(g) + rng.standard_normal(n)  # losses correlated with the score: S matters
    return g, f


def _ec_draws(g, f, r, alpha, seed):
    out = np.empty(R)
    for j, ss in enumerate(np.random.SeedSequence(seed).spawn(R)):
        sel = ts.prune(g, r, "ec", alpha=alpha, rng=np.random.default_rng(ss))
        out[j] = sel.weights @ f[sel.indices]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("r, alpha", [(0.3, 0.5), (0.1, 0.9)])
def test_variance_matches_formula(sample, r, alpha):
    g, f = sample
    draws = _ec_draws(g, f, r, alpha, seed=int(100 * r + 10 * alpha))
    ratio = draws.var(ddof=1) / ec_variance(f, g, r, alpha)
    assert abs(ratio - 1) <= TOL, ratio


@pytest.mark.slow
def test_negative_control_without_finite_population_factor(sample):
    g, f = sample
    r, alpha = 0.3, 0.5
    draws = _ec_draws(g, f, r, alpha, seed=35)
    sel = ts.prune(g, r, "ec", alpha=alpha, rng=0)
    big_n, m = sel.n - sel.k_signal, sel.k - sel.k_signal
    fpc = (big_n - m) / (big_n - 1)
    wrong = ec_variance(f, g, r, alpha) / fpc
    assert abs(draws.var(ddof=1) / wrong - 1) > TOL


def test_variance_blows_up_as_alpha_to_one(sample):
    g, f = sample
    values = [ec_variance(f, g, 0.2, a) for a in (0.0, 0.5, 0.9, 0.99)]
    assert all(b > a for a, b in zip(values, values[1:])), values
    # The ratio at α = 0.99 vs α = 0, from the stratified-sampling formula (claim C12) written
    # here with the integers of this case: n = 2000, k = 400, k_s = ⌊0.99 · 400⌋ = 396, so
    # N = n − k_s = 1604 and m = k − k_s = 4 (α = 0: N = n, m = k). The data enter only through
    # σ²_R/σ², the variance of f off S over that of all f, computed here directly.
    n, k, k_s = 2000, 400, 396
    big_n, m = n - k_s, k - k_s
    fpc_ratio = ((big_n - m) / (big_n - 1)) / ((n - k) / (n - 1))
    design_factor = (big_n / n) ** 2 * (k / m) * fpc_ratio  # = 80.2: the blow-up as α → 1
    rest = np.ones(n, dtype=bool)
    rest[np.argsort(g, kind="stable")[:k_s]] = False  # S: the k_s lowest scores (g is tie-free)
    expected = design_factor * f[rest].var() / f.var()
    # Both sides are the same few floating-point operations in a different order: 1e-12 relative.
    np.testing.assert_allclose(values[-1] / values[0], expected, rtol=1e-12)


def test_bad_input(sample):
    g, f = sample
    with pytest.raises(ValueError, match="alpha must be in"):
        ec_variance(f, g, 0.2, 1.0)
    with pytest.raises(ValueError, match=r"g must have shape \(2000,\)"):
        ec_variance(f, g[:10], 0.2, 0.5)
