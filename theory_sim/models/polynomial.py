r"""Least squares on Legendre features for sine-regression: the fit, its population loss, its limits
and the asymptotic prediction of its excess loss under pruning (docs/theory.md, "Population losses").

Setting. x ~ µ = U[−1, 1], y = sin(ωx) + ε, Var ε = s², the label-free ``distance`` score
g(x) = |x| (its law is U[0, 1]), and least squares on the Legendre features
φ(x) = (P_0(x), …, P_p(x)) of degree p. The test loss and its minimiser are exact, by
Gauss–Legendre quadrature (:func:`theory_sim.numerics.quadrature.gauss_legendre`, :data:`NODES`
nodes per interval, exact to rounding for these analytic integrands; :func:`quadrature_check`
doubles the nodes):

.. math::

    L(w) = \tfrac12\,E_µ\big(φ(x)^\top w − \sin ωx\big)^2 + \tfrac{s^2}{2}, \qquad
    L(w) − \min L = \tfrac12 (w − w_µ)^\top H_µ (w − w_µ),\quad H_µ = E_µ φφ^\top.

Protocols (:data:`PROTOCOLS`), at compression r (fraction kept), budget k = ⌊r n⌋: ``random``;
``sbpa-hard`` (SBPA keeping the highest |x|: A_r = {|x| ≥ 1 − r}); ``sbpa-easy`` (keeping the
lowest: A_r = {|x| ≤ r}); ``ec`` (exact calibration, signal fraction α, signal part keep-hard,
with its weights); ``ac`` (approximate calibration, α, keep-hard).

Limits (docs/theory.md, "Limits"): µ for ``random`` and ``ec``; ν_r = µ|A_r / r (density 1/r on
A_r) for SBPA; density 1/r on A_{αr} and (1 − α)/(1 − αr) elsewhere for ``ac`` (keep-hard).

Predictions (all by quadrature, independent of any simulation). With the kept set a mixture of
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
S_µ/n + (N/n)² Cov_{A^c}(φu) (N − m)/(m (N − 1)), m = k − k_s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.validation import budget, check_alpha, check_choice, check_int, check_r

__all__ = [
    "NODES",
    "PLATEAU_PROTOCOLS",
    "PROTOCOLS",
    "LinePrediction",
    "PolynomialProblem",
    "fit_polynomial",
    "legendre_features",
    "limit_minimiser",
    "population_minimiser",
    "predicted_excess",
    "predicted_plateau",
    "quadrature_check",
]

PROTOCOLS = ("random", "sbpa-hard", "sbpa-easy", "ec", "ac")
# 64 Gauss–Legendre nodes per interval of length ≤ 2: the integrands are polynomials of degree
# ≤ 4p + 2 times sin or sin² of frequency ≤ 2ω; for ω ≤ 10 the node count is far beyond the
# point where the error reaches rounding. quadrature_check doubles it to confirm.
NODES = 64
PLATEAU_PROTOCOLS = ("sbpa-hard", "sbpa-easy", "ac")  # biased limits: a plateau V_∞ > 0


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
def _nodes(intervals, nodes=NODES):
    """Nodes and weights of the law µ = U[−1, 1] restricted to a union of intervals (unnormalised)."""
    x, w = gauss_legendre(intervals, nodes)
    return x, 0.5 * w  # the density 1/2 of µ


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


def counts(protocol: str, r: float, alpha: float, n: int) -> tuple[int, int]:
    """(k, k_s): the budget ⌊r n⌋ and the size of its score-based part."""
    k = budget(r, n)
    if protocol in ("sbpa-hard", "sbpa-easy"):
        return k, k
    if protocol in ("ec", "ac"):
        return k, budget(alpha, k)
    return k, 0


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


class PolynomialProblem:
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

    def test_loss(self, coef) -> np.ndarray:
        """L(w) straight from its definition for coefficient arrays of shape (..., p + 1)."""
        coef = np.asarray(coef, dtype=float)
        flat = coef.reshape(-1, self.degree + 1)
        res = self.phi(self.mu.x) @ flat.T - np.sin(self.omega * self.mu.x)[:, None]
        return (0.5 * (self.mu.q @ res**2) + 0.5 * self.noise**2).reshape(coef.shape[:-1])

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
        raise ValueError(f"protocol must be one of {PLATEAU_PROTOCOLS + ('random',)} here, got {protocol!r}")

    def limit_strata(self, protocol, r, alpha):
        """The strata of the protocol's limit law at compression r."""
        if protocol in ("random", "ec"):
            return [self.mu]
        if protocol == "ac":
            return [_stratum(_region(alpha * r, "highest"), alpha, 1.0, self.nodes),
                    _stratum(_region(alpha * r, "highest", complement=True), 1.0 - alpha, 1.0, self.nodes)]
        return self.strata(protocol, r, 1.0, 1.0)

    def limit(self, protocol, r, alpha) -> np.ndarray:
        """w_lim: the minimiser of the protocol's limit loss."""
        return self.minimiser(self.limit_strata(protocol, r, alpha))[1]

    def predict(self, protocol, r, alpha, n) -> LinePrediction:
        """The asymptotic prediction of the mean excess at sample size n (see the module docstring)."""
        k, k_s = counts(protocol, r, alpha, n)
        if protocol == "ec":
            return LinePrediction(n, k, k_s, 0.0, 0.0, 0.0, self._ec_variance(n, k, k_s))
        if protocol == "random":
            _, bias, var = self.design_terms(self.strata("random", 1.0, k, 0))
            return LinePrediction(n, k, 0, 0.0, 0.0, bias, var)
        # Mass of the score-based part: Beta(k_s + 1, n − k_s) (uniform order statistics of |x|).
        m_bar = (k_s + 1) / (n + 1)
        var_m = (k_s + 1) * (n - k_s) / ((n + 1) ** 2 * (n + 2))
        plateau_m, bias, var = self.design_terms(self.strata(protocol, m_bar, k, k_s))
        step = 1e-3 * min(m_bar, 1.0 - m_bar)  # central difference: O(step²) error ≪ the term itself

        def at(mass):
            return self.excess(self.minimiser(self.strata(protocol, mass, k, k_s))[1])

        curvature = (at(m_bar + step) - 2.0 * plateau_m + at(m_bar - step)) / step**2
        return LinePrediction(n, k, k_s, plateau_m, 0.5 * curvature * var_m, bias, var)

    def _ec_variance(self, n, k, k_s):
        big_n, m = n - k_s, k - k_s
        mu_terms = self.design_terms([_stratum(((-1.0, 1.0),), 1.0, n, self.nodes)])[2]
        if k_s > 0 and m < big_n:
            rest = _stratum(_region(k_s / n, "highest", complement=True), 1.0, 1.0, self.nodes)
            h, w = self.h_mu, self.w_mu
            phi = self.phi(rest.x)
            u = np.sin(self.omega * rest.x) - phi @ w
            m_s = phi.T @ (rest.q * u)
            cov = (phi * (rest.q * (u**2 + self.noise**2))[:, None]).T @ phi - np.outer(m_s, m_s)
            factor = (big_n / n) ** 2 * (big_n - m) / (m * (big_n - 1))
            mu_terms += 0.5 * float(np.trace(np.linalg.solve(h, cov))) * factor
        elif k_s == 0:  # EC with an empty signal part is random pruning
            mu_terms = self.design_terms(self.strata("random", 1.0, k, 0))[2]
        return mu_terms


# ---------------------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------------------
def population_minimiser(omega=1.0, noise=0.5, degree=1, *, nodes=NODES):
    """(w_µ, min L, H_µ): the minimiser of L, its value and the Hessian E_µ φφᵀ, by quadrature."""
    prob = PolynomialProblem(omega, noise, degree, nodes)
    return prob.w_mu, prob.min_loss, prob.h_mu


def _checked(protocol, r, alpha):
    return check_choice("protocol", protocol, PROTOCOLS), check_r(r), check_alpha(alpha, allow_one=True)


def limit_minimiser(protocol, r, *, omega=1.0, noise=0.5, degree=1, alpha=0.5, nodes=NODES) -> np.ndarray:
    r"""The minimiser w_lim of the protocol's limit loss L_lim(w) = E_lim f(z; w), by quadrature.

    Limits (docs/theory.md, "Limits"): µ for ``random`` and ``ec``; ν_r (density 1/r on A_r) for
    SBPA; density 1/r on A_{αr} and (1 − α)/(1 − αr) elsewhere for ``ac`` (keep-hard).
    """
    protocol, r, alpha = _checked(protocol, r, alpha)
    return PolynomialProblem(omega, noise, degree, nodes).limit(protocol, r, alpha)


def predicted_plateau(protocol, r, *, omega=1.0, noise=0.5, degree=1, alpha=0.5, nodes=NODES) -> float:
    """V_∞ = L(w_lim) − min L: the limit of the protocol's excess test loss (0 for random and EC)."""
    protocol, r, alpha = _checked(protocol, r, alpha)
    prob = PolynomialProblem(omega, noise, degree, nodes)
    return float(prob.excess(prob.limit(protocol, r, alpha)))


def predicted_excess(protocol, r, n, *, omega=1.0, noise=0.5, degree=1, alpha=0.5, nodes=NODES) -> LinePrediction:
    """The asymptotic prediction of the mean excess test loss at sample size n (see the module docstring)."""
    protocol, r, alpha = _checked(protocol, r, alpha)
    n = check_int("n", n, low=1)
    return PolynomialProblem(omega, noise, degree, nodes).predict(protocol, r, alpha, n)


def quadrature_check(rs, protocols, *, omega=1.0, noise=0.5, degree=1, alpha=0.5) -> float:
    """Largest change of w_µ, min L and the limit minimisers of (r, protocol) when the nodes are doubled."""
    coarse = PolynomialProblem(omega, noise, degree, NODES)
    fine = PolynomialProblem(omega, noise, degree, 2 * NODES)
    worst = max(0.0, float(np.abs(coarse.w_mu - fine.w_mu).max()), abs(coarse.min_loss - fine.min_loss))
    for r in rs:
        for protocol in protocols:
            a, b = coarse.limit(protocol, r, alpha), fine.limit(protocol, r, alpha)
            worst = max(worst, float(np.abs(a - b).max()))
    return worst
