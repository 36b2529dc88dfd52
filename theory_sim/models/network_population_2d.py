r"""Population losses of small networks on 2-D Gaussian classification (docs/theory.md, "Population losses").

For ``gaussian-logistic`` and ``gaussian-mixture`` with d = 2 and the binary cross-entropy on
the logit, the label integrates out (the loss is linear in y) and the population loss is an
integral over x ∈ ℝ²:

.. math::

    L(θ) = E_x\big[\mathrm{softplus}(v(x; θ)) − P(y = 1 \mid x)\, v(x; θ)\big],

computed by a tensor Gauss–Legendre rule on a box (:func:`gaussian_rule_2d`, nodes from
:func:`theory_sim.numerics.quadrature.gauss_legendre`; error checked by doubling its nodes,
truncation bounded by the mass outside the box), against the Bayes risk
E[H(P(y = 1 | x))] (:func:`bayes_risk_2d`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import entr
from scipy.stats import norm

from theory_sim.core.exactness import exact_owner
from theory_sim.core.processes import GaussianLogistic, GaussianMixture, make_process
from theory_sim.models.mlp import MLP
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.validation import check_int, check_real

__all__ = ["CLASSIFICATION_PROCESSES", "GAUSS_NODES", "GaussianRule2D", "bayes_risk_2d", "ce_loss_bound",
           "gaussian_rule_2d", "population_ce_loss"]

CLASSIFICATION_PROCESSES = ("gaussian-logistic", "gaussian-mixture")
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
    if exact_owner(process, "population-quadrature") is GaussianLogistic:
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
    owner = exact_owner(process, "population-quadrature")  # declared by the class that samples, not inherited
    if owner not in (GaussianLogistic, GaussianMixture) or process.d != 2:
        raise ValueError(f"process must be one of {CLASSIFICATION_PROCESSES} with d = 2, got {process!r}")
    if radius is None:
        radius = GAUSS_RADIUS if owner is GaussianLogistic else (
            GAUSS_RADIUS * process.sigma + float(np.abs(process.m).max()))
    radius = check_real("radius", radius, low=0.0, low_open=True)
    panel = check_real("panel", panel, low=0.0, low_open=True)
    nodes = check_int("nodes", nodes, low=2)
    drop = check_real("drop", drop, low=0.0)
    x1, w1 = gauss_legendre(((-radius, radius),), nodes, panel)
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

