r"""q_r (docs/theory.md, "Definitions") against independent computations.

Three kinds of check, each with its own source of truth:

* **Closed forms** (tolerance 1e-8, relative or absolute as stated per test: the toolkit's exact
  quantiles are accurate to ~1e-12 (Brent to xtol 1e-15 on CDFs good to ~1e-13) and scipy's
  ppf/brentq references to ~1e-10 or better, so 1e-8 leaves a margin of 100), written here
  from the law of g(Z) without calling the toolkit's laws: the folded normal of |u| with
  u = w*·x + b* ~ N(b*, ‖w*‖²); χ²_d and non-central χ²_d(‖c‖²) for ‖x − c‖²; the
  exponential and uniform laws of the 1-D processes; a hand derivation for the margin on
  ``exponential``; a brentq inversion written here for the Gaussian mixture.
* **Monte Carlo agreement** where the law has no closed form (el2n, loss, distance on the
  mixture): the exact (quadrature) quantile must lie within 4 standard errors of the Monte
  Carlo order statistic of 10^6 draws with a fixed seed. The order statistic is
  asymptotically normal, so a correct implementation fails one comparison with probability
  P(|N(0, 1)| > 4) ≈ 6.3e-5 (two-sided); with the fixed seeds the outcome is deterministic.
* **Self-consistency**: F_g(q_r) = r to 1e-10 for every exact law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit

import theory_sim as ts

RS = (0.01, 0.1, 0.3, 0.5, 0.9)
# 4 standard errors, two-sided: false-failure rate 2 * (1 - Φ(4)) ≈ 6.3e-5 per comparison.
N_SE = 4.0


def _gl(d, w_star=None, b_star=0.5):
    return ts.make_process("gaussian-logistic", d=d, w_star=w_star, b_star=b_star)


def _q(process, score, r, keep="lowest", **kw):
    return ts.score_quantile(process, score, r, keep=keep, **kw)


# ------------------------------------------------------------------------------------------
# Closed forms
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("b_star", [0.5, -1.3])
@pytest.mark.parametrize("r", RS)
def test_margin_gaussian_logistic_is_folded_normal(d, b_star, r):
    # u = w*·x + b* ~ N(b*, s²), s = ‖w*‖, so |u| ~ foldnorm(|b*|/s, scale=s)
    # (scipy's shape must be ≥ 0; |u| has the same law for b* and −b*).
    mu = _gl(d, b_star=b_star)
    s = float(np.linalg.norm(mu.w_star))
    c = abs(b_star) / s
    score = ts.make_score("margin", mu)
    low = _q(mu, score, r)
    high = _q(mu, score, r, keep="highest")
    assert low.exact and low.stderr == 0.0 and low.level == r
    np.testing.assert_allclose(low.value, stats.foldnorm.ppf(r, c, scale=s), rtol=1e-8)
    np.testing.assert_allclose(high.level, 1.0 - r, rtol=0, atol=1e-15)
    np.testing.assert_allclose(high.value, stats.foldnorm.ppf(1.0 - r, c, scale=s), rtol=1e-8)


def test_margin_at_r_one_is_the_support_edge():
    # r = 1 keeps everything: q = sup of the support (lowest) or its inf, 0 (highest).
    mu = _gl(2)
    score = ts.make_score("margin", mu)
    assert _q(mu, score, 1.0).value == math.inf
    assert _q(mu, score, 1.0, keep="highest").value == 0.0


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("r", RS)
def test_distance_gaussian_logistic_centred_is_chi(d, r):
    # x ~ N(0, I_d): ‖x‖² ~ χ²_d.
    mu = _gl(d)
    score = ts.make_score("distance", mu)
    np.testing.assert_allclose(_q(mu, score, r).value, math.sqrt(stats.chi2.ppf(r, d)), rtol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, math.sqrt(stats.chi2.ppf(1 - r, d)), rtol=1e-8)


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("r", RS)
def test_distance_gaussian_logistic_off_centre_is_noncentral_chi(d, r):
    # x − c ~ N(−c, I_d): ‖x − c‖² ~ χ²_d(‖c‖²).
    mu = _gl(d)
    c = np.linspace(0.7, -0.4, d)
    score = ts.make_score("distance", mu, center=c)
    nc = float(c @ c)
    np.testing.assert_allclose(_q(mu, score, r).value, math.sqrt(stats.ncx2.ppf(r, d, nc)), rtol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, math.sqrt(stats.ncx2.ppf(1 - r, d, nc)),
                               rtol=1e-8)


@pytest.mark.parametrize("rate", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("r", RS)
def test_distance_exponential_centred(rate, r):
    # g(x) = x ~ Exp(rate): F(t) = 1 − e^{−rate t}.
    mu = ts.make_process("exponential", rate=rate)
    score = ts.make_score("distance", mu)
    np.testing.assert_allclose(_q(mu, score, r).value, -math.log1p(-r) / rate, rtol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, -math.log(r) / rate, rtol=1e-8)


@pytest.mark.parametrize("r", RS)
def test_distance_sine_regression_centred_is_uniform(r):
    # x ~ U[−1, 1] so |x| ~ U[0, 1]: q_r = r.
    mu = ts.make_process("sine-regression")
    score = ts.make_score("distance", mu)
    np.testing.assert_allclose(_q(mu, score, r).value, r, rtol=0, atol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, 1 - r, rtol=0, atol=1e-8)


def _margin_exponential_ppf(r, rate, w, b):
    r"""Quantile of |u|, u = w x + b, x ~ Exp(rate), w > 0, b < 0 (derived by hand).

    With x0 = −b/w (where u = 0) and h = t/w, {|u| ≤ t} = {x ∈ [x0 − h, x0 + h]} ∩ [0, ∞):

    * h ≤ x0: F = e^{−λ(x0 − h)} − e^{−λ(x0 + h)} = 2 e^{−λ x0} sinh(λ h)
      ⇒ h = asinh(r e^{λ x0} / 2) / λ, valid while r ≤ 1 − e^{−2 λ x0};
    * h > x0: F = 1 − e^{−λ(x0 + h)} ⇒ h = −log(1 − r)/λ − x0.
    """
    x0 = -b / w
    if r <= -math.expm1(-2 * rate * x0):
        h = math.asinh(r * math.exp(rate * x0) / 2) / rate
    else:
        h = -math.log1p(-r) / rate - x0
    return w * h


@pytest.mark.parametrize(("rate", "w", "b"), [(1.0, 2.0, -2.0), (0.5, 3.0, -1.5), (2.0, 1.0, -0.25)])
@pytest.mark.parametrize("r", RS)
def test_margin_exponential_hand_derived(rate, w, b, r):
    mu = ts.make_process("exponential", rate=rate, w_star=w, b_star=b)
    score = ts.make_score("margin", mu)
    np.testing.assert_allclose(_q(mu, score, r).value, _margin_exponential_ppf(r, rate, w, b), rtol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, _margin_exponential_ppf(1 - r, rate, w, b),
                               rtol=1e-8)


def test_margin_exponential_formula_covers_both_branches():
    # r = 0.9 lies beyond the kink 1 − e^{−2 λ x0} for (1, 2, −2) (kink ≈ 0.865), r = 0.5 before.
    assert 0.5 < -math.expm1(-2.0) < 0.9


def _mixture_margin_ppf(p, pi, m, sigma):
    """Independent inversion: |u| for the Bayes logit of the mixture, u | y ~ N(±w·m + b, σ²‖w‖²)."""
    w = 2 * np.asarray(m) / sigma**2
    b = math.log(pi / (1 - pi))
    mu1, mu0, tau = float(w @ m) + b, -float(w @ m) + b, sigma * float(np.linalg.norm(w))

    def cdf(t):
        one = stats.norm.cdf(t, mu1, tau) - stats.norm.cdf(-t, mu1, tau)
        zero = stats.norm.cdf(t, mu0, tau) - stats.norm.cdf(-t, mu0, tau)
        return pi * one + (1 - pi) * zero

    hi = 1.0
    while cdf(hi) < p:
        hi *= 2
    return optimize.brentq(lambda t: cdf(t) - p, 0.0, hi, xtol=1e-14, rtol=1e-15)


@pytest.mark.parametrize(("d", "pi", "m", "sigma"), [(2, 0.5, None, 1.0), (3, 0.2, (0.5, -0.3, 0.8), 1.7),
                                                     (1, 0.7, (0.4,), 0.6)])
@pytest.mark.parametrize("r", RS)
def test_margin_gaussian_mixture_vs_independent_inversion(d, pi, m, sigma, r):
    mu = ts.make_process("gaussian-mixture", d=d, pi=pi, m=m, sigma=sigma)
    m_arr = np.r_[1.0, 0.5][:d] if m is None else np.asarray(m)
    score = ts.make_score("margin", mu)
    np.testing.assert_allclose(_q(mu, score, r).value, _mixture_margin_ppf(r, pi, m_arr, sigma), rtol=1e-8)
    np.testing.assert_allclose(_q(mu, score, r, keep="highest").value, _mixture_margin_ppf(1 - r, pi, m_arr, sigma),
                               rtol=1e-8)


def _entropy_of_logit(a):
    p = 1.0 / (1.0 + math.exp(-a))
    return -p * math.log(p) - (1 - p) * math.log(1 - p)


@pytest.mark.parametrize("process", [_gl(2), ts.make_process("gaussian-mixture", d=2, pi=0.3),
                                     ts.make_process("exponential")], ids=lambda p: p.name)
@pytest.mark.parametrize("r", RS)
def test_entropy_quantile_is_entropy_at_the_high_margin_quantile(process, r):
    # H = h(|u|) with h decreasing, so {H ≤ h(a)} = {|u| ≥ a}: q_r(H) = h(q_{1−r}(|u|)).
    # Evaluate the entropy *score* at a point x whose logit is exactly a.
    a = _q(process, ts.make_score("margin", process), r, keep="highest").value
    ref = process.truth()
    x = ((a - ref.b) * ref.w / float(ref.w @ ref.w))[None, :]
    np.testing.assert_allclose(ref.logit(x), [a], rtol=1e-12)
    entropy = ts.make_score("entropy", process)
    q = _q(process, entropy, r)
    np.testing.assert_allclose(q.value, entropy(x)[0], rtol=1e-10)
    np.testing.assert_allclose(q.value, _entropy_of_logit(a), rtol=1e-10)
    # and mirrored: the highest entropies are the lowest margins
    a_low = _q(process, ts.make_score("margin", process), r).value
    np.testing.assert_allclose(_q(process, entropy, r, keep="highest").value, _entropy_of_logit(a_low), rtol=1e-10)


@pytest.mark.parametrize("process", [_gl(2), ts.make_process("gaussian-mixture", d=2, pi=0.3),
                                     ts.make_process("exponential")], ids=lambda p: p.name)
@pytest.mark.parametrize("r", (0.01, 0.3, 0.9))
def test_loss_quantile_is_minus_log_one_minus_el2n_quantile(process, r):
    # loss = −log σ(s) = −log(1 − σ(−s)) = −log(1 − el2n), s the signed logit: same ranking.
    q_el2n = _q(process, ts.make_score("el2n", process), r).value
    q_loss = _q(process, ts.make_score("loss", process), r).value
    np.testing.assert_allclose(q_loss, -math.log1p(-q_el2n), rtol=1e-10)


def test_el2n_gaussian_mixture_closed_form():
    # Mixture, Bayes reference: el2n ≤ σ(c) ⇔ signed logit ≥ −c, and the signed logit given y is
    # N(w·m ± b, τ²) for y = 1 / y = 0 (written here, not taken from the toolkit).
    pi, sigma, m = 0.3, 1.2, np.array([1.0, 0.5])
    mu = ts.make_process("gaussian-mixture", d=2, pi=pi, m=m, sigma=sigma)
    w, b = 2 * m / sigma**2, math.log(pi / (1 - pi))
    tau = sigma * float(np.linalg.norm(w))

    def G(c):
        return pi * stats.norm.sf(-c, float(w @ m) + b, tau) + (1 - pi) * stats.norm.cdf(c, -float(w @ m) + b, tau)

    for r in RS:
        c = optimize.brentq(lambda c: G(c) - r, -60, 60, xtol=1e-14, rtol=1e-15)
        np.testing.assert_allclose(_q(mu, ts.make_score("el2n", mu), r).value, expit(c), rtol=1e-8)


# ------------------------------------------------------------------------------------------
# Monte Carlo agreement where there is no closed form
# ------------------------------------------------------------------------------------------

# Seed 13 gives a probe at cos ≈ 0.80 to w*, so that u_true | u_ref has a conditional standard
# deviation ‖w*‖ √(1 − cos²) ≈ 1.35: the bivariate-normal branch of the quadrature matters.
_PROBE = _gl(2).truth().perturbed(0.5, rng=13)


def _mc_cases():
    gl = _gl(2)
    mix = ts.make_process("gaussian-mixture", d=2, pi=0.3)
    ex = ts.make_process("exponential")
    return [
        ("gl-el2n-truth", gl, ts.make_score("el2n", gl)),
        ("gl-loss-truth", gl, ts.make_score("loss", gl)),
        ("gl-el2n-probe", gl, ts.make_score("el2n", gl, reference=_PROBE)),
        ("gl-loss-probe", gl, ts.make_score("loss", gl, reference=_PROBE)),
        ("exp-el2n", ex, ts.make_score("el2n", ex)),
        ("mix-distance-centred", mix, ts.make_score("distance", mix)),
        ("mix-distance-offcentre", mix, ts.make_score("distance", mix, center=[0.4, -0.9])),
    ]


_MC_CASES = _mc_cases()


def test_probe_is_not_aligned_with_the_truth():
    # The bivariate-normal branch needs u_ref and u_true not perfectly correlated.
    w_t = _gl(2).w_star
    cos = float(_PROBE.w @ w_t) / (np.linalg.norm(_PROBE.w) * np.linalg.norm(w_t))
    assert abs(cos) < 0.9


@pytest.mark.parametrize(("case", "process", "score"), _MC_CASES, ids=[c[0] for c in _MC_CASES])
@pytest.mark.parametrize(("r", "keep"), [(0.1, "lowest"), (0.5, "lowest"), (0.2, "highest")])
def test_exact_quantile_within_4_se_of_monte_carlo(case, process, score, r, keep):
    exact = _q(process, score, r, keep=keep)
    assert exact.exact and exact.stderr == 0.0
    # one fixed seed per comparison (not hash(): str hashes are salted per run)
    seed = 1000 + [c[0] for c in _MC_CASES].index(case) * 10 + {0.1: 0, 0.5: 1, 0.2: 2}[r]
    mc = _q(process, score, r, keep=keep, method="monte-carlo", n_mc=10**6, rng=seed)
    assert mc.method == "monte-carlo" and mc.n_mc == 10**6 and mc.stderr > 0
    assert abs(exact.value - mc.value) <= N_SE * mc.stderr, (exact.value, mc.value, mc.stderr)
    # The reported stderr must be the order statistic's: √(p(1 − p)/m) / f(q), f = F_g' by a
    # central difference of the exact CDF. Its own relative noise is ~1/√(2·1.96·√(m p(1−p)))
    # ≤ 4%, so [0.8, 1.25] is a > 5-sigma band; this stops a too-wide stderr passing the check above.
    cdf, q, p = ts.score_cdf(process, score), exact.value, exact.level
    h = 1e-4 * max(1.0, abs(q))
    f = (cdf(q + h) - cdf(q - h)) / (2 * h)
    se = math.sqrt(p * (1 - p) / mc.n_mc) / f
    assert 0.8 <= mc.stderr / se <= 1.25, (mc.stderr, se)


# ------------------------------------------------------------------------------------------
# Self-consistency of the exact laws
# ------------------------------------------------------------------------------------------


def _exact_cases():
    gl, gl5 = _gl(2), _gl(5, b_star=-0.7)
    mix = ts.make_process("gaussian-mixture", d=2, pi=0.3)
    ex = ts.make_process("exponential")
    sine = ts.make_process("sine-regression")
    cases = []
    for p in (gl, gl5, mix, ex):
        for name in ("margin", "entropy", "el2n", "loss", "distance"):
            cases.append((f"{p.name}-d{p.d}-{name}", p, ts.make_score(name, p)))
    cases += [
        ("gl-distance-offcentre", gl, ts.make_score("distance", gl, center=[0.3, -1.0])),
        ("gl-el2n-probe", gl, ts.make_score("el2n", gl, reference=_PROBE)),
        ("mix-distance-offcentre", mix, ts.make_score("distance", mix, center=[0.4, -0.9])),
        ("exp-distance-offcentre", ex, ts.make_score("distance", ex, center=[0.8])),
        ("sine-distance", sine, ts.make_score("distance", sine)),
        ("sine-distance-offcentre", sine, ts.make_score("distance", sine, center=[0.35])),
    ]
    return cases


_EXACT_CASES = _exact_cases()


@pytest.mark.parametrize(("case", "process", "score"), _EXACT_CASES, ids=[c[0] for c in _EXACT_CASES])
def test_cdf_at_quantile_is_r(case, process, score):
    cdf = ts.score_cdf(process, score)
    assert cdf is not None
    for r in (0.01, 0.1, 0.3, 0.5, 0.9):
        for keep, level in (("lowest", r), ("highest", 1 - r)):
            q = _q(process, score, r, keep=keep)
            assert q.exact and q.level == pytest.approx(level, abs=1e-15)
            np.testing.assert_allclose(cdf(q.value), level, rtol=0, atol=1e-10)


# ------------------------------------------------------------------------------------------
# grand: no exact law
# ------------------------------------------------------------------------------------------


def test_grand_has_no_exact_law():
    mu = _gl(2)
    grand = ts.make_score("grand", mu)
    assert ts.score_cdf(mu, grand) is None
    q = _q(mu, grand, 0.3, n_mc=20_000, rng=5)
    assert q.method == "monte-carlo" and not q.exact
    assert q.stderr > 0 and q.n_mc == 20_000
    with pytest.raises(ValueError, match="grand"):
        _q(mu, grand, 0.3, method="exact")
