r"""Population losses of small tanh networks on sine-regression (docs/theory.md, "Population losses").

On ``sine-regression`` (x ~ U[−1, 1], y = sin(ωx) + ε, Var ε = s²) with the ``mse`` loss
f = ½ (v − y)², the noise integrates out and the population losses are one-dimensional
integrals over x:

.. math::

    L(θ) = \tfrac12 \int_{-1}^{1} (v(x; θ) − \sin ωx)^2 \,\tfrac{dx}{2} + \tfrac{s^2}{2}, \qquad
    L_{ν_r}(θ) = \frac{1}{r} \int_{A_r} \tfrac12 (v(x; θ) − \sin ωx)^2 \,\tfrac{dx}{2} + \tfrac{s^2}{2},

with A_r the acceptance region of a **label-free** score (here ``distance`` to a centre c:
A_r = {|x − c| ≤ q_r}, or {|x − c| ≥ q_r} with ``keep="highest"``; for c = 0, q_r = r and
1 − r). Both are computed by composite Gauss–Legendre quadrature
(:func:`theory_sim.numerics.quadrature.gauss_legendre`), which is exact to rounding for these
integrands (analytic on each panel): a :class:`QuadratureRule` is a weighted sample of nodes,
so the loss, its gradient and the exact per-node gradients come from
:class:`theory_sim.models.mlp.MLP` unchanged, and the Hessian of a one-hidden-layer tanh net
is computed in closed form (:func:`population_hessian`).

Also here: random directions rescaled filter by filter to a parameter vector
(:func:`filter_normalized_direction`, Li et al. 2018), for slices of a network's landscape.
The 2-D classification processes have their rule in
:mod:`theory_sim.models.network_population_2d`.

Scope: ``sine-regression``, the ``distance`` score, the ``mse`` loss, tanh networks with one
hidden layer (any width; ReLU kinks would spoil the quadrature's exactness and the Hessian).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory_sim.core.exactness import exact_owner
from theory_sim.core.limits import score_quantile
from theory_sim.core.processes import SineRegression, make_process
from theory_sim.core.scores import make_score
from theory_sim.models.mlp import MLP
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.validation import as_generator, check_choice, check_int, check_r, check_real

__all__ = [
    "BIAS_MODES",
    "NODES_PER_PANEL",
    "PANEL_WIDTH",
    "QuadratureRule",
    "check_arch",
    "filter_normalized_direction",
    "filter_norms",
    "hessian_fd",
    "population_hessian",
    "population_loss_grad",
    "quadrature_rule",
]

# Panels of width ≤ 0.1 with 64 Gauss–Legendre nodes: tanh(w x + b) has poles at distance
# π/(2|w|) from the real axis, so for |w| ≤ 60 the Bernstein-ellipse ratio per panel is ≥ 1.6 and
# the error ≲ 1.6^{-128} ≈ 1e-26 — rounding dominates. Doubling the nodes checks it.
PANEL_WIDTH = 0.1
NODES_PER_PANEL = 64


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
    if exact_owner(process, "population-quadrature") is not SineRegression:  # declared, not inherited
        raise TypeError(f"process must be a SineRegression (make_process('sine-regression')) that samples as one, "
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
    x, w = gauss_legendre(intervals, nodes, PANEL_WIDTH)
    w = w / w.sum()  # the measure's mass is r/… ; normalising divides by r exactly (to rounding)
    y = process.regression_function(x[:, None])
    for arr in (x, w, y):
        arr.setflags(write=False)
    return QuadratureRule(x[:, None], y, w, intervals, r, q, process.noise)


def check_arch(arch) -> MLP:
    """``arch`` if it is a one-hidden-layer tanh MLP with d = 1 and the ``mse`` loss, else an error."""
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
    arch = check_arch(arch)
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

