r"""Models, their losses, and weighted empirical risk minimisation (docs/theory.md, "Definitions", "Limits").

A model is a linear predictor with intercept, v(x; θ) = w·x + b, with parameters
θ = (w, b) stored as one array of shape (d + 1,), **intercept last**. Two losses:

=============  =============================================  ===============================
``logistic``   f(z; θ) = s(−(2y − 1) v(x; θ)),  y ∈ {0, 1}     s(u) = log(1 + e^u) (softplus)
``linear``     f(z; θ) = ½ (v(x; θ) − y)²,  y ∈ R
=============  =============================================  ===============================

The pruned loss of a selection with weights p_i (Σ p_i = 1) is

.. math::  L_n^A(θ) = \sum_{i \in I} p_i f(z_i; θ),

evaluated at every point of a parameter net by :func:`net_losses` (the consistency gap
Δ_n = max_j |L_n^A(θ_j) − L(θ_j)| of docs/theory.md, "Limits", is built from it) and minimised by
:func:`fit_weighted` (the validity gap needs ŵ_n^A = argmin L_n^A).

Reproducibility (docs/theory.md, "Randomness"): every weighted sum here is computed in a fixed order that
does not depend on the number of threads — a sequential sum in index order for
:func:`net_losses` (one θ_j per thread at a time), fixed chunks of ``FIT_CHUNK`` points
summed in order for the fit — and each numba kernel has a plain-numpy twin
(``*_reference``) that ``tests/reference`` checks bitwise. The per-sample logit is always
accumulated as ``((x_0 w_0 + x_1 w_1) + …) + b``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np

from theory_sim.numerics.softplus import sigmoid_nb, sigmoid_nb_array, sigmoid_np, softplus_nb, softplus_nb_array, softplus_np
from theory_sim.registry import Registry
from theory_sim.validation import check_array, check_choice, check_int

__all__ = [
    "BUILTIN_MODELS",
    "MODELS",
    "Model",
    "get_model",
    "make_model",
    "register_model",
    "net_losses",
    "net_losses_reference",
]

BUILTIN_MODELS = ("logistic", "linear")

# ---------------------------------------------------------------------------------------
# Constants, each with the reason for its value.
# ---------------------------------------------------------------------------------------
# Parameter points per thread task: a block's θ's, logits and sums stay in L1; m = 256 gives
# 4 tasks per thread on 2 threads.
NET_BLOCK = 64
FIT_CHUNK = 4096  # points per partial sum in the fit: a fixed grouping, so no dependence on threads
NET_REFERENCE_CHUNK = 2048  # rows per step of the numpy twin: bounds its (chunk, m) temporaries
WEIGHT_SUM_TOL = 1e-9  # |Σ p_i − 1| allowed by fit_weighted: 10^7 weights 1/k sum with error ≲ 1e-9

_LOGISTIC, _LINEAR = 0, 1
_KIND = {"logistic": _LOGISTIC, "linear": _LINEAR}


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    r"""A linear predictor v(x; θ) = w·x + b with a per-sample loss f(z; θ).

    Parameters
    ----------
    name : {'logistic', 'linear'}
        ``logistic``: f = s(−(2y − 1) v) with s the softplus, y ∈ {0, 1};
        ``linear``: f = ½ (v − y)².
    d : int, d ≥ 1
        Dimension of x. θ = (w, b) has shape (d + 1,), intercept last.
    """

    name: str
    d: int

    def __post_init__(self):
        check_choice("name", self.name, BUILTIN_MODELS)
        object.__setattr__(self, "d", check_int("d", self.d, low=1))

    @property
    def n_params(self) -> int:
        """d + 1 (weights and intercept)."""
        return self.d + 1

    @property
    def task(self) -> str:
        """``'classification'`` (logistic) or ``'regression'`` (linear)."""
        return "classification" if self.name == "logistic" else "regression"

    def logit(self, theta, x) -> np.ndarray:
        """v(x_i; θ) = ((x_i0 w_0 + x_i1 w_1) + …) + b, shape (n,)."""
        theta = _check_theta(self, theta)
        x = _check_x(self, x)
        return _logits(x, theta)

    def loss(self, theta, x, y) -> np.ndarray:
        r"""Per-sample losses f(z_i; θ).

        Parameters
        ----------
        theta : array_like, shape (d + 1,)
            θ = (w, b), intercept last.
        x : array_like, shape (n, d)
        y : array_like, shape (n,)
            Labels in {0, 1} (logistic) or real responses (linear).

        Returns
        -------
        ndarray, shape (n,)
            .. math:: f_i = s(−(2y_i − 1) v_i) \quad\text{or}\quad f_i = ½ (v_i − y_i)^2,

            with v_i = w·x_i + b. The values are bitwise those summed by :func:`net_losses`.
        """
        theta = _check_theta(self, theta)
        x, y = _check_xy(self, x, y)
        v = _logits(x, theta)
        if self.name == "logistic":
            return softplus_nb_array((1.0 - 2.0 * y) * v)
        r = v - y
        return 0.5 * (r * r)

    def grad(self, theta, x, y) -> np.ndarray:
        r"""Per-sample gradients ∇_θ f(z_i; θ).

        Parameters
        ----------
        theta : array_like, shape (d + 1,)
        x : array_like, shape (n, d)
        y : array_like, shape (n,)

        Returns
        -------
        ndarray, shape (n, d + 1)
            Row i is a_i (x_i, 1) with the derivative in v

            .. math:: a_i = (1 − 2y_i)\, σ((1 − 2y_i) v_i) \ (\text{logistic}), \qquad
                      a_i = v_i − y_i \ (\text{linear}),

            σ = s' the sigmoid.
        """
        theta = _check_theta(self, theta)
        x, y = _check_xy(self, x, y)
        v = _logits(x, theta)
        if self.name == "logistic":
            sgn = 1.0 - 2.0 * y
            a = sgn * sigmoid_nb_array(sgn * v)
        else:
            a = v - y
        return a[:, None] * np.hstack([x, np.ones((x.shape[0], 1))])

    def hessian(self, theta, x, y, weights) -> np.ndarray:
        r"""Weighted Hessian H(θ) = Σ_i p_i ∇²_θ f(z_i; θ).

        Parameters
        ----------
        theta : array_like, shape (d + 1,)
        x : array_like, shape (n, d)
        y : array_like, shape (n,)
        weights : array_like, shape (n,)
            p_i ≥ 0 (not required to sum to 1 here).

        Returns
        -------
        ndarray, shape (d + 1, d + 1)
            .. math:: H = \sum_i p_i h_i \tilde x_i \tilde x_i^\top, \quad \tilde x_i = (x_i, 1),

            h_i = σ(z_i) σ(−z_i) with z_i = (1 − 2y_i) v_i (logistic), h_i = 1 (linear).
            Summed in the fixed order of the fit (thread-count independent).
        """
        theta = _check_theta(self, theta)
        x, y = _check_xy(self, x, y)
        p = _check_weights(weights, x.shape[0], sum_to_one=False)
        return _objective(self, theta, x, y, p, order=2)[2]


def _check_model_factory(name, obj):
    if not callable(obj):
        raise TypeError(f"model {name!r} must be a function f(d) returning a model, got {type(obj).__name__}")


MODELS = Registry("model", {name: functools.partial(Model, name) for name in BUILTIN_MODELS},
                  check=_check_model_factory, param="name")


def register_model(name: str, factory, *, replace: bool = False):
    """Register ``factory(d)`` under ``name``: it returns a model on x ∈ R^d (see :class:`Model` for the
    methods the engines call: ``loss``, ``grad``, ``hessian``, ``n_params``, ``task``). Returns ``factory``."""
    return MODELS.register(name, factory, replace=replace)


def get_model(name: str):
    """The factory registered as ``name`` (built-in, registered or installed)."""
    return MODELS.get_checked(name)


def make_model(name: str, d: int) -> Model:
    """The model called ``name`` ('logistic', 'linear' or a registered name) on x ∈ R^d (θ has d + 1 entries)."""
    factory = get_model(name)
    if name in BUILTIN_MODELS:
        return factory(d)
    return factory(check_int("d", d, low=1))


# ---------------------------------------------------------------------------------------
# Validation (one error grammar: parameter, value received, what is allowed)
# ---------------------------------------------------------------------------------------
def _check_model(model) -> Model:
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model (see make_model), got {type(model).__name__}")
    return model


def _require_finite(name: str, arr: np.ndarray) -> None:
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise ValueError(f"{name} must be finite, got {float(arr.ravel()[bad])!r} at flat index {bad}")


def _check_theta(model: Model, theta, name: str = "theta") -> np.ndarray:
    theta = check_array(name, theta, shape=(model.n_params,))
    _require_finite(name, theta)
    return theta


def _check_x(model: Model, x) -> np.ndarray:
    x = check_array("x", x, ndim=2)
    if x.shape[1] != model.d:
        raise ValueError(f"x must have shape (n, {model.d}) for a model with d = {model.d}, got {x.shape}")
    if x.shape[0] < 1:
        raise ValueError(f"x must have at least one row, got shape {x.shape}")
    _require_finite("x", x)
    return x


def _check_xy(model: Model, x, y) -> tuple[np.ndarray, np.ndarray]:
    x = _check_x(model, x)
    y = check_array("y", y, shape=(x.shape[0],))
    _require_finite("y", y)
    if model.name == "logistic":
        bad = np.flatnonzero((y != 0.0) & (y != 1.0))
        if bad.size:
            got = float(y[bad[0]])
            raise ValueError(f"y must hold labels 0 or 1 for the logistic model, got {got!r} at index {bad[0]}")
    return x, y


def _check_weights(weights, n: int, *, sum_to_one: bool) -> np.ndarray:
    p = check_array("weights", weights, shape=(n,))
    _require_finite("weights", p)
    bad = np.flatnonzero(p < 0.0)
    if bad.size:
        raise ValueError(f"weights must be ≥ 0, got {float(p[bad[0]])!r} at index {bad[0]}")
    if sum_to_one:
        if not p.any():
            raise ValueError("weights must not be all zero: the weighted loss would be 0 for every theta")
        total = float(np.sum(p))
        if not abs(total - 1.0) <= WEIGHT_SUM_TOL:
            raise ValueError(f"weights must sum to 1 (within {WEIGHT_SUM_TOL:g}), got sum {total!r}")
    return p + 0.0  # −0.0 → +0.0, so a zero weight adds exactly nothing in every twin


# ---------------------------------------------------------------------------------------
# Logits in the fixed coordinate order shared by every kernel and twin
# ---------------------------------------------------------------------------------------
def _logits(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """((x_0 θ_0 + x_1 θ_1) + …) + θ_d, one coordinate at a time (not BLAS: its order varies)."""
    d = x.shape[1]
    v = x[:, 0] * theta[0]
    for c in range(1, d):
        v = v + x[:, c] * theta[c]
    return v + theta[d]


# ---------------------------------------------------------------------------------------
# net_losses: the hot loop of the consistency gap
# ---------------------------------------------------------------------------------------
@numba.njit(parallel=True, cache=True, error_model="numpy")
def _net_losses_kernel(kind, x, y, p, wt, out):  # pragma: no cover - compiled
    """out[j] = Σ_i p_i f(z_i; θ_j), i = 0..k−1 in order, for θ_j = wt[:, j].

    Parallel over blocks of NET_BLOCK parameter points; within a block the loop runs over
    the points i (outer) and the block's θ's (inner, vectorised). Each out[j] is one
    sequential sum made by one thread, so the result does not depend on the thread count.
    """
    k, d = x.shape
    m = wt.shape[1]
    nblocks = (m + NET_BLOCK - 1) // NET_BLOCK
    for blk in numba.prange(nblocks):
        j0 = blk * NET_BLOCK
        nb = min(NET_BLOCK, m - j0)
        w = np.empty((d + 1, nb))  # the block's parameters, contiguous
        for c in range(d + 1):
            for jj in range(nb):
                w[c, jj] = wt[c, j0 + jj]
        v = np.empty(nb)
        acc = np.zeros(nb)
        for i in range(k):
            xi = x[i, 0]
            for jj in range(nb):
                v[jj] = xi * w[0, jj]
            for c in range(1, d):
                xi = x[i, c]
                for jj in range(nb):
                    v[jj] = v[jj] + xi * w[c, jj]
            pi = p[i]
            if kind == 0:  # logistic: y_i ∈ {0, 1} → sign 1 − 2y_i ∈ {+1, −1}, an exact product
                si = 1.0 - 2.0 * y[i]
                for jj in range(nb):
                    acc[jj] = acc[jj] + pi * softplus_nb(si * (v[jj] + w[d, jj]))
            else:
                yi = y[i]
                for jj in range(nb):
                    r = (v[jj] + w[d, jj]) - yi
                    acc[jj] = acc[jj] + pi * (0.5 * (r * r))
        for jj in range(nb):
            out[j0 + jj] = acc[jj]


def _check_net_inputs(model, thetas, x, y, weights):
    model = _check_model(model)
    thetas = check_array("thetas", thetas, ndim=2)
    if thetas.shape[1] != model.n_params or thetas.shape[0] < 1:
        raise ValueError(
            f"thetas must have shape (m, {model.n_params}) with m ≥ 1 (one θ = (w, b) per row), got {thetas.shape}"
        )
    _require_finite("thetas", thetas)
    x, y = _check_xy(model, x, y)
    p = _check_weights(weights, x.shape[0], sum_to_one=False)
    return model, thetas, x, y, p


def net_losses(model, thetas, x, y, weights) -> np.ndarray:
    r"""The weighted loss at each point of a parameter net (numba, parallel).

    .. math::  L^A(θ_j) = \sum_{i=0}^{k-1} p_i f(z_i; θ_j), \qquad j = 1, …, m.

    Parameters
    ----------
    model : Model
    thetas : array_like, shape (m, d + 1)
        The net W = {θ_1, …, θ_m}; each row θ_j = (w_j, b_j), intercept last.
    x : array_like, shape (k, d)
        Kept points x_i (finite).
    y : array_like, shape (k,)
        Their labels y_i ({0, 1} for logistic).
    weights : array_like, shape (k,)
        p_i ≥ 0. The pruning protocols give Σ p_i = 1; any non-negative weights are
        accepted (e.g. 1/n for the full empirical loss L_n).

    Returns
    -------
    ndarray, shape (m,)
        L^A(θ_j). Each sum runs over i = 0..k−1 in order, one θ_j per thread at a time, so the
        result is bitwise the same for every thread count and equals
        :func:`net_losses_reference` bitwise. Cost O(m k d); ``benchmarks/bench_consistency_kernel.py``
        times it against its numpy twin.

    Notes
    -----
    The logistic softplus is :func:`theory_sim.numerics.softplus.softplus_nb`, a vectorisable
    approximation with relative error ≤ 4·2^-52 (its module states and tests the bound).
    """
    model, thetas, x, y, p = _check_net_inputs(model, thetas, x, y, weights)
    out = np.empty(thetas.shape[0])
    _net_losses_kernel(_KIND[model.name], x, y, p, np.ascontiguousarray(thetas.T), out)
    return out


def net_losses_reference(model, thetas, x, y, weights) -> np.ndarray:
    """Plain-numpy twin of :func:`net_losses`, bitwise equal (same operations, same order).

    The (k, m) terms are formed ``NET_REFERENCE_CHUNK`` rows at a time with the same logit
    order, and summed over i sequentially with ``np.add.accumulate`` (``np.sum`` is
    pairwise and would differ in the last bits).
    """
    model, thetas, x, y, p = _check_net_inputs(model, thetas, x, y, weights)
    wt = np.ascontiguousarray(thetas.T)
    d = model.d
    acc = np.zeros((1, thetas.shape[0]))
    for s in range(0, x.shape[0], NET_REFERENCE_CHUNK):
        xs, ys, ps = x[s : s + NET_REFERENCE_CHUNK], y[s : s + NET_REFERENCE_CHUNK], p[s : s + NET_REFERENCE_CHUNK]
        v = xs[:, 0:1] * wt[0]
        for c in range(1, d):
            v = v + xs[:, c : c + 1] * wt[c]
        v = v + wt[d]
        if model.name == "logistic":
            f = softplus_np((1.0 - 2.0 * ys)[:, None] * v)
        else:
            r = v - ys[:, None]
            f = 0.5 * (r * r)
        acc = np.add.accumulate(np.vstack([acc, ps[:, None] * f]), axis=0)[-1:]
    return acc[0]


# ---------------------------------------------------------------------------------------
# Weighted objective, gradient and Hessian in a fixed summation order (for the fit)
# ---------------------------------------------------------------------------------------
@numba.njit(parallel=True, cache=True, error_model="numpy")
def _objective_kernel(kind, order, x, y, p, theta, parts):  # pragma: no cover - compiled
    """parts[c] = (F, g, upper H) summed in index order over chunk c of FIT_CHUNK points.

    ``order`` 0: F only; 1: F and g; 2: F, g and the upper triangle of H (row-major).
    """
    k, d = x.shape
    q = d + 1
    for c in numba.prange(parts.shape[0]):
        s = c * FIT_CHUNK
        n = min(FIT_CHUNK, k - s)
        v = np.empty(n)
        for ii in range(n):
            v[ii] = x[s + ii, 0] * theta[0]
        for a in range(1, d):
            for ii in range(n):
                v[ii] = v[ii] + x[s + ii, a] * theta[a]
        f = np.empty(n)
        da = np.empty(n)  # ∂f/∂v
        h = np.empty(n)  # ∂²f/∂v²
        if kind == 0:
            for ii in range(n):
                si = 1.0 - 2.0 * y[s + ii]
                z = si * (v[ii] + theta[d])
                f[ii] = softplus_nb(z)
                sz = sigmoid_nb(z)
                da[ii] = si * sz
                h[ii] = sz * sigmoid_nb(-z)
        else:
            for ii in range(n):
                r = (v[ii] + theta[d]) - y[s + ii]
                f[ii] = 0.5 * (r * r)
                da[ii] = r
                h[ii] = 1.0
        acc = parts[c]
        acc[:] = 0.0
        for ii in range(n):
            i = s + ii
            pi = p[i]
            acc[0] = acc[0] + pi * f[ii]
            if order >= 1:
                pa = pi * da[ii]
                for a in range(d):
                    acc[1 + a] = acc[1 + a] + pa * x[i, a]
                acc[q] = acc[q] + pa
            if order >= 2:
                ph = pi * h[ii]
                t = 1 + q
                for a in range(q):
                    pha = ph * x[i, a] if a < d else ph
                    for b in range(a, q):
                        xb = x[i, b] if b < d else 1.0
                        acc[t] = acc[t] + pha * xb
                        t += 1


def _n_upper(q: int) -> int:
    return q * (q + 1) // 2


def _unpack(total: np.ndarray, q: int) -> tuple[float, np.ndarray, np.ndarray]:
    g = total[1 : 1 + q].copy()
    hess = np.zeros((q, q))
    hess[np.triu_indices(q)] = total[1 + q :]
    hess = np.triu(hess) + np.triu(hess, 1).T
    return float(total[0]), g, hess


def _objective(model: Model, theta, x, y, p, order: int):
    """(F, g, H) = (Σ p_i f_i, Σ p_i ∇f_i, Σ p_i ∇²f_i) in the fixed order (numba)."""
    q = model.n_params
    nchunks = -(-x.shape[0] // FIT_CHUNK)
    parts = np.empty((nchunks, 1 + q + _n_upper(q)))
    _objective_kernel(_KIND[model.name], order, x, y, p, theta, parts)
    total = np.zeros(parts.shape[1])
    for c in range(nchunks):  # chunk partials in chunk order: independent of the threads
        total = total + parts[c]
    return _unpack(total, q)


def _objective_reference(model: Model, theta, x, y, p, order: int):
    """Plain-numpy twin of :func:`_objective` (bitwise equal)."""
    q = model.n_params
    d = model.d
    total = np.zeros(1 + q + _n_upper(q))
    rows, cols = np.triu_indices(q)
    for s in range(0, x.shape[0], FIT_CHUNK):
        xs, ys, ps = x[s : s + FIT_CHUNK], y[s : s + FIT_CHUNK], p[s : s + FIT_CHUNK]
        xt = np.hstack([xs, np.ones((xs.shape[0], 1))])
        v = xs[:, 0] * theta[0]
        for a in range(1, d):
            v = v + xs[:, a] * theta[a]
        if model.name == "logistic":
            si = 1.0 - 2.0 * ys
            z = si * (v + theta[d])
            f = softplus_np(z)
            sz = sigmoid_np(z)
            da = si * sz
            h = sz * sigmoid_np(-z)
        else:
            r = (v + theta[d]) - ys
            f, da, h = 0.5 * (r * r), r, np.ones_like(r)
        terms = np.zeros((xs.shape[0], total.shape[0]))
        terms[:, 0] = ps * f
        if order >= 1:
            terms[:, 1 : 1 + q] = (ps * da)[:, None] * xt  # × 1.0 for the intercept is exact
        if order >= 2:
            terms[:, 1 + q :] = ((ps * h)[:, None] * xt[:, rows]) * xt[:, cols]
        part = np.add.accumulate(np.vstack([np.zeros((1, total.shape[0])), terms]), axis=0)[-1]
        total = total + part
    return _unpack(total, q)


# ---------------------------------------------------------------------------------------
# Weighted ERM
# ---------------------------------------------------------------------------------------
