r"""The limit sampler and the limit densities (docs/theory.md, "Limits"; claims C1, C11).

Statistical tests use fixed seeds and 4.5-sigma bands: under the null (a correct
implementation) a band is left with probability P(|N(0, 1)| > 4.5) ≈ 6.8e-6 (two-sided,
normal approximation of binomial counts and sample means of bounded variables, n ≥ 10^4).
Each claim also has a negative control: a deliberately wrong reading of the claim that the
same data must reject.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory_sim as ts

Z = 4.5  # two-sided false-failure rate ≈ 6.8e-6 per band

GL = ts.make_process("gaussian-logistic", d=2)
MIX = ts.make_process("gaussian-mixture", d=2, pi=0.3)
EXP = ts.make_process("exponential")

# (id, process, score): label-free and label-dependent, exact thresholds throughout
CASES = [
    ("gl-margin", GL, ts.make_score("margin", GL)),
    ("gl-el2n", GL, ts.make_score("el2n", GL)),
    ("mix-distance", MIX, ts.make_score("distance", MIX)),
    ("exp-loss", EXP, ts.make_score("loss", EXP)),
]
IDS = [c[0] for c in CASES]


def _xy(data):
    return data.x, data.y


def _binomial_band(count, n, p):
    """|count − n p| ≤ Z √(n p (1 − p))."""
    return abs(count - n * p) <= Z * math.sqrt(n * p * (1 - p))


# ------------------------------------------------------------------------------------------
# SBPA: ν_r = µ|A_r / r
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "process", "score"), CASES, ids=IDS)
@pytest.mark.parametrize("keep", ["lowest", "highest"])
def test_sbpa_draws_lie_in_the_acceptance_region(case, process, score, keep):
    r, n = 0.1, 5000
    q = ts.score_quantile(process, score, r, keep=keep)
    ls = ts.sample_limit(process, score, r, n, keep=keep, rng=11)
    assert ls.protocol == "sbpa" and ls.exact and ls.threshold == q and len(ls.data) == n
    np.testing.assert_allclose(ls.weights, np.full(n, 1.0 / n), rtol=0, atol=0)
    g = score(ls.data.x, ls.data.y)
    if keep == "lowest":
        assert g.max() <= q.value
    else:
        assert g.min() >= q.value
    # negative control: the draws are not simply µ (a µ sample leaves A_r w.p. 1 − r = 0.9)
    g_mu = score(*_xy(process.sample(n, rng=12)))
    assert ((g_mu > q.value) if keep == "lowest" else (g_mu < q.value)).any()


@pytest.mark.parametrize(("case", "process", "score"), CASES, ids=IDS)
@pytest.mark.parametrize("keep", ["lowest", "highest"])
def test_acceptance_probability_is_r(case, process, score, keep):
    # Rejection from µ accepts with probability µ(A_r) = r: a binomial count.
    r, n = 0.1, 400_000
    region = ts.acceptance_region(process, score, r, keep=keep)
    inside = int(region.contains(*_xy(process.sample(n, rng=21))).sum())
    assert _binomial_band(inside, n, r), (inside, n * r)
    # negative control: the mirrored region has mass 1 − r, far outside the band
    assert not _binomial_band(n - inside, n, r)


@pytest.mark.parametrize("n", [2000, 50_000])
def test_sbpa_fraction_accepted_is_r(n):
    # Draws up to the n-th acceptance form a negative binomial: n_proposed − n ~ NB(n, r),
    # so n_proposed · r has mean n and standard deviation √(n (1 − r)).
    r = 0.1
    ls = ts.sample_limit(GL, CASES[0][2], r, n, rng=31)
    assert abs(ls.n_proposed * r - n) <= Z * math.sqrt(n * (1 - r)), (ls.n_proposed * r, n)


def test_same_seed_same_draws_different_seed_different_draws():
    score = CASES[1][2]
    for kwargs in ({}, {"protocol": "ac", "alpha": 0.4}, {"keep": "highest"}):
        a = ts.sample_limit(GL, score, 0.2, 3000, rng=41, **kwargs)
        b = ts.sample_limit(GL, score, 0.2, 3000, rng=41, **kwargs)
        c = ts.sample_limit(GL, score, 0.2, 3000, rng=42, **kwargs)
        np.testing.assert_array_equal(a.data.x, b.data.x)
        np.testing.assert_array_equal(a.data.y, b.data.y)
        assert a.n_proposed == b.n_proposed
        assert not np.array_equal(a.data.x, c.data.x)


@pytest.mark.parametrize(("protocol", "alpha"), [("random", None), ("ec", 0.0), ("ec", 0.6), ("ac", 0.0)])
def test_ec_random_and_ac_at_zero_return_mu_draws(protocol, alpha):
    # The limit of EC and random pruning (and of AC at α = 0) is µ itself: the draws are
    # exactly µ's draws from the same seed, with no region and uniform weights.
    n = 1000
    ls = ts.sample_limit(GL, CASES[0][2], 0.1, n, protocol=protocol, alpha=alpha, rng=51)
    ref = GL.sample(n, rng=51)
    np.testing.assert_array_equal(ls.data.x, ref.x)
    np.testing.assert_array_equal(ls.data.y, ref.y)
    np.testing.assert_allclose(ls.weights, np.full(n, 1.0 / n), rtol=0, atol=0)
    assert ls.threshold is None and ls.exact and ls.n_proposed == n


# ------------------------------------------------------------------------------------------
# AC: density 1/r on A_{αr}, (1 − α)/(1 − α r) off it
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "process", "score"), CASES[:3], ids=IDS[:3])
@pytest.mark.parametrize("alpha", [0.3, 0.8])
def test_ac_mass_of_signal_region_is_alpha(case, process, score, alpha):
    r, n = 0.2, 200_000
    ls = ts.sample_limit(process, score, r, n, protocol="ac", alpha=alpha, rng=61)
    q_ar = ts.score_quantile(process, score, alpha * r)
    q_r = ts.score_quantile(process, score, r)
    assert ls.threshold == q_ar
    g = score(ls.data.x, ls.data.y)
    # ν^AC(A_{αr}) = (1/r) µ(A_{αr}) = α
    assert _binomial_band(int((g <= q_ar.value).sum()), n, alpha)
    # ν^AC(A_r) = α + (r − α r)(1 − α)/(1 − α r): the density off A_{αr} is the constant of §2.3
    p_r = alpha + r * (1 - alpha) ** 2 / (1 - alpha * r)
    assert _binomial_band(int((g <= q_r.value).sum()), n, p_r)
    # negative control: µ itself would give mass α r to A_{αr}
    assert not _binomial_band(int((g <= q_ar.value).sum()), n, alpha * r)


def test_ac_at_alpha_one_is_sbpa():
    score = CASES[0][2]
    ls = ts.sample_limit(GL, score, 0.1, 2000, protocol="ac", alpha=1.0, rng=62)
    q = ts.score_quantile(GL, score, 0.1)
    assert ls.threshold == q
    assert score(ls.data.x).max() <= q.value


# ------------------------------------------------------------------------------------------
# limit_density: a probability density w.r.t. µ
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "process", "score"), CASES, ids=IDS)
@pytest.mark.parametrize(("protocol", "alpha"), [("sbpa", None), ("ac", 0.5), ("ac", 1.0), ("ec", 0.5),
                                                 ("random", None)])
@pytest.mark.parametrize("keep", ["lowest", "highest"])
def test_limit_density_integrates_to_one_under_mu(case, process, score, protocol, alpha, keep):
    r, n = 0.2, 10**6
    density = ts.limit_density(process, score, r, protocol=protocol, alpha=alpha, keep=keep)
    data = process.sample(n, rng=71)
    values = density(data.x, data.y)
    assert values.shape == (n,) and (values >= 0).all()
    mean, se = values.mean(), values.std(ddof=1) / math.sqrt(n)
    if protocol in ("ec", "random"):
        np.testing.assert_array_equal(values, 1.0)
        return
    # the two values the density takes (§2.3)
    a = 1.0 if protocol == "sbpa" else alpha
    allowed = {1.0 / r, 0.0 if a == 1.0 else (1 - a) / (1 - a * r)}
    assert set(np.unique(values)) <= allowed
    assert abs(mean - 1.0) <= Z * se, (mean, se)


# ------------------------------------------------------------------------------------------
# C1: SBPA's kept points approach ν_r, not µ; g_(k) → q_r
# ------------------------------------------------------------------------------------------


def _density_of_g(process, score, q, level):
    """f(q) = F_g'(q) by a central difference of the exact CDF (error O(h²) + O(1e-13/h))."""
    cdf = ts.score_cdf(process, score)
    h = 1e-4 * max(1.0, abs(q))
    f = (cdf(q + h) - cdf(q - h)) / (2 * h)
    assert f > 0
    np.testing.assert_allclose(cdf(q), level, atol=1e-10)
    return f


@pytest.mark.slow  # two 200k samples, a 2.2M-proposal rejection sampler
@pytest.mark.parametrize(("case", "keep"), [("gl-margin", "lowest"), ("gl-el2n", "highest")])
def test_c1_sbpa_kept_points_approach_nu_r_and_threshold_approaches_q_r(case, keep):
    _, process, score = CASES[IDS.index(case)]
    n, r, m = 200_000, 0.1, 200_000
    data = process.sample(n, rng=81)
    sel = ts.prune(score(data.x, data.y), r, "sbpa", keep=keep, rng=82)
    kept = data.take(sel.indices)
    k = sel.k
    assert k == 20_000

    # --- distances. φ_j ∈ [−1, 1]. Given g_(k+1) = t, the k kept points are i.i.d. from µ
    # restricted to {g < t} (resp. {g > t}), i.e. ν at level r' = F(t) (resp. 1 − F(t));
    # r' − r = O_P(√(r(1 − r)/n)) ≤ 4.5 · 6.7e-4 = 3.0e-3, and TV(ν_r, ν_r') ≤ |r' − r|/r.
    # With Hoeffding and a union bound over the 64 functions, at δ = 1e-6 each:
    #   sample of k:  √(2 log(2·64/δ) / k) = 0.043,  target of m: 0.014,  2 TV ≤ 0.060,
    # so gap(kept, ν_r) ≤ 0.117 except with probability ≤ ~1e-5.
    nu_target = ts.sample_limit(process, score, r, m, keep=keep, rng=83).data
    mu_target = process.sample(m, rng=84)
    gap_nu = ts.function_gap(kept, sel.weights, nu_target)
    gap_mu = ts.function_gap(kept, sel.weights, mu_target)
    hoeffding = math.sqrt(2 * math.log(2 * 64 / 1e-6) / k) + math.sqrt(2 * math.log(2 * 64 / 1e-6) / m)
    bound_nu = hoeffding + 2 * Z * math.sqrt(r * (1 - r) / n) / r
    assert bound_nu < 0.12
    assert gap_nu <= bound_nu, gap_nu
    # The population gap max_j |E_ν φ_j − E_µ φ_j| is ≈ 0.63 (margin) / 0.61 (el2n, keep highest)
    # on 10^6-draw samples of each law (seeds 5 and 6); the same noise bound applies on the µ
    # side, so gap(kept, µ) ≥ 0.61 − 0.12 > 0.45: a wide margin, ≥ 4 × the ν_r bound.
    assert gap_mu >= 0.45 and gap_mu >= 4 * bound_nu, (gap_mu, bound_nu)

    # --- empirical threshold g_(k) vs q_r: √n (g_(k) − q) → N(0, p(1 − p)/f(q)²), p = r or 1 − r
    q = ts.score_quantile(process, score, r, keep=keep)
    f = _density_of_g(process, score, q.value, q.level)
    se = math.sqrt(r * (1 - r) / n) / f
    assert abs(sel.threshold - q.value) <= Z * se, (sel.threshold, q.value, se)
    # negative control: the quantile at the mirrored level is far away
    q_wrong = ts.score_quantile(process, score, r, keep="highest" if keep == "lowest" else "lowest")
    assert abs(sel.threshold - q_wrong.value) > Z * se
