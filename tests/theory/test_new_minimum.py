"""Claim C7 (new local minima): the certificate of :func:`theory_sim.experiments.new_minima.certify_new_minimum`
is recomputed and checked, its population numbers are re-derived by an independent route
(scipy's adaptive quadrature of the closed-form integrands) and linked to SBPA on a sample,
and negative controls — ν = µ, a perturbed point, the wrong orientation — must fail.

Setting: ``sine-regression`` (ω = 5, s = 0.1), label-free ``distance`` score keeping the centre
(A_r = [−r, r]) at r = 0.3, model v(x) = a tanh(w x + b) + c (θ = (w, b, a, c)), loss ½(v − y)².
Everything deterministic except the sample test (fixed seed, 5-sigma bounds: false-failure rate
~1e-6 per comparison).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from theory_sim import make_process, make_score, prune
from theory_sim.experiments.new_minima import (LandscapeSliceConfig, canonical, certify_new_minimum, local_minima,
                                               run_landscape_slice)
from theory_sim.experiments.width_validity import WidthValidityConfig, run_width_validity
from theory_sim.models.mlp import MLP
from theory_sim.models.network_population import hessian_fd, population_hessian, population_loss_grad, quadrature_rule

# θ₀ as printed by certify_new_minimum() at its defaults (recomputed by every test below). Its
# source is not the printout: test_population_numbers_by_adaptive_quadrature checks, with
# independent scipy quadrature, that ∇L_ν(THETA0) = 0 to 1e-12 and ∇²L_ν(THETA0) is positive
# definite, i.e. that THETA0 is a local minimiser of L_ν.
THETA0 = np.array([4.3629298788343007, 0.0, 1.1839152860281847, 0.0])
OMEGA, NOISE, R = 5.0, 0.1, 0.3
_cache: dict = {}


def _certificate(**kw):
    key = tuple(sorted(kw.items()))
    if key not in _cache:
        _cache[key] = certify_new_minimum(**kw)
    return _cache[key]


def _integrals(theta, lo, hi):
    """(L, ∇L) over x ~ U[lo, hi] by scipy.integrate.quad of the closed forms (independent code)."""
    w, b, a, c = theta

    def resid(x):
        return a * np.tanh(w * x + b) + c - np.sin(OMEGA * x)

    def dv(x):  # ∂v/∂(w, b, a, c)
        t = np.tanh(w * x + b)
        return (a * (1 - t * t) * x, a * (1 - t * t), t, 1.0)

    opts = dict(epsabs=1e-13, epsrel=1e-12, limit=200)  # the gradient integrals are ~0: an absolute target
    loss = integrate.quad(lambda x: 0.5 * resid(x) ** 2, lo, hi, **opts)[0] / (hi - lo) + 0.5 * NOISE**2
    grad = [integrate.quad(lambda x, k=k: resid(x) * dv(x)[k], lo, hi, **opts)[0] / (hi - lo) for k in range(4)]
    return loss, np.array(grad)


# ---------------------------------------------------------------------------------------
# The certificate
# ---------------------------------------------------------------------------------------
def test_certificate_of_a_new_local_minimum():
    cert = _certificate()
    assert cert.certified and all(cert.checks.values()), cert.checks
    assert cert.r == R and cert.keep == "lowest" and cert.q == pytest.approx(R, abs=1e-12)  # q_r = r for U[−1, 1]
    np.testing.assert_allclose(cert.theta0, THETA0, rtol=1e-9, atol=1e-12)
    # ∇L_ν(θ₀) = 0 to quadrature precision; the quadrature itself is accurate to ~1e-15.
    assert cert.grad_nu_norm <= 1e-12 and cert.quadrature_error <= 1e-13
    # Hessian of L_ν positive definite with a margin > 10^4 times its error bound (λ_min is
    # re-derived independently, by finite differences of scipy-quadrature gradients, in
    # test_population_numbers_by_adaptive_quadrature).
    lam = cert.hessian_nu_eigenvalues
    assert cert.hessian_fd_error <= 1e-8
    assert lam[0] - cert.hessian_fd_error >= 1e-5
    # L's gradient at θ₀ is far from 0: θ₀ is not even a critical point of L (its value is
    # re-derived by scipy quadrature to 1e-12 in test_population_numbers_by_adaptive_quadrature) ...
    assert cert.grad_mu_norm > 0.8
    # ... and, to first order, no critical point of L lies within ‖∇L(θ₀)‖ / ‖∇²L(θ₀)‖ ≈ 0.78 of
    # θ₀, while the exact minimiser of L_ν is within newton_radius (~1e-13) of θ₀.
    assert cert.newton_radius <= 1e-10
    assert cert.grad_mu_norm / np.abs(cert.hessian_mu_eigenvalues).max() > 0.5
    # L's Hessian at θ₀ is indefinite: θ₀ sits on a slope of L, not in one of its wells.
    assert cert.hessian_mu_eigenvalues[0] < 0
    # Training on ν_r and landing at θ₀ costs > 0.5 in population loss (V_∞, docs/theory.md, "Definitions").
    # loss_nu, loss_mu and min_loss_mu are each re-derived by independent scipy quadrature in
    # test_population_numbers_by_adaptive_quadrature; here: L_ν(θ₀) is above the noise floor ½s²
    # (the one-unit model cannot fit sin(5x) exactly on [−r, r]), and the gap is their difference.
    assert cert.loss_nu > 0.5 * NOISE**2
    assert cert.validity_gap == pytest.approx(cert.loss_mu - cert.min_loss_mu, abs=1e-12)
    assert cert.validity_gap > 0.5


def test_population_numbers_by_adaptive_quadrature():
    """L_ν, L and both gradients at θ₀, the smallest eigenvalue of ∇²L_ν(θ₀), and min L, all by
    scipy.integrate.quad of the closed forms (code independent of theory_sim.models.network_population)."""
    cert = _certificate()
    np.testing.assert_allclose(cert.theta0, THETA0, rtol=1e-9, atol=1e-12)
    arch = MLP(1, (1,), "tanh", "mse")
    for (lo, hi), loss, rule in (((-R, R), cert.loss_nu, quadrature_rule(None, R)),
                                 ((-1.0, 1.0), cert.loss_mu, quadrature_rule(None, 1.0))):
        ref_loss, ref_grad = _integrals(cert.theta0, lo, hi)
        assert loss == pytest.approx(ref_loss, abs=1e-12)
        np.testing.assert_allclose(population_loss_grad(arch, cert.theta0, rule)[1], ref_grad, rtol=0, atol=1e-12)
    assert np.linalg.norm(_integrals(cert.theta0, -R, R)[1]) <= 1e-12
    assert np.linalg.norm(_integrals(cert.theta0, -1.0, 1.0)[1]) == pytest.approx(cert.grad_mu_norm, abs=1e-12)
    # ∇²L_ν(θ₀) by central differences (h = 1e-4) of the quadrature gradient: truncation
    # h²·|∇³L|/6 ≲ 1e-8 and quadrature error 1e-13/h = 1e-9, so its eigenvalues agree with the
    # certificate's exact Hessian to 1e-7 (measured: 1e-9), and the smallest is positive.
    h = 1e-4
    hess = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        hess[:, j] = (_integrals(cert.theta0 + e, -R, R)[1] - _integrals(cert.theta0 - e, -R, R)[1]) / (2 * h)
    lam_fd = np.linalg.eigvalsh((hess + hess.T) / 2)
    np.testing.assert_allclose(lam_fd, cert.hessian_nu_eigenvalues, rtol=0, atol=1e-7)
    assert lam_fd[0] > 1e-4  # positive definite, with λ_min ≈ 6.1e-4 ≫ the 1e-7 error above
    # min L: the certificate's θ_µ is a critical point of the independent L (‖∇L‖ ≤ 1e-10) whose
    # value is min_loss_mu to quadrature precision. (That it is the *global* minimum rests on the
    # certificate's multi-start search, not on this check.)
    loss_min, grad_min = _integrals(cert.theta_mu, -1.0, 1.0)
    assert np.linalg.norm(grad_min) <= 1e-10
    assert loss_min == pytest.approx(cert.min_loss_mu, abs=1e-12)


def test_sbpa_on_a_sample_sees_the_same_landscape():
    """SBPA (distance, keep lowest, r = 0.3) on n = 10^6 draws: the pruned loss and gradient at
    θ₀ match L_ν(θ₀), ∇L_ν(θ₀) ≈ 0 within 5 standard errors; the full-sample gradient is ∇L(θ₀)."""
    cert = _certificate()
    mu = make_process("sine-regression")
    data = mu.sample(1_000_000, rng=2024)
    sel = prune(make_score("distance", mu)(data.x), R, "sbpa", keep="lowest", rng=1)
    arch = MLP(1, (1,), "tanh", "mse")
    for x, y, loss, grad in ((data.x[sel.indices], data.y[sel.indices], cert.loss_nu, 0.0),
                             (data.x, data.y, cert.loss_mu, None)):
        f = arch.losses(cert.theta0, x, y)
        assert abs(f.mean() - loss) <= 5 * f.std() / np.sqrt(f.size)
        G = arch.per_sample_grads(cert.theta0, x, y)
        se = G.std(axis=0) / np.sqrt(G.shape[0])
        target = np.zeros(4) if grad is not None else population_loss_grad(arch, cert.theta0,
                                                                           quadrature_rule(None, 1.0))[1]
        assert np.all(np.abs(G.mean(axis=0) - target) <= 5 * se), (G.mean(axis=0), target, se)


def test_the_minimum_is_unique_up_to_symmetry_among_the_starts():
    """All finite-norm local minima of L_ν found from 32 starts are θ₀ (up to the sign flip)."""
    rule = quadrature_rule(None, R)
    minima = local_minima(MLP(1, (1,)), rule, starts=32, rng=0)
    # count: starts that reached θ₀ (the others diverge to ‖θ‖ → ∞ and are not minima). Half of
    # the 32 is a guard that the search did not silently fail, not a theoretical number.
    assert len(minima) == 1 and minima[0].count >= 16
    np.testing.assert_allclose(minima[0].theta, THETA0, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Negative controls: each must fail the certificate, for the stated reason
# ---------------------------------------------------------------------------------------
def test_negative_control_nu_equal_mu_has_nothing_new():
    """r = 1: ν = µ. The same search finds L's own minimiser: a certified local minimum of L_ν = L
    with ∇L ≈ 0 — so it is not new."""
    cert = _certificate(r=1.0)
    assert not cert.certified
    assert cert.checks == {"stationary_nu": True, "positive_definite_nu": True, "not_critical_mu": False}
    assert cert.grad_mu_norm <= 1e-12
    # θ₀ is L's minimiser up to the symmetries of L: the network's (tanh odd: canonical() fixes
    # a ≥ 0) and the data's — sin ωx is odd and µ symmetric, so θ = (w, b, a, c) and its mirror
    # (w, −b, a, −c), which computes −v(−x), have the same loss. Which of two equal minima a
    # multi-start reports depends on rounding, so both are accepted.
    mirror = cert.theta_mu * np.array([1.0, -1.0, 1.0, -1.0])
    close = [np.allclose(cert.theta0, t, rtol=1e-8, atol=1e-10) for t in (cert.theta_mu, mirror)]
    assert any(close), (cert.theta0, cert.theta_mu)


def test_negative_control_perturbed_point_is_not_stationary():
    cert = certify_new_minimum(THETA0 + np.array([1e-4, 0, 0, 0]), polish=False, starts=4)
    assert not cert.checks["stationary_nu"] and not cert.certified


def test_negative_control_wrong_orientation():
    """θ₀ of the centre, checked against the boundary's limit (keep='highest'): not stationary."""
    cert = certify_new_minimum(THETA0, keep="highest", polish=False, starts=4)
    assert not cert.checks["stationary_nu"] and cert.grad_nu_norm > 0.1


# ---------------------------------------------------------------------------------------
# The machinery the certificate rests on
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [1, 3])
def test_exact_hessian_matches_finite_differences(hidden):
    arch = MLP(1, (hidden,), "tanh", "mse")
    rule = quadrature_rule(None, 0.4, keep="highest")
    for seed in range(3):
        theta = arch.init(seed) * 2.0
        H = population_hessian(arch, theta, rule)
        H_fd, err = hessian_fd(lambda th: population_loss_grad(arch, th, rule)[1], theta)
        assert err <= 1e-7
        np.testing.assert_allclose(H, H_fd, rtol=0, atol=1e-8 * max(1.0, np.abs(H).max()))


def test_quadrature_rules():
    mu = make_process("sine-regression", omega=3.0, noise=0.2)
    full = quadrature_rule(mu, 1.0)
    assert full.intervals == ((-1.0, 1.0),) and full.q is None
    np.testing.assert_allclose(full.weights.sum(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(full.weights @ full.x[:, 0] ** 6, 1.0 / 7.0, rtol=1e-14)  # E x⁶, x ~ U[−1, 1]
    np.testing.assert_allclose(full.y, np.sin(3.0 * full.x[:, 0]))
    centre = quadrature_rule(mu, 0.25)
    assert centre.q == pytest.approx(0.25, abs=1e-12) and centre.intervals[0] == pytest.approx((-0.25, 0.25))
    np.testing.assert_allclose(centre.weights @ centre.x[:, 0] ** 2, 0.25**2 / 3, rtol=1e-13)
    edge = quadrature_rule(mu, 0.25, keep="highest")
    assert edge.q == pytest.approx(0.75, abs=1e-12)
    assert np.allclose(edge.intervals, ((-1.0, -0.75), (0.75, 1.0)))
    shifted = quadrature_rule(mu, 0.25, center=0.9)  # |x − 0.9| ≤ q clipped at 1: q = 0.4
    assert shifted.intervals[0] == pytest.approx((0.5, 1.0)) and shifted.q == pytest.approx(0.4, abs=1e-12)
    loss, _ = population_loss_grad(MLP(1, (1,)), [0.0, 0.0, 0.0, 0.0], full)  # v ≡ 0
    np.testing.assert_allclose(loss, 0.5 * (0.5 - np.sin(6.0) / 12.0) + 0.5 * 0.2**2, rtol=1e-14)


def test_canonical_representative():
    arch = MLP(1, (2,))
    theta = np.array([-1.0, 2.0, 0.5, -0.3, -0.7, 0.2, 0.1])  # w, b, a, c
    canon = canonical(arch, theta)
    np.testing.assert_array_equal(canon, [1.0, 2.0, -0.5, -0.3, 0.7, 0.2, 0.1])
    x = np.linspace(-1, 1, 11)[:, None]
    np.testing.assert_allclose(arch.output(canon, x), arch.output(theta, x), rtol=1e-15)


def test_bad_input():
    with pytest.raises(TypeError, match="process must be a SineRegression"):
        quadrature_rule(make_process("gaussian-logistic"), 0.3)
    with pytest.raises(ValueError, match=r"r must be in \(0.0, 1.0\], got 0.0"):
        quadrature_rule(None, 0.0)
    with pytest.raises(ValueError, match="arch must be MLP\\(d=1, hidden=\\(h,\\), activation='tanh', loss='mse'\\)"):
        population_hessian(MLP(1, (2,), "relu"), np.zeros(7), quadrature_rule(None, 0.3))
    with pytest.raises(ValueError, match=r"theta0 must have shape \(4,\), got \(3,\)"):
        certify_new_minimum(np.zeros(3))


def test_slice_experiment_writes_and_reuses_its_result(tmp_path):
    cfg = LandscapeSliceConfig(grid=5)
    first = run_landscape_slice(cfg, results_dir=tmp_path)
    assert first.path.exists() and first.certificate.certified
    again = run_landscape_slice(cfg, results_dir=tmp_path)
    assert np.array_equal(again.loss_nu, first.loss_nu)
    assert np.array_equal(again.certificate.theta0, first.certificate.theta0)
    assert again.certificate.checks == first.certificate.checks and again.seconds == first.seconds
    # The grid passes through θ₀'s plane: at (w, a) = θ₀'s, the losses are the certificate's.
    i, j = np.argmin(np.abs(first.a - THETA0[2])), np.argmin(np.abs(first.w - THETA0[0]))
    assert first.loss_mu.shape == (5, 5) and first.loss_nu[i, j] >= first.certificate.loss_nu
    with pytest.raises(ValueError, match=r"w_range must be an increasing pair \(lo, hi\), got \(1.0, -1.0\)"):
        LandscapeSliceConfig(w_range=(1.0, -1.0))


# ---------------------------------------------------------------------------------------
# C7a, validity against width (kept here with C7's other half until the MLP experiments get
# their own test module): small config, deterministic seeds.
# ---------------------------------------------------------------------------------------
def _width_run(**kw):
    cfg = WidthValidityConfig(n=1000, widths=(4, 64), restarts=2, max_iter=600, **kw)
    if cfg not in _cache:
        _cache[cfg] = run_width_validity(cfg)
    return _cache[cfg]


def test_c7a_sbpa_stays_invalid_as_width_grows():
    """SBPA (centre) trains to its own floor yet stays ≥ 0.5 above the noise floor on µ at every
    width, > 100 times random's and EC's excess; random and EC reach ≤ 0.02.

    Sources (engineering bounds for a non-convex fit, not theorems): 0.02 is ~6 times the
    parametric excess s²·p/(2k) = 0.01 · 193 / 600 ≈ 0.0032 of the widest net (p = 3·64 + 1
    parameters, k = ⌊0.3 · 1000⌋ = 300 kept points); 0.5 is the width-1 certificate's V_∞ =
    L(θ₀) − min L ≈ 0.526 (test_certificate_of_a_new_local_minimum) rounded down, which C7 says
    width does not remove; 0.05 for the boundary and 1.5 × the Bayes loss for the training fit are
    margins chosen from runs, not derived (reported as unresolved in the proofs_check audit)."""
    res = _width_run()
    excess = res.excess()
    proto = {p: i for i, p in enumerate(res.config.protocols)}
    centre, boundary = excess[proto["sbpa-centre"]], excess[proto["sbpa-boundary"]]
    for name in ("random", "ec"):
        assert excess[proto[name]].max() <= 0.02, (name, excess[proto[name]])
    assert centre.min() >= 0.5 and boundary.min() >= 0.05
    assert centre.min(axis=1).min() >= 100 * excess[proto["random"]].max()
    # Not an optimisation failure: SBPA fits the points it kept down to ~ the noise floor.
    assert res.train_loss[proto["sbpa-centre"]].max() <= 1.5 * res.bayes_loss
    assert res.quadrature_error <= 1e-12


def test_c7a_negative_control_nothing_pruned():
    """r = 1: SBPA keeps everything, so it must do as well as random (no invalidity to see);
    0.02 as in test_c7a_sbpa_stays_invalid_as_width_grows (here k = n = 1000, so ≈ 0.001 expected)."""
    res = _width_run(r=1.0, protocols=("random", "sbpa-centre"))
    assert res.excess().max() <= 0.02
