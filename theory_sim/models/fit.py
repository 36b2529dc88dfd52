r"""Weighted empirical risk minimisation of the linear models (docs/theory.md, "Limits").

:func:`fit_weighted` minimises the pruned loss L_n^A(θ) = Σ_i p_i f(z_i; θ) of a
:class:`theory_sim.models.linear.Model` by Newton's method with a backtracking line search (the
validity gap needs θ̂_n^A = argmin L_n^A). Every weighted sum is computed in fixed chunks of
``FIT_CHUNK`` points summed in order, so the result does not depend on the thread count; the
numba kernel has a plain-numpy twin (``_objective_reference``) tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from theory_sim.models.linear import _check_model, _check_theta, _check_weights, _check_xy, _objective
from theory_sim.validation import check_int, check_real

__all__ = ["FitResult", "fit_weighted"]

# converged needs ‖Newton step‖ ≤ NEWTON_STEP_TOL·(1 + ‖θ‖): at a genuine minimum the step is
# ~‖g‖/λ_min(H) → 0; on separated data it stays O(1) while ‖g‖ → 0.
NEWTON_STEP_TOL = 1e-6
MAX_POLISH = 5  # Newton steps allowed after ‖g‖ ≤ tol for the step to shrink (quadratic convergence needs 1–2)
ARMIJO_C = 1e-4  # sufficient-decrease constant of the backtracking line search (Nocedal & Wright, §3.1)
MIN_STEP = 2.0**-40  # give up the line search below this step: no usable descent direction left
# A predicted decrease below LOSS_RESOLUTION·|L| is rounding noise: the full Newton step is then
# taken unless L grows by more than that.
LOSS_RESOLUTION = 1e-13


@dataclass(frozen=True, eq=False)
class FitResult:
    """Result of :func:`fit_weighted`.

    Attributes
    ----------
    theta : ndarray, shape (d + 1,)
        The minimiser found, θ = (w, b) (read-only).
    loss : float
        L^A(θ) = Σ p_i f(z_i; θ) at ``theta``.
    grad_norm : float
        ‖∇L^A(θ)‖₂ at ``theta``.
    converged : bool
        Logistic: ‖∇L^A‖ ≤ tol, the Hessian is positive definite and the Newton step is
        ≤ NEWTON_STEP_TOL·(1 + ‖θ‖). False on separated data (no minimiser exists), after
        ``max_iter`` steps, or when the line search stalls. Linear: always True.
    n_iter : int
        Newton steps taken (1 for the linear model).
    message : str
        Why the iteration stopped, in words.
    """

    theta: np.ndarray
    loss: float
    grad_norm: float
    converged: bool
    n_iter: int
    message: str = ""


def _newton_step(hess: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, bool]:
    """−H⁻¹g by Cholesky, or the minimum-norm least-squares step when H is not positive definite."""
    try:
        factor = scipy.linalg.cho_factor(hess, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return -np.linalg.lstsq(hess, g, rcond=None)[0], False
    return -scipy.linalg.cho_solve(factor, g, check_finite=False), True


def _result(theta, loss, g, converged, n_iter, message) -> FitResult:
    theta = np.array(theta, dtype=np.float64)
    theta.setflags(write=False)
    return FitResult(theta, float(loss), float(np.linalg.norm(g)), bool(converged), int(n_iter), message)


def fit_weighted(model, x, y, weights, *, theta0=None, tol=1e-10, max_iter=100) -> FitResult:
    r"""Minimise the weighted empirical loss: ŵ = argmin_θ Σ_i p_i f(z_i; θ).

    .. math::  L^A(θ) = \sum_i p_i f(z_i; θ), \qquad
               θ_{t+1} = θ_t − η_t\, H(θ_t)^{-1} ∇L^A(θ_t).

    Parameters
    ----------
    model : Model
    x : array_like, shape (k, d)
    y : array_like, shape (k,)
        {0, 1} for logistic.
    weights : array_like, shape (k,)
        p_i ≥ 0 with Σ p_i = 1 (within ``WEIGHT_SUM_TOL``).
    theta0 : array_like, shape (d + 1,), optional
        Starting point (default 0).
    tol : float > 0
        Tolerance on ‖∇L^A(θ)‖₂.
    max_iter : int ≥ 1
        Maximum number of Newton steps (logistic).

    Returns
    -------
    FitResult

    Notes
    -----
    *Logistic*: Newton's method (equivalently IRLS) with backtracking line search:
    η_t = 2^{-j} for the smallest j with L^A(θ + η Δ) ≤ L^A(θ) + c η ∇L^Aᵀ Δ,
    c = ``ARMIJO_C``. No ridge is added. When the weighted data are (quasi-)separable,
    L^A has no minimiser: ‖∇L^A‖ → 0 while ‖θ‖ → ∞ and the Newton step does not shrink;
    the iteration stops (after ``MAX_POLISH`` such steps, or ``max_iter``) with
    ``converged=False`` and does not raise.

    *Linear*: closed-form weighted least squares, the normal equations
    (Σ p_i x̃_i x̃_iᵀ) θ = Σ p_i y_i x̃_i solved by Cholesky, plus one step of iterative
    refinement (a second solve against the recomputed gradient), which brings the
    accuracy to that of a QR least-squares solve for well-conditioned designs;
    ``converged=True``, ``n_iter=1``. A rank-deficient design gives the minimum-norm
    correction at each solve.

    All sums are in a fixed order (chunks of ``FIT_CHUNK`` points), so the result is
    bitwise the same for any number of threads.
    """
    model = _check_model(model)
    x, y = _check_xy(model, x, y)
    p = _check_weights(weights, x.shape[0], sum_to_one=True)
    theta = np.zeros(model.n_params) if theta0 is None else _check_theta(model, theta0, "theta0").copy()
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    if model.name == "linear":
        return _fit_linear(model, x, y, p, theta)
    return _fit_logistic(model, x, y, p, theta, tol, max_iter)


def _fit_linear(model, x, y, p, theta):
    _, g, hess = _objective(model, theta, x, y, p, order=2)
    theta = theta + _newton_step(hess, g)[0]
    _, g, _ = _objective(model, theta, x, y, p, order=1)
    theta = theta + _newton_step(hess, g)[0]  # iterative refinement: H is constant for the quadratic loss
    loss, g, _ = _objective(model, theta, x, y, p, order=1)
    return _result(theta, loss, g, True, 1, "closed-form weighted least squares (normal equations, refined once)")


def _fit_logistic(model, x, y, p, theta, tol, max_iter):
    n_iter = 0
    polish = 0
    while True:
        loss, g, hess = _objective(model, theta, x, y, p, order=2)
        gnorm = float(np.linalg.norm(g))
        step, positive_definite = _newton_step(hess, g)
        if not np.isfinite(step).all():
            return _result(theta, loss, g, False, n_iter, "Newton step not finite (Hessian underflow: separated data?)")
        small = float(np.linalg.norm(step)) <= NEWTON_STEP_TOL * (1.0 + float(np.linalg.norm(theta)))
        if gnorm <= tol and positive_definite and small:
            return _result(theta, loss, g, True, n_iter, "gradient below tol and Newton step small")
        if gnorm <= tol:
            polish += 1
            if polish > MAX_POLISH:
                return _result(
                    theta, loss, g, False, n_iter,
                    "gradient below tol but the Newton step does not shrink: no minimiser (separated data?)",
                )  # fmt: skip
        if n_iter >= max_iter:
            return _result(theta, loss, g, False, n_iter, f"max_iter = {max_iter} Newton steps reached")
        slope = float(g @ step)
        if not slope < 0.0:  # not a descent direction (Hessian numerically indefinite): steepest descent
            step, slope = -g, -gnorm * gnorm
        if slope == 0.0:
            return _result(theta, loss, g, False, n_iter, "zero gradient at a singular Hessian (separated data?)")
        eta = 1.0
        while True:
            cand = theta + eta * step
            cand_loss = _objective(model, cand, x, y, p, order=0)[0]
            if cand_loss <= loss + ARMIJO_C * eta * slope:
                break
            flat = -slope <= LOSS_RESOLUTION * abs(loss)
            if eta == 1.0 and flat and cand_loss <= loss + LOSS_RESOLUTION * abs(loss):
                break  # the predicted decrease is below rounding: trust the full Newton step
            eta *= 0.5
            if eta < MIN_STEP:
                return _result(theta, loss, g, False, n_iter, "line search failed to decrease the loss")
        theta = cand
        n_iter += 1
