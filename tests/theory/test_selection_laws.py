"""The general limit law of selection policies (docs/theory.md, "Selection policies: a general limit
law (ours)") and the policies' limit densities, against their empirical kept distributions.

Goodness of fit: from a data set of N = 2·10^5 points of ``gaussian-logistic``, a policy keeps
about rN points; m = 400 of them are drawn at random (for a weighted policy: resampled with
probability ∝ weight) and their exact hardness levels u (F_g of the score, by the score's exact law)
are compared with the limit profile's CDF by a Kolmogorov–Smirnov test at level 0.001 — the
false-failure rate of each test when the law holds (the policy's own finite-N error, O(N^{-1/2})
against the test's resolution O(m^{-1/2}), is about 15 times smaller). Power, as a negative
control (m = 1000 where the two laws are close): the same kept levels are tested against the wrong law (µ, i.e. uniform levels, for an
unweighted policy; the unweighted law for a weighted one) and must be rejected at 0.001. Seeds are
fixed, so the suite is deterministic.
"""

import numpy as np
import pytest
from scipy import stats

import theory_sim as ts
from theory_sim.core import selection_policies as sp
from theory_sim.core.limits import limit_density
from theory_sim.core.selection_laws import levels, protocol_profile, stratified_profile, stratum_weights

N, M, LEVEL = 200_000, 400, 1e-3
MU = ts.make_process("gaussian-logistic", d=2)


@pytest.fixture(scope="module")
def data():
    return MU.sample(N, rng=20261201)


def _kept_levels(score, data, sel, resample, keep=None, m=M):
    """Exact levels of m kept points: hardness levels unless ``keep`` says which orientation."""
    rng = np.random.default_rng(7)
    if resample:  # a weighted policy: its weighted kept law, by resampling
        pick = np.asarray(sel.indices)[rng.choice(sel.k, size=m, replace=True, p=np.asarray(sel.weights))]
    else:
        pick = np.asarray(sel.indices)[rng.choice(sel.k, size=m, replace=False)]
    keep = keep or ("lowest" if score.hard == "highest" else "highest")
    return levels(MU, score, data.x[pick], data.y[pick], keep=keep)


def _assert_fits(u, cdf, wrong_cdf):
    fit = stats.kstest(u, cdf)
    assert fit.pvalue > LEVEL, f"KS against the limit: D = {fit.statistic:.4f}, p = {fit.pvalue:.2e}"
    wrong = stats.kstest(u, wrong_cdf)
    assert wrong.pvalue < LEVEL, f"the negative control was not rejected: p = {wrong.pvalue:.3f}"


def _uniform(t):
    return np.asarray(t, dtype=float)


def test_special_cases_sbpa_ec_ac(data):
    """P4 with SBPA's, AC's and random's shares gives limit_density's values exactly (to rounding),
    EC's weights are P4's stratum weights N_b/(n k_b), and SBPA's kept levels follow its profile."""
    score = ts.make_score("margin", MU)
    x, y = data.x[:3000], data.y[:3000]
    t = levels(MU, score, x, y)
    for protocol, alpha in (("sbpa", None), ("ac", 0.5), ("ac", 0.2), ("random", None)):
        expected = limit_density(MU, score, 0.1, protocol=protocol, alpha=alpha)(x, y)
        got = protocol_profile(protocol, 0.1, alpha)(t)
        assert np.max(np.abs(got - expected)) < 1e-12, protocol
    assert protocol_profile("ec", 0.1, 0.5, weighted=True)(t).tolist() == [1.0] * t.shape[0]
    g = score(data.x, data.y)
    sel = ts.prune(g, 0.1, "ec", alpha=0.5, rng=3)
    strata = np.ones(N, dtype=int)
    strata[np.asarray(sel.indices)[np.asarray(sel.signal)]] = 0
    w = stratum_weights(strata, strata[sel.indices], N)
    np.testing.assert_allclose(w, sel.weights, rtol=4 * np.finfo(float).eps, atol=0)
    assert stratified_profile([0.0, 0.05, 1.0], [0.05, 0.05]).mass() == pytest.approx(1.0, abs=1e-12)
    sbpa = ts.prune(g, 0.1, "sbpa", rng=4)
    _assert_fits(_kept_levels(score, data, sbpa, False, keep="lowest"), protocol_profile("sbpa", 0.1).cdf, _uniform)


def _run(name, score, data, r=0.3, **params):
    g = score(data.x, data.y)
    if name == "prototype":
        return sp.prototype(data.x, r, rng=5, **params)
    if name == "infobatch":
        return sp.infobatch(g, hard=score.hard, rng=5, **params)
    if name == "soft-wor":
        return sp.soft(g, r, hard=score.hard, design="successive", rng=5, **params)
    return {"ccs": sp.ccs, "moderate": sp.moderate, "soft": sp.soft}[name](g, r, hard=score.hard, rng=5, **params)


def test_poisson_policy_kept_levels_follow_p1(data):
    """P1: soft sampling, π = min(1, c(0.1 + u)), unweighted: kept law π µ / E π."""
    score = ts.make_score("entropy", MU)
    lim = sp.policy_limit("soft", MU, score, 0.3)
    _assert_fits(_kept_levels(score, data, _run("soft", score, data), False), lim.profile.cdf, _uniform)


def test_inverse_probability_weights_recover_mu(data):
    """P2: the same policy with Hájek weights 1/π: the weighted kept law is µ (uniform levels);
    the unweighted law (P1) is the negative control."""
    score = ts.make_score("entropy", MU)
    unweighted = sp.policy_limit("soft", MU, score, 0.3).profile.cdf
    _assert_fits(_kept_levels(score, data, _run("soft", score, data, weighted=True), True), _uniform, unweighted)


def test_soft_sampling_without_replacement_follows_p3(data):
    """P3: successive sampling ∝ λ(u) = 0.1 + u has the limit π = 1 − e^{−τλ}, not min(1, cλ) nor λ/∫λ:
    the proportional law λ/∫λ (what "sampling ∝ λ" suggests) is the negative control."""
    score = ts.make_score("entropy", MU)
    lim = sp.policy_limit("soft-wor", MU, score, 0.3)
    u = _kept_levels(score, data, _run("soft-wor", score, data), False)
    proportional = lambda t: (0.1 * np.asarray(t) + np.asarray(t) ** 2 / 2) / 0.6  # noqa: E731
    fit = stats.kstest(u, lim.profile.cdf)
    assert fit.pvalue > LEVEL, fit
    # The two laws differ by 0.03 in CDF at most: too little for m = 400 points, so the control
    # uses the exact limit against the proportional law itself.
    grid = np.linspace(0, 1, 1001)
    assert np.max(np.abs(lim.profile.cdf(grid) - proportional(grid))) > 0.02


CASES = [
    ("ccs", "entropy", {}), ("ccs", "el2n", {}), ("moderate", "entropy", {}), ("moderate", "margin", {}),
    ("infobatch", "entropy", {"weighted": False}), ("infobatch", "entropy", {"weighted": True}),
    ("prototype", "distance", {"end": "hard"}), ("prototype", "distance", {"end": "easy"}),
]


@pytest.mark.parametrize("name,score_name,params", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_policy_kept_law_matches_its_limit(data, name, score_name, params):
    score = ts.make_score(score_name, MU)
    lim = sp.policy_limit(name, MU, score, 0.3, **params)
    sel = _run(name, score, data, **params)
    assert abs(sel.k / N - lim.kept_fraction) < 5 / np.sqrt(N)  # kept fraction: 5 binomial sd at most
    if lim.to_mu:
        unweighted = sp.policy_limit(name, MU, score, 0.3, **{**params, "weighted": False}).profile.cdf
        # the weighted and unweighted laws differ by 0.1 in CDF: m = 1000 points give the control power
        _assert_fits(_kept_levels(score, data, sel, True, m=1000), _uniform, unweighted)
    else:
        _assert_fits(_kept_levels(score, data, sel, False), lim.profile.cdf, _uniform)


def test_policies_refuse_bad_input():
    g = np.arange(10.0)
    with pytest.raises(ValueError, match="r must be at most 1 - beta"):
        sp.ccs(g, 0.9, hard="highest", beta=0.2)
    with pytest.raises(ValueError, match="hard must be one of"):
        sp.soft(g, 0.3, hard="up")
    with pytest.raises(ValueError, match="shares must sum to r"):
        stratified_profile([0.0, 0.5, 1.0], [0.1, 0.1], 0.3)
    with pytest.raises(ValueError, match="policy must be one of"):
        sp.policy_limit("nope", MU, ts.make_score("margin", MU), 0.1)


def test_prototype_scores_with_two_clusters_find_them():
    """k = 2 on two well-separated clouds (±5 e_1, sd 0.5): every distance to the nearest centroid is
    that of a point to its own cloud's centre (≤ 0.5 · 4.5 = 2.25 for 2-D normals within 4.5 sd;
    P(exceeding) < 5e-5 per point), far below the 10 between clouds."""
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal([5.0, 0.0], 0.5, (300, 2)), rng.normal([-5.0, 0.0], 0.5, (300, 2))]
    d = sp.prototype_scores(x, 2, rng=4)
    assert d.max() < 2.25
    assert sp.prototype_scores(x, 1).min() > 3.0  # one centroid (the mean, near 0): every point is far
    sel = sp.prototype(x, 0.1, end="easy", clusters=2, rng=5)
    assert sel.k == 60 and np.all(d[sel.indices] <= np.sort(d)[59])
