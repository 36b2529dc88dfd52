r"""Scaling laws under pruning (claim C8): SBPA plateaus, random pruning keeps decaying.

Setting. ``sine-regression`` (x ~ U[−1, 1], y = sin(ωx) + ε, Var ε = s²), the label-free
``distance`` score g(x) = |x|, and least squares on the Legendre features
φ(x) = (P_0(x), …, P_p(x)) of degree p, fitted on the kept points with the selection's
weights (:func:`theory_sim.prune`). The test loss is exact, not a test sample:

.. math::

    L(w) = \tfrac12\,E_µ\big(φ(x)^\top w − \sin ωx\big)^2 + \tfrac{s^2}{2}, \qquad
    L(w) − \min L = \tfrac12 (w − w_µ)^\top H_µ (w − w_µ),\quad H_µ = E_µ φφ^\top,

both by Gauss–Legendre quadrature on [−1, 1] (:data:`NODES` nodes per interval, exact to
rounding for these analytic integrands; :func:`quadrature_check` doubles the nodes).

Protocols (``SCALING_PROTOCOLS``), all at compression r (fraction kept), budget k = ⌊r n⌋:
``random``; ``sbpa-hard`` (SBPA keeping the highest |x|: A_r = {|x| ≥ 1 − r}); ``sbpa-easy``
(keeping the lowest: A_r = {|x| ≤ r}); ``ec`` (exact calibration, signal fraction α, signal part
keep-hard, with its weights); ``ac`` (approximate calibration, α, keep-hard).

Why SBPA keep-hard wins at small n and loses at large n. For a line (p = 1) the boundary points
are the D-optimal design: the variance of the fitted slope is smaller than under random pruning,
so at small n SBPA's excess loss is lower. But its limit ν_r = µ|A_r / r (DESIGN §2.3) gives a
biased line, because sin is not linear; the excess converges to the plateau
V_∞ = L(w_ν) − min L > 0 while random pruning's excess decays like n^{−1}. They cross at n*(r).

Predictions (all by quadrature, independent of the simulation). With the kept set a mixture of
strata (SBPA: one stratum A of mass m; AC: A with proportion a = k_s/k and its complement;
random: µ), the points of each stratum are i.i.d. given the empirical threshold, whose mass m
is Beta(k_s + 1, n − k_s). With w the minimiser of the limit loss, u = sin ωx − φᵀw the
residual and H_ν = Σ a_s H_s:

.. math::

    E[L(\hat w)] − \min L ≈ \underbrace{L(w(\bar m)) − \min L}_{\text{plateau}}
      + \tfrac12 \partial_m^2 L(w(m))\,\mathrm{Var}\,m
      + ∇L(w)^\top b + \tfrac12 \mathrm{tr}\big(H_µ H_ν^{-1} Σ H_ν^{-1}\big),

Σ = Σ_s a_s² Cov_s(φ(u + ε))/k_s (the sandwich term, ∝ 1/k), b = −H_ν⁻¹ Σ_s a_s²/k_s
(E_s[φφᵀH_ν⁻¹φu] − H_s H_ν⁻¹ E_s[φu]) the O(1/k) bias of least squares with a random design,
m̄ = E m. For random pruning this is ½ tr(H_µ⁻¹ S_µ)/k. EC's estimating equation is exactly
(1/n) Σ_{D_n} φu + (N/n)(mean_E − mean_rest) φu (N = n − k_s): its variance is
S_µ/n + (N/n)² Cov_{A^c}(φu) (N − m)/(m (N − 1)), m = k − k_s. The predicted crossover n*(r)
is where the predicted curves of SBPA (or AC) and random cross (:func:`predicted_crossover`).

Parameters chosen (defaults of :class:`ScalingLawConfig`): ω = 1, s = 0.5, p = 1. With ω = 1
the line misfits sin only through its cubic term, so V_∞ is small (3.8e-4, 2.1e-4, 1.1e-4 at
r = 0.1, 0.2, 0.3) while the noise s = 0.5 makes the variance constants large (random 0.25/k,
keep-hard 0.17/k): the predicted n*(r) is ≈ 2 × 10³ for all three r, inside n ∈ [10², 10⁶]
with one decade where keep-hard wins and more than two where it has plateaued. (ω = 5 puts n*
below 50; ω = 0.5 puts it near 10⁵.) Keep-easy has a larger plateau *and* a larger variance
(the centre is the worst design for a slope, tr H_µH_ν⁻¹ = 1 + 1/r²): it never wins here.

Randomness. D_n for (n, replication j) ← ``SeedSequence(seed, spawn_key=(0, n, j))``, shared by
every r and protocol (a paired design: the crossover compares protocols on the same data);
the pruning of (r, protocol) ← ``SeedSequence(seed, spawn_key=(1, n, j, R, P))`` with R = r
in units of 10⁻⁹ and P the protocol's index in ``SCALING_PROTOCOLS``. No number depends on
which other n, r or protocols the config lists.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from theory_sim.experiments._framework import ExperimentConfig, one_blas_thread
from theory_sim.validation import (budget, check_alpha, check_choice, check_increasing_sizes, check_int, check_levels,
                          check_names, check_r, check_real)
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score

__all__ = [
    "SCALING_PROTOCOLS",
    "NODES",
    "ScalingLawConfig",
    "ScalingLawResult",
    "PowerLawFit",
    "Plateau",
    "Crossover",
    "LinePrediction",
    "default_ns",
    "legendre_features",
    "fit_polynomial",
    "population_minimiser",
    "limit_minimiser",
    "predicted_plateau",
    "predicted_excess",
    "predicted_crossover",
    "quadrature_check",
    "run_scaling_laws",
    "fit_power_law",
    "plateau",
    "crossover",
    "MIN_FIT_BUDGET",
    "summary",
]

SCALING_PROTOCOLS = ("random", "sbpa-hard", "sbpa-easy", "ec", "ac")
# 64 Gauss–Legendre nodes per interval of length ≤ 2: the integrands are polynomials of degree
# ≤ 4p + 2 times sin or sin² of frequency ≤ 2ω; for ω ≤ 10 the node count is far beyond the
# point where the error reaches rounding. quadrature_check doubles it to confirm.
NODES = 64
_PLATEAU_PROTOCOLS = ("sbpa-hard", "sbpa-easy", "ac")  # biased limits: a plateau V_∞ > 0
_R_UNIT = 10**9  # r enters seed keys as an integer number of 1e-9 (r is read to 9 decimals)


def default_ns(low: int = 100, high: int = 10**6, per_decade: int = 3) -> tuple:
    """A log grid of sample sizes from ``low`` to ``high`` with ``per_decade`` points per decade."""
    low, high = check_int("low", low, low=1), check_int("high", high, low=1)
    per_decade = check_int("per_decade", per_decade, low=1)
    if high <= low:
        raise ValueError(f"high must exceed low, got low={low}, high={high}")
    count = int(round(per_decade * math.log10(high / low))) + 1
    return tuple(int(v) for v in np.unique(np.round(np.logspace(math.log10(low), math.log10(high), count))))


# ---------------------------------------------------------------------------------------
# The model: Legendre features, weighted least squares
# ---------------------------------------------------------------------------------------
def legendre_features(x, degree: int) -> np.ndarray:
    """φ(x) = (P_0(x), …, P_p(x)), shape (len(x), p + 1): orthogonal under µ = U[−1, 1]."""
    return np.polynomial.legendre.legvander(np.asarray(x, dtype=float), degree)


def fit_polynomial(x, y, weights, degree: int) -> np.ndarray:
    r"""Weighted least squares ŵ = argmin Σ_i p_i (φ(x_i)ᵀw − y_i)², shape (p + 1,).

    Solved through the normal equations (well conditioned in the Legendre basis on [−1, 1]);
    the weights are the selection's p_i (they sum to 1).
    """
    phi = legendre_features(x, degree)
    wphi = phi * np.asarray(weights, dtype=float)[:, None]
    return np.linalg.solve(wphi.T @ phi, wphi.T @ np.asarray(y, dtype=float))


# ---------------------------------------------------------------------------------------
# Quadrature of µ and of its strata
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _leggauss(nodes):
    t, w = np.polynomial.legendre.leggauss(nodes)
    t.setflags(write=False)
    w.setflags(write=False)
    return t, w


def _nodes(intervals, nodes=NODES):
    """Nodes and weights of the law µ = U[−1, 1] restricted to a union of intervals (unnormalised)."""
    t, w = _leggauss(nodes)
    xs, ws = [], []
    for lo, hi in intervals:
        if hi > lo:
            xs.append(0.5 * (hi - lo) * t + 0.5 * (hi + lo))
            ws.append(0.25 * (hi - lo) * w)  # density 1/2 of µ times the half-length
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ws)


def _region(mass: float, keep: str, complement: bool = False):
    """Intervals of {|x| ≥ 1 − m} (keep highest) or {|x| ≤ m} (keep lowest), or their complement.

    The distance score g = |x| has the U[0, 1] law, so the region of µ-mass m is as stated.
    """
    if keep == "highest":
        inner = 1.0 - mass
        return ((-inner, inner),) if complement else ((-1.0, -inner), (inner, 1.0))
    return ((-1.0, -mass), (mass, 1.0)) if complement else ((-mass, mass),)


@dataclass(frozen=True)
class _Stratum:
    """Conditional law µ|B (nodes x, probabilities q), its share a of the fit and its count."""

    x: np.ndarray
    q: np.ndarray
    a: float
    count: float


def _stratum(intervals, a, count, nodes):
    x, q = _nodes(intervals, nodes)
    return _Stratum(x, q / q.sum(), float(a), float(count))


class _Problem:
    """The population quantities of sine-regression with Legendre features of degree p."""

    def __init__(self, omega, noise, degree, nodes=NODES):
        self.omega, self.noise, self.degree, self.nodes = float(omega), float(noise), int(degree), int(nodes)
        self.mu = _stratum(((-1.0, 1.0),), 1.0, 1.0, self.nodes)
        self.h_mu, self.w_mu = self.minimiser([self.mu])
        self.min_loss = self.loss(self.w_mu)

    def phi(self, x):
        return legendre_features(x, self.degree)

    def moments(self, s):
        phi = self.phi(s.x)
        wphi = phi * s.q[:, None]
        return wphi.T @ phi, wphi.T @ np.sin(self.omega * s.x)

    def normal_equations(self, strata):
        hs = [self.moments(s) for s in strata]
        h = sum(s.a * hm[0] for s, hm in zip(strata, hs))
        g = sum(s.a * hm[1] for s, hm in zip(strata, hs))
        return h, g, hs

    def minimiser(self, strata):
        h, g, _ = self.normal_equations(strata)
        return h, np.linalg.solve(h, g)

    def loss(self, w):
        """L(w) = ½ E_µ(φᵀw − sin ωx)² + s²/2 by quadrature."""
        res = self.phi(self.mu.x) @ w - np.sin(self.omega * self.mu.x)
        return 0.5 * float(self.mu.q @ res**2) + 0.5 * self.noise**2

    def excess(self, w):
        """L(w) − min L = ½ (w − w_µ)ᵀ H_µ (w − w_µ) (exact for the quadratic loss); w may be (..., p+1)."""
        d = np.asarray(w) - self.w_mu
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.h_mu, d)

    def design_terms(self, strata):
        """(excess of the limit, ∇L(w)ᵀb, ½ tr(H_µ H⁻¹ Σ H⁻¹)) for a stratified design."""
        h, w = self.minimiser(strata)
        hinv = np.linalg.inv(h)
        sigma = np.zeros_like(h)
        c = np.zeros(h.shape[0])
        for s in strata:
            if s.a == 0.0:
                continue
            phi = self.phi(s.x)
            u = np.sin(self.omega * s.x) - phi @ w
            m_s = phi.T @ (s.q * u)
            second = (phi * (s.q * (u**2 + self.noise**2))[:, None]).T @ phi
            sigma += s.a**2 * (second - np.outer(m_s, m_s)) / s.count
            lev = np.einsum("ij,jk,ik->i", phi, hinv, phi)  # φᵀH⁻¹φ
            h_s = (phi * s.q[:, None]).T @ phi
            c += s.a**2 * (phi.T @ (s.q * lev * u) - h_s @ hinv @ m_s) / s.count
        bias = -hinv @ c
        grad = self.h_mu @ (w - self.w_mu)
        variance = 0.5 * float(np.trace(self.h_mu @ hinv @ sigma @ hinv))
        return float(self.excess(w)), float(grad @ bias), variance

    def strata(self, protocol, mass, k, k_s):
        """The strata of a protocol when its score-based part has µ-mass ``mass``."""
        nodes = self.nodes
        if protocol == "random":
            return [_stratum(((-1.0, 1.0),), 1.0, k, nodes)]
        if protocol in ("sbpa-hard", "sbpa-easy"):
            keep = "highest" if protocol == "sbpa-hard" else "lowest"
            return [_stratum(_region(mass, keep), 1.0, k, nodes)]
        if protocol == "ac":
            a = k_s / k
            return [_stratum(_region(mass, "highest"), a, k_s, nodes),
                    _stratum(_region(mass, "highest", complement=True), 1.0 - a, k - k_s, nodes)]
        raise ValueError(f"protocol must be one of {_PLATEAU_PROTOCOLS + ('random',)} here, got {protocol!r}")


def _problem(config):
    return _Problem(config.omega, config.noise, config.degree)


def _counts(protocol, r, alpha, n):
    k = budget(r, n)
    if protocol in ("sbpa-hard", "sbpa-easy"):
        return k, k
    if protocol in ("ec", "ac"):
        return k, budget(alpha, k)
    return k, 0


def population_minimiser(omega=1.0, noise=0.5, degree=1, *, nodes=NODES):
    """(w_µ, min L, H_µ): the minimiser of L, its value and the Hessian E_µ φφᵀ, by quadrature."""
    prob = _Problem(omega, noise, degree, nodes)
    return prob.w_mu, prob.min_loss, prob.h_mu


def _limit_strata(prob, protocol, r, alpha):
    if protocol in ("random", "ec"):
        return [prob.mu]
    if protocol == "ac":
        return [_stratum(_region(alpha * r, "highest"), alpha, 1.0, prob.nodes),
                _stratum(_region(alpha * r, "highest", complement=True), 1.0 - alpha, 1.0, prob.nodes)]
    return prob.strata(protocol, r, 1.0, 1.0)


def limit_minimiser(protocol, r, *, omega=1.0, noise=0.5, degree=1, alpha=0.5, nodes=NODES) -> np.ndarray:
    r"""The minimiser w_lim of the protocol's limit loss L_lim(w) = E_lim f(z; w), by quadrature.

    Limits (DESIGN §2.3): µ for ``random`` and ``ec``; ν_r (density 1/r on A_r) for SBPA;
    density 1/r on A_{αr} and (1 − α)/(1 − αr) elsewhere for ``ac`` (keep-hard).
    """
    check_choice("protocol", protocol, SCALING_PROTOCOLS)
    r, alpha = check_r(r), check_alpha(alpha, allow_one=True)
    prob = _Problem(omega, noise, degree, nodes)
    return prob.minimiser(_limit_strata(prob, protocol, r, alpha))[1]


def predicted_plateau(protocol, r, *, omega=1.0, noise=0.5, degree=1, alpha=0.5, nodes=NODES) -> float:
    """V_∞ = L(w_lim) − min L: the limit of the protocol's excess test loss (0 for random and EC)."""
    check_choice("protocol", protocol, SCALING_PROTOCOLS)
    r, alpha = check_r(r), check_alpha(alpha, allow_one=True)
    prob = _Problem(omega, noise, degree, nodes)
    return float(prob.excess(prob.minimiser(_limit_strata(prob, protocol, r, alpha))[1]))


@dataclass(frozen=True)
class LinePrediction:
    """The predicted mean excess E[L(ŵ)] − min L at one n, split into its terms.

    Attributes
    ----------
    n, k, k_signal : int
    plateau : float
        L(w(m̄)) − min L at the expected mass m̄ of the score-based part (V_∞ + O(1/n)).
    threshold : float
        ½ ∂²_m L(w(m)) Var m: the fluctuation of the empirical threshold.
    bias : float
        ∇L(w)ᵀ b: the O(1/k) bias of least squares with a random design times the gradient of L.
    variance : float
        ½ tr(H_µ H⁻¹ Σ H⁻¹): the sandwich term.
    total : float
    """

    n: int
    k: int
    k_signal: int
    plateau: float
    threshold: float
    bias: float
    variance: float

    @property
    def total(self) -> float:
        return self.plateau + self.threshold + self.bias + self.variance


def _predict(prob, protocol, r, alpha, n) -> LinePrediction:
    k, k_s = _counts(protocol, r, alpha, n)
    if protocol == "ec":
        big_n, m = n - k_s, k - k_s
        mu_terms = prob.design_terms([_stratum(((-1.0, 1.0),), 1.0, n, prob.nodes)])[2]
        if k_s > 0 and m < big_n:
            rest = _stratum(_region(k_s / n, "highest", complement=True), 1.0, 1.0, prob.nodes)
            h, w = prob.h_mu, prob.w_mu
            phi = prob.phi(rest.x)
            u = np.sin(prob.omega * rest.x) - phi @ w
            m_s = phi.T @ (rest.q * u)
            cov = (phi * (rest.q * (u**2 + prob.noise**2))[:, None]).T @ phi - np.outer(m_s, m_s)
            factor = (big_n / n) ** 2 * (big_n - m) / (m * (big_n - 1))
            mu_terms += 0.5 * float(np.trace(np.linalg.solve(h, cov))) * factor
        elif k_s == 0:  # EC with an empty signal part is random pruning
            mu_terms = prob.design_terms(prob.strata("random", 1.0, k, 0))[2]
        return LinePrediction(n, k, k_s, 0.0, 0.0, 0.0, mu_terms)
    if protocol == "random":
        _, bias, var = prob.design_terms(prob.strata("random", 1.0, k, 0))
        return LinePrediction(n, k, 0, 0.0, 0.0, bias, var)
    # Mass of the score-based part: Beta(k_s + 1, n − k_s) (uniform order statistics of |x|).
    m_bar = (k_s + 1) / (n + 1)
    var_m = (k_s + 1) * (n - k_s) / ((n + 1) ** 2 * (n + 2))
    plateau_m, bias, var = prob.design_terms(prob.strata(protocol, m_bar, k, k_s))
    step = 1e-3 * min(m_bar, 1.0 - m_bar)  # central difference: O(step²) error ≪ the term itself

    def at(mass):
        return prob.excess(prob.minimiser(prob.strata(protocol, mass, k, k_s))[1])

    curvature = (at(m_bar + step) - 2.0 * plateau_m + at(m_bar - step)) / step**2
    return LinePrediction(n, k, k_s, plateau_m, 0.5 * curvature * var_m, bias, var)


def predicted_excess(config, r, protocol, n) -> LinePrediction:
    """The asymptotic prediction of the mean excess test loss at sample size n (see module doc)."""
    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    check_choice("protocol", protocol, SCALING_PROTOCOLS)
    r = check_r(r)
    n = check_int("n", n, low=1)
    return _predict(_problem(config), protocol, r, config.alpha, n)


def _crossing(ns, diff):
    """Where diff (log of protocol / random) turns positive for good, interpolated in log n."""
    ns = np.asarray(ns, dtype=float)
    below = np.flatnonzero(diff <= 0.0)
    if below.size == 0:
        return "never-better", math.nan
    last = below[-1]
    if last == ns.size - 1:
        return "no-crossover-in-range", math.nan
    x0, x1 = math.log(ns[last]), math.log(ns[last + 1])
    d0, d1 = diff[last], diff[last + 1]
    return "crossover", math.exp(x0 + (x1 - x0) * (0.0 - d0) / (d1 - d0))


def predicted_crossover(config, r, protocol="sbpa-hard", *, per_decade: int = 100) -> tuple[str, float]:
    """The predicted n*(r): where the predicted curves of ``protocol`` and random cross.

    Evaluated on a log grid of ``per_decade`` points per decade over the config's n range;
    returns (status, n*) with status ``crossover``, ``never-better`` (the protocol is predicted
    worse everywhere) or ``no-crossover-in-range``.
    """
    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    check_choice("protocol", protocol, _PLATEAU_PROTOCOLS)
    return _predicted_crossover(config, check_r(r), protocol, check_int("per_decade", per_decade, low=1))


@functools.lru_cache(maxsize=64)
def _predicted_crossover(config, r, protocol, per_decade):
    prob = _problem(config)
    lo, hi = config.ns[0], config.ns[-1]
    grid = np.unique(np.round(np.logspace(math.log10(lo), math.log10(hi),
                                          int(per_decade * math.log10(hi / lo)) + 1)).astype(int))
    diff = np.array([math.log(_predict(prob, protocol, r, config.alpha, int(n)).total)
                     - math.log(_predict(prob, "random", r, config.alpha, int(n)).total) for n in grid])
    return _crossing(grid, diff)


def quadrature_check(config) -> float:
    """Largest change of w_µ, min L and the limit minimisers when the quadrature nodes are doubled."""
    worst = 0.0
    coarse = _Problem(config.omega, config.noise, config.degree, NODES)
    fine = _Problem(config.omega, config.noise, config.degree, 2 * NODES)
    worst = max(worst, float(np.abs(coarse.w_mu - fine.w_mu).max()), abs(coarse.min_loss - fine.min_loss))
    for r in config.rs:
        for protocol in config.protocols:
            a = coarse.minimiser(_limit_strata(coarse, protocol, r, config.alpha))[1]
            b = fine.minimiser(_limit_strata(fine, protocol, r, config.alpha))[1]
            worst = max(worst, float(np.abs(a - b).max()))
    return worst


# ---------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalingLawConfig(ExperimentConfig):
    r"""Configuration of :func:`run_scaling_laws` (claim C8).

    Attributes
    ----------
    omega : float > 0
        ω of sine-regression.
    noise : float ≥ 0
        s, the noise standard deviation.
    degree : int in [0, 10]
        p, the degree of the fitted polynomial (Legendre features).
    model : {'polynomial'}
        The fitted model (the experiment with a small MLP is :mod:`theory_sim.experiments.scaling_laws_mlp`).
    rs : tuple of float in (0, 1)
        Compression levels (fraction kept).
    ns : tuple of int
        Sample sizes n, strictly increasing; each budget ⌊r n⌋ must be ≥ p + 3 (so that the
        least-squares fit has a finite expected excess).
    protocols : tuple of str from ``SCALING_PROTOCOLS``
    alpha : float in (0, 1)
        Signal fraction of EC and AC.
    replications : int ≥ 2
        Independent data sets per n.
    seed : int ≥ 0
    """

    omega: float = 1.0
    noise: float = 0.5
    degree: int = 1
    model: str = "polynomial"
    rs: tuple = (0.1, 0.2, 0.3)
    ns: tuple = default_ns(100, 10**6, 3)
    protocols: tuple = SCALING_PROTOCOLS
    alpha: float = 0.5
    replications: int = 40
    seed: int = 0

    def __post_init__(self):
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        degree = check_int("degree", self.degree, low=0, high=10)
        check_choice("model", self.model, ("polynomial",))
        rs = check_levels("rs", self.rs)
        object.__setattr__(self, "rs", rs)
        ns = check_increasing_sizes("ns", self.ns, min_count=3, why=" (for the power-law fits)")
        object.__setattr__(self, "ns", ns)
        protocols = check_names("protocols", self.protocols, SCALING_PROTOCOLS, item="protocol")
        object.__setattr__(self, "protocols", protocols)
        alpha = check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
        for r in rs:
            k = budget(r, ns[0])
            if k < degree + 3:
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}: the budget floor(r * n) = {k} must be at "
                                 f"least degree + 3 = {degree + 3}")
            if budget(alpha, k) < 1 and any(p in ("ec", "ac") for p in protocols):
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}, alpha={alpha}: EC/AC need "
                                 "floor(alpha floor(r n)) >= 1")
        check_int("replications", self.replications, low=2)
        check_int("seed", self.seed, low=0)

    KIND = "scaling-laws"


@dataclass(frozen=True, eq=False)
class ScalingLawResult:
    """Result of :func:`run_scaling_laws`.

    Attributes
    ----------
    config : ScalingLawConfig
    test_loss : ndarray, shape (len(rs), len(protocols), len(ns), replications)
        L(ŵ), exact (quadrature), noise floor s²/2 included.
    excess : ndarray, same shape
        L(ŵ) − min L, from the quadratic form ½ (ŵ − w_µ)ᵀ H_µ (ŵ − w_µ) (no cancellation).
    min_loss : float
        min L (quadrature).
    w_mu : ndarray, shape (p + 1,)
    plateau : ndarray, shape (len(rs), len(protocols))
        Predicted V_∞ = L(w_lim) − min L.
    predicted : ndarray, shape (len(rs), len(protocols), len(ns))
        Predicted mean excess at each n (:func:`predicted_excess`).
    variance_constant : ndarray, shape (len(rs), len(protocols))
        k × the predicted sandwich term at the largest n (the constant C in C/k).
    quadrature_error : float
        Largest change of the population quantities when the nodes are doubled, and of
        L(ŵ) − min L computed directly against the quadratic form.
    seconds : float
    path : Path or None
    """

    config: ScalingLawConfig
    test_loss: np.ndarray
    excess: np.ndarray
    min_loss: float
    w_mu: np.ndarray
    plateau: np.ndarray
    predicted: np.ndarray
    variance_constant: np.ndarray
    quadrature_error: float
    seconds: float
    path: object = None

    def index(self, r, protocol) -> tuple[int, int]:
        """(i, p) of compression level r and protocol in the result arrays."""
        rs = self.config.rs
        matches = [i for i, v in enumerate(rs) if math.isclose(v, float(r), rel_tol=0, abs_tol=1e-12)]
        if not matches:
            raise ValueError(f"r must be one of {rs}, got {r!r}")
        return matches[0], self.config.protocols.index(check_choice("protocol", protocol, self.config.protocols))


def _ro(value):
    arr = np.array(value, dtype=float)
    arr.setflags(write=False)
    return arr


def _prune(protocol, g, r, alpha, rng):
    if protocol == "random":
        return prune(g, r, "random", rng=rng)
    if protocol == "sbpa-hard":
        return prune(g, r, "sbpa", keep="highest", rng=rng)
    if protocol == "sbpa-easy":
        return prune(g, r, "sbpa", keep="lowest", rng=rng)
    return prune(g, r, protocol, alpha=alpha, keep="highest", rng=rng)


def _one_n(config, process, score, n):
    """Fitted coefficients for every (r, protocol, replication) at one n."""
    out = np.empty((len(config.rs), len(config.protocols), config.replications, config.degree + 1))
    for j in range(config.replications):
        data = process.sample(n, rng=np.random.SeedSequence(config.seed, spawn_key=(0, n, j)))
        g = score(data.x)
        x, y = data.x[:, 0], data.y
        for i, r in enumerate(config.rs):
            r_key = int(round(r * _R_UNIT))
            for p, protocol in enumerate(config.protocols):
                key = (1, n, j, r_key, SCALING_PROTOCOLS.index(protocol))
                sel = _prune(protocol, g, r, config.alpha, np.random.SeedSequence(config.seed, spawn_key=key))
                out[i, p, j] = fit_polynomial(x[sel.indices], y[sel.indices], sel.weights, config.degree)
    return out


def _predictions(config, prob):
    shape = (len(config.rs), len(config.protocols))
    plateau, const = np.empty(shape), np.empty(shape)
    predicted = np.empty(shape + (len(config.ns),))
    for i, r in enumerate(config.rs):
        for p, protocol in enumerate(config.protocols):
            plateau[i, p] = prob.excess(prob.minimiser(_limit_strata(prob, protocol, r, config.alpha))[1])
            preds = [_predict(prob, protocol, r, config.alpha, n) for n in config.ns]
            predicted[i, p] = [pr.total for pr in preds]
            const[i, p] = preds[-1].variance * preds[-1].k
    return plateau, predicted, const


@one_blas_thread
def run_scaling_laws(config: ScalingLawConfig, results_dir=None, progress: bool = False) -> ScalingLawResult:
    """Run (or reuse ``results_dir/scaling-laws-<hash>.json``) the experiment of the config.

    For each n and replication j: draw D_n ~ µ^n, score by |x|, prune by every (r, protocol),
    fit the weighted least-squares polynomial on the kept points, and record its exact test
    loss. The file is written after each n with ``"complete": false`` (a rerun resumes) and
    finally with ``"complete": true`` (a rerun reads it and computes nothing).
    """
    from theory_sim.store import read_json

    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    path = None if results_dir is None else Path(results_dir) / f"scaling-laws-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") != config.hash:
        stored = None
    prob = _problem(config)
    if stored is not None and stored.get("complete"):
        try:
            return _result_from(config, stored, prob, path)
        except (KeyError, TypeError, ValueError):
            stored = None
    start = time.perf_counter()
    done = {} if stored is None else {int(n): np.array(v, dtype=float) for n, v in stored.get("coef", {}).items()}
    elapsed = 0.0 if stored is None else float(stored.get("seconds", 0.0))
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    score = make_score("distance", process)
    todo = [n for n in config.ns if n not in done]
    for n in todo:
        if progress:
            print(f"scaling-laws: n={n} ({config.replications} replications)", flush=True)
        done[n] = _one_n(config, process, score, n)
        if path is not None and n != todo[-1]:
            _write(path, config, done, complete=False, seconds=elapsed + time.perf_counter() - start)
    seconds = elapsed + time.perf_counter() - start
    payload = _write(path, config, done, complete=True, seconds=seconds) if path is not None else \
        _payload(config, done, complete=True, seconds=seconds)
    return _result_from(config, payload, prob, path)


def _payload(config, done, *, complete, seconds):
    from theory_sim.provenance import versions

    return {"kind": "scaling-laws", "config": config.to_dict(), "config_hash": config.hash, "complete": complete,
            "versions": versions(), "seconds": seconds,
            "coef": {str(n): done[n].tolist() for n in config.ns if n in done}}


def _write(path, config, done, *, complete, seconds):
    from theory_sim.store import atomic_write_json

    payload = _payload(config, done, complete=complete, seconds=seconds)
    atomic_write_json(path, payload)
    return payload


def _result_from(config, stored, prob, path):
    """Test losses, predictions and diagnostics from the stored fitted coefficients."""
    coef = np.stack([np.array(stored["coef"][str(n)], dtype=float) for n in config.ns], axis=2)
    expected = (len(config.rs), len(config.protocols), len(config.ns), config.replications, config.degree + 1)
    if coef.shape != expected:
        raise ValueError(f"stored coefficients have shape {coef.shape}, expected {expected}")
    excess = prob.excess(coef)
    # The test loss straight from its definition (quadrature of ½(f_w − sin)² + s²/2).
    flat = coef.reshape(-1, config.degree + 1)
    res = prob.phi(prob.mu.x) @ flat.T - np.sin(prob.omega * prob.mu.x)[:, None]
    test_loss = (0.5 * (prob.mu.q @ res**2) + 0.5 * prob.noise**2).reshape(excess.shape)
    direct_err = float(np.abs(test_loss - prob.min_loss - excess).max())
    plateau, predicted, const = _predictions(config, prob)
    return ScalingLawResult(config, _ro(test_loss), _ro(excess), prob.min_loss, _ro(prob.w_mu), _ro(plateau),
                            _ro(predicted), _ro(const), max(direct_err, quadrature_check(config)),
                            float(stored["seconds"]), path)


# ---------------------------------------------------------------------------------------
# Analysis: power laws, plateaus, crossovers
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLawFit:
    """Fit log E[excess] = a + slope · log n over a window of the grid.

    ``ci_low``, ``ci_high``: CI of the slope (95% unless asked otherwise); ``chi2_dof``: the fit's χ²/dof (the CI is
    widened by √(χ²/dof) when it exceeds 1); ``n_min``, ``n_max``: the window.
    """

    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    chi2_dof: float
    n_min: int
    n_max: int
    points: int


def fit_power_law(ns, excess, *, n_min=None, n_max=None, level: float = 0.95) -> PowerLawFit:
    r"""Weighted least-squares fit of log(mean excess) against log n, using the replications' spread.

    For each n the mean over replications ȳ_n and its standard error se_n give
    log ȳ_n with variance (se_n/ȳ_n)² (delta method); the line is fitted with weights
    ȳ_n²/se_n². The slope's CI at ``level`` is ±z × its standard error (z the normal quantile,
    1.96 at 95%), times √(χ²/dof) when the points scatter more than their errors say (a
    Birge-ratio inflation; dof = points − 2).

    Parameters
    ----------
    ns : array_like, shape (m,)
    excess : array_like, shape (m, replications)
    n_min, n_max : int, optional
        Restrict the fit to n_min ≤ n ≤ n_max (needs ≥ 3 points).
    level : float in (0, 1)
        Confidence level of the slope's interval.
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    ns = np.asarray(ns, dtype=float)
    excess = np.asarray(excess, dtype=float)
    if excess.ndim != 2 or excess.shape[0] != ns.shape[0] or excess.shape[1] < 2:
        raise ValueError(f"excess must have shape ({ns.shape[0]}, replications >= 2), got {excess.shape}")
    keep = np.ones(ns.shape, dtype=bool)
    if n_min is not None:
        keep &= ns >= n_min
    if n_max is not None:
        keep &= ns <= n_max
    if keep.sum() < 3:
        raise ValueError(f"the fit window [{n_min}, {n_max}] holds {int(keep.sum())} sample sizes; need at least 3")
    mean = excess[keep].mean(axis=1)
    se = excess[keep].std(axis=1, ddof=1) / math.sqrt(excess.shape[1])
    x, y = np.log(ns[keep]), np.log(mean)
    w = (mean / se) ** 2
    design = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    a, b = cov @ design.T @ (w * y)
    dof = x.shape[0] - 2
    chi2 = float(w @ (y - a - b * x) ** 2)
    chi2_dof = chi2 / dof if dof > 0 else math.nan
    birge = max(1.0, math.sqrt(chi2_dof)) if dof > 0 else 1.0
    half = float(stats.norm.ppf(0.5 + level / 2)) * math.sqrt(cov[1, 1]) * birge
    return PowerLawFit(float(b), float(b - half), float(b + half), float(a), chi2_dof, int(ns[keep][0]),
                       int(ns[keep][-1]), int(keep.sum()))


@dataclass(frozen=True)
class Plateau:
    """The mean excess at the largest n, its 95% CI (t over replications) and the predictions."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    predicted_limit: float
    predicted_at_n: float


def plateau(result: ScalingLawResult, r, protocol="sbpa-hard") -> Plateau:
    """Measured mean excess of ``protocol`` at the largest n against V_∞ and the prediction at that n."""
    i, p = result.index(r, protocol)
    last = result.excess[i, p, -1]
    reps = last.shape[0]
    mean = float(last.mean())
    half = float(stats.t.ppf(0.975, reps - 1) * last.std(ddof=1) / math.sqrt(reps))
    return Plateau(result.config.ns[-1], mean, mean - half, mean + half, float(result.plateau[i, p]),
                   float(result.predicted[i, p, -1]))


@dataclass(frozen=True)
class Crossover:
    """The measured crossover of ``protocol`` against random at compression r.

    ``status``: ``crossover`` (the protocol is below random at small n and above from n* on),
    ``never-better`` (above random at every n of the grid), or ``no-crossover-in-range``
    (still below random at the largest n). ``n_star`` is NaN unless status is ``crossover``;
    ``ci_low``, ``ci_high``: a 95% percentile bootstrap over replications (paired: D_n is
    shared), from the resamples that show a crossover, whose fraction is ``boot_fraction``.
    """

    status: str
    n_star: float
    ci_low: float
    ci_high: float
    boot_fraction: float
    predicted_status: str
    predicted_n_star: float


def crossover(result: ScalingLawResult, r, protocol="sbpa-hard", *, boot: int = 1000, rng=0) -> Crossover:
    """Measure n*(r): the smallest grid n beyond which the protocol's mean excess stays above random's.

    Interpolated linearly in log n on log(mean protocol / mean random) between the two grid
    points around the last sign change; bootstrap over replications for the CI.
    """
    from theory_sim.validation import as_generator

    check_choice("protocol", protocol, _PLATEAU_PROTOCOLS)
    if "random" not in result.config.protocols:
        raise ValueError("crossover needs 'random' among the config's protocols")
    i, p = result.index(r, protocol)
    q = result.config.protocols.index("random")
    a, b = result.excess[i, p], result.excess[i, q]
    status, n_star = _crossing(result.config.ns, np.log(a.mean(axis=1)) - np.log(b.mean(axis=1)))
    gen = as_generator(rng)
    reps = a.shape[1]
    stars = []
    for _ in range(check_int("boot", boot, low=0)):
        idx = gen.integers(0, reps, reps)
        s, v = _crossing(result.config.ns, np.log(a[:, idx].mean(axis=1)) - np.log(b[:, idx].mean(axis=1)))
        if s == "crossover":
            stars.append(v)
    lo, hi = (np.percentile(stars, [2.5, 97.5]) if stars else (math.nan, math.nan))
    pred_status, pred_star = predicted_crossover(result.config, result.config.rs[i], protocol)
    return Crossover(status, n_star, float(lo), float(hi), len(stars) / boot if boot else math.nan, pred_status,
                     pred_star)


# Power-law fits of the decaying protocols use the n with budget k ≥ MIN_FIT_BUDGET: below it the
# O(p/k) finite-sample excess of least squares (≈ 3/k of the mean for a line) bends the curve.
MIN_FIT_BUDGET = 100


def summary(result: ScalingLawResult, *, boot: int = 1000, level: float = 0.95) -> dict:
    """Every number the figure, the tests and the report quote, per (r, protocol).

    Returns a dict ``{r: {protocol: {...}}}`` with ``fit`` (:class:`PowerLawFit` over the n with
    ⌊r n⌋ ≥ ``MIN_FIT_BUDGET``), ``tail`` (fit over the last decade of the grid), ``plateau``
    (:class:`Plateau`), and for SBPA and AC ``crossover`` (:class:`Crossover` against random).
    """
    cfg = result.config
    out = {}
    for i, r in enumerate(cfg.rs):
        out[r] = {}
        n_fit = min(n for n in cfg.ns if budget(r, n) >= MIN_FIT_BUDGET) if budget(r, cfg.ns[-1]) >= MIN_FIT_BUDGET \
            else cfg.ns[0]
        if sum(1 for n in cfg.ns if n >= n_fit) < 3:
            n_fit = cfg.ns[-3]
        n_tail = min(cfg.ns[-1] / 10, cfg.ns[-3])
        for p, protocol in enumerate(cfg.protocols):
            entry = {"fit": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_fit, level=level),
                     "tail": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_tail, level=level),
                     "plateau": plateau(result, r, protocol)}
            if protocol in _PLATEAU_PROTOCOLS and "random" in cfg.protocols:
                entry["crossover"] = crossover(result, r, protocol, boot=boot)
            out[r][protocol] = entry
    return out
