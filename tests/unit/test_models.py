"""Models: losses, gradients and Hessians against finite differences; the weighted fit against
scipy and numpy; separated data; and the error messages for bad input."""

import re

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from theory_sim.numerics import softplus as sp
from theory_sim.models.fit import FitResult, fit_weighted
from theory_sim.models.linear import MODELS, Model, make_model, net_losses


def _data(name, d, k, rng, *, separable=False):
    x = rng.standard_normal((k, d))
    if name == "linear":
        y = x @ rng.standard_normal(d) + 0.7 + 0.3 * rng.standard_normal(k)
    elif separable:
        y = (x[:, 0] + 0.2 > 0).astype(float)
    else:
        y = (rng.random(k) < expit(x @ np.linspace(1.0, -0.5, d) + 0.3)).astype(float)
    p = rng.dirichlet(np.ones(k))
    return x, y, p


def _weighted_grad(model, theta, x, y, p):
    return model.grad(theta, x, y).T @ p


# ---------------------------------------------------------------------------------------
# The model object
# ---------------------------------------------------------------------------------------
def test_make_model():
    m = make_model("logistic", 3)
    assert m == Model("logistic", 3) and m.n_params == 4 and m.task == "classification"
    assert make_model("linear", 1).task == "regression"
    assert tuple(MODELS) == ("logistic", "linear")


@pytest.mark.parametrize(
    "name, d, exc, pattern",
    [
        ("probit", 2, ValueError, r"name must be one of 'logistic', 'linear'; got 'probit'"),
        ("logistic", 0, ValueError, r"d must be an integer in \[1, inf\], got 0"),
        ("logistic", 1.5, TypeError, r"d must be an integer, got 1.5"),
        ("linear", True, TypeError, r"d must be an integer, got True"),
    ],
)
def test_make_model_errors(name, d, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make_model(name, d)


def test_losses_match_closed_forms():
    rng = np.random.default_rng(0)
    x, y, _ = _data("logistic", 3, 200, rng)
    theta = rng.standard_normal(4) * 3
    u = x @ theta[:3] + theta[3]
    logistic = make_model("logistic", 3)
    # rtol: the logit's own rounding (BLAS order here) is amplified by |u| where s(u) ≈ e^u.
    np.testing.assert_allclose(logistic.loss(theta, x, y), np.logaddexp(0.0, -(2 * y - 1) * u), rtol=1e-13)
    # the same 3-term dot product in another summation order: error ≤ 3u·Σ|x_j θ_j| ≲ 1e-14 relative
    np.testing.assert_allclose(logistic.logit(theta, x), u, rtol=1e-14, atol=1e-15)
    linear = make_model("linear", 3)
    np.testing.assert_allclose(linear.loss(theta, x, y), 0.5 * (u - y) ** 2, rtol=1e-13)


def test_sigmoid_is_the_derivative_of_softplus():
    u = np.linspace(-30, 30, 601)
    h = 1e-5
    fd = (sp.softplus_np(u + h) - sp.softplus_np(u - h)) / (2 * h)
    # Central difference: truncation h²·|s‴|/6 ≤ 1e-10 · 0.1/6 ≈ 2e-12 (|σ″| ≤ 0.1), rounding
    # 2^-53 · |s(u)| / h ≤ 1.1e-16 · 30 / 1e-5 ≈ 3e-10 where σ ≈ 1, and ≈ 2^-53 · σ(u)/h relative
    # where u ≪ 0 (s ≈ σ): both ≪ rtol 1e-8.
    np.testing.assert_allclose(sp.sigmoid_np(u), fd, rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Gradients and Hessians against central finite differences
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("d", [1, 2, 5])
def test_grad_matches_finite_differences(name, d):
    rng = np.random.default_rng(10 + d)
    model = make_model(name, d)
    x, y, _ = _data(name, d, 40, rng)
    theta = rng.standard_normal(d + 1)
    grad = model.grad(theta, x, y)
    assert grad.shape == (40, d + 1)
    h = 1e-6
    for j in range(d + 1):
        e = np.zeros(d + 1)
        e[j] = h
        fd = (model.loss(theta + e, x, y) - model.loss(theta - e, x, y)) / (2 * h)
        scale = np.maximum(np.abs(grad[:, j]), 1e-3)  # near-zero entries: compare to 1e-3 instead
        # h = 1e-6: truncation h²·|f‴|/6 ≲ 1e-12 · |x|³ ≲ 1e-10, rounding 2^-53 · |f| / h ≲ 1e-9
        # for losses ≲ 10: both ≪ 1e-6 · 1e-3, the smallest scale.
        assert np.max(np.abs(fd - grad[:, j]) / scale) <= 1e-6


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("d", [1, 3, 5])
def test_hessian_matches_finite_differences_of_the_gradient(name, d):
    rng = np.random.default_rng(20 + d)
    model = make_model(name, d)
    x, y, p = _data(name, d, 60, rng)
    theta = rng.standard_normal(d + 1) * 0.5
    hess = model.hessian(theta, x, y, p)
    np.testing.assert_array_equal(hess, hess.T)
    h = 1e-6
    fd = np.empty((d + 1, d + 1))
    for j in range(d + 1):
        e = np.zeros(d + 1)
        e[j] = h
        fd[:, j] = (_weighted_grad(model, theta + e, x, y, p) - _weighted_grad(model, theta - e, x, y, p)) / (2 * h)
    # the finite-difference error budget of test_grad_matches_finite_differences, on weighted
    # means of gradients (Σ p = 1), hence relative to the Hessian's scale
    np.testing.assert_allclose(hess, fd, rtol=1e-6, atol=1e-9 * np.abs(hess).max())
    assert np.linalg.eigvalsh(hess).min() > 0  # convex losses, full-rank design


# ---------------------------------------------------------------------------------------
# fit_weighted
# ---------------------------------------------------------------------------------------
def test_fit_logistic_against_scipy_bfgs():
    rng = np.random.default_rng(42)
    d = 3
    model = make_model("logistic", d)
    x, y, p = _data("logistic", d, 3000, rng)
    fit = fit_weighted(model, x, y, p)
    # ≤ 20 Newton steps: a guard that the fit did not fall back to slow steps (damped Newton on a
    # well-conditioned problem converges quadratically after a few steps; not a theorem).
    assert isinstance(fit, FitResult) and fit.converged and 1 <= fit.n_iter <= 20, fit
    # The weighted gradient at the solution, computed independently of the fit's kernel.
    # The fit stops at ‖∇‖ ≤ tol = 1e-10 (its default); recomputed by another route (model.grad,
    # another summation order over 3000 points) rounding may add ~3000 · 2^-53, so 1e-8.
    assert np.linalg.norm(_weighted_grad(model, fit.theta, x, y, p)) <= 1e-8
    assert fit.grad_norm <= 1e-10
    np.testing.assert_allclose(fit.loss, p @ model.loss(fit.theta, x, y), rtol=1e-13)

    def objective(theta):
        return p @ np.logaddexp(0.0, -(2 * y - 1) * (x @ theta[:d] + theta[d]))

    def jac(theta):
        return _weighted_grad(model, theta, x, y, p)

    ref = scipy.optimize.minimize(objective, np.zeros(d + 1), jac=jac, method="BFGS", options={"gtol": 1e-12})
    # Strong convexity: ‖θ − θ*‖ ≤ ‖∇L(θ)‖ / λ_min near θ*, so two points with small gradients lie
    # within (‖∇L(a)‖ + ‖∇L(b)‖)/λ_min of each other (factor 2: λ_min varies along the segment).
    lam_min = np.linalg.eigvalsh(model.hessian(fit.theta, x, y, p)).min()
    assert lam_min > 0.05  # ≈ 0.117 here, so the bounds below are informative
    bound = 2 * (np.linalg.norm(jac(ref.x)) + np.linalg.norm(jac(fit.theta))) / lam_min
    np.testing.assert_allclose(fit.theta, ref.x, rtol=0, atol=max(bound, 1e-15))
    # Far starts give the same minimiser: there pure Newton overshoots and diverges, the line
    # search is what brings it back.
    for theta0 in (np.full(d + 1, 5.0), np.array([10.0, -10.0, 10.0, -10.0]), np.array([30.0, 0.0, 0.0, 0.0])):
        again = fit_weighted(model, x, y, p, theta0=theta0)
        assert again.converged
        # both fits stop at ‖∇L‖ ≤ tol = 1e-10, so by the bound above they agree to
        # 2 · 2e-10 / λ_min ≈ 3.4e-9
        np.testing.assert_allclose(again.theta, fit.theta, rtol=0, atol=2 * 2e-10 / lam_min)
    assert not fit.theta.flags.writeable


@pytest.mark.parametrize("d", [1, 2, 5])
def test_fit_linear_against_lstsq(d):
    rng = np.random.default_rng(7 + d)
    model = make_model("linear", d)
    x, y, p = _data("linear", d, 500, rng)
    p[::7] = 0.0  # zero weights: those points do not count
    p /= p.sum()
    fit = fit_weighted(model, x, y, p)
    assert fit.converged and fit.n_iter == 1
    sw = np.sqrt(p)
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    ref = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)[0]
    # a well-conditioned least-squares problem (x standard normal, 500 rows): both solvers are
    # backward stable, so they agree to ~cond · 2^-53 ≲ 1e-14; 1e-10 leaves room
    np.testing.assert_allclose(fit.theta, ref, rtol=1e-10, atol=1e-10)
    assert fit.grad_norm <= 1e-12


@pytest.mark.parametrize(
    "x, y",
    [
        (np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0.0, 0.0, 1.0, 1.0])),  # complete separation
        (np.array([[-2.0], [-1.0], [0.0], [0.0], [1.0], [2.0]]), np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])),  # quasi
        (np.array([[3.0, 1.0]]), np.array([1.0])),  # one point
    ],
    ids=["complete", "quasi-complete", "one point"],
)
def test_fit_separated_data_does_not_converge(x, y):
    model = make_model("logistic", x.shape[1])
    p = np.full(x.shape[0], 1.0 / x.shape[0])
    fit = fit_weighted(model, x, y, p)
    assert not fit.converged
    assert fit.n_iter <= 100 and np.isfinite(fit.loss) and np.isfinite(fit.theta).all()
    # the fit did push the loss down from log 2 (its value at θ = 0) towards the infimum 0 of
    # completely separated data (the quasi-complete case has a positive infimum)
    assert fit.loss < 0.5 * np.log(2.0) or x.shape[0] == 6


def test_fit_separated_random_data():
    rng = np.random.default_rng(3)
    x, y, p = _data("logistic", 2, 300, rng, separable=True)
    fit = fit_weighted(make_model("logistic", 2), x, y, p)
    assert not fit.converged and "separated" in fit.message


def test_fit_max_iter():
    rng = np.random.default_rng(4)
    x, y, p = _data("logistic", 2, 500, rng)
    fit = fit_weighted(make_model("logistic", 2), x, y, p, max_iter=1)
    assert not fit.converged and fit.n_iter == 1 and "max_iter" in fit.message


@given(
    st.sampled_from(tuple(MODELS)), st.integers(1, 5), st.integers(0, 200), st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_fit_properties(name, d, extra, seed):
    rng = np.random.default_rng(seed)
    k = 3 * (d + 1) + extra
    model = make_model(name, d)
    x, y, p = _data(name, d, k, rng)
    fit = fit_weighted(model, x, y, p)
    assert fit.theta.shape == (d + 1,)
    if name == "linear":
        assert fit.converged
    if fit.converged:
        assert np.linalg.norm(_weighted_grad(model, fit.theta, x, y, p)) <= 1e-8
        # a minimiser: no net point nearby is lower
        probes = fit.theta + 1e-3 * rng.standard_normal((8, d + 1))
        assert np.all(net_losses(model, probes, x, y, p) >= fit.loss - 1e-12)


# ---------------------------------------------------------------------------------------
# Errors a person can act on
# ---------------------------------------------------------------------------------------
def _good(name="logistic", d=2, k=5):
    rng = np.random.default_rng(0)
    x, y, p = _data(name, d, k, rng)
    return make_model(name, d), x, y, p


@pytest.mark.parametrize(
    "change, exc, pattern",
    [
        (dict(x=np.zeros((5, 3))), ValueError, r"x must have shape \(n, 2\) for a model with d = 2, got \(5, 3\)"),
        (dict(x=np.zeros(5)), ValueError, r"x must be 2-dimensional, got shape \(5,\)"),
        (dict(x=np.zeros((0, 2)), y=np.zeros(0), weights=np.zeros(0)), ValueError, r"x must have at least one row"),
        (dict(x=np.where(np.eye(5, 2) > 0, np.nan, 0.0)), ValueError, r"x must not contain NaN, got NaN at flat index 0"),
        (dict(x=np.where(np.eye(5, 2) > 0, np.inf, 0.0)), ValueError, r"x must be finite, got inf at flat index 0"),
        (dict(y=np.array([0, 1, 2, 0, 1.0])), ValueError, r"y must hold labels 0 or 1 for the logistic model, got 2.0 at index 2"),
        (dict(y=np.zeros(4)), ValueError, r"y must have shape \(5,\), got \(4,\)"),
        (dict(y=np.array([0, 1, np.nan, 0, 1])), ValueError, r"y must not contain NaN"),
        (dict(weights=np.array([0.5, 0.6, -0.1, 0.0, 0.0])), ValueError, r"weights must be ≥ 0, got -0.1 at index 2"),
        (dict(weights=np.full(5, 0.1)), ValueError, r"weights must sum to 1 \(within 1e-09\), got sum 0.5"),
        (dict(weights=np.ones((5, 1)) / 5), ValueError, r"weights must have shape \(5,\), got \(5, 1\)"),
        (dict(theta0=np.zeros(2)), ValueError, r"theta0 must have shape \(3,\), got \(2,\)"),
        (dict(theta0=np.array([0.0, np.inf, 0.0])), ValueError, r"theta0 must be finite, got inf at flat index 1"),
        (dict(tol=0.0), ValueError, r"tol must be in \(0.0, inf\), got 0.0"),
        (dict(max_iter=0), ValueError, r"max_iter must be an integer in \[1, inf\], got 0"),
        (dict(model="logistic"), TypeError, r"model must be a Model \(see make_model\), got str"),
        (dict(x=[["a", "b"]] * 5), TypeError, r"x must hold real numbers"),
    ],
)  # fmt: skip
def test_fit_errors(change, exc, pattern):
    model, x, y, p = _good()
    args = dict(model=model, x=x, y=y, weights=p)
    args.update(change)
    kwargs = {key: args.pop(key) for key in ("theta0", "tol", "max_iter") if key in args}
    with pytest.raises(exc, match=pattern):
        fit_weighted(args["model"], args["x"], args["y"], args["weights"], **kwargs)


def test_net_losses_errors():
    model, x, y, p = _good()
    thetas = np.zeros((4, 3))
    message = "thetas must have shape (m, 3) with m ≥ 1 (one θ = (w, b) per row), got "
    with pytest.raises(ValueError, match=re.escape(message + "(4, 2)")):
        net_losses(model, thetas[:, :2], x, y, p)
    with pytest.raises(ValueError, match=re.escape(message + "(0, 3)")):
        net_losses(model, thetas[:0], x, y, p)
    with pytest.raises(ValueError, match="thetas must not contain NaN"):
        net_losses(model, np.full((4, 3), np.nan), x, y, p)
    with pytest.raises(ValueError, match="weights must be ≥ 0"):
        net_losses(model, thetas, x, y, -p)
    # Weights need not sum to 1 here (e.g. 1/n for the full empirical loss, or 0 for a subset).
    np.testing.assert_allclose(net_losses(model, thetas, x, y, 2 * p), 2 * np.log(2.0), rtol=1e-15)
    with pytest.raises(ValueError, match=r"y must hold labels 0 or 1"):
        model.loss(np.zeros(3), x, y + 0.5)
    with pytest.raises(ValueError, match=re.escape("theta must have shape (3,), got (4,)")):
        model.grad(np.zeros(4), x, y)
