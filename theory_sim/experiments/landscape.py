r"""Loss landscapes of small networks under µ and under the SBPA limit ν_r (claim C7).

On ``sine-regression`` (x ~ U[−1, 1], y = sin(ωx) + ε, Var ε = s²) with the ``mse`` loss
f = ½ (v − y)², the noise integrates out and the population losses are one-dimensional
integrals over x:

.. math::

    L(θ) = \tfrac12 \int_{-1}^{1} (v(x; θ) − \sin ωx)^2 \,\tfrac{dx}{2} + \tfrac{s^2}{2}, \qquad
    L_{ν_r}(θ) = \frac{1}{r} \int_{A_r} \tfrac12 (v(x; θ) − \sin ωx)^2 \,\tfrac{dx}{2} + \tfrac{s^2}{2},

with A_r the acceptance region of a **label-free** score (here ``distance`` to a centre c:
A_r = {|x − c| ≤ q_r}, or {|x − c| ≥ q_r} with ``keep="highest"``; for c = 0, q_r = r and
1 − r). Both are computed by composite Gauss–Legendre quadrature (:class:`QuadratureRule`),
which is exact to rounding for these integrands (analytic on each panel): the rule is a
weighted sample of nodes, so the loss, its gradient and the exact per-node gradients come
from :class:`theory_sim.models.mlp.MLP` unchanged, and the Hessian of a one-hidden-layer tanh net is
computed in closed form (:func:`population_hessian`).

:func:`certify_new_minimum` finds a local minimiser θ₀ of L_{ν_r} (multi-start BFGS, then
Newton) and certifies from these population quantities that it is a **new local minimum**:
‖∇L_{ν_r}(θ₀)‖ ≈ 0 to quadrature precision, the Hessian of L_{ν_r} at θ₀ positive definite
with a margin, and ‖∇L(θ₀)‖ bounded away from 0 — so θ₀ is not even a critical point of L
(DESIGN §2.5, C7; the paper's Section on validity with rich models).

:func:`run_width_validity` (claim C7a) trains networks of growing width on samples pruned by
SBPA (centre or boundary), random pruning and EC, and scores them on µ by the same quadrature:
the population loss of the SBPA-trained networks stays bounded away from the noise floor as
the width grows, that of random and EC does not. (It lives here, next to the quadrature it
uses, until the MLP experiments get their own module.)

:func:`run_pruned_landscape` (claim C7, item 3a) trains a wider network (width 32 by default)
once on an SBPA-pruned sample and once on the full sample, and evaluates L, L_{ν_r} (by the same
quadrature) and both empirical losses on the line between the two minimisers and on a plane
through θ_pruned spanned by two filter-normalised random directions
(:func:`filter_normalized_direction`, Li et al. 2018).

:func:`run_width_validity_2d` is C7a's second process: a 2-D classification process
(``gaussian-logistic`` or ``gaussian-mixture``) with the binary cross-entropy loss, scored on µ by
a tensor Gauss–Legendre rule in 2-D (:func:`gaussian_rule_2d`, error checked by doubling its
nodes, truncation bounded) against the Bayes risk E[H(P(y = 1 | x))] (:func:`bayes_risk_2d`).

Scope: ``sine-regression``, the ``distance`` score, the ``mse`` loss, tanh networks with one
hidden layer (any width; ReLU kinks would spoil the quadrature's exactness and the Hessian);
and, for :func:`run_width_validity_2d`, the two Gaussian classification processes with d = 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from theory_sim.experiments._framework import ExperimentConfig, one_blas_thread
from theory_sim.validation import as_generator, check_choice, check_int, check_r, check_real
from theory_sim.core.limits import score_quantile
from theory_sim.models.mlp import MLP
from theory_sim.core.processes import SineRegression, make_process
from theory_sim.core.scores import make_score

__all__ = [
    "QuadratureRule",
    "LocalMinimum",
    "NewMinimumCertificate",
    "quadrature_rule",
    "population_loss_grad",
    "population_hessian",
    "hessian_fd",
    "canonical",
    "local_minima",
    "certify_new_minimum",
    "LandscapeSliceConfig",
    "LandscapeSliceResult",
    "run_landscape_slice",
    "WIDTH_PROTOCOLS",
    "WidthValidityConfig",
    "WidthValidityResult",
    "run_width_validity",
    "BIAS_MODES",
    "LANDSCAPE_LOSSES",
    "filter_normalized_direction",
    "filter_norms",
    "PrunedLandscapeConfig",
    "PrunedLandscapeResult",
    "run_pruned_landscape",
    "CLASSIFICATION_PROCESSES",
    "CLASSIFICATION_PROTOCOLS",
    "GaussianRule2D",
    "gaussian_rule_2d",
    "bayes_risk_2d",
    "population_ce_loss",
    "ce_loss_bound",
    "ClassificationWidthConfig",
    "ClassificationWidthResult",
    "run_width_validity_2d",
]

# Constants, each with its reason.
# Panels of width ≤ 0.1 with 64 Gauss–Legendre nodes: tanh(w x + b) has poles at distance
# π/(2|w|) from the real axis, so for |w| ≤ 60 the Bernstein-ellipse ratio per panel is ≥ 1.6 and
# the error ≲ 1.6^{-128} ≈ 1e-26 — rounding dominates. Doubling the nodes checks it.
PANEL_WIDTH = 0.1
NODES_PER_PANEL = 64
MAX_NORM = 50.0  # starts that run off beyond ‖θ‖ = 50 are saturated plateaus (units ±1), not minima
NEWTON_STEPS = 30  # Newton polish from BFGS's point: quadratic convergence needs ≤ 5; the rest is slack
# Certification thresholds (defaults of certify_new_minimum).
GRAD_TOL = 1e-10  # ‖∇L_ν(θ₀)‖: rounding of the quadrature sums is ~1e-16 · #nodes ≈ 1e-13
# λ_min(∇²L_ν(θ₀)) minus its error bound must exceed EIG_MARGIN: the Hessian's errors are ~1e-9,
# so the margin is 10^4 times them; the well is shallow along (b, c) on a narrow A_r (λ_min ~ 6e-4 at r = 0.3).
EIG_MARGIN = 1e-5
CANDIDATE_EIG_TOL = 1e-8  # local_minima keeps points with λ_min above this (then certified separately)
AWAY_TOL = 1e-2  # ‖∇L(θ₀)‖ must exceed this (10^8 times the quadrature error)


# ---------------------------------------------------------------------------------------
# Quadrature of the population measure and of ν_r
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class QuadratureRule:
    r"""A discrete measure Σ_j p_j δ_{x_j} that integrates µ or ν_r exactly to rounding.

    Attributes
    ----------
    x : ndarray, shape (m, 1)
        Nodes (Gauss–Legendre on panels of width ≤ ``PANEL_WIDTH`` of each interval).
    y : ndarray, shape (m,)
        The regression function sin(ω x_j) at the nodes (E[y | x]).
    weights : ndarray, shape (m,)
        p_j ≥ 0, Σ p_j = 1 (the law of x under the measure).
    intervals : tuple of (float, float)
        The support: [−1, 1] for µ, A_r for ν_r.
    r : float
        Mass of the support under µ (1 for µ).
    q : float or None
        The threshold q_r (None for µ).
    noise : float
        s, the noise standard deviation: L adds s²/2.
    """

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    intervals: tuple
    r: float
    q: float | None
    noise: float


def _gauss_legendre(intervals, nodes):
    t, w = np.polynomial.legendre.leggauss(nodes)
    xs, ws = [], []
    for lo, hi in intervals:
        panels = max(1, math.ceil((hi - lo) / PANEL_WIDTH - 1e-12))
        edges = np.linspace(lo, hi, panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[:-1] + edges[1:])
        xs.append((mid[:, None] + half[:, None] * t[None, :]).ravel())
        ws.append((half[:, None] * w[None, :]).ravel())
    return np.concatenate(xs), np.concatenate(ws)


def quadrature_rule(process=None, r=1.0, *, keep: str = "lowest", center: float = 0.0,
                    nodes: int = NODES_PER_PANEL) -> QuadratureRule:
    r"""The quadrature rule of µ (r = 1) or of the SBPA limit ν_r of the ``distance`` score.

    .. math::

        ν_r = µ|_{A_r} / r, \qquad A_r = \{x : |x − c| ≤ q_r\}\ (\text{keep lowest}),\quad
        \{x : |x − c| ≥ q_r\}\ (\text{keep highest}),

    with q_r from :func:`theory_sim.score_quantile` (exact for this pair).

    Parameters
    ----------
    process : SineRegression, optional
        Default ``make_process('sine-regression')`` (ω = 5, s = 0.1).
    r : float in (0, 1]
        Fraction kept; 1 gives µ itself.
    keep : {'lowest', 'highest'}
        Keep the centre (lowest distance) or the boundary.
    center : float
        c, the centre of the score.
    nodes : int ≥ 2
        Gauss–Legendre nodes per panel.
    """
    process = make_process("sine-regression") if process is None else process
    if not isinstance(process, SineRegression):
        raise TypeError(f"process must be a SineRegression (make_process('sine-regression')), "
                        f"got {type(process).__name__}")
    r = check_r(r)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    center = check_real("center", center)
    nodes = check_int("nodes", nodes, low=2)
    if r == 1.0:
        intervals, q = ((-1.0, 1.0),), None
    else:
        score = make_score("distance", process, center=[center])
        q = score_quantile(process, score, r, keep=keep).value
        if keep == "lowest":
            intervals = ((max(-1.0, center - q), min(1.0, center + q)),)
        else:
            intervals = tuple((lo, hi) for lo, hi in ((-1.0, center - q), (center + q, 1.0)) if hi > lo)
    x, w = _gauss_legendre(intervals, nodes)
    w = w / w.sum()  # the measure's mass is r/… ; normalising divides by r exactly (to rounding)
    y = process.regression_function(x[:, None])
    for arr in (x, w, y):
        arr.setflags(write=False)
    return QuadratureRule(x[:, None], y, w, intervals, r, q, process.noise)


def _check_arch(arch) -> MLP:
    if not isinstance(arch, MLP):
        raise TypeError(f"arch must be an MLP (see theory_sim.models.mlp.make_mlp), got {type(arch).__name__}")
    if arch.d != 1 or arch.loss != "mse" or arch.activation != "tanh" or len(arch.hidden) != 1:
        raise ValueError(f"arch must be MLP(d=1, hidden=(h,), activation='tanh', loss='mse') for the "
                         f"population landscape of sine-regression, got {arch!r}")
    return arch


def population_loss_grad(arch: MLP, theta, rule: QuadratureRule) -> tuple[float, np.ndarray]:
    r"""L_ρ(θ) = Σ_j p_j ½ (v(x_j; θ) − sin ωx_j)² + s²/2 and its exact gradient."""
    loss, grad = arch.loss_and_grad(theta, rule.x, rule.y, rule.weights)
    return loss + 0.5 * rule.noise**2, grad


def population_hessian(arch: MLP, theta, rule: QuadratureRule) -> np.ndarray:
    r"""The exact Hessian of L_ρ for a one-hidden-layer tanh network with d = 1.

    v(x) = Σ_k a_k t_k + c, t_k = tanh(u_k), u_k = w_k x + b_k. With J_j = ∇_θ v(x_j) and
    residual e_j = v(x_j) − sin ωx_j,

    .. math::

        ∇^2 L_ρ = \sum_j p_j \big(J_j J_j^\top + e_j ∇^2 v(x_j)\big),

    where ∇²v is block-diagonal per unit: ∂²v/∂(w_k, b_k)² = a_k t''_k (x, 1)(x, 1)ᵀ,
    ∂²v/∂(w_k, b_k)∂a_k = t'_k (x, 1), t' = 1 − t², t'' = −2 t t'.

    Returns
    -------
    ndarray, shape (n_params, n_params), symmetric.
    """
    arch = _check_arch(arch)
    theta = arch._theta(theta)
    h = arch.hidden[0]
    blocks = arch.unpack(theta)
    w, b, a = blocks["W1"][0], blocks["b1"], blocks["w_out"]
    x, p = rule.x[:, 0], rule.weights
    t = np.tanh(np.outer(x, w) + b)  # (m, h)
    t1 = 1.0 - t * t
    t2 = -2.0 * t * t1
    e = t @ a + blocks["b_out"][0] - rule.y
    J = np.empty((x.shape[0], 3 * h + 1))
    J[:, :h] = a * t1 * x[:, None]  # ∂v/∂w_k
    J[:, h : 2 * h] = a * t1  # ∂v/∂b_k
    J[:, 2 * h : 3 * h] = t  # ∂v/∂a_k
    J[:, 3 * h] = 1.0  # ∂v/∂c
    H = (J * p[:, None]).T @ J
    pe = p * e
    c_ww = a * ((pe * x * x) @ t2)
    c_wb = a * ((pe * x) @ t2)
    c_bb = a * (pe @ t2)
    c_wa = (pe * x) @ t1
    c_ba = pe @ t1
    k = np.arange(h)
    H[k, k] += c_ww
    H[k, h + k] += c_wb
    H[h + k, k] += c_wb
    H[h + k, h + k] += c_bb
    H[k, 2 * h + k] += c_wa
    H[2 * h + k, k] += c_wa
    H[h + k, 2 * h + k] += c_ba
    H[2 * h + k, h + k] += c_ba
    return 0.5 * (H + H.T)


def hessian_fd(grad, theta, step: float = 1e-4) -> tuple[np.ndarray, float]:
    r"""Hessian by central differences of an exact gradient, with Richardson extrapolation.

    .. math::

        H^{(h)}_{:,j} = \frac{∇L(θ + h e_j) − ∇L(θ − h e_j)}{2h}, \qquad
        H = \tfrac{4 H^{(h/2)} − H^{(h)}}{3},

    whose truncation error is O(h⁴). Returns (H symmetrised, error estimate
    ‖H^{(h/2)} − H^{(h)}‖₂ / 3, which bounds the error of H^{(h/2)} and, conservatively, of H).
    Used as an independent check of :func:`population_hessian`.
    """
    theta = np.asarray(theta, dtype=np.float64)
    step = check_real("step", step, low=0.0, low_open=True)

    def central(hs):
        out = np.empty((theta.size, theta.size))
        for j in range(theta.size):
            e = np.zeros_like(theta)
            e[j] = hs
            out[:, j] = (grad(theta + e) - grad(theta - e)) / (2.0 * hs)
        return out

    coarse, fine = central(step), central(step / 2.0)
    H = (4.0 * fine - coarse) / 3.0
    return 0.5 * (H + H.T), float(np.linalg.norm(fine - coarse, 2) / 3.0)


# ---------------------------------------------------------------------------------------
# Local minima by multi-start, and the certificate
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LocalMinimum:
    """A point where the gradient vanishes (to ``grad_norm``) and the Hessian is positive definite."""

    theta: np.ndarray
    loss: float
    grad_norm: float
    eigenvalues: np.ndarray
    count: int  # how many of the starts ended here


def canonical(arch: MLP, theta) -> np.ndarray:
    r"""The representative of θ's symmetry class: each unit with a_k ≥ 0, units sorted by w_k.

    v is invariant under (w_k, b_k, a_k) → (−w_k, −b_k, −a_k) (tanh is odd) and under permuting
    the hidden units, so minima come in classes of 2^h h! equivalent points.
    """
    arch = _check_arch(arch)
    theta = np.array(arch._theta(theta), dtype=np.float64)
    h = arch.hidden[0]
    w, b, a = theta[:h].copy(), theta[h : 2 * h].copy(), theta[2 * h : 3 * h].copy()
    flip = a < 0.0
    w[flip], b[flip], a[flip] = -w[flip], -b[flip], -a[flip]
    order = np.lexsort((b, np.round(w, 6)))  # rounded: mirror-image units have w equal up to rounding
    theta[:h], theta[h : 2 * h], theta[2 * h : 3 * h] = w[order], b[order], a[order]
    return theta + 0.0  # −0.0 → 0.0


def _newton(arch, theta, rule):
    """Newton's method on the exact Hessian, from a BFGS point; stops when ‖∇L‖ stops falling."""
    _, g = population_loss_grad(arch, theta, rule)
    best = (float(np.linalg.norm(g)), theta)
    for _ in range(NEWTON_STEPS):
        H = population_hessian(arch, theta, rule)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        cand = theta - step
        _, g_new = population_loss_grad(arch, cand, rule)
        norm = float(np.linalg.norm(g_new))
        if not norm < best[0]:
            break
        theta, g, best = cand, g_new, (norm, cand)
    return best[1]


def local_minima(arch: MLP, rule: QuadratureRule, *, starts: int = 32, rng=None, scale: float = 3.0,
                 max_norm: float = MAX_NORM, eig_tol: float = CANDIDATE_EIG_TOL) -> tuple:
    r"""Distinct local minimisers of L_ρ found from ``starts`` random starts, lowest loss first.

    Each start θ ~ N(0, scale² I) runs BFGS (exact gradient, gtol 1e-10), then Newton's method
    on the exact Hessian. Kept: ‖θ‖ ≤ ``max_norm`` (runs to infinity are saturated plateaus),
    ‖∇L_ρ‖ ≤ 1e-8 and λ_min(∇²L_ρ) ≥ ``eig_tol``; points equal up to the network's symmetries
    (:func:`canonical`) are merged.

    Returns
    -------
    tuple of LocalMinimum
    """
    arch = _check_arch(arch)
    starts = check_int("starts", starts, low=1)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    rng = as_generator(rng)
    fun = lambda th: population_loss_grad(arch, th, rule)  # noqa: E731
    found: list = []
    for theta0 in rng.normal(0.0, scale, size=(starts, arch.n_params)):
        res = optimize.minimize(fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 4000})
        if not np.all(np.isfinite(res.x)) or np.linalg.norm(res.x) > max_norm:
            continue
        theta = canonical(arch, _newton(arch, res.x, rule))
        loss, g = fun(theta)
        eig = np.linalg.eigvalsh(population_hessian(arch, theta, rule))
        if np.linalg.norm(theta) > max_norm or np.linalg.norm(g) > 1e-8 or eig[0] < eig_tol:
            continue
        for i, m in enumerate(found):
            if np.linalg.norm(m.theta - theta) <= 1e-6 * (1.0 + np.linalg.norm(theta)):
                found[i] = LocalMinimum(m.theta, m.loss, m.grad_norm, m.eigenvalues, m.count + 1)
                break
        else:
            found.append(LocalMinimum(_ro(theta), float(loss), float(np.linalg.norm(g)), _ro(eig), 1))
    return tuple(sorted(found, key=lambda m: m.loss))


@dataclass(frozen=True, eq=False)
class NewMinimumCertificate:
    r"""A certified new local minimum θ₀ of L_{ν_r} (claim C7), from population quantities.

    Attributes
    ----------
    arch : MLP
    process : dict
        The process's name and parameters (ω, s).
    r, keep, center, q : float, str, float, float
        ν_r = µ|A_r / r with A_r = {|x − c| ≤ q} (lowest) or {|x − c| ≥ q} (highest).
    theta0 : ndarray, shape (n_params,)
        θ₀, in the layout of :class:`theory_sim.models.mlp.MLP` (for h = 1: (w, b, a, c)).
    loss_nu, loss_mu : float
        L_{ν_r}(θ₀) and L(θ₀) (noise s²/2 included).
    grad_nu_norm, grad_mu_norm : float
        ‖∇L_{ν_r}(θ₀)‖₂ and ‖∇L(θ₀)‖₂.
    grad_mu : ndarray, shape (n_params,)
        ∇L(θ₀) itself (the direction in which L falls away from θ₀ is −∇L(θ₀)).
    hessian_nu_eigenvalues, hessian_mu_eigenvalues : ndarray, ascending
        Eigenvalues of the exact Hessians at θ₀.
    hessian_fd_error : float
        ‖exact − finite-difference Hessian of L_{ν_r}‖₂ (an independent check), plus the FD
        error estimate.
    quadrature_error : float
        max over (L_ν, L, both gradients) of the change when the nodes per panel are doubled.
    newton_radius : float
        ‖∇L_{ν_r}(θ₀)‖ / λ_min: first-order distance from θ₀ to the exact critical point.
    min_loss_mu, theta_mu : float, ndarray
        The lowest local minimum of L found by the same multi-start (not proven global).
    tolerances : dict
        grad_tol, eig_margin, away_tol.
    checks : dict of bool
        ``stationary_nu``, ``positive_definite_nu``, ``not_critical_mu``.
    certified : bool
        All three checks pass.
    method : str
    """

    arch: MLP
    process: dict
    r: float
    keep: str
    center: float
    q: float | None
    theta0: np.ndarray
    loss_nu: float
    loss_mu: float
    grad_nu_norm: float
    grad_mu_norm: float
    grad_mu: np.ndarray
    hessian_nu_eigenvalues: np.ndarray
    hessian_mu_eigenvalues: np.ndarray
    hessian_fd_error: float
    quadrature_error: float
    newton_radius: float
    min_loss_mu: float
    theta_mu: np.ndarray
    tolerances: dict
    checks: dict
    certified: bool
    method: str = field(default="")

    @property
    def validity_gap(self) -> float:
        """L(θ₀) − min L: what training on ν_r and landing at θ₀ costs on µ (min over the multi-start)."""
        return self.loss_mu - self.min_loss_mu

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "arch"}
        out["arch"] = {"d": self.arch.d, "hidden": list(self.arch.hidden), "activation": self.arch.activation,
                       "loss": self.arch.loss}
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


@one_blas_thread
def certify_new_minimum(theta0=None, *, process=None, r=0.3, keep: str = "lowest", center: float = 0.0,
                        hidden: int = 1, starts: int = 32, rng=0, polish: bool = True, grad_tol: float = GRAD_TOL,
                        eig_margin: float = EIG_MARGIN, away_tol: float = AWAY_TOL) -> NewMinimumCertificate:
    r"""Find and certify a local minimum of L_{ν_r} that L does not have.

    θ₀ is certified when, all from quadrature (no sample):

    .. math::

        ‖∇L_{ν_r}(θ_0)‖ ≤ \text{grad\_tol}, \qquad
        λ_{\min}(∇^2 L_{ν_r}(θ_0)) − ε_H ≥ \text{eig\_margin}, \qquad
        ‖∇L(θ_0)‖ − ε_Q ≥ \text{away\_tol},

    ε_H the disagreement of the exact Hessian with an independent finite-difference one (a
    bound on its error, by Weyl's inequality on the eigenvalues), ε_Q the quadrature error.
    The first two make θ₀ a strict local minimiser of L_{ν_r} (up to a displacement of
    ``newton_radius``); the third says L's gradient there is far from 0: θ₀ is not a critical
    point of L, and (to first order, with ∇²L near its value at θ₀) none lies within
    ‖∇L(θ₀)‖ / ‖∇²L(θ₀)‖ of θ₀.

    Parameters
    ----------
    theta0 : array_like, shape (3 h + 1,), optional
        The point to certify. Default: the lowest local minimiser of L_{ν_r} found by
        :func:`local_minima` from ``starts`` starts.
    process : SineRegression, optional
        Default ω = 5, s = 0.1.
    r : float in (0, 1]
        r = 1 gives ν = µ: nothing can be new (a negative control).
    keep : {'lowest', 'highest'}
    center : float
    hidden : int ≥ 1
        Width of the one-hidden-layer tanh network (h = 1: v = a tanh(w x + b) + c). With
        h ≥ 2 on the centre the minimisers of L_{ν_r} found are nearly flat (λ_min ≲ 1e-6: two
        units fit sin on a short interval in many ways) and fail the margin; h = 1 is the
        clean case.
    starts : int ≥ 1
    rng : Generator, SeedSequence, int or None
        Seeds the multi-starts (default 0, so the certificate is reproducible).
    polish : bool
        Run Newton's method on L_{ν_r} from ``theta0`` first (default). False certifies
        ``theta0`` exactly as given (then only its symmetry representative is taken).
    grad_tol, eig_margin, away_tol : float > 0

    Returns
    -------
    NewMinimumCertificate
    """
    process = make_process("sine-regression") if process is None else process
    hidden = check_int("hidden", hidden, low=1)
    grad_tol = check_real("grad_tol", grad_tol, low=0.0, low_open=True)
    eig_margin = check_real("eig_margin", eig_margin, low=0.0, low_open=True)
    away_tol = check_real("away_tol", away_tol, low=0.0, low_open=True)
    arch = MLP(1, (hidden,), "tanh", "mse")
    rule_nu = quadrature_rule(process, r, keep=keep, center=center)
    rule_mu = quadrature_rule(process, 1.0)
    rng = as_generator(rng)
    if theta0 is None:
        minima = local_minima(arch, rule_nu, starts=starts, rng=rng)
        if not minima:
            raise ValueError(f"no local minimum of L_nu found from {starts} starts; raise starts")
        theta = minima[0].theta
    else:
        theta = arch._theta(theta0, "theta0")
        theta = canonical(arch, _newton(arch, theta, rule_nu) if polish else theta)
    mu_minima = local_minima(arch, rule_mu, starts=starts, rng=rng)

    loss_nu, g_nu = population_loss_grad(arch, theta, rule_nu)
    loss_mu, g_mu = population_loss_grad(arch, theta, rule_mu)
    H_nu = population_hessian(arch, theta, rule_nu)
    H_mu = population_hessian(arch, theta, rule_mu)
    eig_nu, eig_mu = np.linalg.eigvalsh(H_nu), np.linalg.eigvalsh(H_mu)
    H_fd, fd_err = hessian_fd(lambda th: population_loss_grad(arch, th, rule_nu)[1], theta)
    eps_h = float(np.linalg.norm(H_nu - H_fd, 2)) + fd_err

    fine_nu = quadrature_rule(process, r, keep=keep, center=center, nodes=2 * NODES_PER_PANEL)
    fine_mu = quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)
    lf_nu, gf_nu = population_loss_grad(arch, theta, fine_nu)
    lf_mu, gf_mu = population_loss_grad(arch, theta, fine_mu)
    eps_q = float(max(abs(lf_nu - loss_nu), abs(lf_mu - loss_mu), np.abs(gf_nu - g_nu).max(),
                      np.abs(gf_mu - g_mu).max()))

    gn_nu, gn_mu = float(np.linalg.norm(g_nu)), float(np.linalg.norm(g_mu))
    checks = {
        "stationary_nu": gn_nu <= grad_tol,
        "positive_definite_nu": float(eig_nu[0]) - eps_h >= eig_margin,
        "not_critical_mu": gn_mu - eps_q >= away_tol,
    }
    best_mu = mu_minima[0] if mu_minima else None
    method = (f"composite Gauss-Legendre, {NODES_PER_PANEL} nodes per panel of width <= {PANEL_WIDTH} "
              f"(error: nodes doubled); exact gradient (back-propagation) and exact Hessian (closed form), "
              f"Hessian checked against Richardson central differences; theta0 by "
              f"{'multi-start BFGS + Newton' if theta0 is None else 'the given point'}"
              f"{' + Newton' if theta0 is not None and polish else ''}; min L over {starts} starts")
    return NewMinimumCertificate(
        arch=arch, process={"name": process.name, "omega": process.omega, "noise": process.noise},
        r=rule_nu.r, keep=keep, center=float(center), q=rule_nu.q, theta0=_ro(theta), loss_nu=float(loss_nu),
        loss_mu=float(loss_mu), grad_nu_norm=gn_nu, grad_mu_norm=gn_mu, grad_mu=_ro(g_mu),
        hessian_nu_eigenvalues=_ro(eig_nu), hessian_mu_eigenvalues=_ro(eig_mu), hessian_fd_error=eps_h,
        quadrature_error=eps_q,
        newton_radius=gn_nu / float(eig_nu[0]) if eig_nu[0] > 0 else math.inf,
        min_loss_mu=best_mu.loss if best_mu else math.nan,
        theta_mu=best_mu.theta if best_mu else _ro(np.full(arch.n_params, np.nan)),
        tolerances={"grad_tol": grad_tol, "eig_margin": eig_margin, "away_tol": away_tol},
        checks=checks, certified=all(checks.values()), method=method,
    )


def _ro(arr):
    arr = np.array(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr


# ---------------------------------------------------------------------------------------
# The experiment behind the figure: the certificate and a 2-D slice of both landscapes
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LandscapeSliceConfig(ExperimentConfig):
    """Certify a new minimum (h = 1) and evaluate L and L_{ν_r} on the (w, a) plane through θ₀.

    The plane is θ = (w, b₀, a, c₀) with (b₀, c₀) those of θ₀ (both 0 at the defaults, by the
    odd symmetry of sin: the plane b = c = 0 is invariant under L and L_ν).

    Attributes
    ----------
    r, keep, center : the SBPA limit ν_r (``distance`` score)
    omega, noise : the ``sine-regression`` process (ω, s)
    starts, seed : the multi-start of :func:`certify_new_minimum`
    w_range, a_range : (float, float)
        The slice's extent.
    grid : int ≥ 3
        Points per axis.
    """

    r: float = 0.3
    keep: str = "lowest"
    center: float = 0.0
    omega: float = 5.0
    noise: float = 0.1
    starts: int = 32
    seed: int = 0
    w_range: tuple = (-10.0, 10.0)
    a_range: tuple = (-2.5, 2.5)
    grid: int = 121

    def __post_init__(self):
        check_r(self.r)
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_real("center", self.center)
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("starts", self.starts, low=1)
        check_int("seed", self.seed, low=0)
        check_int("grid", self.grid, low=3)
        for name in ("w_range", "a_range"):
            lo, hi = (check_real(name, v) for v in getattr(self, name))
            if not lo < hi:
                raise ValueError(f"{name} must be an increasing pair (lo, hi), got {getattr(self, name)!r}")
            object.__setattr__(self, name, (lo, hi))

    KIND = "landscape-slice"


@dataclass(frozen=True, eq=False)
class LandscapeSliceResult:
    """Result of :func:`run_landscape_slice`.

    Attributes
    ----------
    config : LandscapeSliceConfig
    certificate : NewMinimumCertificate
    w, a : ndarray, shape (grid,)
        The slice's axes.
    loss_mu, loss_nu : ndarray, shape (grid, grid)
        L and L_{ν_r} at (w[j], b₀, a[i], c₀): rows follow a, columns follow w.
    seconds : float
    path : Path or None
    """

    config: LandscapeSliceConfig
    certificate: NewMinimumCertificate
    w: np.ndarray
    a: np.ndarray
    loss_mu: np.ndarray
    loss_nu: np.ndarray
    seconds: float
    path: object = None


@one_blas_thread
def run_landscape_slice(config: LandscapeSliceConfig, results_dir=None) -> LandscapeSliceResult:
    """Certificate plus the two landscapes on the slice; reuses ``results_dir/landscape-<hash>.json``."""
    import time
    from pathlib import Path

    from theory_sim.provenance import versions
    from theory_sim.store import atomic_write_json, read_json

    if not isinstance(config, LandscapeSliceConfig):
        raise TypeError(f"config must be a LandscapeSliceConfig, got {type(config).__name__}")
    path = None if results_dir is None else Path(results_dir) / f"landscape-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") == config.hash and stored.get("complete"):
        try:
            return _slice_from(config, stored, path)
        except (KeyError, TypeError, ValueError):  # a file from an older layout: recompute it
            pass
    start = time.perf_counter()
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    cert = certify_new_minimum(process=process, r=config.r, keep=config.keep, center=config.center,
                               starts=config.starts, rng=config.seed)
    arch = cert.arch
    rules = (quadrature_rule(process, 1.0), quadrature_rule(process, config.r, keep=config.keep, center=config.center))
    w = np.linspace(*config.w_range, config.grid)
    a = np.linspace(*config.a_range, config.grid)
    theta = np.array(cert.theta0, dtype=np.float64)
    out = [np.empty((config.grid, config.grid)) for _ in rules]
    for i, ai in enumerate(a):
        for j, wj in enumerate(w):
            theta[0], theta[2] = wj, ai
            for grid_out, rule in zip(out, rules):
                grid_out[i, j] = population_loss_grad(arch, theta, rule)[0]
    seconds = time.perf_counter() - start
    result = LandscapeSliceResult(config, cert, _ro(w), _ro(a), _ro(out[0]), _ro(out[1]), seconds, path)
    if path is not None:
        atomic_write_json(path, {"kind": "landscape-slice", "config": config.to_dict(), "config_hash": config.hash,
                                 "complete": True, "versions": versions(), "seconds": seconds,
                                 "certificate": cert.to_dict(), "w": w.tolist(), "a": a.tolist(),
                                 "loss_mu": out[0].tolist(), "loss_nu": out[1].tolist()})
    return result


def _slice_from(config, stored, path):
    c = dict(stored["certificate"])
    arch = MLP(**{**c.pop("arch"), "hidden": tuple(stored["certificate"]["arch"]["hidden"])})
    for key in ("theta0", "grad_mu", "hessian_nu_eigenvalues", "hessian_mu_eigenvalues", "theta_mu"):
        c[key] = _ro(c[key])
    cert = NewMinimumCertificate(arch=arch, **c)
    return LandscapeSliceResult(config, cert, _ro(stored["w"]), _ro(stored["a"]), _ro(stored["loss_mu"]),
                                _ro(stored["loss_nu"]), float(stored["seconds"]), path)


# ---------------------------------------------------------------------------------------
# Validity against width (claim C7a): train on a pruned sample, score on µ by quadrature
# ---------------------------------------------------------------------------------------
WIDTH_PROTOCOLS = ("random", "ec", "sbpa-centre", "sbpa-boundary")


@dataclass(frozen=True)
class WidthValidityConfig(ExperimentConfig):
    r"""Train one-hidden-layer tanh networks of growing width on pruned samples of sine-regression.

    For each restart j: a sample D_n ~ µ^n, pruned by each protocol (``sbpa-centre``: SBPA with
    the ``distance`` score keeping the lowest, A_r = [−r, r]; ``sbpa-boundary``: keeping the
    highest; ``random``; ``ec`` with signal fraction ``alpha`` on the centre score), then for each
    width h a network trained by full-batch Adam on the kept points with their weights, from the
    same initialisation for every protocol (paired). Measured: the population loss
    L(θ̂) = ½ E_µ(v − sin ωx)² + s²/2 by quadrature, and the final pruned training loss.

    Attributes
    ----------
    omega, noise : float
    n : int
        Sample size before pruning.
    r : float in (0, 1]
    alpha : float in [0, 1)
        EC's signal fraction.
    widths : tuple of int
    protocols : tuple of str, from ``WIDTH_PROTOCOLS``
    restarts : int ≥ 1
        Independent (sample, pruning, initialisation) triples per cell; the validity gap is
        estimated by the max over restarts (DESIGN §2.4).
    max_iter : int ≥ 1
        Adam steps.
    lr : float > 0
    seed : int ≥ 0
        Streams: sample j ← SeedSequence(seed, spawn_key=(0, j)); pruning ← (1, j, protocol
        index); initialisation ← (2, j, h).
    """

    omega: float = 5.0
    noise: float = 0.1
    n: int = 2000
    r: float = 0.3
    alpha: float = 0.5
    widths: tuple = (4, 16, 64, 256, 512)
    protocols: tuple = WIDTH_PROTOCOLS
    restarts: int = 3
    max_iter: int = 2000
    lr: float = 1e-2
    seed: int = 0

    def __post_init__(self):
        from theory_sim.validation import budget, check_alpha

        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("n", self.n, low=2)
        r = check_r(self.r)
        alpha = check_alpha(self.alpha, allow_one=False)
        if budget(alpha, budget(r, self.n)) >= budget(r, self.n) or budget(r, self.n) < 1:
            raise ValueError(f"n={self.n} is too small for r={r}, alpha={alpha}: EC needs floor(alpha floor(r n)) "
                             "< floor(r n)")
        widths = tuple(check_int("width", h, low=1) for h in self.widths)
        if not widths:
            raise ValueError("widths must list at least one width, got ()")
        object.__setattr__(self, "widths", widths)
        protocols = tuple(check_choice("protocol", p, WIDTH_PROTOCOLS) for p in self.protocols)
        if not protocols:
            raise ValueError("protocols must list at least one protocol, got ()")
        object.__setattr__(self, "protocols", protocols)
        check_int("restarts", self.restarts, low=1)
        check_int("max_iter", self.max_iter, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)

    KIND = "width-validity"


@dataclass(frozen=True, eq=False)
class WidthValidityResult:
    """Result of :func:`run_width_validity`; arrays have shape (protocols, widths, restarts).

    Attributes
    ----------
    config : WidthValidityConfig
    population_loss : ndarray
        L(θ̂) (noise floor s²/2 included) by quadrature.
    train_loss : ndarray
        The pruned training loss Σ p_i f(z_i; θ̂) at the end of training.
    converged : ndarray of bool
        Adam reached ‖∇L^p‖ ≤ 1e-6 (rare in ``max_iter`` steps; the losses are reported anyway).
    bayes_loss : float
        s²/2, the infimum of L over all functions (and the limit of min L as the width grows).
    quadrature_error : float
        Largest change of L(θ̂) over all runs when the quadrature nodes are doubled.
    seconds : float
    path : Path or None
    """

    config: WidthValidityConfig
    population_loss: np.ndarray
    train_loss: np.ndarray
    converged: np.ndarray
    bayes_loss: float
    quadrature_error: float
    seconds: float
    path: object = None

    def excess(self) -> np.ndarray:
        """L(θ̂) − s²/2 ≥ the validity gap L(θ̂) − min L of the width's model class."""
        return self.population_loss - self.bayes_loss


def _prune_for(protocol, g, r, alpha, rng):
    from theory_sim.core.pruning import prune

    if protocol == "sbpa-centre":
        return prune(g, r, "sbpa", keep="lowest", rng=rng)
    if protocol == "sbpa-boundary":
        return prune(g, r, "sbpa", keep="highest", rng=rng)
    if protocol == "ec":
        return prune(g, r, "ec", alpha=alpha, keep="lowest", rng=rng)
    return prune(g, r, "random", rng=rng)


@one_blas_thread
def run_width_validity(config: WidthValidityConfig, results_dir=None) -> WidthValidityResult:
    """Run (or reuse ``results_dir/width-validity-<hash>.json``) the experiment of the config."""
    import time
    from pathlib import Path

    from theory_sim.provenance import versions
    from theory_sim.store import atomic_write_json, read_json
    from theory_sim.models.mlp import train

    if not isinstance(config, WidthValidityConfig):
        raise TypeError(f"config must be a WidthValidityConfig, got {type(config).__name__}")
    path = None if results_dir is None else Path(results_dir) / f"width-validity-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") == config.hash and stored.get("complete"):
        try:
            return WidthValidityResult(config, _ro(stored["population_loss"]), _ro(stored["train_loss"]),
                                       np.array(stored["converged"], dtype=bool), float(stored["bayes_loss"]),
                                       float(stored["quadrature_error"]), float(stored["seconds"]), path)
        except (KeyError, TypeError, ValueError):
            pass
    start = time.perf_counter()
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    score = make_score("distance", process)
    rule, fine = quadrature_rule(process, 1.0), quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)
    shape = (len(config.protocols), len(config.widths), config.restarts)
    pop, trn, conv = np.empty(shape), np.empty(shape), np.zeros(shape, dtype=bool)
    quad_err = 0.0
    for j in range(config.restarts):
        data = process.sample(config.n, rng=np.random.SeedSequence(config.seed, spawn_key=(0, j)))
        g = score(data.x)
        for p, protocol in enumerate(config.protocols):
            sel = _prune_for(protocol, g, config.r, config.alpha,
                             np.random.SeedSequence(config.seed, spawn_key=(1, j, WIDTH_PROTOCOLS.index(protocol))))
            x, y = data.x[sel.indices], data.y[sel.indices]
            for w, h in enumerate(config.widths):
                arch = MLP(1, (h,), "tanh", "mse")
                theta0 = arch.init(np.random.SeedSequence(config.seed, spawn_key=(2, j, h)))
                fit = train(arch, x, y, sel.weights, optimizer="adam", lr=config.lr, max_iter=config.max_iter,
                            theta0=theta0)
                pop[p, w, j] = population_loss_grad(arch, fit.params, rule)[0]
                quad_err = max(quad_err, abs(population_loss_grad(arch, fit.params, fine)[0] - pop[p, w, j]))
                trn[p, w, j], conv[p, w, j] = fit.loss, fit.converged
    seconds = time.perf_counter() - start
    bayes = 0.5 * config.noise**2
    result = WidthValidityResult(config, _ro(pop), _ro(trn), conv, bayes, float(quad_err), seconds, path)
    if path is not None:
        atomic_write_json(path, {"kind": "width-validity", "config": config.to_dict(), "config_hash": config.hash,
                                 "complete": True, "versions": versions(), "seconds": seconds,
                                 "population_loss": pop.tolist(), "train_loss": trn.tolist(),
                                 "converged": conv.tolist(), "bayes_loss": bayes, "quadrature_error": quad_err})
    return result


# ---------------------------------------------------------------------------------------
# Loss landscape around a pruned minimiser (claim C7, item 3a): 1-D interpolation and a
# filter-normalised 2-D slice, population losses by quadrature
# ---------------------------------------------------------------------------------------
BIAS_MODES = ("filter", "zero")


def filter_normalized_direction(arch: MLP, theta, rng=None, *, bias: str = "filter") -> np.ndarray:
    r"""A random direction δ rescaled filter by filter to the norms of θ (Li et al. 2018).

    Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of neural nets"
    (NeurIPS 2018), Section 4: draw δ ~ N(0, I), then rescale each *filter* of δ to the norm
    of the same filter of θ. For a dense layer the analogue of a filter is one neuron's
    vector of incoming weights; so for every neuron j of every layer l (the hidden units and
    the output unit):

    .. math::

        δ_{l,j} ← \frac{δ_{l,j}}{‖δ_{l,j}‖}\, ‖θ_{l,j}‖, \qquad
        θ_{l,j} = (W_l[:, j],\ b_l[j]) \ (\text{bias="filter"}) \text{ or } W_l[:, j] \ (\text{bias="zero"}).

    Parameters
    ----------
    arch : MLP
    theta : array_like, shape (n_params,)
        The centre of the slice (θ_pruned).
    rng : Generator, SeedSequence, int or None
    bias : {'filter', 'zero'}
        ``'filter'`` (default): a bias is the weight of a constant input 1, so it belongs to its
        neuron's filter (W_l[:, j], b_l[j]) and is rescaled with it. ``'zero'``: Li et al.'s
        choice for biases — the bias components of δ are set to 0 and the filter is W_l[:, j]
        alone. The output layer is treated like any layer: its single neuron's filter is
        (w_out, c) (or w_out with ``'zero'``).

    Returns
    -------
    delta : ndarray, shape (n_params,)

    Notes
    -----
    With d = 1 and ``bias='zero'`` each hidden filter is one number, so δ_j = ±|w_j|: the
    default ``'filter'`` keeps a random direction inside each (w_j, b_j) plane. A neuron with
    θ_{l,j} = 0 gets δ_{l,j} = 0.
    """
    if not isinstance(arch, MLP):
        raise TypeError(f"arch must be an MLP, got {type(arch).__name__}")
    theta = arch._theta(theta)
    bias = check_choice("bias", bias, BIAS_MODES)
    rng = as_generator(rng)
    delta = rng.standard_normal(arch.n_params)
    for start_w, stop_w, start_b, fan_in, fan_out in _filters(arch):
        wt = theta[start_w:stop_w].reshape(fan_in, fan_out)
        wd = delta[start_w:stop_w].reshape(fan_in, fan_out)  # a view: edits land in delta
        bt, bd = theta[start_b : start_b + fan_out], delta[start_b : start_b + fan_out]
        if bias == "zero":
            bd[:] = 0.0
            t_norm = np.sqrt((wt * wt).sum(axis=0))
            d_norm = np.sqrt((wd * wd).sum(axis=0))
        else:
            t_norm = np.sqrt((wt * wt).sum(axis=0) + bt * bt)
            d_norm = np.sqrt((wd * wd).sum(axis=0) + bd * bd)
        scale = np.divide(t_norm, d_norm, out=np.zeros(fan_out), where=d_norm > 0.0)
        wd *= scale
        bd *= scale
    return delta


def _filters(arch):
    """(start of W, stop of W, start of b, fan_in, fan_out) per layer, in θ's layout."""
    blocks = arch.layout()
    out = []
    for wb, bb in zip(blocks[0::2], blocks[1::2]):
        fan_in = wb.shape[0]
        fan_out = 1 if len(wb.shape) == 1 else wb.shape[1]
        out.append((wb.start, wb.stop, bb.start, fan_in, fan_out))
    return out


def filter_norms(arch: MLP, theta, *, bias: str = "filter") -> np.ndarray:
    """‖θ_{l,j}‖ for every neuron j of every layer l, in layout order (the norms that
    :func:`filter_normalized_direction` copies)."""
    theta = arch._theta(theta)
    bias = check_choice("bias", bias, BIAS_MODES)
    norms = []
    for start_w, stop_w, start_b, fan_in, fan_out in _filters(arch):
        sq = (theta[start_w:stop_w].reshape(fan_in, fan_out) ** 2).sum(axis=0)
        if bias == "filter":
            sq = sq + theta[start_b : start_b + fan_out] ** 2
        norms.append(np.sqrt(sq))
    return np.concatenate(norms)


@dataclass(frozen=True)
class PrunedLandscapeConfig(ExperimentConfig):
    r"""The landscape around a network trained on an SBPA-pruned sample of sine-regression.

    A sample D_n ~ µ^n (``sine-regression``, ω, s) is pruned by SBPA with the label-free
    ``distance`` score to 0 (``keep='lowest'``: the centre |x| ≤ q_r = r; ``'highest'``: the
    boundary). A one-hidden-layer tanh network of width ``width`` is trained by full-batch
    Adam from one initialisation θ_init, once on the kept points (θ_pruned) and once on all n
    points (θ_full). On the line θ(t) = (1 − t) θ_pruned + t θ_full and on the plane
    θ_pruned + u δ₁ + v δ₂ (δ₁, δ₂ from :func:`filter_normalized_direction`) are evaluated:
    L and L_{ν_r} by quadrature, and the pruned and full training losses.

    Attributes
    ----------
    omega, noise : float
        ω > 0, s ≥ 0.
    n : int
        Sample size before pruning.
    r : float in (0, 1)
        Fraction kept.
    keep : {'lowest', 'highest'}
    width : int ≥ 1
    max_iter : int ≥ 1
        Adam steps for each of the two trainings.
    lr : float > 0
    bias : {'filter', 'zero'}
        How the directions treat biases (:func:`filter_normalized_direction`).
    t_range : (float, float), t_points : int ≥ 3
        The 1-D interpolation's grid (must contain [0, 1]; t = 0 and t = 1 are always grid points).
    uv_extent : float > 0, grid : int ≥ 3 (odd, so that (0, 0) is a grid point)
        The 2-D slice's grid: ``grid`` points on [−uv_extent, uv_extent], the same on both axes.
    seed : int ≥ 0
        Streams: sample ← SeedSequence(seed, spawn_key=(0,)); pruning ← (1,); θ_init ← (2,);
        δ₁, δ₂ ← (3,), (4,).
    """

    omega: float = 5.0
    noise: float = 0.1
    n: int = 2000
    r: float = 0.3
    keep: str = "lowest"
    width: int = 32
    max_iter: int = 4000
    lr: float = 1e-2
    bias: str = "filter"
    t_range: tuple = (-0.25, 1.25)
    t_points: int = 61
    uv_extent: float = 1.0
    grid: int = 41
    seed: int = 0

    def __post_init__(self):
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("n", self.n, low=2)
        r = check_real("r", self.r, low=0.0, high=1.0, low_open=True, high_open=True)
        from theory_sim.validation import budget

        if budget(r, self.n) < 1:
            raise ValueError(f"n={self.n} is too small for r={r}: the budget floor(r n) must be at least 1")
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_int("width", self.width, low=1)
        check_int("max_iter", self.max_iter, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_choice("bias", self.bias, BIAS_MODES)
        check_int("t_points", self.t_points, low=3)
        grid = check_int("grid", self.grid, low=3)
        if grid % 2 == 0:
            raise ValueError(f"grid must be odd so that (u, v) = (0, 0) is a grid point, got {grid}")
        check_int("seed", self.seed, low=0)
        check_real("uv_extent", self.uv_extent, low=0.0, low_open=True)
        for name in ("t_range",):
            pair = tuple(getattr(self, name))
            if len(pair) != 2:
                raise ValueError(f"{name} must be a pair (lo, hi), got {getattr(self, name)!r}")
            lo, hi = (check_real(name, v) for v in pair)
            if not lo < hi:
                raise ValueError(f"{name} must be an increasing pair (lo, hi), got {getattr(self, name)!r}")
            object.__setattr__(self, name, (lo, hi))
        if not (self.t_range[0] <= 0.0 and self.t_range[1] >= 1.0):
            raise ValueError(f"t_range must contain [0, 1] (θ_pruned at t = 0, θ_full at t = 1), "
                             f"got {self.t_range!r}")

    KIND = "pruned-landscape"

    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """(t, uv): the 1-D grid (with 0 and 1 inserted exactly) and the 2-D axis (0 exact)."""
        t = np.union1d(np.linspace(*self.t_range, self.t_points), [0.0, 1.0])
        uv = np.linspace(-self.uv_extent, self.uv_extent, self.grid)
        uv[self.grid // 2] = 0.0  # the midpoint of a symmetric odd grid (linspace may leave ~1e-17)
        return t, uv


@dataclass(frozen=True, eq=False)
class PrunedLandscapeResult:
    r"""Result of :func:`run_pruned_landscape`.

    Attributes
    ----------
    config : PrunedLandscapeConfig
    arch : MLP
    theta_pruned, theta_full, delta1, delta2 : ndarray, shape (n_params,)
    t : ndarray, shape (T,)
        1-D grid; θ(t) = (1 − t) θ_pruned + t θ_full.
    line : dict of ndarray, shape (T,)
        ``'mu'`` L, ``'nu'`` L_{ν_r} (quadrature, noise s²/2 included), ``'train_pruned'``
        Σ p_i f(z_i) on the kept points, ``'train_full'`` the full empirical loss.
    uv : ndarray, shape (G,)
        Axis of the slice (u and v alike).
    plane : dict of ndarray, shape (G, G)
        The same four losses at θ_pruned + uv[j] δ₁ + uv[i] δ₂: rows follow v, columns u.
    grad_mu, grad_nu : ndarray, shape (n_params,)
        ∇L(θ_pruned), ∇L_{ν_r}(θ_pruned) (exact, by quadrature).
    grad_mu_full, grad_nu_full : ndarray
        The same at θ_full.
    train_grad_norm : (float, float)
        ‖∇ training loss‖ at the end of each training (pruned, full).
    q : float
        q_r of the ``distance`` score.
    seconds : float
    path : Path or None
    """

    config: PrunedLandscapeConfig
    arch: MLP
    theta_pruned: np.ndarray
    theta_full: np.ndarray
    delta1: np.ndarray
    delta2: np.ndarray
    t: np.ndarray
    line: dict
    uv: np.ndarray
    plane: dict
    grad_mu: np.ndarray
    grad_nu: np.ndarray
    grad_mu_full: np.ndarray
    grad_nu_full: np.ndarray
    train_grad_norm: tuple
    q: float
    seconds: float
    path: object = None

    def at(self, name: str, which: str = "pruned") -> float:
        """A loss (``'mu'``, ``'nu'``, ``'train_pruned'``, ``'train_full'``) at θ_pruned (t = 0) or θ_full (t = 1)."""
        t0 = {"pruned": 0.0, "full": 1.0}[check_choice("which", which, ("pruned", "full"))]
        return float(self.line[check_choice("name", name, LANDSCAPE_LOSSES)][np.flatnonzero(self.t == t0)[0]])


LANDSCAPE_LOSSES = ("mu", "nu", "train_pruned", "train_full")
_LANDSCAPE_ARRAYS = ("theta_pruned", "theta_full", "delta1", "delta2", "t", "uv", "grad_mu", "grad_nu",
                     "grad_mu_full", "grad_nu_full")


def _landscape_losses(arch, theta, rules, data, sel):
    """The four losses at θ: L, L_ν (quadrature) and the pruned and full training losses."""
    rule_mu, rule_nu = rules
    return (population_loss_grad(arch, theta, rule_mu)[0], population_loss_grad(arch, theta, rule_nu)[0],
            float(sel.weights @ arch.losses(theta, data.x[sel.indices], data.y[sel.indices])),
            float(arch.losses(theta, data.x, data.y).mean()))


@one_blas_thread
def run_pruned_landscape(config: PrunedLandscapeConfig, results_dir=None) -> PrunedLandscapeResult:
    """Train θ_pruned and θ_full, then evaluate the losses on the line and the plane.

    Reuses ``results_dir/pruned-landscape-<hash>.json`` when it is complete; writes it
    atomically otherwise.
    """
    import time
    from pathlib import Path

    from theory_sim.provenance import versions
    from theory_sim.store import atomic_write_json, read_json
    from theory_sim.models.mlp import train
    from theory_sim.core.pruning import prune

    if not isinstance(config, PrunedLandscapeConfig):
        raise TypeError(f"config must be a PrunedLandscapeConfig, got {type(config).__name__}")
    arch = MLP(1, (config.width,), "tanh", "mse")
    path = None if results_dir is None else Path(results_dir) / f"pruned-landscape-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") == config.hash and stored.get("complete"):
        try:
            return PrunedLandscapeResult(
                config, arch, **{k: _ro(stored[k]) for k in _LANDSCAPE_ARRAYS},
                line={k: _ro(stored["line"][k]) for k in LANDSCAPE_LOSSES},
                plane={k: _ro(stored["plane"][k]) for k in LANDSCAPE_LOSSES},
                train_grad_norm=tuple(float(v) for v in stored["train_grad_norm"]), q=float(stored["q"]),
                seconds=float(stored["seconds"]), path=path)
        except (KeyError, TypeError, ValueError):  # an older layout: recompute
            pass
    start = time.perf_counter()
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    rules = (quadrature_rule(process, 1.0), quadrature_rule(process, config.r, keep=config.keep))
    data = process.sample(config.n, rng=np.random.SeedSequence(config.seed, spawn_key=(0,)))
    g = make_score("distance", process)(data.x)
    sel = prune(g, config.r, "sbpa", keep=config.keep, rng=np.random.SeedSequence(config.seed, spawn_key=(1,)))
    full = _FullSelection(config.n)
    theta_init = arch.init(np.random.SeedSequence(config.seed, spawn_key=(2,)))
    fits = [train(arch, data.x[s.indices], data.y[s.indices], s.weights, optimizer="adam", lr=config.lr,
                  max_iter=config.max_iter, theta0=theta_init) for s in (sel, full)]
    theta_p, theta_f = (np.array(f.params) for f in fits)
    d1, d2 = (filter_normalized_direction(arch, theta_p, np.random.SeedSequence(config.seed, spawn_key=(k,)),
                                          bias=config.bias) for k in (3, 4))
    t, uv = config.grids()
    line = np.array([_landscape_losses(arch, (1.0 - ti) * theta_p + ti * theta_f, rules, data, sel) for ti in t])
    plane = np.empty((4, uv.size, uv.size))
    for i, vi in enumerate(uv):
        for j, uj in enumerate(uv):
            plane[:, i, j] = _landscape_losses(arch, theta_p + uj * d1 + vi * d2, rules, data, sel)
    grads = [population_loss_grad(arch, th, rule)[1] for th in (theta_p, theta_f) for rule in rules]
    seconds = time.perf_counter() - start
    line_d = {k: _ro(line[:, i]) for i, k in enumerate(LANDSCAPE_LOSSES)}
    plane_d = {k: _ro(plane[i]) for i, k in enumerate(LANDSCAPE_LOSSES)}
    arrays = dict(theta_pruned=theta_p, theta_full=theta_f, delta1=d1, delta2=d2, t=t, uv=uv, grad_mu=grads[0],
                  grad_nu=grads[1], grad_mu_full=grads[2], grad_nu_full=grads[3])
    tgn = (fits[0].grad_norm, fits[1].grad_norm)
    q = float(rules[1].q)
    result = PrunedLandscapeResult(config, arch, **{k: _ro(v) for k, v in arrays.items()}, line=line_d,
                                   plane=plane_d, train_grad_norm=tgn, q=q, seconds=seconds, path=path)
    if path is not None:
        atomic_write_json(path, {"kind": "pruned-landscape", "config": config.to_dict(), "config_hash": config.hash,
                                 "complete": True, "versions": versions(), "seconds": seconds, "q": q,
                                 "train_grad_norm": list(tgn), **{k: v.tolist() for k, v in arrays.items()},
                                 "line": {k: v.tolist() for k, v in line_d.items()},
                                 "plane": {k: v.tolist() for k, v in plane_d.items()}})
    return result


@dataclass(frozen=True)
class _FullSelection:
    """All n points with weights 1/n (the unpruned training set), shaped like a Selection."""

    n: int

    @property
    def indices(self):
        return np.arange(self.n)

    @property
    def weights(self):
        return np.full(self.n, 1.0 / self.n)


# ---------------------------------------------------------------------------------------
# Validity against width on a 2-D classification process (claim C7a, second process)
# ---------------------------------------------------------------------------------------
CLASSIFICATION_PROCESSES = ("gaussian-logistic", "gaussian-mixture")
CLASSIFICATION_PROTOCOLS = ("random", "ec", "sbpa-centre", "sbpa-margin", "sbpa-boundary")
GAUSS_RADIUS = 6.5  # box [−R, R]² with R = 6.5 σ (+ |m|): the mass outside is ≤ 4 Φ(−6.5) ≈ 2e-10
GAUSS_PANEL = 0.5  # panel width: tanh(w·x + b) with |w_i| ≤ 10 has poles ≥ π/20 ≈ 0.16 off the real axis
GAUSS_NODES = 8  # Gauss–Legendre nodes per panel and axis (doubled to check; measured change ≲ 1e-8)


@dataclass(frozen=True, eq=False)
class GaussianRule2D:
    r"""A tensor Gauss–Legendre rule Σ_j p_j δ_{x_j} for the law of x of a 2-D classification process.

    Attributes
    ----------
    x : ndarray, shape (m, 2)
        Nodes: composite Gauss–Legendre on panels of the box [−R, R]², nodes of weight below
        ``drop`` (1e-18) dropped.
    prob : ndarray, shape (m,)
        P(y = 1 | x_j) (the process's Bayes label probability).
    weights : ndarray, shape (m,)
        p_j = (GL weights) × (density of x at x_j); Σ p_j = 1 − ``tail_mass`` up to the rule's error.
    tail_mass : float
        µ_x(outside the box) (closed form) + Σ of the dropped nodes' weights: the mass the rule
        leaves out. For an integrand with |f| ≤ F the truncation error is ≤ F · tail_mass.
    radius, panel : float
    nodes : int
    """

    x: np.ndarray
    prob: np.ndarray
    weights: np.ndarray
    tail_mass: float
    radius: float
    panel: float
    nodes: int


def _x_density_2d(process, x):
    """Density of x and µ_x(outside [−R, R]²) for the two Gaussian processes."""
    from scipy.stats import norm

    if process.name == "gaussian-logistic":
        comps = [(1.0, np.zeros(2), 1.0)]
    else:
        comps = [(process.pi, process.m, process.sigma), (1.0 - process.pi, -process.m, process.sigma)]
    dens = np.zeros(x.shape[0])
    for weight, mean, sd in comps:
        z = (x - mean) / sd
        dens += weight * np.exp(-0.5 * (z * z).sum(axis=1)) / (2.0 * np.pi * sd * sd)

    def outside(radius):
        inside = [w * np.prod(norm.cdf((radius - mean) / sd) - norm.cdf((-radius - mean) / sd))
                  for w, mean, sd in comps]
        return float(max(0.0, 1.0 - sum(inside)))

    return dens, outside


def gaussian_rule_2d(process=None, *, radius: float | None = None, panel: float = GAUSS_PANEL,
                     nodes: int = GAUSS_NODES, drop: float = 1e-18) -> GaussianRule2D:
    r"""Quadrature of x ~ µ_x for ``gaussian-logistic`` or ``gaussian-mixture`` with d = 2.

    .. math::

        E_µ[h(x)] ≈ \sum_j p_j h(x_j), \qquad p_j = ω_j\, ρ(x_j),

    (x_j, ω_j) the tensor product of composite Gauss–Legendre rules (``nodes`` per panel of
    width ≤ ``panel``) on [−R, R] per axis, ρ the density of x. Nodes with p_j < ``drop`` are
    dropped and their weights added to ``tail_mass`` with µ_x(outside the box).

    Parameters
    ----------
    process : GaussianLogistic or GaussianMixture with d = 2, optional
        Default ``make_process('gaussian-logistic', d=2)`` (w* = (2, 1), b* = 0.5).
    radius : float > 0, optional
        R. Default ``GAUSS_RADIUS`` σ + max_i |m_i| (σ = 1, m = 0 for ``gaussian-logistic``), so
        that every Gaussian component has ≥ 6.5 standard deviations of box on each side.
    panel : float > 0
    nodes : int ≥ 2
    drop : float ≥ 0

    Returns
    -------
    GaussianRule2D
    """
    process = make_process("gaussian-logistic", d=2) if process is None else process
    if getattr(process, "name", None) not in CLASSIFICATION_PROCESSES or process.d != 2:
        raise ValueError(f"process must be one of {CLASSIFICATION_PROCESSES} with d = 2, got {process!r}")
    if radius is None:
        radius = GAUSS_RADIUS if process.name == "gaussian-logistic" else (
            GAUSS_RADIUS * process.sigma + float(np.abs(process.m).max()))
    radius = check_real("radius", radius, low=0.0, low_open=True)
    panel = check_real("panel", panel, low=0.0, low_open=True)
    nodes = check_int("nodes", nodes, low=2)
    drop = check_real("drop", drop, low=0.0)
    t, w = np.polynomial.legendre.leggauss(nodes)
    panels = max(1, math.ceil(2.0 * radius / panel - 1e-12))
    edges = np.linspace(-radius, radius, panels + 1)
    half, mid = 0.5 * np.diff(edges), 0.5 * (edges[:-1] + edges[1:])
    x1 = (mid[:, None] + half[:, None] * t[None, :]).ravel()
    w1 = (half[:, None] * w[None, :]).ravel()
    X = np.stack(np.meshgrid(x1, x1, indexing="ij"), axis=-1).reshape(-1, 2)
    dens, outside = _x_density_2d(process, X)
    p = np.outer(w1, w1).ravel() * dens
    kept = p >= drop
    X, p = np.ascontiguousarray(X[kept]), p[kept]
    prob = process.label_prob(X)
    tail = outside(radius) + float(np.outer(w1, w1).ravel()[~kept] @ dens[~kept])
    for arr in (X, p, prob):
        arr.setflags(write=False)
    return GaussianRule2D(X, prob, p, tail, radius, panel, nodes)


def _binary_entropy(p):
    from scipy.special import entr

    return entr(p) + entr(1.0 - p)


def bayes_risk_2d(rule: GaussianRule2D) -> float:
    r"""min L = E_µ[H(P(y = 1 | x))], H the binary entropy (nats), by the rule.

    For a well-specified process (the Bayes logit is in the model class, or is approximated by
    it arbitrarily well), the cross-entropy population loss L(θ) = E[H(p)] + E[KL(p ‖ σ(v))]
    is minimised where σ(v) = p, so min L is this number.
    """
    return float(rule.weights @ _binary_entropy(rule.prob))


def population_ce_loss(arch: MLP, theta, rule: GaussianRule2D) -> float:
    r"""L(θ) = E_x[softplus(v(x; θ)) − P(y = 1 | x) v(x; θ)] by the rule (the label integrates out:
    the loss is linear in y)."""
    if not isinstance(arch, MLP) or arch.loss != "cross-entropy" or arch.d != 2:
        raise ValueError(f"arch must be an MLP with d = 2 and loss 'cross-entropy', got {arch!r}")
    return float(rule.weights @ arch.losses(theta, rule.x, rule.prob))


def ce_loss_bound(arch: MLP, theta) -> float:
    r"""sup_x |softplus(v) − p v| ≤ V + log 2 with V = Σ_k |a_k| + |c| ≥ sup |v| (one hidden tanh layer;
    for deeper nets the last hidden layer is also bounded by 1 in absolute value)."""
    blocks = arch.unpack(theta)
    return float(np.abs(blocks["w_out"]).sum() + abs(blocks["b_out"][0]) + math.log(2.0))


@dataclass(frozen=True)
class ClassificationWidthConfig(ExperimentConfig):
    r"""Width validity (C7a) on a 2-D classification process, binary cross-entropy on the logit.

    For each restart j: D_n ~ µ^n, pruned by each protocol, then for each width h a
    one-hidden-layer tanh network trained by full-batch Adam on the kept points with their
    weights, from the same initialisation for every protocol (paired). Protocols (all scores
    label-free):

    - ``sbpa-centre``: ``distance`` to 0, keep the lowest (a disc around the mean of x);
    - ``sbpa-margin``: ``margin`` |w*·x + b*| w.r.t. the true model, keep the lowest — the
      points nearest the Bayes decision boundary (the "hardest" end of this score);
    - ``sbpa-boundary``: ``distance``, keep the highest (the outside of a disc);
    - ``random``; ``ec`` with signal fraction ``alpha`` on the centre score.

    Measured: L(θ̂) = E_x[softplus(v) − P(y=1|x) v] by :func:`gaussian_rule_2d`, its excess over
    the Bayes risk (:func:`bayes_risk_2d`), and the pruned training loss.

    Attributes
    ----------
    process : {'gaussian-logistic', 'gaussian-mixture'}
        With d = 2 and the process's default parameters.
    n, r, alpha, widths, protocols, restarts, max_iter, lr, seed
        As in :class:`WidthValidityConfig` (streams: sample j ← (0, j); pruning ← (1, j,
        protocol index in ``CLASSIFICATION_PROTOCOLS``); initialisation ← (2, j, h)).
    check_restarts : int ≥ 0
        The rule's error is measured (nodes per panel doubled) on every network of the first
        ``check_restarts`` restarts (the doubled rule costs 4× the base one).

    Notes
    -----
    500 Adam steps (not the 2000 of :class:`WidthValidityConfig`): with cross-entropy on noisy
    labels, 2000 steps let every protocol overfit its 600 points (measured, one restart: random
    pruning's excess ≈ 0.2 at widths 64–512) and grow first-layer weights to |w| ≈ 25, whose
    sharper tanh units need a finer rule (doubling the nodes moved L by up to 3e-4, against
    ≲ 1e-7 after 500 steps). No early stopping on a test set (a pitfall of DESIGN §1): the step
    count is fixed in advance.
    """

    process: str = "gaussian-logistic"
    n: int = 2000
    r: float = 0.3
    alpha: float = 0.5
    widths: tuple = (4, 16, 64, 256, 512)
    protocols: tuple = ("random", "ec", "sbpa-centre", "sbpa-margin")
    restarts: int = 3
    max_iter: int = 500
    lr: float = 1e-2
    seed: int = 0
    check_restarts: int = 1

    def __post_init__(self):
        from theory_sim.validation import budget, check_alpha

        check_choice("process", self.process, CLASSIFICATION_PROCESSES)
        check_int("n", self.n, low=2)
        r = check_r(self.r)
        alpha = check_alpha(self.alpha, allow_one=False)
        if budget(r, self.n) < 1 or budget(alpha, budget(r, self.n)) >= budget(r, self.n):
            raise ValueError(f"n={self.n} is too small for r={r}, alpha={alpha}: EC needs 1 <= floor(alpha floor(r n)) "
                             "< floor(r n)" if budget(r, self.n) >= 1 else
                             f"n={self.n} is too small for r={r}: the budget floor(r n) must be at least 1")
        widths = tuple(check_int("width", h, low=1) for h in self.widths)
        if not widths:
            raise ValueError("widths must list at least one width, got ()")
        object.__setattr__(self, "widths", widths)
        protocols = tuple(check_choice("protocol", p, CLASSIFICATION_PROTOCOLS) for p in self.protocols)
        if not protocols:
            raise ValueError("protocols must list at least one protocol, got ()")
        object.__setattr__(self, "protocols", protocols)
        check_int("restarts", self.restarts, low=1)
        check_int("max_iter", self.max_iter, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)
        check_int("check_restarts", self.check_restarts, low=0)

    KIND = "width-validity-2d"


@dataclass(frozen=True, eq=False)
class ClassificationWidthResult:
    """Result of :func:`run_width_validity_2d`; arrays have shape (protocols, widths, restarts).

    Attributes
    ----------
    config : ClassificationWidthConfig
    population_loss : ndarray
        L(θ̂) by :func:`gaussian_rule_2d`.
    train_loss : ndarray
        The pruned training loss at the end of training.
    converged : ndarray of bool
    bayes_loss : float
        min L = E[H(P(y = 1 | x))] by the same rule.
    quadrature_error : float
        Largest change of L(θ̂) (and of the Bayes risk) when the nodes per panel are doubled,
        over the checked networks (``check_restarts``).
    tail_bound : float
        max over all networks of sup|f| × ``tail_mass``: bounds the truncation error.
    seconds : float
    path : Path or None
    """

    config: ClassificationWidthConfig
    population_loss: np.ndarray
    train_loss: np.ndarray
    converged: np.ndarray
    bayes_loss: float
    quadrature_error: float
    tail_bound: float
    seconds: float
    path: object = None

    def excess(self) -> np.ndarray:
        """L(θ̂) − min L, the validity gap of each run (min L the Bayes risk)."""
        return self.population_loss - self.bayes_loss


def _prune_2d(protocol, g_dist, g_margin, r, alpha, rng):
    from theory_sim.core.pruning import prune

    if protocol == "sbpa-margin":
        return prune(g_margin, r, "sbpa", keep="lowest", rng=rng)
    return _prune_for(protocol, g_dist, r, alpha, rng)


@one_blas_thread
def run_width_validity_2d(config: ClassificationWidthConfig, results_dir=None) -> ClassificationWidthResult:
    """Run (or reuse ``results_dir/width-validity-2d-<hash>.json``) the experiment of the config."""
    import time
    from pathlib import Path

    from theory_sim.provenance import versions
    from theory_sim.store import atomic_write_json, read_json
    from theory_sim.models.mlp import train

    if not isinstance(config, ClassificationWidthConfig):
        raise TypeError(f"config must be a ClassificationWidthConfig, got {type(config).__name__}")
    path = None if results_dir is None else Path(results_dir) / f"width-validity-2d-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") == config.hash and stored.get("complete"):
        try:
            return ClassificationWidthResult(
                config, _ro(stored["population_loss"]), _ro(stored["train_loss"]),
                np.array(stored["converged"], dtype=bool), float(stored["bayes_loss"]),
                float(stored["quadrature_error"]), float(stored["tail_bound"]), float(stored["seconds"]), path)
        except (KeyError, TypeError, ValueError):
            pass
    start = time.perf_counter()
    process = make_process(config.process, d=2)
    g_dist, g_margin = make_score("distance", process), make_score("margin", process)
    rule, fine = gaussian_rule_2d(process), gaussian_rule_2d(process, nodes=2 * GAUSS_NODES)
    bayes = bayes_risk_2d(rule)
    quad_err = abs(bayes_risk_2d(fine) - bayes)
    shape = (len(config.protocols), len(config.widths), config.restarts)
    pop, trn, conv = np.empty(shape), np.empty(shape), np.zeros(shape, dtype=bool)
    tail = 0.0
    for j in range(config.restarts):
        data = process.sample(config.n, rng=np.random.SeedSequence(config.seed, spawn_key=(0, j)))
        gd, gm = g_dist(data.x), g_margin(data.x)
        for p, protocol in enumerate(config.protocols):
            sel = _prune_2d(protocol, gd, gm, config.r, config.alpha, np.random.SeedSequence(
                config.seed, spawn_key=(1, j, CLASSIFICATION_PROTOCOLS.index(protocol))))
            x, y = data.x[sel.indices], data.y[sel.indices]
            for w, h in enumerate(config.widths):
                arch = MLP(2, (h,), "tanh", "cross-entropy")
                theta0 = arch.init(np.random.SeedSequence(config.seed, spawn_key=(2, j, h)))
                fit = train(arch, x, y, sel.weights, optimizer="adam", lr=config.lr, max_iter=config.max_iter,
                            theta0=theta0)
                pop[p, w, j] = population_ce_loss(arch, fit.params, rule)
                if j < config.check_restarts:
                    quad_err = max(quad_err, abs(population_ce_loss(arch, fit.params, fine) - pop[p, w, j]))
                tail = max(tail, ce_loss_bound(arch, fit.params) * rule.tail_mass)
                trn[p, w, j], conv[p, w, j] = fit.loss, fit.converged
    seconds = time.perf_counter() - start
    result = ClassificationWidthResult(config, _ro(pop), _ro(trn), conv, bayes, float(quad_err), tail, seconds, path)
    if path is not None:
        atomic_write_json(path, {"kind": "width-validity-2d", "config": config.to_dict(), "config_hash": config.hash,
                                 "complete": True, "versions": versions(), "seconds": seconds,
                                 "population_loss": pop.tolist(), "train_loss": trn.tolist(),
                                 "converged": conv.tolist(), "bayes_loss": bayes, "quadrature_error": quad_err,
                                 "tail_bound": tail})
    return result
