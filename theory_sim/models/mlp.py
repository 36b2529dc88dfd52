r"""Small multilayer perceptrons in plain numpy (claims C7, C8).

A network with L ∈ {1, 2} hidden layers (any L ≥ 1 works) of widths h_1, …, h_L, activation
φ ∈ {tanh, ReLU} and one scalar output (a regression value or a binary logit):

.. math::

    a_0 = x, \qquad a_l = φ(a_{l-1} W_l + b_l)\ (l = 1..L), \qquad v(x; θ) = a_L · w + c .

Losses, per sample, with v = v(x; θ):

=================  ===============================================  =========================
``mse``            f(z; θ) = ½ (v − y)²,  y ∈ R                     ∂f/∂v = v − y
``cross-entropy``  f(z; θ) = log(1 + e^v) − y v,  y ∈ [0, 1]         ∂f/∂v = σ(v) − y
=================  ===============================================  =========================

**K classes** (``classes=K ≥ 2``, loss ``softmax-cross-entropy``): K outputs v ∈ R^K and
f(z; θ) = log Σ_k e^{v_k} − v_y for labels y ∈ {0, …, K − 1}; the output layer is then W_out
(h_L, K) and b_out (K,). Those networks run on the stacked passes of
:mod:`theory_sim.models.mlp_batch` (B = 1 here) and are trained by
:func:`theory_sim.models.batch_training.train_batch` (mini-batch Adam, B networks at once).

(``mse`` carries the ½ of :mod:`theory_sim.models.linear`' ``linear`` loss. ``cross-entropy`` on
labels y ∈ {0, 1} is the logistic loss s(−(2y − 1) v); y ∈ (0, 1) is allowed because the
loss is linear in y, so E[f | x] is the loss at y = P(y = 1 | x) — which is how population
losses are computed by quadrature.) The weighted loss of a sample with weights p_i ≥ 0 is

.. math::  L^p(θ) = \sum_i p_i f(z_i; θ), \qquad p_i = 1/n \text{ by default},

which covers SBPA and random pruning (p_i = 1/k on the kept points), EC (its two strata of
weights) and quadrature (nodes and weights).

Parameter layout
----------------
θ is one flat float64 vector, layer after layer, each weight matrix **row-major with shape
(fan_in, fan_out)** followed by its bias::

    θ = [ W_1 (d, h_1) | b_1 (h_1) | W_2 (h_1, h_2) | b_2 (h_2) | … | w (h_L) | c (1) ]

so ``n_params = Σ_l (h_{l-1} + 1) h_l + h_L + 1`` with h_0 = d. For d = 1 and one hidden
unit, θ = (w_1, b_1, a, c) and v(x) = a φ(w_1 x + b_1) + c. :meth:`MLP.layout` lists the
blocks and :meth:`MLP.unpack` returns read-only views, so landscape slices, Hessians and
per-layer norms need no bookkeeping.

Everything is plain numpy: matrix products (BLAS), buffers allocated once per call or once
per training run, no Python loop over samples. Per-sample gradients are exact: the gradient
of a weight matrix for sample i is the outer product a_{l-1,i} ⊗ δ_{l,i} of the layer's input
and its back-propagated error, and its norm is ‖a_{l-1,i}‖ ‖δ_{l,i}‖, which gives GraNd
(:meth:`MLP.grad_norms`) without forming the (n, n_params) matrix.

Reproducibility: the only random numbers are those of the initialisation, drawn from ``rng``
(docs/theory.md, "Randomness"); training is deterministic, so the same seed gives bitwise the
same trained weights for a fixed BLAS thread count. Across thread counts the weights agree to
rounding only, not bitwise — OpenBLAS's matrix product (used for the weight gradients, a sum
over the n samples) groups its sums differently with 1 and 2 threads for some shapes (e.g. a
(500, 64)ᵀ(500, 64) product differs in the last bits); the experiment runners therefore run
with one BLAS thread (docs/theory.md, "Randomness"). Run with
``OPENBLAS_NUM_THREADS=1`` when bitwise equality across machines matters. The products with a
dimension ≤ ``SMALL_DIM`` (d ≤ 2 inputs, the output layer) use numpy's own single-threaded
loop and are thread-count invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from theory_sim.models import mlp_batch
from theory_sim.models.mlp_passes import (Workspace, backward_deltas, forward, loss_and_grad, pairs, pointwise_loss,
                                           layer_views)
from theory_sim.validation import as_generator, check_array, check_choice, check_int, check_real

__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "SOFTMAX", "MLP", "ParamBlock", "TrainResult", "adam_step",
           "make_mlp", "train"]

ACTIVATIONS = ("tanh", "relu")
LOSSES = ("mse", "cross-entropy")  # the scalar-output losses
SOFTMAX = "softmax-cross-entropy"  # the K-class loss: K = MLP.classes outputs (mlp_batch's passes)
OPTIMIZERS = ("adam", "gd")

# Defaults of the optimisers, each with its reason.
ADAM_BETAS = (0.9, 0.999)  # Kingma & Ba (2015), Algorithm 1
ADAM_EPS = 1e-8  # idem; only guards the division where a coordinate's gradient is ~0
DEFAULT_LR = {"adam": 1e-2, "gd": 0.1}  # Adam: a step ~lr per coordinate; GD: stable for ½-MSE on O(1) data
DEFAULT_TOL = 1e-6  # on ‖∇L‖₂: far below what changes a population loss at the precision we report


@dataclass(frozen=True)
class ParamBlock:
    """One block of the flat parameter vector: ``theta[start:stop].reshape(shape)``."""

    name: str
    start: int
    stop: int
    shape: tuple


@dataclass(frozen=True)
class MLP:
    r"""The architecture of a scalar-output MLP (no parameters: θ is passed to each method).

    Parameters
    ----------
    d : int ≥ 1
        Input dimension (x ∈ R^d).
    hidden : tuple of int, each ≥ 1, length ≥ 1
        Hidden widths (h_1, …, h_L). The project uses L ∈ {1, 2}.
    activation : {'tanh', 'relu'}
        φ. ReLU'(0) is taken as 0.
    loss : {'mse', 'cross-entropy', 'softmax-cross-entropy'}
        f(z; θ) = ½ (v − y)², log(1 + e^v) − y v, or log Σ_k e^{v_k} − v_y (see the module docstring).
    classes : int
        K, the number of outputs: 1 for the scalar losses, K ≥ 2 for ``softmax-cross-entropy``
        (labels y ∈ {0, …, K − 1}).
    """

    d: int
    hidden: tuple = (16,)
    activation: str = "tanh"
    loss: str = "mse"
    classes: int = 1

    def __post_init__(self):
        object.__setattr__(self, "d", check_int("d", self.d, low=1))
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            hidden = tuple(hidden)
        except TypeError:
            raise TypeError(f"hidden must be a tuple of widths, got {hidden!r}") from None
        if not hidden:
            raise ValueError("hidden must list at least one hidden width, got ()")
        hidden = tuple(check_int(f"hidden[{i}]", h, low=1) for i, h in enumerate(hidden))
        object.__setattr__(self, "hidden", hidden)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, (*LOSSES, SOFTMAX))
        object.__setattr__(self, "classes", check_int("classes", self.classes, low=1))
        if (self.loss == SOFTMAX) != (self.classes >= 2):
            raise ValueError(f"classes must be ≥ 2 for the {SOFTMAX} loss and 1 for the scalar losses, got "
                             f"classes={self.classes} with loss={self.loss!r}")

    @property
    def multiclass(self) -> bool:
        """Whether the network has K ≥ 2 outputs (the softmax loss)."""
        return self.classes >= 2

    # -- layout -------------------------------------------------------------------------
    @property
    def widths(self) -> tuple:
        """(d, h_1, …, h_L, K): the fan-in/fan-out of each layer (K = ``classes``, 1 for a scalar output)."""
        return (self.d, *self.hidden, self.classes)

    @property
    def n_params(self) -> int:
        w = self.widths
        return sum((w[i] + 1) * w[i + 1] for i in range(len(w) - 1))

    def layout(self) -> tuple:
        """The blocks of θ in order: ``W1, b1, …, WL, bL, w_out, b_out`` (see the module docstring)."""
        blocks, start, w = [], 0, self.widths
        n_layers = len(w) - 1
        for i in range(n_layers):
            last = i == n_layers - 1
            # the scalar output layer keeps its historical shapes (h_L,) and (1,): same memory as (h_L, 1)
            wshape = (w[i],) if last and w[i + 1] == 1 else (w[i], w[i + 1])
            bshape = (w[i + 1],)
            wname, bname = ("w_out", "b_out") if last else (f"W{i + 1}", f"b{i + 1}")
            size = int(np.prod(wshape))
            blocks.append(ParamBlock(wname, start, start + size, wshape))
            start += size
            blocks.append(ParamBlock(bname, start, start + bshape[0], bshape))
            start += bshape[0]
        return tuple(blocks)

    def unpack(self, theta) -> dict:
        """Read-only views of θ's blocks by name (``'W1'``, ``'b1'``, …, ``'w_out'``, ``'b_out'``)."""
        theta = self._theta(theta)
        return {b.name: _readonly(theta[b.start : b.stop].reshape(b.shape)) for b in self.layout()}

    # -- initialisation -----------------------------------------------------------------
    def init(self, rng=None) -> np.ndarray:
        r"""Random parameters θ ~ the initial law, from ``rng`` only.

        Weights W_l[i, j] ~ N(0, gain² / fan_in) with gain 1 for tanh (LeCun) and √2 for ReLU
        (He); biases b_l[j] ~ U(−1/√fan_in, 1/√fan_in) (PyTorch's default for biases: with
        d = 1 it spreads the units' kinks/centres over the input range instead of all at 0).
        Blocks are drawn in layout order, so the first blocks do not depend on later widths.

        Parameters
        ----------
        rng : Generator, SeedSequence, int or None

        Returns
        -------
        theta : ndarray, shape (n_params,)
        """
        rng = as_generator(rng)
        gain = 1.0 if self.activation == "tanh" else np.sqrt(2.0)
        theta = np.empty(self.n_params)
        for b in self.layout():
            if b.name.startswith("W") or b.name == "w_out":
                fan_in = b.shape[0]
                theta[b.start : b.stop] = rng.normal(0.0, gain / np.sqrt(fan_in), size=b.stop - b.start)
            else:
                fan_in = self._fan_in_of_bias(b.name)
                bound = 1.0 / np.sqrt(fan_in)
                theta[b.start : b.stop] = rng.uniform(-bound, bound, size=b.stop - b.start)
        return theta

    def _fan_in_of_bias(self, name):
        w = self.widths
        return w[-2] if name == "b_out" else w[int(name[1:]) - 1]

    # -- evaluation ---------------------------------------------------------------------
    def output(self, theta, x) -> np.ndarray:
        """v(x_i; θ), shape (n,): the regression value or the logit; shape (n, K) for K classes."""
        theta = self._theta(theta)
        x = self._x(x)
        if self.multiclass:
            return mlp_batch.outputs(self, theta[None, :], x)[0]
        ws = Workspace(self, x.shape[0])
        forward(self, layer_views(self, theta), x, ws)
        return ws.v.copy()

    def losses(self, theta, x, y) -> np.ndarray:
        """Per-sample losses f(z_i; θ), shape (n,)."""
        theta = self._theta(theta)
        x, y = self._xy(x, y)
        if self.multiclass:
            return mlp_batch.sample_losses(self, theta[None, :], x, y)[0]
        ws = Workspace(self, x.shape[0])
        forward(self, layer_views(self, theta), x, ws)
        return pointwise_loss(self.loss, ws.v, y)

    def loss_and_grad(self, theta, x, y, weights=None) -> tuple[float, np.ndarray]:
        r"""The weighted loss and its exact gradient (back-propagation).

        .. math::  L^p(θ) = \sum_i p_i f(z_i; θ), \qquad ∇L^p(θ) = \sum_i p_i ∇_θ f(z_i; θ).

        Parameters
        ----------
        theta : array_like, shape (n_params,)
        x : array_like, shape (n, d)
        y : array_like, shape (n,)
            Real (``mse``) or in [0, 1] (``cross-entropy``).
        weights : array_like, shape (n,), optional
            p_i ≥ 0 (default 1/n; they need not sum to 1).

        Returns
        -------
        loss : float
        grad : ndarray, shape (n_params,)
        """
        theta = self._theta(theta)
        x, y = self._xy(x, y)
        p = self._weights(weights, x.shape[0])
        if self.multiclass:
            loss, grad = mlp_batch.loss_and_grad(self, theta[None, :], x, y, p)
            return float(loss[0]), grad[0]
        ws = Workspace(self, x.shape[0])
        grad = np.empty(self.n_params)
        loss = loss_and_grad(self, layer_views(self, theta), layer_views(self, grad), x, y, p, ws)
        return loss, grad

    def per_sample_grads(self, theta, x, y) -> np.ndarray:
        r"""Exact per-sample gradients G[i] = ∇_θ f(z_i; θ), shape (n, n_params).

        Σ_i p_i G[i] equals :meth:`loss_and_grad`'s gradient. Memory n × n_params floats; for
        the norms alone use :meth:`grad_norms`.
        """
        theta = self._theta(theta)
        x, y = self._xy(x, y)
        if self.multiclass:
            return mlp_batch.per_sample_grads(self, theta, x, y)
        n = x.shape[0]
        ws = Workspace(self, n)
        views = layer_views(self, theta)
        forward(self, views, x, ws)
        deltas, res = backward_deltas(self, views, ws, y)
        out = np.empty((n, self.n_params))
        inputs = [x, *ws.a]
        for l, blk in enumerate(pairs(self.layout())):
            wblk, bblk = blk
            if l < len(self.hidden):
                a_in, delta = inputs[l], deltas[l]
                out[:, wblk.start : wblk.stop] = (a_in[:, :, None] * delta[:, None, :]).reshape(n, -1)
                out[:, bblk.start : bblk.stop] = delta
            else:
                np.multiply(inputs[-1], res[:, None], out=out[:, wblk.start : wblk.stop])
                out[:, bblk.start] = res
        return out

    def grad_norms(self, theta, x, y) -> np.ndarray:
        r"""‖∇_θ f(z_i; θ)‖₂ for each sample (the GraNd score with this network), shape (n,).

        .. math::  ‖∇_θ f_i‖² = \sum_{l=1}^{L+1} (‖a_{l-1,i}‖² + 1)\, ‖δ_{l,i}‖²,

        δ_{l,i} the error back-propagated to layer l's pre-activation (δ_{L+1,i} = ∂f_i/∂v):
        the gradient of W_l is the outer product a_{l-1,i} ⊗ δ_{l,i}, whose norm is the product
        of the norms. Exact, in O(n Σ h_l) memory.
        """
        theta = self._theta(theta)
        x, y = self._xy(x, y)
        if self.multiclass:
            return mlp_batch.grad_norms(self, theta[None, :], x, y)[0]
        ws = Workspace(self, x.shape[0])
        views = layer_views(self, theta)
        forward(self, views, x, ws)
        deltas, res = backward_deltas(self, views, ws, y)
        inputs = [x, *ws.a]
        sq = (np.einsum("ij,ij->i", inputs[-1], inputs[-1]) + 1.0) * res * res
        for a_in, delta in zip(inputs[:-1], deltas):
            sq += (np.einsum("ij,ij->i", a_in, a_in) + 1.0) * np.einsum("ij,ij->i", delta, delta)
        return np.sqrt(sq)

    # -- validation (one error grammar) -------------------------------------------------
    def _theta(self, theta, name="theta"):
        theta = check_array(name, theta, shape=(self.n_params,))
        _require_finite(name, theta)
        return theta

    def _x(self, x):
        x = check_array("x", x, ndim=2)
        if x.shape[1] != self.d or x.shape[0] < 1:
            raise ValueError(f"x must have shape (n, {self.d}) with n ≥ 1 for an MLP with d = {self.d}, "
                             f"got {x.shape}")
        _require_finite("x", x)
        return x

    def _xy(self, x, y):
        x = self._x(x)
        if self.multiclass:
            return x, self._labels(y, x.shape[0])
        y = check_array("y", y, shape=(x.shape[0],))
        _require_finite("y", y)
        if self.loss == "cross-entropy":
            bad = np.flatnonzero((y < 0.0) | (y > 1.0))
            if bad.size:
                raise ValueError(f"y must be in [0, 1] for the cross-entropy loss, got {float(y[bad[0]])!r} "
                                 f"at index {bad[0]}")
        return x, y

    def _labels(self, y, n, shape=None):
        """Class labels in {0, …, K − 1} (integers, or floats with integer values) of shape (n,)
        (or ``shape``), as int64."""
        shape = shape or (n,)
        arr = check_array("y", y, shape=shape, dtype=None)
        if arr.dtype.kind == "b":
            raise TypeError(f"y must hold integer class labels for the {SOFTMAX} loss, got booleans")
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise ValueError(f"y must hold integer class labels in [0, {self.classes - 1}] for the "
                             f"{SOFTMAX} loss, got a non-integer value")
        labels = arr.astype(np.int64)
        bad = np.flatnonzero((labels.ravel() < 0) | (labels.ravel() >= self.classes))
        if bad.size:
            raise ValueError(f"y must hold class labels in [0, {self.classes - 1}], got "
                             f"{int(labels.ravel()[bad[0]])} at flat index {bad[0]}")
        return labels

    def _weights(self, weights, n):
        if weights is None:
            return np.full(n, 1.0 / n)
        p = check_array("weights", weights, shape=(n,))
        _require_finite("weights", p)
        bad = np.flatnonzero(p < 0.0)
        if bad.size:
            raise ValueError(f"weights must be ≥ 0, got {float(p[bad[0]])!r} at index {bad[0]}")
        return p


def make_mlp(d: int, hidden=(16,), activation: str = "tanh", loss: str = "mse") -> MLP:
    """The architecture ``MLP(d, hidden, activation, loss)``; ``hidden`` may be one int."""
    return MLP(d, hidden, activation, loss)


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TrainResult:
    """Result of :func:`train`.

    Attributes
    ----------
    mlp : MLP
    params : ndarray, shape (n_params,)
        θ after the last step (read-only).
    loss : float
        L^p(params).
    grad_norm : float
        ‖∇L^p(params)‖₂.
    loss_history : ndarray, shape (n_iter + 1,)
        L^p(θ_t) for t = 0, …, n_iter (read-only).
    converged : bool
        ‖∇L^p(params)‖₂ ≤ tol. False after ``max_iter`` steps or on divergence.
    n_iter : int
        Optimiser steps taken.
    optimizer : {'adam', 'gd'}
    message : str
        Why the iteration stopped.
    """

    mlp: MLP
    params: np.ndarray
    loss: float
    grad_norm: float
    loss_history: np.ndarray
    converged: bool
    n_iter: int
    optimizer: str
    message: str = ""


def train(mlp: MLP, x, y, weights=None, *, optimizer: str = "adam", lr=None, max_iter: int = 2000,
          tol: float = DEFAULT_TOL, theta0=None, rng=None, callback=None) -> TrainResult:
    r"""Minimise the weighted loss L^p(θ) = Σ_i p_i f(z_i; θ) by full-batch GD or Adam.

    .. math::

        \text{gd:}\quad θ_{t+1} = θ_t − η\, g_t, \qquad g_t = ∇L^p(θ_t);

        \text{adam:}\quad m_t = β_1 m_{t-1} + (1 − β_1) g_t,\ \ s_t = β_2 s_{t-1} + (1 − β_2) g_t^2,\ \
        θ_{t+1} = θ_t − η\, \frac{m_t / (1 − β_1^t)}{\sqrt{s_t / (1 − β_2^t)} + ε}

    (Kingma & Ba 2015, Algorithm 1; β = ``ADAM_BETAS``, ε = ``ADAM_EPS``).

    Parameters
    ----------
    mlp : MLP
    x : array_like, shape (n, d)
    y : array_like, shape (n,)
    weights : array_like, shape (n,), optional
        p_i ≥ 0 (default 1/n), e.g. ``Selection.weights`` on ``data.take(Selection.indices)``.
    optimizer : {'adam', 'gd'}
    lr : float > 0, optional
        η; default ``DEFAULT_LR[optimizer]``.
    max_iter : int ≥ 0
        Maximum number of steps.
    tol : float ≥ 0
        Stop (``converged=True``) as soon as ‖∇L^p(θ_t)‖₂ ≤ tol.
    theta0 : array_like, shape (n_params,), optional
        Starting point; default :meth:`MLP.init` with ``rng``. Give one or the other.
    rng : Generator, SeedSequence, int or None
        Seeds the initialisation (the only randomness).
    callback : callable(t, theta), optional
        Called after each step t = 1, 2, … with θ_t (read-only view; copy it to keep it), e.g.
        to record predictions during training (the probe's forgetting counts). It cannot change
        the run.

    Returns
    -------
    TrainResult

    Notes
    -----
    Deterministic given (θ_0, data, options): the same seed gives bitwise the same weights.
    A non-finite loss stops the run with ``converged=False`` and the last finite θ.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP (see make_mlp), got {type(mlp).__name__}")
    if mlp.multiclass:
        raise ValueError(f"train runs the scalar losses; train a {SOFTMAX} network with "
                         "theory_sim.models.batch_training.train_batch")
    x, y = mlp._xy(x, y)
    n = x.shape[0]
    p = mlp._weights(weights, n)
    if not p.any():  # the loss would be 0 at every θ: "converged" at the initialisation, meaning nothing
        raise ValueError("weights must not be all zero: the weighted loss would be 0 for every theta")
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = DEFAULT_LR[optimizer] if lr is None else check_real("lr", lr, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=0)
    tol = check_real("tol", tol, low=0.0)
    if theta0 is not None and rng is not None:
        raise ValueError("give theta0 or rng, not both: rng only seeds the initialisation")
    theta = mlp.init(rng) if theta0 is None else mlp._theta(theta0, "theta0").copy()

    # One BLAS thread: OpenBLAS rounds matrix products differently with 1 and 2 threads, and
    # the same seed must give the same weights on every machine (small nets lose nothing).
    with threadpool_limits(limits=1, user_api="blas"):
        ws = Workspace(mlp, n)
        grad = np.empty_like(theta)
        tv, gv = layer_views(mlp, theta), layer_views(mlp, grad)
        history = np.empty(max_iter + 1)
        view = theta.view()
        view.flags.writeable = False  # what the callback sees
        prev, step_taken = np.empty_like(theta), np.empty_like(theta)
        if optimizer == "adam":
            m, s = np.zeros_like(theta), np.zeros_like(theta)
        t, last = 0, None  # last: (loss, ‖g‖) at θ_{t-1}, restored if step t diverges
        while True:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected just below
                loss = loss_and_grad(mlp, tv, gv, x, y, p, ws)
                gnorm = float(np.sqrt(grad @ grad))
            if not (np.isfinite(loss) and np.isfinite(gnorm)):
                if last is None:
                    raise ValueError(f"the loss or its gradient is not finite at theta0 (loss {loss!r}); "
                                     "rescale x and y or start elsewhere")
                np.copyto(theta, prev)  # back to θ_{t-1}
                return _train_result(mlp, theta, last[0], last[1], history[:t], False, t - 1, optimizer,
                                     f"loss not finite after step {t}: lower lr (returned θ_{t - 1})")
            history[t] = loss
            if gnorm <= tol:
                return _train_result(mlp, theta, loss, gnorm, history[: t + 1], True, t, optimizer,
                                     f"gradient norm {gnorm:.3g} ≤ tol {tol:g}")
            if t >= max_iter:
                return _train_result(mlp, theta, loss, gnorm, history[: t + 1], False, t, optimizer,
                                     f"max_iter = {max_iter} steps reached (gradient norm {gnorm:.3g})")
            np.copyto(prev, theta)
            last = (loss, gnorm)
            t += 1
            if optimizer == "gd":
                np.multiply(grad, lr, out=step_taken)
            else:
                adam_step(grad, m, s, t, lr, step_taken)
            theta -= step_taken
            if callback is not None:
                callback(t, view)


def adam_step(grad, m, s, t, lr, out):
    """Adam's step η m̂_t / (√ŝ_t + ε) into ``out``, updating m and s in place (elementwise; the update
    of :func:`train` and of :func:`theory_sim.models.batch_training.train_batch`)."""
    b1, b2 = ADAM_BETAS
    # In place: m ← β1 m + (1 − β1) g; s ← β2 s + (1 − β2) g²; step = η m̂ / (√ŝ + ε).
    m *= b1
    np.multiply(grad, 1.0 - b1, out=out)
    m += out
    s *= b2
    np.multiply(grad, grad, out=out)
    out *= 1.0 - b2
    s += out
    np.divide(s, 1.0 - b2**t, out=out)
    np.sqrt(out, out=out)
    out += ADAM_EPS
    np.divide(m, out, out=out)
    out *= lr / (1.0 - b1**t)
    return out


def _train_result(mlp, theta, loss, gnorm, history, converged, n_iter, optimizer, message):
    return TrainResult(mlp, _readonly(theta.copy()), float(loss), float(gnorm), _readonly(history.copy()),
                       bool(converged), int(n_iter), optimizer, message)


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _require_finite(name: str, arr: np.ndarray) -> None:
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise ValueError(f"{name} must be finite, got {float(arr.ravel()[bad])!r} at flat index {bad}")
