"""The limit law of √k · gap (docs/theory.md, "The law of the gaps"; exact checks: proofs_check P5, P6).

Σ by quadrature (theory_sim.core.gap_law.gap_law) is checked (a) for its identities between protocols and its
convergence in the quadrature rule, (b) against a Monte Carlo of the target law (a z test, stated false-failure
rate), and (c) by simulation: at n = 5 000, r = 0.3, 150 replications per protocol (fixed seeds), √k · gap
against the exact target mean and against a target sample of size m = 2k follows max_j |Z_j| (two-sample KS
against 20 000 draws of the law; 8 tests, Bonferroni at a family-wise false-failure rate of 1e-3). Broken on
purpose, the same gaps are rejected: EC's law without its data-sampling term r Cov_µ (E max|Z| 11% lower) and
SBPA's law with the target sample's term (k/m) Cov_target dropped (18% lower).
"""

import math

import numpy as np
import pytest
from scipy import stats

import theory_sim as ts
from theory_sim.core import gap_law as G
from theory_sim.core.distances import cosine_functions, feature_means
from theory_sim.experiments.gap_law import GapLawConfig, run_gap_law
from theory_sim.stats import ks_pvalues

MU = ts.make_process("gaussian-logistic", d=2)
SCORE = ts.make_score("margin", MU)
FAMILY = 1e-3


def test_the_laws_agree_where_the_protocols_do():
    """AC at α = 1 is SBPA; EC and AC at α = 0 are random pruning (Σ = Cov_µ); SBPA's Σ is Cov_ν plus its
    threshold term (the formula of docs/theory.md, from the target's own moments)."""
    sb = G.gap_law(MU, SCORE, 0.3, "sbpa")
    assert np.allclose(G.gap_law(MU, SCORE, 0.3, "ac", alpha=1.0).sigma, sb.sigma, atol=1e-13)
    rnd = G.gap_law(MU, SCORE, 0.3, "random")
    for proto in ("ec", "ac"):
        assert np.allclose(G.gap_law(MU, SCORE, 0.3, proto, alpha=0.0).sigma, rnd.sigma, atol=1e-13)
        # and continuously: the formulas themselves (not the α = 0 shortcut) tend to random pruning's as α → 0
        assert np.abs(G.gap_law(MU, SCORE, 0.3, proto, alpha=1e-7).sigma - rnd.sigma).max() < 1e-5
    assert np.allclose(rnd.sigma, rnd.target_cov, atol=1e-15)
    assert np.allclose(sb.sigma, sb.target_cov + sb.threshold_term, atol=1e-13)
    d = np.sqrt(np.diag(sb.threshold_term) / (1 - 0.3))  # (1 − r) d dᵀ: rank one
    assert np.linalg.matrix_rank(sb.threshold_term, tol=1e-12 * np.abs(sb.threshold_term).max()) == 1
    assert np.allclose(np.abs(sb.threshold_term), (1 - 0.3) * np.outer(d, d), atol=1e-13)
    assert (np.linalg.eigvalsh(G.gap_law(MU, SCORE, 0.1, "ec", alpha=0.5).sigma) > 0).all()


def test_the_quadrature_has_converged(monkeypatch):
    law = G.gap_law(MU, SCORE, 0.1, "ac", alpha=0.5)
    monkeypatch.setattr(G, "NODES", 24)
    monkeypatch.setattr(G, "PANEL", 0.1)
    finer = G.gap_law(MU, SCORE, 0.1, "ac", alpha=0.5)
    for a, b in ((law.sigma, finer.sigma), (law.target_mean, finer.target_mean), (law.target_cov, finer.target_cov)):
        assert np.abs(a - b).max() < 1e-12


def test_target_moments_match_monte_carlo():
    """The quadrature's E_ν f against 400 000 exact draws of ν^AC: each of the 64 z statistics within ±4.42
    (two-sided normal; family-wise false-failure rate ≤ 64 × 1e-5 = 6.4e-4)."""
    law = G.gap_law(MU, SCORE, 0.3, "ac", alpha=0.5)
    s = ts.sample_limit(MU, SCORE, 0.3, 400_000, protocol="ac", alpha=0.5, rng=5)
    omega, c = cosine_functions(3)
    f = np.cos(np.column_stack([s.data.x, s.data.y]) @ omega.T + c)
    z = (f.mean(axis=0) - law.target_mean) / np.sqrt(np.diag(law.target_cov) / f.shape[0])
    assert np.abs(z).max() < stats.norm.isf(0.5e-5)
    assert np.allclose(feature_means(s.data), f.mean(axis=0), atol=1e-12)  # the gap's own feature means


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="protocol"):
        G.gap_law(MU, SCORE, 0.1, "greedy")
    with pytest.raises(ValueError, match="margin"):
        G.gap_law(MU, ts.make_score("el2n", MU), 0.1)
    with pytest.raises(ValueError, match="alpha"):
        G.gap_law(MU, SCORE, 0.1, "sbpa", alpha=0.5)
    with pytest.raises(ValueError, match="k_over_m"):
        G.gap_law(MU, SCORE, 0.1, "random").covariance(-1.0)
    with pytest.raises(ValueError, match="draws"):
        G.max_abs_draws(np.eye(2), 0)


@pytest.mark.slow
def test_simulated_gaps_follow_the_limit_law(tmp_path):
    r, n, reps = 0.3, 5_000, 150
    k = int(r * n)
    level = FAMILY / 8
    results = {}
    for proto in ("sbpa", "random", "ec", "ac"):
        cfg = GapLawConfig(protocol=proto, r=r, alpha=0.5 if proto in ("ec", "ac") else None, n=n, reps=reps,
                           n_target=2 * k, law_draws=20_000, seed=11)
        res = results[proto] = run_gap_law(cfg, results_dir=tmp_path)
        p_exact = ks_pvalues(res.scaled_exact, res.law_exact)
        p_sample = ks_pvalues(res.scaled_sample, res.law_sample)
        print(f"{proto}: KS p = {p_exact:.3g} (exact mean), {p_sample:.3g} (target sample)")
        assert p_exact >= level and p_sample >= level
    rng = np.random.default_rng(0)
    # broken on purpose: each wrong law must be rejected by the same test
    ec = results["ec"].law
    ec_wrong = ec.sigma - r * ec.target_cov  # EC without its data-sampling term r Cov_µ
    assert ks_pvalues(results["ec"].scaled_exact, G.max_abs_draws(ec_wrong, 20_000, rng)) < level
    sb = results["sbpa"]
    assert ks_pvalues(sb.scaled_sample, sb.law_exact) < level  # the target sample's term (k/m) Cov_target dropped



def test_ks_pvalues_are_scipys():
    """ks_pvalues (many rows at once) against scipy.stats.ks_2samp(method='asymp'), an independent computation,
    with ties (rounded values) and without."""
    rng = np.random.default_rng(1)
    rows, ref = rng.normal(size=(4, 150)), rng.normal(0.1, 1.0, 5_000)
    for a, b in ((rows, ref), (np.round(rows, 1), np.round(ref, 1))):
        want = [stats.ks_2samp(row, b, method="asymp").pvalue for row in a]
        assert np.allclose(ks_pvalues(a, b), want, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="finite"):
        ks_pvalues([1.0, np.nan], ref)
