r"""Choosing the signal fraction α of calibrated pruning from the data (docs/theory.md, "Choosing α").

EC is stratified sampling with a take-all stratum: S, the k_s = ⌊α k⌋ points at the score's kept
end, is taken whole (weight 1/n each), and the rest R (N = n − k_s points) is sampled at random
(m = k − k_s points). For per-point values F_i (pilot losses, or pilot gradients whitened by
H^{-1/2}: then the trace of the covariance is twice the predicted excess loss of the fit), the
variance of the EC estimate of the risk L = E_µ F is, by the law of total variance,

.. math::  \mathrm{Var}\,L_n^{EC} = \frac{\sigma^2}{n}
           + \Big(\frac{N}{n}\Big)^2 \frac{\sigma_R^2}{m}\,\frac{N - m}{N - 1},

the first term the sampling of D_n, the second the stratified-sampling formula of claim C12
(σ_R²: the variance of F on R). The **Neyman-type rule** minimises it over a grid of α. With
p = α r the mass of S, its large-n form is [σ² + (1 − p)(1 − r) σ_R²(p)/(r − p)]/n, and EC at p
beats random pruning (p = 0) exactly when

.. math::  (1 - p)\,\sigma_R^2 < (r - p)\,\big[\sigma_S^2 + (1 - p)(\mu_S - \mu_R)^2\big],

which for small p reads v > σ²/r, v = E[(F − E F)² | the score's kept extreme]: the optimum
is interior when the kept end of the score carries more than 1/r times the average spread
(``proofs_check/alpha_choice.py`` checks this derivation with sympy).

**AC** (biased): the estimate (1/k) Σ_{S ∪ E} F_i has, conditionally on D_n, mean
(1/n) Σ ρ_i F_i with ρ = n/k on S and n m/(k N) on R (the empirical form of the limit density
of docs/theory.md, "Limits"), so its bias is b = E_µ[(ρ − 1) F], estimated without bias by
b̂² − Var(b̂); the rule minimises b² + Var[(1/n) Σ ρ_i F_i] + (m/k)² σ_R²/m · (N − m)/(N − 1).

The **oracle** evaluates the same formulas on the population (a weighted quadrature rule or a
large Monte Carlo sample of µ, values at the population minimiser) for a data set of size n,
with p = α r exactly and no finite-sample correction. The **cross-fitted** rule is the baseline:
it prunes K − 1 folds of D_n, fits, and scores the fit on the held-out fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory_sim.core.pruning import prune
from theory_sim.validation import (
    as_generator,
    budget,
    check_alpha,
    check_array,
    check_choice,
    check_int,
    check_r,
)

__all__ = ["ALPHA_RULES", "AlphaChoice", "alpha_profile", "choose_alpha", "default_alphas", "whiten"]

ALPHA_RULES = ("neyman", "bias-variance", "cv", "oracle")


@dataclass(frozen=True)
class AlphaChoice:
    """The chosen signal fraction and the profile it was read from.

    Attributes
    ----------
    alpha : float
        α̂, the minimiser of ``profile`` over ``alphas`` (the smallest one on a tie).
    predicted_variance : float
        The profile at α̂: the predicted variance (EC) or mean squared error, bias² + variance
        (AC), of the pruned estimate of the risk; for whitened gradients, the trace (twice the
        predicted excess loss); for ``cv``, the held-out loss.
    random_variance : float
        The profile at α = 0 (random pruning).
    alphas, profile : ndarray
        The grid and the criterion on it.
    rule, protocol : str
    r : float
    n : int
        The data size the prediction is for.
    """

    alpha: float
    predicted_variance: float
    random_variance: float
    alphas: np.ndarray
    profile: np.ndarray
    rule: str
    protocol: str
    r: float
    n: int

    @property
    def interior(self) -> bool:
        """True when α̂ > 0 (calibration predicted to beat random pruning)."""
        return self.alpha > 0.0


def whiten(grads, hess) -> np.ndarray:
    r"""Per-point gradients G (rows) whitened by the Hessian: G L with L Lᵀ = H⁻¹ (Cholesky), so that the
    covariance trace of the rows is tr(H⁻¹ Cov ∇f), twice the predicted excess loss of a fit on them (the
    values ``choose_alpha`` takes; any model: least squares, logistic regression, ...)."""
    return np.asarray(grads) @ np.linalg.cholesky(np.linalg.inv(hess))


def default_alphas(protocol: str) -> np.ndarray:
    """0, 0.05, …, 0.95 for EC (α < 1); the same and 1 for AC."""
    grid = np.round(np.arange(20) * 0.05, 2)
    return np.append(grid, 1.0) if protocol == "ac" else grid


def _check_alphas(alphas, protocol):
    arr = default_alphas(protocol) if alphas is None else check_array("alphas", alphas, ndim=1)
    if arr.size == 0:
        raise ValueError("alphas must hold at least one signal fraction, got an empty array")
    for a in arr:
        check_alpha(float(a), allow_one=protocol == "ac")
    return np.asarray(arr, dtype=np.float64)


def alpha_profile(g, values, r, protocol="ec", *, keep="lowest", alphas=None, sample_weight=None, n=None):
    r"""The predicted variance (EC) or MSE (AC) of the pruned risk estimate on a grid of α.

    Parameters
    ----------
    g : array_like, shape (M,)
        Scores of the points.
    values : array_like, shape (M,) or (M, c)
        Per-point values F_i (losses, or whitened gradients: the criterion sums over columns).
    r : float in (0, 1)
    protocol : {'ec', 'ac'}
    keep : {'lowest', 'highest'}
        The end of the score the score-based part keeps.
    alphas : array_like, optional
        The grid (default :func:`default_alphas`).
    sample_weight : array_like, shape (M,), optional
        Population mode (the oracle): the points are a weighted rule for µ (weights summing to 1),
        the prediction is for a data set of ``n`` points (required), and S has mass α r. Without
        it the points are D_n itself (n = M), S holds k_s = ⌊α ⌊r n⌋⌋ points as in
        :func:`theory_sim.prune`, and the AC bias² is corrected for the noise of its estimate.

    Returns
    -------
    alphas, profile : ndarray
    """
    protocol = check_choice("protocol", protocol, ("ec", "ac"))
    keep = check_choice("keep", keep, ("lowest", "highest"))
    g = check_array("g", g, ndim=1)
    f = check_array("values", values)
    if f.ndim not in (1, 2) or f.shape[0] != g.shape[0]:
        raise ValueError(f"values must have shape ({g.shape[0]},) or ({g.shape[0]}, c) like g, got {f.shape}")
    f = f.reshape(g.shape[0], -1)
    if not np.isfinite(f).all() or not np.isfinite(g).all():
        raise ValueError("g and values must be finite numbers (no inf)")
    r = check_r(r)
    if r >= 1.0:
        raise ValueError(f"r must be < 1 to choose alpha (at r = 1 every protocol keeps everything), got {r}")
    alphas = _check_alphas(alphas, protocol)
    size = g.shape[0]
    population = sample_weight is not None
    if population:
        w = check_array("sample_weight", sample_weight, shape=(size,))
        if (w < 0).any() or not np.isclose(w.sum(), 1.0, rtol=1e-9):
            raise ValueError(f"sample_weight must be non-negative and sum to 1, got sum {w.sum()!r}")
        n = check_int("n", n, low=2)
        k = r * n
    else:
        if n is not None and n != size:
            raise ValueError(f"n applies to the population mode (sample_weight); here n = len(g) = {size}, got {n}")
        n = size
        k = budget(r, n)
        if k < 2:
            raise ValueError(f"n is too small: floor(r * n) = {k}; need at least 2 kept points to choose alpha")
        w = np.full(size, 1.0 / size)
    order = np.argsort(g if keep == "lowest" else -g, kind="stable")
    fo, wo = f[order], w[order]
    fo = fo - (wo[:, None] * fo).sum(axis=0)  # centred: shifts do not change any criterion
    zero = np.zeros((1, fo.shape[1]))
    cw = np.concatenate([[0.0], np.cumsum(wo)])
    p1 = np.concatenate([zero, np.cumsum(wo[:, None] * fo, axis=0)])
    p2 = np.concatenate([zero, np.cumsum(wo[:, None] * fo**2, axis=0)])
    t2 = p2[-1]
    sigma2 = t2 - p1[-1] ** 2
    out = np.empty(alphas.shape[0])
    for i, a in enumerate(alphas):
        if population:
            # S: the first points whose cumulative weight reaches α r (to rounding); put a rule's panel
            # boundaries at the strata's edges for an exact split
            j = min(int(np.searchsorted(cw, a * r * (1.0 - 1e-9), side="left")), size)
            ks = a * k
        else:
            ks = budget(a, k)
            j = ks
        mass_s = cw[j]
        big_n, m = n * (1.0 - mass_s), k - ks
        mass_r = max(1.0 - mass_s, 1e-300)
        mean_r = (p1[-1] - p1[j]) / mass_r
        var_r = np.maximum((t2 - p2[j]) / mass_r - mean_r**2, 0.0)
        fpc = (big_n - m) / (big_n - 1.0) if big_n > 1.0 else 0.0
        if protocol == "ec":
            cond = (big_n / n) ** 2 * var_r / m * fpc
            out[i] = float(np.sum(sigma2 / n + cond))
            continue
        rho_s = n / k
        rho_r = n * m / (k * big_n) if big_n > 0 else 0.0
        bias = rho_s * p1[j] + rho_r * (p1[-1] - p1[j])  # E[(ρ − 1) F] with F centred
        second = rho_s**2 * p2[j] + rho_r**2 * (t2 - p2[j])
        var_mean = (second - bias**2) / n
        cond = (m / k) ** 2 * var_r / m * fpc if m > 0 else 0.0 * var_r
        b2 = bias**2
        if not population:  # E[b̂²] = b² + Var(b̂): remove the noise of the estimate
            b2 = b2 - ((rho_s - 1) ** 2 * p2[j] + (rho_r - 1) ** 2 * (t2 - p2[j]) - bias**2) / n
        out[i] = float(np.sum(b2 + var_mean + cond))
    return alphas, out


def _cv_profile(g, evaluate, r, protocol, keep, alphas, folds, rng, batch=False):
    n = g.shape[0]
    folds = check_int("folds", folds, low=2, high=n)
    gen = as_generator(rng)
    assignment = gen.permutation(n) % folds
    jobs = []
    for fold in range(folds):
        train_idx = np.flatnonzero(assignment != fold)
        test_idx = np.flatnonzero(assignment == fold)
        seed = gen.integers(2**63)
        for a in alphas:
            # the same exploration draw for every α of a fold (common random numbers)
            sel = prune(g[train_idx], r, protocol, alpha=float(a), keep=keep, rng=int(seed))
            jobs.append((train_idx[sel.indices], sel.weights, test_idx))
    if batch:
        values = [float(v) for v in evaluate([job[0] for job in jobs], [job[1] for job in jobs],
                                             [job[2] for job in jobs])]
        if len(values) != len(jobs):
            raise ValueError(f"a batched evaluate must return one held-out loss per job ({len(jobs)}), got {len(values)}")
    else:
        values = [float(evaluate(*job)) for job in jobs]
    losses = np.zeros(alphas.shape[0])
    for fold in range(folds):
        for i in range(alphas.shape[0]):
            losses[i] += values[fold * alphas.shape[0] + i] / folds
    return losses


def choose_alpha(g, losses_or_pilot, r, protocol="ec", rule=None, *, keep="lowest", alphas=None,
                 sample_weight=None, n=None, folds=5, rng=None, batch=False) -> AlphaChoice:
    r"""Choose the signal fraction α of EC or AC from the data (docs/theory.md, "Choosing α").

    Parameters
    ----------
    g : array_like, shape (n,)
        Scores of D_n (of the population rule for ``rule="oracle"``).
    losses_or_pilot : array_like or callable
        For ``neyman``, ``bias-variance`` and ``oracle``: per-point values of a pilot fit, shape
        (n,) (losses) or (n, c) (gradients whitened by H^{-1/2}). For ``cv``: a function
        ``evaluate(train_indices, train_weights, test_indices) -> float``, the held-out loss of
        the model fitted on the weighted pruned training points.
    r : float in (0, 1)
        The fraction kept.
    protocol : {'ec', 'ac'}
    rule : {'neyman', 'bias-variance', 'cv', 'oracle'}, optional
        Default: ``neyman`` for EC, ``bias-variance`` for AC (the plug-in rule of the protocol).
    keep : {'lowest', 'highest'}
        The end of g the score-based part keeps.
    alphas : array_like, optional
        The grid of α (default :func:`default_alphas`).
    sample_weight, n
        ``oracle`` only: the weights of the population rule (summing to 1) and the data size.
    folds, rng
        ``cv`` only: the number of folds and the randomness of the folds and of the pruning.
    batch : bool
        ``cv`` only: call ``evaluate`` once, with the lists (train_indices, train_weights, test_indices) of
        every (fold, α), folds outer; it returns their held-out losses in that order (a model that fits many
        subsets at once). The same numbers as one call per (fold, α).

    Returns
    -------
    AlphaChoice
    """
    protocol = check_choice("protocol", protocol, ("ec", "ac"))
    plug_in = "neyman" if protocol == "ec" else "bias-variance"
    rule = plug_in if rule is None else check_choice("rule", rule, ALPHA_RULES)
    if rule in ("neyman", "bias-variance") and rule != plug_in:
        raise ValueError(f"rule {rule!r} is for protocol {'ec' if rule == 'neyman' else 'ac'!r}; for protocol "
                         f"{protocol!r} use rule {plug_in!r}, 'cv' or 'oracle'")
    if rule != "oracle" and sample_weight is not None:
        raise ValueError(f"sample_weight applies to rule 'oracle' only, got rule {rule!r}")
    if rule == "oracle" and sample_weight is None:
        raise ValueError("rule 'oracle' needs sample_weight (the population rule's weights) and n (the data size)")
    if batch and rule != "cv":
        raise ValueError(f"batch applies to rule 'cv' only, got rule {rule!r}")
    if rule == "cv":
        if not callable(losses_or_pilot):
            raise TypeError("rule 'cv' needs losses_or_pilot = evaluate(train_indices, train_weights, test_indices)")
        g_arr = check_array("g", g, ndim=1)
        r = check_r(r)
        grid = _check_alphas(alphas, protocol)
        profile = _cv_profile(g_arr, losses_or_pilot, r, protocol, check_choice("keep", keep, ("lowest", "highest")),
                              grid, folds, rng, bool(batch))
        size = g_arr.shape[0]
    else:
        if callable(losses_or_pilot):
            raise TypeError(f"rule {rule!r} needs per-point pilot values (an array), got a function")
        grid, profile = alpha_profile(g, losses_or_pilot, r, protocol, keep=keep, alphas=alphas,
                                      sample_weight=sample_weight, n=n)
        size = int(n) if rule == "oracle" else int(np.asarray(g).shape[0])
    best = int(np.argmin(profile))
    at_zero = np.flatnonzero(grid == 0.0)
    random_value = float(profile[at_zero[0]]) if at_zero.size else float("nan")
    return AlphaChoice(float(grid[best]), float(profile[best]), random_value, grid, profile, rule, protocol,
                       float(r), int(size))
