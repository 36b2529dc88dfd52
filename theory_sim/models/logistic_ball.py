r"""Logistic regression fitted over the ball W = {‖θ‖ ≤ RADIUS} (docs/theory.md, "Phase diagrams" and
"Choosing α"): one weighted fit, or many at once.

The weighted loss Σ_i p_i f(z_i; θ), f(z; θ) = softplus(−(2y − 1)(w·x + b)), is strictly convex; its
minimiser over W is unique. :func:`fit_logistic_ball` finds it by Newton's method with step halving, and,
when the unconstrained minimiser is outside W or at infinity (a nearly separable kept set), by Newton on
the KKT system on the sphere or SLSQP, as the Monte Carlo engine constrains its fits.
:func:`fit_logistic_ball_many` runs the Newton iteration on many weighted subsets of one data set at
once (vectorised over the subsets) and hands the few that leave W or do not converge to
:func:`fit_logistic_ball`; both stop at ‖∇‖ < 1e-10, so they agree to that tolerance.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import optimize, special

from theory_sim.models.logistic_prediction import RADIUS

__all__ = ["fit_logistic_ball", "fit_logistic_ball_many", "logistic_gradients"]

GRAD_TOL = 1e-10  # ‖∇‖ at which a fit has converged
LOSS_RESOLUTION = 1e-13  # a loss increase below this (relative) is rounding: the Newton step is taken


def _logistic_objective(theta, phi, y, p):
    u = phi @ theta
    prob = special.expit(u)
    return float(p @ np.logaddexp(0.0, (1.0 - 2.0 * y) * u)), phi.T @ (p * (prob - y)), prob


def _sphere_newton(theta, phi, y, p):
    """The minimiser on the sphere ‖θ‖ = R by Newton on the KKT system ∇f + 2λθ = 0, ‖θ‖² = R², λ ≥ 0 (the
    convex problem's solution over the ball when the unconstrained one is outside); None if it does not
    converge or λ < 0 (then SLSQP decides)."""
    grad = _logistic_objective(theta, phi, y, p)[1]
    lam = max(0.0, -float(theta @ grad) / (2 * RADIUS**2))
    dim = len(theta)
    for _ in range(50):
        _, grad, prob = _logistic_objective(theta, phi, y, p)
        hess = (phi * (p * prob * (1 - prob))[:, None]).T @ phi
        res = np.r_[grad + 2 * lam * theta, theta @ theta - RADIUS**2]
        if np.abs(res).max() < 1e-11:
            return theta if lam >= 0 else None
        jac = np.zeros((dim + 1, dim + 1))
        jac[:dim, :dim] = hess + 2 * lam * np.eye(dim)
        jac[:dim, dim] = 2 * theta
        jac[dim, :dim] = 2 * theta
        try:
            step = np.linalg.solve(jac, res)
        except np.linalg.LinAlgError:
            return None
        theta, lam = theta - step[:dim], lam - step[dim]
        if not np.isfinite(theta).all():
            return None
    return None


def fit_logistic_ball(x, y, p, start=None):
    """argmin over the ball W of Σ p_i f(z_i; θ) (logistic loss): Newton with step halving from ``start``
    (default 0), and the constrained minimiser when the unconstrained one is outside W or at infinity (a nearly
    separable kept set), as the Monte Carlo engine does."""
    phi = np.c_[x, np.ones(len(y))]
    theta = np.zeros(phi.shape[1]) if start is None else np.array(start, dtype=float)
    value, grad, prob = _logistic_objective(theta, phi, y, p)
    for _ in range(100):
        hess = (phi * (p * prob * (1 - prob))[:, None]).T @ phi
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(len(theta)), grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-8:
            new = _logistic_objective(theta - t * step, phi, y, p)
            if new[0] <= value:
                break
            t *= 0.5
        theta = theta - t * step
        value, grad, prob = new
        if np.linalg.norm(theta) > RADIUS:
            break
        if np.linalg.norm(grad) < GRAD_TOL:
            return theta
    start = theta * min(1.0, RADIUS / max(np.linalg.norm(theta), 1e-300))
    on_sphere = _sphere_newton(start, phi, y, p)
    if on_sphere is not None:
        return on_sphere
    cons = {"type": "ineq", "fun": lambda th: RADIUS**2 - th @ th, "jac": lambda th: -2.0 * th}
    start = 0.99 * start
    return optimize.minimize(lambda th: _logistic_objective(th, phi, y, p)[:2], start, jac=True, method="SLSQP",
                             constraints=[cons], options={"ftol": 1e-13, "maxiter": 1000}).x


def _batch_objective(theta, phi, y, w):
    """Values (J,), gradients (J, p) and Hessians (J, p, p) of J weighted subsets at once (numpy; the twin of
    :func:`_batch_kernel`, which the fits use)."""
    u = (phi @ theta[:, :, None])[:, :, 0]
    prob = special.expit(u)
    value = (w * np.logaddexp(0.0, (1.0 - 2.0 * y) * u)).sum(axis=1)
    grad = ((w * (prob - y))[:, None, :] @ phi)[:, 0, :]
    hess = (phi * (w * prob * (1.0 - prob))[:, :, None]).transpose(0, 2, 1) @ phi
    return value, grad, hess


@numba.njit(cache=True, error_model="numpy")
def _batch_kernel(theta, phi, y, w, which, value, grad, hess):  # pragma: no cover - compiled
    """Value, gradient and Hessian of the subsets ``which`` at their rows of ``theta``, in one pass over each subset's
    points in order (softplus(−(2y − 1)u) = softplus(u) − y u), written into their rows of the outputs."""
    dim = phi.shape[2]
    for a in range(which.shape[0]):
        j = which[a]
        val = 0.0
        g = np.zeros(dim)
        h = np.zeros((dim, dim))
        for k in range(phi.shape[1]):
            wk = w[j, k]
            if wk == 0.0:  # padding
                continue
            u = 0.0
            for i in range(dim):
                u += phi[j, k, i] * theta[j, i]
            if u > 0.0:
                e = math.exp(-u)
                sp, s = u + math.log1p(e), 1.0 / (1.0 + e)
            else:
                e = math.exp(u)
                sp, s = math.log1p(e), e / (1.0 + e)
            val += wk * (sp - y[j, k] * u)
            r, c = wk * (s - y[j, k]), wk * s * (1.0 - s)
            for i in range(dim):
                g[i] += r * phi[j, k, i]
                for m in range(dim):
                    h[i, m] += c * phi[j, k, i] * phi[j, k, m]
        value[j] = val
        for i in range(dim):
            grad[j, i] = g[i]
            for m in range(dim):
                hess[j, i, m] = h[i, m]


def fit_logistic_ball_many(x, y, subsets, start=None, max_iter=50):
    """:func:`fit_logistic_ball` for many weighted subsets of one data set, shape (J, d + 1).

    Parameters
    ----------
    x : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Labels in {0, 1}.
    subsets : sequence of (indices, weights)
        The J weighted subsets (weights summing to 1 each; sizes may differ).
    start : array_like, shape (d + 1,), optional
        The starting point of every fit (default 0); a pilot fit makes the Newton iteration short.
    max_iter : int
        Newton steps before a subset is handed to :func:`fit_logistic_ball`.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    size = max(len(idx) for idx, _ in subsets)
    count = len(subsets)
    rows = np.zeros((count, size), dtype=np.int64)
    w = np.zeros((count, size))
    for j, (idx, weights) in enumerate(subsets):
        rows[j, :len(idx)] = idx
        w[j, :len(idx)] = weights  # padding: weight 0
    phi = np.ascontiguousarray(np.c_[x, np.ones(len(y))][rows])  # (J, K, p)
    ys = np.ascontiguousarray(y[rows])
    dim = phi.shape[2]
    theta = np.zeros((count, dim)) if start is None else np.tile(np.asarray(start, dtype=float), (count, 1))
    value, grad, hess = np.empty(count), np.empty((count, dim)), np.empty((count, dim, dim))
    _batch_kernel(theta, phi, ys, w, np.arange(count), value, grad, hess)
    todo = np.linalg.norm(grad, axis=1) >= GRAD_TOL
    failed = np.zeros(count, dtype=bool)
    cand, c_value, c_grad, c_hess = theta.copy(), value.copy(), grad.copy(), hess.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            act = np.flatnonzero(todo & ~failed)
            if act.size == 0:
                break
            try:
                step = np.linalg.solve(hess[act] + 1e-12 * np.eye(dim), grad[act][:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                failed[act] = True
                break
            t = np.ones(act.size)
            cand[act] = theta[act] - step
            _batch_kernel(cand, phi, ys, w, act, c_value, c_grad, c_hess)
            for _ in range(27):  # step halving where the loss went up (t > 1e-8, as fit_logistic_ball)
                # beyond rounding: near the minimum a Newton step's decrease is below the loss's last bits
                worse = ~(c_value[act] <= value[act] + LOSS_RESOLUTION * np.abs(value[act]))
                if not worse.any():
                    break
                t[worse] *= 0.5
                again = act[worse]
                cand[again] = theta[again] - t[worse, None] * step[worse]
                _batch_kernel(cand, phi, ys, w, again, c_value, c_grad, c_hess)
            theta[act], value[act], grad[act], hess[act] = cand[act], c_value[act], c_grad[act], c_hess[act]
            failed[act] |= ~np.isfinite(theta[act]).all(axis=1) | (np.linalg.norm(theta[act], axis=1) > RADIUS)
            todo[act] = np.linalg.norm(grad[act], axis=1) >= GRAD_TOL
    for j in np.flatnonzero(todo | failed):  # outside W, at infinity, or slow: the single fit decides
        idx, weights = subsets[j]
        theta[j] = fit_logistic_ball(x[idx], y[idx], np.asarray(weights, dtype=float))
    return theta


def logistic_gradients(x, y, theta, weights=None):
    r"""Per-point gradients φ(x_i)(σ(u_i) − y_i) of the logistic loss at θ, shape (n, d + 1), and the Hessian
    H = Σ_i p_i φ_i φ_iᵀ σ(u_i)(1 − σ(u_i)) (p_i = 1/n without ``weights``; a quadrature rule's weights with)."""
    phi = np.c_[x, np.ones(len(y))]
    prob = special.expit(phi @ theta)
    if weights is None:
        hess = (phi * (prob * (1 - prob))[:, None]).T @ phi / len(y)
    else:
        hess = (phi * (weights * prob * (1 - prob))[:, None]).T @ phi
    return phi * (prob - y)[:, None], hess
