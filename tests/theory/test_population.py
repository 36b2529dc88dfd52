"""Population losses by quadrature (theory_sim.models.population) against independent computations.

Sources: a tensor Gauss–Legendre rule in the original x-coordinates, with the region's
edges as integration limits (not the rotated (z₁, z₂) coordinates of the implementation), Monte Carlo with 10^7 draws (4.5-sigma
criterion, design false-failure rate 6.8e-6 per comparison), and the refinement of the
implementation's own rules (halving steps changes nothing beyond 1e-12).

Tolerances: 1e-10 against the independent plane quadrature (the accuracy population_loss states
for its quadrature, which the converged-rules test below bounds by 1e-12 on its own rules; the
plane rule is 200 × 100 panels of 16-point Gauss–Legendre on a smooth integrand truncated at
|x| = 10, where the Gaussian tail is e^{-50}); 1e-12 where the value is log 2 exactly (f ≡ log 2
at θ = 0) or a 1-D scipy.quad at epsabs 1e-14; 1e-13 for AC at α ∈ {0, 1}, which is the same
integral as µ or ν_r with weights 1 and 0, so only the rounding of the weights can differ.
"""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import theory_sim as ts
from theory_sim.models import population
from theory_sim.models.population import population_loss

THETAS = np.array([[2.0, 1.0, 0.5], [0.3, -1.0, 0.2], [-1.5, 2.5, -1.0], [-4.0, 4.0, 1.5], [0.0, 0.0, 0.0]])  # up to ‖θ‖ ≈ 6


def _softplus(u):
    return np.logaddexp(0.0, u)


def _gl(lo, hi, panels, nodes=16):
    """Composite Gauss–Legendre on [lo, hi] (arrays of equal shape allowed): nodes and weights."""
    t, wt = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(0.0, 1.0, panels + 1)
    u = ((edges[:-1, None] + edges[1:, None]) / 2 + (np.diff(edges)[:, None] / 2) * t).ravel()
    wu = ((np.diff(edges)[:, None] / 2) * wt).ravel()
    lo, hi = np.asarray(lo, float)[..., None], np.asarray(hi, float)[..., None]
    return lo + (hi - lo) * u, (hi - lo) * wu


def _plane_logistic(theta, mu, margin_q=None):
    """E[f 1{|u*| ≤ q}] (or E[f] when q is None) in the ORIGINAL coordinates (x1, x2), d = 2.

    For each x1 the region is an x2-interval (u* is linear in x2 with slope w*_2 > 0), so a
    tensor Gauss–Legendre rule on [−10, 10] × [x2 interval] integrates smooth pieces; the
    rotation to (u*, orthogonal) used by the library is not used here.
    """
    w, b = theta[:2], theta[2]
    ws, bs = mu.w_star, mu.b_star
    x1, w1 = _gl(-10.0, 10.0, 200)
    if margin_q is None:
        lo, hi = np.full_like(x1, -10.0), np.full_like(x1, 10.0)
    else:
        lo = np.clip((-margin_q - bs - ws[0] * x1) / ws[1], -10, 10)
        hi = np.clip((margin_q - bs - ws[0] * x1) / ws[1], -10, 10)
    x2, w2 = _gl(lo, hi, 100)  # (n1, n2)
    u = w[0] * x1[:, None] + w[1] * x2 + b
    us = ws[0] * x1[:, None] + ws[1] * x2 + bs
    p1 = special.expit(us)
    f = p1 * _softplus(-u) + (1 - p1) * _softplus(u)
    dens = stats.norm.pdf(x1)[:, None] * stats.norm.pdf(x2)
    return float(w1 @ (f * dens * w2).sum(axis=1))


def test_full_loss_matches_plane_quadrature():
    mu = ts.make_process("gaussian-logistic", d=2)
    got = population_loss(mu, THETAS, method="quadrature").values
    want = [_plane_logistic(th, mu) for th in THETAS]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_full_loss_closed_form_at_zero_and_truth():
    """θ = 0 gives log 2 exactly; at the truth, L = E[H(σ(u*))] (the mean entropy), a 1-D integral."""
    mu = ts.make_process("gaussian-logistic", d=3)
    theta_star = np.r_[mu.w_star, mu.b_star]
    got = population_loss(mu, np.vstack([np.zeros(4), theta_star]), method="quadrature").values
    s = np.linalg.norm(mu.w_star)

    def entropy(z):
        u = mu.b_star + s * z
        p = special.expit(u)
        return stats.norm.pdf(z) * (p * _softplus(-u) + (1 - p) * _softplus(u))

    want = integrate.quad(entropy, -12, 12, epsabs=1e-14, epsrel=1e-14, limit=200)[0]
    np.testing.assert_allclose(got, [math.log(2.0), want], rtol=0, atol=1e-12)


@pytest.mark.parametrize("r", [0.1, 0.3])
def test_sbpa_margin_limit_loss_matches_plane_quadrature(r):
    mu = ts.make_process("gaussian-logistic", d=2)
    score = ts.make_score("margin", mu)
    q = ts.score_quantile(mu, score, r).value
    got = population_loss(mu, THETAS, score=score, r=r, protocol="sbpa", method="quadrature").values
    want = [_plane_logistic(th, mu, margin_q=q) / r for th in THETAS]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("process", ["gaussian-logistic", "gaussian-mixture"])
@pytest.mark.parametrize("score, protocol, alpha, keep", [
    ("margin", "sbpa", None, "lowest"),
    ("el2n", "sbpa", None, "highest"),
    ("loss", "ac", 0.5, "lowest"),
    ("entropy", "sbpa", None, "highest"),
])
def test_limit_loss_matches_monte_carlo(process, score, protocol, alpha, keep):
    """|quadrature − MC| ≤ 4.5 se with 10^7 draws (false failure 6.8e-6 per value)."""
    mu = ts.make_process(process, d=2)
    sc = ts.make_score(score, mu)
    kw = dict(score=sc, r=0.2, protocol=protocol, alpha=alpha, keep=keep)
    quad = population_loss(mu, THETAS, method="quadrature", **kw)
    mc = population_loss(mu, THETAS, method="monte-carlo", rng=20230214, **kw)
    assert quad.method == "quadrature" and mc.method == "monte-carlo"
    z = (quad.values - mc.values) / np.where(mc.stderr > 0, mc.stderr, np.inf)
    assert np.all(np.abs(z) <= 4.5), z
    # θ = 0 has f ≡ log 2, so every limit loss is log 2 exactly there
    np.testing.assert_allclose(quad.values[-1], math.log(2.0), rtol=0, atol=1e-12)


def test_rules_are_converged(monkeypatch):
    """Halving the trapezoid step and doubling the Gauss–Legendre panels change nothing beyond 1e-12."""
    mu = ts.make_process("gaussian-mixture", d=2)
    sc = ts.make_score("el2n", mu)
    kw = dict(score=sc, r=0.1, protocol="sbpa", keep="highest", method="quadrature")
    base = population_loss(mu, THETAS, **kw).values
    step = population._TRAPEZOID_STEP / 2
    z2 = np.arange(-population._Z_MAX, population._Z_MAX + 1e-12, step)
    monkeypatch.setattr(population, "_Z2", z2)
    monkeypatch.setattr(population, "_Z2_W", step * np.exp(-0.5 * z2**2) / math.sqrt(2 * math.pi))
    monkeypatch.setattr(population, "_GL_NODES", 40)  # nodes per unit panel, instead of 12
    fine = population_loss(mu, THETAS, **kw).values
    np.testing.assert_allclose(base, fine, rtol=0, atol=1e-12)


def test_ac_interpolates_between_mu_and_nu():
    """AC at α = 0 is µ and at α = 1 is ν_r (exact identities of the density)."""
    mu = ts.make_process("gaussian-logistic", d=2)
    sc = ts.make_score("margin", mu)
    full = population_loss(mu, THETAS, method="quadrature").values
    sbpa = population_loss(mu, THETAS, score=sc, r=0.3, protocol="sbpa", method="quadrature").values
    ac0 = population_loss(mu, THETAS, score=sc, r=0.3, protocol="ac", alpha=0.0, method="quadrature").values
    ac1 = population_loss(mu, THETAS, score=sc, r=0.3, protocol="ac", alpha=1.0, method="quadrature").values
    np.testing.assert_allclose(ac0, full, rtol=0, atol=1e-13)
    np.testing.assert_allclose(ac1, sbpa, rtol=0, atol=1e-13)


def test_bad_input():
    mu = ts.make_process("gaussian-logistic", d=2)
    with pytest.raises(ValueError, match=r"thetas must have shape \(any, 3\)"):
        population_loss(mu, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at least one parameter"):
        population_loss(mu, np.zeros((0, 3)))
    with pytest.raises(ValueError, match="needs a score and r"):
        population_loss(mu, THETAS, protocol="sbpa")
    with pytest.raises(ValueError, match="alpha is required"):
        population_loss(mu, THETAS, score=ts.make_score("margin", mu), r=0.1, protocol="ac")
    with pytest.raises(ValueError, match="n_mc must be an integer in"):
        population_loss(mu, THETAS, method="monte-carlo", n_mc=1000)
    with pytest.raises(ValueError, match="quadrature' is not available"):
        population_loss(mu, THETAS, score=ts.make_score("grand", mu), r=0.1, protocol="sbpa", method="quadrature")
    with pytest.raises(ValueError, match="classification Process"):
        population_loss(ts.make_process("sine-regression"), np.zeros((1, 2)))
