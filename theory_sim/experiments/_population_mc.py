r"""Population limits by seeded Monte Carlo, for settings without a quadrature (docs/theory.md, "Population losses").

The quadrature of :mod:`theory_sim.models.population` covers the built-in logistic model on the
Gaussian processes with a score of the truth's logit. Any other registered (process, score, model,
policy) gets Δ_∞ and V_∞ here, from ``batches`` independent seeded batches of n_mc / batches draws
of µ. Batch b draws its points **and estimates its own threshold** (the policy's limit density
dν/dµ, through :func:`theory_sim.limit_density` with the batch's generator), so the spread between
batches carries every source of error — the draws and the threshold alike. With L̄ and L̄_ν the
averages over batches of the per-batch means of f and of ρ f,

.. math::

    \hat\Delta_\infty = \max_{\theta \in W} |\bar L_\nu(\theta) - \bar L(\theta)|, \qquad
    \hat V_\infty = \bar L(\arg\min_W \bar L_\nu) - \min_W \bar L,

and each standard error is the delete-one-batch jackknife's (the estimate recomputed on the other
batches, both minimisers included). The minimiser of L is the truth when the model is the built-in
logistic one and the process declares its Bayes logit (``truth()``: well specified), else it is
found on the draws like that of L_ν.

Models: the built-in :class:`theory_sim.Model` is evaluated by the numba kernel and fitted by
:func:`theory_sim.fit_weighted`; any other registered model through its ``loss(θ, x, y)`` and
``grad(θ, x, y)`` (per-sample arrays) with a quasi-Newton minimiser over the ball W.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from theory_sim.core.limits import limit_density
from theory_sim.models.fit import fit_weighted
from theory_sim.models.linear import Model, net_losses

__all__ = ["PopulationMC", "fit_in_ball", "minimise_in_ball", "weighted_losses"]

BATCHES = 10  # jackknife batches: 9 degrees of freedom for the standard errors


def minimise_in_ball(fun, jac, start, radius):
    """argmin of a convex function over the ball ‖θ‖ ≤ radius (W): unconstrained BFGS when its
    solution is inside, else SLSQP with the constraint ‖θ‖² ≤ radius²."""
    res = optimize.minimize(fun, start, jac=jac, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
    if res.success and np.linalg.norm(res.x) <= radius:
        return res.x
    cons = {"type": "ineq", "fun": lambda th: radius**2 - th @ th, "jac": lambda th: -2.0 * th}
    res = optimize.minimize(fun, start, jac=jac, method="SLSQP", constraints=[cons],
                            options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def weighted_losses(model, thetas, x, y, p) -> np.ndarray:
    """Σ_i p_i f(z_i; θ_j) for each row θ_j of ``thetas``: the numba kernel for a built-in model,
    the model's own ``loss`` otherwise."""
    if isinstance(model, Model):
        return net_losses(model, thetas, x, y, p)
    return np.array([float(p @ np.asarray(model.loss(th, x, y), dtype=float)) for th in thetas])


def fit_in_ball(model, x, y, p, radius, start=None):
    """argmin over W = {‖θ‖ ≤ radius} of Σ p_i f(z_i; θ) (Σ p_i = 1), and whether the unconstrained
    fit converged inside W (True when the constrained problem was solved instead)."""
    if isinstance(model, Model):
        fit = fit_weighted(model, x, y, p, theta0=start)
        theta, converged = fit.theta, bool(fit.converged)
        if converged and np.linalg.norm(theta) <= radius:
            return theta, True
        # The minimiser over W lies on the sphere (e.g. a separable pruned sample, whose
        # unconstrained minimiser is at infinity): solve the constrained problem instead.
        start = fit.theta * min(1.0, 0.99 * radius / max(np.linalg.norm(fit.theta), 1e-300))
    elif start is None:
        start = np.zeros(model.n_params)
    fun = lambda th: float(p @ model.loss(th, x, y))  # noqa: E731
    jac = lambda th: p @ model.grad(th, x, y)  # noqa: E731
    return minimise_in_ball(fun, jac, np.asarray(start, dtype=float), radius), True


class PopulationMC:
    """µ and the policy's limit ν estimated by ``batches`` seeded batches (module docstring).

    Parameters
    ----------
    process, score, model
        Built objects; ``score`` may be None when the limit is µ.
    r, protocol, alpha, keep
        The policy and its parameters (``protocol``: a registered policy).
    n_mc : int
        Total draws of µ (split into equal batches).
    streams : callable b -> SeedSequence
        The stream of batch b.
    """

    def __init__(self, process, score, model, *, r, protocol, alpha, keep, n_mc, streams, batches=BATCHES):
        size = n_mc // batches
        self.model, self.batches = model, []
        for b in range(batches):
            rng = np.random.default_rng(streams(b))
            data = process.sample(size, rng)
            rho = None
            if score is not None:
                density = limit_density(process, score, r, protocol=protocol, alpha=alpha, keep=keep, rng=rng,
                                        n_mc=size)
                rho = np.asarray(density(data.x, data.y), dtype=float)
            self.batches.append((data.x, data.y, rho))
        self.size = size

    def _means(self, thetas, limit: bool) -> np.ndarray:
        """(batches, m): per-batch means of f (``limit``: of ρ f) at each θ."""
        out = []
        for x, y, rho in self.batches:
            p = np.full(x.shape[0], 1.0 / x.shape[0]) if not limit else rho / x.shape[0]
            out.append(weighted_losses(self.model, thetas, x, y, p))
        return np.array(out)

    def loss(self, thetas, limit: bool = False) -> np.ndarray:
        """L̄ (``limit``: L̄_ν) at each row of ``thetas``."""
        return self._means(np.atleast_2d(thetas), limit).mean(axis=0)

    def _argmin(self, keep_batches, limit, radius, start):
        xs, ys, ps = [], [], []
        for b in keep_batches:
            x, y, rho = self.batches[b]
            w = np.ones(x.shape[0]) if not limit else rho
            on = w > 0
            xs.append(x[on]), ys.append(y[on]), ps.append(w[on])
        p = np.concatenate(ps)
        return fit_in_ball(self.model, np.concatenate(xs), np.concatenate(ys), p / p.sum(), radius, start)[0]

    def limits(self, net, radius, theta_star=None):
        """Δ_∞, V_∞ with jackknife standard errors, and the minimisers, min L, L and L_ν on the net."""
        nb = len(self.batches)
        base, lim = self._means(net, False), self._means(net, True)
        everyone = list(range(nb))

        def estimate(rows):
            diff = lim[rows].mean(axis=0) - base[rows].mean(axis=0)
            star = theta_star if theta_star is not None else self._argmin(rows, False, radius, start_star)
            nu = self._argmin(rows, True, radius, start_nu)
            pair = self._means(np.array([star, nu]), False)[rows].mean(axis=0)
            return float(np.max(np.abs(diff))), float(pair[1] - pair[0]), star, nu, float(pair[0])

        start_star = start_nu = None
        delta, v, star, nu, min_loss = estimate(everyone)
        start_star, start_nu = star, nu  # warm starts for the jackknife
        jack = np.array([estimate([b for b in everyone if b != i])[:2] for i in everyone])
        se = np.sqrt((nb - 1) / nb * ((jack - jack.mean(axis=0)) ** 2).sum(axis=0))
        return dict(delta_inf=delta, v_inf=max(v, 0.0), delta_inf_se=float(se[0]), v_inf_se=float(se[1]),
                    theta_star=np.asarray(star, float), theta_nu=np.asarray(nu, float), min_loss=min_loss,
                    net_loss=base.mean(axis=0), net_limit_loss=lim.mean(axis=0))

