r"""The predicted excess loss of logistic regression under SBPA and random pruning, by quadrature
(docs/theory.md, "Phase diagrams").

Setting: ``gaussian-logistic`` (x ~ N(0, I_d), P(y = 1 | x) = σ(u*), u* = w*·x + b*), the logistic
model θ = (w, b), a score of the truth's logit (``margin``, label-free; ``loss``, label-dependent),
whose acceptance region A_r is a union of u*-intervals per label (as in
:mod:`theory_sim.models.population`). With ν = µ|A_r / r the SBPA limit, θ_ν = argmin L_ν and
f the logistic loss,

.. math::

    E[L(\hat θ)] − \min L ≈ V_∞ + \frac{1}{2k}\,\mathrm{tr}\big(H_µ H_ν^{-1} Σ_ν H_ν^{-1}\big),
    \qquad V_∞ = L(θ_ν) − \min L,

H_ν = E_ν ∇²f(θ_ν), Σ_ν = Cov_ν ∇f(θ_ν), k = ⌊r n⌋; random pruning is the case ν = µ (θ_µ = θ*,
Σ_µ = H_µ: (d + 1)/(2k)). These are the leading terms only (the O(1/k) bias of the estimator and
the fluctuation of the empirical threshold, which the line's prediction in
:mod:`theory_sim.models.polynomial` includes, are left out).

Quadrature: x = z₁ e₁ + (orthogonal part), e₁ = w*/‖w*‖, so u* = ‖w*‖ z₁ + b* and the region is a
union of z₁-intervals; the outer integral over z₁ is composite Gauss–Legendre (12 nodes per unit on
|z₁| ≤ 12), the orthogonal coordinates (d = 2: one) Gauss–Hermite with 40 nodes (the integrands
are analytic in them). V_∞ is evaluated with :func:`theory_sim.models.population.population_loss`,
a separate quadrature.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from theory_sim.core.policies import get_policy
from theory_sim.core.processes import GaussianLogistic
from theory_sim.models.population import _exact_quantile, _intervals, population_loss
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.validation import check_choice, check_r

__all__ = ["LogisticDesign", "RADIUS", "gaussian_logistic_excess", "logistic_design", "logistic_excess", "population_gradients",
           "predicted_logistic_excess"]

_Z_MAX = 12.0
RADIUS = 6.0  # the ball W of the logistic fits (theory_sim.experiments._montecarlo's net radius)
_HERMITE = np.polynomial.hermite_e.hermegauss(40)


@dataclass(frozen=True)
class LogisticDesign:
    """The limit of a protocol: θ_ν, V_∞ and the variance constant C (excess ≈ V_∞ + C/k)."""

    theta: np.ndarray
    v_inf: float
    constant: float


def _nodes(process, intervals):
    """Nodes (x (m, 2) with intercept column, label y, weight) of µ restricted to the region."""
    w_star, b_star = np.asarray(process.w_star, float), float(process.b_star)
    if w_star.shape != (2,):
        raise ValueError(f"the quadrature is written for d = 2, got d = {w_star.size}")
    norm = float(np.linalg.norm(w_star))
    e1, e2 = w_star / norm, np.array([-w_star[1], w_star[0]]) / norm
    z2, w2 = _HERMITE[0], _HERMITE[1] / math.sqrt(2 * math.pi)
    xs, ys, ws = [], [], []
    for y, parts in intervals.items():
        for lo, hi in parts:
            a = max(-_Z_MAX, (lo - b_star) / norm) if lo > -math.inf else -_Z_MAX
            b = min(_Z_MAX, (hi - b_star) / norm) if hi < math.inf else _Z_MAX
            if b <= a:
                continue
            z1, w1 = gauss_legendre(((a, b),), 12, panel_width=1.0)
            p1 = special.expit(norm * z1 + b_star)
            weight = (w1 * np.exp(-0.5 * z1**2) / math.sqrt(2 * math.pi) * (p1 if y == 1 else 1 - p1))
            x = z1[:, None, None] * e1 + z2[None, :, None] * e2
            xs.append(x.reshape(-1, 2))
            ys.append(np.full(x.shape[0] * x.shape[1], float(y)))
            ws.append((weight[:, None] * w2[None, :]).ravel())
    x = np.concatenate(xs)
    return np.c_[x, np.ones(len(x))], np.concatenate(ys), np.concatenate(ws)


def _moments(phi, y, w, theta):
    p = special.expit(phi @ theta)
    res = p - y
    grad = phi.T @ (w * res)
    hess = (phi * (w * p * (1 - p))[:, None]).T @ phi
    second = (phi * (w * res**2)[:, None]).T @ phi
    return grad, hess, second


def _keep(score, protocol):
    """The end of the score SBPA keeps: the score's hard end for 'sbpa-hard', the other for 'sbpa-easy'."""
    return score.hard if protocol == "sbpa-hard" else ("lowest" if score.hard == "highest" else "highest")


def _region(process, score, protocol, r):
    """u*-intervals per label of the SBPA region at r (``protocol`` 'sbpa-hard' or 'sbpa-easy'), or µ."""
    everything = {1: [(-math.inf, math.inf)], 0: [(-math.inf, math.inf)]}
    if protocol == "random":
        return everything
    keep = _keep(score, protocol)
    level = get_policy("sbpa").limit(r, None).level
    return _intervals(score, keep, _exact_quantile(process, score, level, keep).value)


@functools.lru_cache(maxsize=256)
def logistic_design(process, score, protocol: str, r: float) -> LogisticDesign:
    """θ_ν, V_∞ and C = ½ tr(H_µ H_ν⁻¹ Σ_ν H_ν⁻¹) of ``protocol`` ('random', 'sbpa-hard', 'sbpa-easy') at r."""
    if not isinstance(process, GaussianLogistic):
        raise TypeError(f"process must be gaussian-logistic, got {type(process).__name__}")
    protocol = check_choice("protocol", protocol, ("random", "sbpa-hard", "sbpa-easy"))
    r = check_r(r)
    truth = process.truth()
    theta_star = np.r_[truth.w, truth.b]
    phi_mu, y_mu, w_mu = _nodes(process, _region(process, score, "random", r))
    h_mu = _moments(phi_mu, y_mu, w_mu, theta_star)[1]
    phi, y, w = _nodes(process, _region(process, score, protocol, r))
    w = w / w.sum()
    theta, ok = theta_star.copy(), False
    with np.errstate(all="ignore"):
        for _ in range(100):  # Newton on the strictly convex L_ν
            grad, hess, _ = _moments(phi, y, w, theta)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            theta = theta - step
            if not np.isfinite(theta).all() or np.linalg.norm(theta) > RADIUS:
                break
            if np.abs(step).max() < 1e-13:
                ok = True
                break
    if not ok:
        # No minimiser in the ball W (a nearly separable limit): the fits are constrained to W, as in the
        # Monte Carlo engine, and so is the prediction; the sandwich constant is then not defined.
        sign = 1.0 - 2.0 * y

        def fun(th):
            u = phi @ th
            return float(w @ np.logaddexp(0.0, sign * u)), phi.T @ (w * (special.expit(u) - y))

        cons = {"type": "ineq", "fun": lambda th: RADIUS**2 - th @ th, "jac": lambda th: -2.0 * th}
        theta = optimize.minimize(fun, theta_star, jac=True, method="SLSQP", constraints=[cons],
                                  options={"ftol": 1e-15, "maxiter": 1000}).x
        losses = population_loss(process, np.stack([theta, theta_star]), method="quadrature").values
        return LogisticDesign(theta, max(float(losses[0] - losses[1]), 0.0), math.nan)
    grad, hess, second = _moments(phi, y, w, theta)
    sigma = second - np.outer(grad, grad)
    hinv = np.linalg.inv(hess)
    constant = 0.5 * float(np.trace(h_mu @ hinv @ sigma @ hinv))
    losses = population_loss(process, np.stack([theta, theta_star]), method="quadrature").values
    return LogisticDesign(theta, max(float(losses[0] - losses[1]), 0.0), constant)


def predicted_logistic_excess(process, score, protocol: str, r: float, n: int) -> float:
    """V_∞ + C/k at k = ⌊r n⌋ (see the module docstring)."""
    design = logistic_design(process, score, protocol, r)
    k = max(1, math.floor(r * n + 1e-9))
    return design.v_inf + design.constant / k


def logistic_excess(process, thetas) -> np.ndarray:
    """L(θ) − min L for each row of ``thetas`` (m, d + 1), by the quadrature of the module docstring (the
    whole of µ; :func:`theory_sim.models.population.population_loss` computes the same by its own rule)."""
    truth = process.truth()
    theta_star = np.r_[truth.w, truth.b]
    phi, y, w = _nodes(process, {1: [(-math.inf, math.inf)], 0: [(-math.inf, math.inf)]})
    thetas = np.asarray(thetas, dtype=float)
    out = np.empty(len(thetas))
    sign = 1.0 - 2.0 * y  # f = softplus(−(2y − 1) u)
    base = w @ np.logaddexp(0.0, sign * (phi @ theta_star))
    for start in range(0, len(thetas), 256):
        u = phi @ thetas[start:start + 256].T
        out[start:start + 256] = w @ np.logaddexp(0.0, sign[:, None] * u) - base
    return out


def gaussian_logistic_excess(process, thetas) -> np.ndarray:
    r"""L(θ) − min L for each row of ``thetas`` (m, d + 1) on ``gaussian-logistic``, by a one-dimensional rule.

    With x ~ N(0, I_d) and p*(x) = σ(u*), the label integrates out: E_y f = softplus(u) − p* u, so
    L(θ) = E softplus(b + ‖w‖ z) − w·E[p* x] − b E p*, z ~ N(0, 1), and by Stein's identity
    E[p* x] = w* E σ'(u*). Every term is a Gaussian integral in one variable, taken with the trapezoidal
    rule of :mod:`theory_sim.models.population` (step 0.1 on |z| ≤ 12: error ~ exp(−2π²/(0.1 ‖w‖)), below
    1e-14 in the ball W). The same quantity as :func:`logistic_excess` (checked against it in
    ``tests/theory/test_alpha_choice_experiment.py``), with some 50 times fewer evaluations.
    """
    from theory_sim.models.population import _Z2, _Z2_W

    if not isinstance(process, GaussianLogistic):
        raise TypeError(f"process must be gaussian-logistic (x ~ N(0, I)), got {type(process).__name__}")
    truth = process.truth()
    w_star, b_star = np.asarray(truth.w, dtype=float), float(truth.b)
    u_star = b_star + float(np.linalg.norm(w_star)) * _Z2
    p_star = special.expit(u_star)
    mean_p, mean_dp = float(_Z2_W @ p_star), float(_Z2_W @ (p_star * (1.0 - p_star)))
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))

    def loss(th):
        w, b = th[:, :-1], th[:, -1]
        u = b[:, None] + np.linalg.norm(w, axis=1)[:, None] * _Z2[None, :]
        return np.logaddexp(0.0, u) @ _Z2_W - (w @ w_star) * mean_dp - b * mean_p

    return loss(thetas) - loss(np.r_[w_star, b_star][None, :])[0]


def population_gradients(process, score, keep: str, masses):
    r"""The population rule of µ for the oracle of :func:`theory_sim.choose_alpha`, on ``gaussian-logistic``
    (d = 2) with a score of the truth's logit (docs/theory.md, "Choosing α").

    The nodes of :func:`logistic_design`'s quadrature (x, y), with the panel edges at the score's thresholds
    q of every kept mass in ``masses`` (the kept end ``keep``), so each stratum {g beyond q} is a union of
    whole panels; at the population minimiser θ* (the truth: the model is well specified) the per-point
    gradients φ(x)(σ(u*) − y) and the Hessian H = E φφᵀ σ'(u*).

    Returns
    -------
    g, grads, weights, hess : ndarray
        Scores (m,), gradients (m, d + 1), weights summing to 1 (m,), Hessian (d + 1, d + 1).
    """
    from theory_sim.models.logistic_ball import logistic_gradients

    keep = check_choice("keep", keep, ("lowest", "highest"))
    cuts = {1: {-math.inf, math.inf}, 0: {-math.inf, math.inf}}
    for mass in masses:
        if 0.0 < mass < 1.0:
            for y, parts in _intervals(score, keep, _exact_quantile(process, score, float(mass), keep).value).items():
                for lo, hi in parts:
                    cuts[y] |= {lo, hi}
    pieces = {y: list(zip(sorted(c)[:-1], sorted(c)[1:])) for y, c in cuts.items()}
    phi, y, w = _nodes(process, pieces)
    w = w / w.sum()
    x = phi[:, :-1]
    truth = process.truth()
    grads, hess = logistic_gradients(x, y, np.r_[truth.w, truth.b], w)
    g = score(x) if score.label_free else score(x, y)
    return g, grads, w, hess
