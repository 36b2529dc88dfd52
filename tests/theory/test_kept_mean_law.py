"""The law of SBPA's kept mean (docs/theory.md, "Limits": "The law of the kept mean"; exact check: proofs_check P5).

√k (m̂ − E_ν f) → N(0, σ²), σ² = Var_ν f + (1 − r)(E_ν f − E[f | g = q_r])². Measured on ``gaussian-logistic``
(d = 2) with the ``margin`` score g = |u*|, u* = w*·x + b* ~ N(b*, ‖w*‖²), r = 0.1, for the test function f = g
itself (where the threshold's term is about three quarters of σ²); σ² by 1-D quadrature of the law of u*.

Criterion: over S = 400 replications (n = 20 000, k = 2 000, fixed seeds), the sample variance s² of
√k (m̂ − E_ν f) satisfies (S − 1) s² / σ² ~ χ²_{S−1} (m̂ is a mean of k ≫ 1 terms); the test accepts the central
99.9% of that law: false-failure rate 1e-3 (plus the O(1/k) bias of m̂, below 1e-3 of σ here). Dropping the
threshold's term would make the ratio ≈ 3.9, far outside.
"""

import math

import numpy as np
from scipy import integrate, stats

import theory_sim as ts
from theory_sim.rng import stream

MU = ts.make_process("gaussian-logistic", d=2)
R, N, S = 0.1, 20_000, 400


def _moments(q):
    """E_µ[g^j 1{g ≤ q}] for j = 0, 1, 2 and the density of g at q: g = |u*|, u* ~ N(b*, s²)."""
    b, s = MU.b_star, float(np.linalg.norm(MU.w_star))
    dens = lambda t: (stats.norm.pdf(t, b, s) + stats.norm.pdf(-t, b, s))  # noqa: E731  density of |u*| on t ≥ 0
    return [integrate.quad(lambda t: t**j * dens(t), 0.0, q, epsabs=1e-13, epsrel=1e-12)[0] for j in range(3)]


def test_variance_of_the_kept_mean_matches_the_formula():
    score = ts.make_score("margin", MU)
    q = ts.score_quantile(MU, score, R, method="exact").value
    m0, m1, m2 = _moments(q)
    assert abs(m0 - R) < 1e-9  # the quadrature and the threshold agree
    mean_nu, var_nu = m1 / R, m2 / R - (m1 / R) ** 2
    threshold_term = (1 - R) * (mean_nu - q) ** 2  # E[f | g = q] = q for f = g
    sigma2 = var_nu + threshold_term
    assert threshold_term > 2 * var_nu  # the test can tell the formula from the one without the threshold
    k = int(R * N)
    scaled = []
    for j in range(S):
        rng = np.random.default_rng(stream(12, j))
        data = MU.sample(N, rng)
        g = score(data.x, data.y)
        sel = ts.prune(g, R, "sbpa", keep="lowest", rng=rng)
        assert len(sel.indices) == k
        scaled.append(math.sqrt(k) * (g[sel.indices].mean() - mean_nu))
    ratio = np.var(scaled, ddof=1) / sigma2
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], S - 1) / (S - 1)
    print(f"s²/σ² = {ratio:.3f}, accepted [{lo:.3f}, {hi:.3f}]; σ² = {sigma2:.4g} (threshold term {threshold_term:.4g})")
    assert lo <= ratio <= hi
    assert not lo <= np.var(scaled, ddof=1) / var_nu <= hi  # without the threshold's term: rejected
