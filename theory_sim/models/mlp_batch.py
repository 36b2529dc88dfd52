r"""Stacked passes: B networks of one architecture as one computation (docs/theory.md, "Batched networks").

The parameters of B networks of the same :class:`theory_sim.models.mlp.MLP` are the rows of one
(B, n_params) array; each layer is a stacked product ``np.matmul`` over a leading axis of length
B (one call for the B networks, which is where small networks spend their time: the Python and
dispatch overhead of a call is paid once, not B times). These passes serve every loss, including
the K-class ``softmax-cross-entropy``

.. math::  f(z; θ) = \log \sum_{k=1}^{K} e^{v_k(x; θ)} − v_y(x; θ), \qquad
           ∂f/∂v_k = \mathrm{softmax}(v)_k − 1\{k = y\},

and they are the only passes of the K-class networks (the scalar ones keep the row-blocked
passes of :mod:`theory_sim.models.mlp_passes`, whose rounding the existing results depend on).

Each network alone. Every operation is either elementwise, a reduction along an axis that does
not mix networks, or a stacked product, which numpy evaluates as one matrix product per network
(the same BLAS call, with the same shapes and strides, whether B is 1 or 100). So network b's
numbers are bitwise those of the same pass run with B = 1 on network b alone, at a fixed BLAS
thread count; ``tests/unit/test_mlp_batch.py`` checks this bitwise, and the experiment runners
fix one BLAS thread (docs/theory.md, "Randomness").

Shapes: x is (n, d) (shared by the B networks) or (B, n, d); y is (n,) or (B, n) (integer
labels for the softmax loss); weights p are (n,) or (B, n).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from theory_sim.models.mlp_passes import _residual, pairs, pointwise_loss

if TYPE_CHECKING:  # the passes take an MLP; mlp.py imports this module
    from theory_sim.models.mlp import MLP

# Per-sample quantities (outputs, losses, gradient norms) are computed in row chunks of this many
# samples, so that (B, chunk, h) activations stay small whatever n is; rows do not interact there.
EVAL_ROWS = 4096


def stacked_views(mlp: MLP, thetas: np.ndarray) -> list:
    """[(W_l (B, h_{l-1}, h_l), b_l (B, 1, h_l)), …] as views of the rows of ``thetas`` (B, n_params)."""
    b_count = thetas.shape[0]
    out = []
    for wblk, bblk in pairs(mlp.layout()):
        fan_in = wblk.shape[0]
        fan_out = bblk.shape[0]
        out.append((thetas[:, wblk.start : wblk.stop].reshape(b_count, fan_in, fan_out),
                    thetas[:, bblk.start : bblk.stop].reshape(b_count, 1, fan_out)))
    return out


def hidden_activations(mlp: MLP, views: list, x: np.ndarray, matmul=np.matmul) -> list:
    """The hidden activations a_l = φ(a_{l-1} W_l + b_l), each (B, n, h_l), with the stacked product
    ``matmul`` (``views`` may include the output layer, which is not applied)."""
    a, acts = x, []
    for W, b in views[: len(mlp.hidden)]:
        z = matmul(a, W)
        z += b
        if mlp.activation == "tanh":
            np.tanh(z, out=z)
        else:
            np.maximum(z, 0.0, out=z)
        acts.append(z)
        a = z
    return acts


def forward(mlp: MLP, views: list, x: np.ndarray) -> tuple[list, np.ndarray]:
    """The hidden activations a_l, each (B, n, h_l), and the outputs v, (B, n, K)."""
    acts = hidden_activations(mlp, views, x)
    W, b = views[-1]
    v = np.matmul(acts[-1], W)
    v += b
    return acts, v


def loss_and_residual(mlp: MLP, v: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample losses f, (B, n), and ∂f/∂v, (B, n, K), for outputs v (B, n, K) and labels y."""
    if not mlp.multiclass:
        scalar = v[..., 0]
        f = pointwise_loss(mlp.loss, scalar, y)
        res = _residual(mlp.loss, scalar, y, np.empty_like(scalar))
        return f, res[..., None]
    labels = np.broadcast_to(y, v.shape[:-1])[..., None]
    top = v.max(axis=-1, keepdims=True)
    e = np.exp(v - top)
    total = e.sum(axis=-1, keepdims=True)
    f = (top + np.log(total) - np.take_along_axis(v, labels, axis=-1))[..., 0]
    e /= total  # softmax(v)
    np.put_along_axis(e, labels, np.take_along_axis(e, labels, axis=-1) - 1.0, axis=-1)
    return f, e


def _activation_derivative(mlp, a):
    """φ'(z) from a = φ(z): 1 − a² (tanh), 1{a > 0} (ReLU, φ'(0) = 0)."""
    if mlp.activation == "tanh":
        return 1.0 - a * a
    return (a > 0.0).astype(a.dtype)


def backward(mlp: MLP, views: list, acts: list, top: np.ndarray) -> list:
    """δ_l = ∂(Σ_i top_i · v_i)/∂z_l, each (B, n, h_l), given top = ∂/∂v per sample, (B, n, K)."""
    deltas = [None] * len(acts)
    delta = top
    for l in range(len(acts) - 1, -1, -1):
        delta = np.matmul(delta, views[l + 1][0].swapaxes(-1, -2))
        delta *= _activation_derivative(mlp, acts[l])
        deltas[l] = delta
    return deltas


class Step:
    r"""Buffers for the loss and gradient of B stacked networks on m rows each, reused step after step.

    ``Step(mlp, thetas, grad, m)`` keeps views of the rows of ``thetas`` and ``grad`` (B, n_params)
    (updated in place by the caller) and every intermediate array of :meth:`loss_and_grad`, so a
    training step allocates nothing and builds no views: the per-call overhead of numpy, which is
    most of a small network's step, is paid once per ufunc, not again for the temporaries.
    The numbers are bitwise those of the plain passes (:func:`forward`, :func:`loss_and_residual`,
    :func:`backward`): the same operations on ``out=`` buffers, the labels' entries gathered by flat
    index instead of ``take_along_axis``, the class maximum taken one class column at a time, and the
    bias gradients summed by :func:`row_sum`, each a few calls on whole columns instead of one short
    inner loop per row.
    """

    def __init__(self, mlp: MLP, thetas: np.ndarray, grad: np.ndarray, m: int):
        n_nets = thetas.shape[0]
        self.mlp, self.m = mlp, m
        self.relu = mlp.activation != "tanh"
        self.views = stacked_views(mlp, thetas)
        self.gviews = stacked_views(mlp, grad)
        self.w_t = [W.swapaxes(-1, -2) for W, _ in self.views[1:]]  # W_{l+1}ᵀ for the backward pass
        hidden = [np.empty((n_nets, m, h)) for h in mlp.hidden]
        self.acts = hidden
        self.deltas = [np.empty_like(a) for a in hidden]
        self.deriv = [np.empty_like(a) for a in hidden]
        k = mlp.classes
        self.v = np.empty((n_nets, m, k))
        self.e = np.empty((n_nets, m, k))
        self.top = np.empty((n_nets, m, 1))
        self.total = np.empty((n_nets, m, 1))
        self.f = np.empty((n_nets, m, 1))
        self.vy = np.empty((n_nets, m, 1))
        self.pf = np.empty((n_nets, m))
        self.flat = np.empty(n_nets * m, dtype=np.intp)
        self.offsets = np.arange(n_nets * m, dtype=np.intp) * k
        self.gsum = [np.empty((n_nets, fan_out)) for fan_out in mlp.widths[1:]]  # Σ_i err (bias gradients)

    def loss_and_grad(self, x, y, p) -> np.ndarray:
        """L^p(θ_b), shape (B,), with ∇L^p(θ_b) written into the rows of ``grad`` (x: (B, m, d) or (m, d);
        y, p: (B, m))."""
        mlp, views = self.mlp, self.views
        a = x
        for (W, b), z in zip(views, self.acts):
            np.matmul(a, W, out=z)
            z += b
            if self.relu:
                np.maximum(z, 0.0, out=z)
            else:
                np.tanh(z, out=z)
            a = z
        W, b = views[-1]
        v = np.matmul(a, W, out=self.v)
        v += b
        f = self._loss_and_residual(y)
        top = self.e
        p3 = p[..., None]
        top *= p3  # ∂L^p/∂v = p ∂f/∂v
        np.multiply(p, f, out=self.pf)
        loss = self.pf.sum(axis=-1)
        delta = top
        for l in range(len(self.acts) - 1, -1, -1):
            d = np.matmul(delta, self.w_t[l], out=self.deltas[l])
            a_l, deriv = self.acts[l], self.deriv[l]
            if self.relu:
                np.greater(a_l, 0.0, out=deriv)  # bool → 1.0 / 0.0, as (a > 0).astype(float)
            else:
                np.multiply(a_l, a_l, out=deriv)
                np.subtract(1.0, deriv, out=deriv)
            d *= deriv
            delta = d
        for (gW, gb), a_in, err, gsum in zip(self.gviews, [x, *self.acts], [*self.deltas, top], self.gsum):
            np.matmul(a_in.swapaxes(-1, -2), err, out=gW)
            row_sum(err, gb, gsum)
        return loss

    def _loss_and_residual(self, y):
        """f (B, m) and ∂f/∂v into self.e, as :func:`loss_and_residual`."""
        v, e = self.v, self.e
        if not self.mlp.multiclass:
            scalar = v[..., 0]
            f = pointwise_loss(self.mlp.loss, scalar, y, out=self.f[..., 0])
            _residual(self.mlp.loss, scalar, y, e[..., 0])
            return f
        flat = np.add(self.offsets, y.reshape(-1), out=self.flat)  # index of v[b, i, y_{b,i}] in v.ravel()
        # max_k v_k, one class column at a time: K − 1 calls on B·m numbers instead of B·m reductions of
        # K numbers. The maximum of a set does not depend on the order (NaN propagates either way); only
        # the sign of a zero maximum might, and v − top and top + log(total) (total ≥ 1) do not see it.
        top = np.maximum(v[..., 0:1], v[..., 1:2], out=self.top)
        for c in range(2, v.shape[-1]):
            np.maximum(top, v[..., c : c + 1], out=top)
        np.subtract(v, top, out=e)
        np.exp(e, out=e)
        total = np.sum(e, axis=-1, keepdims=True, out=self.total)
        f = np.log(total, out=self.f)
        np.add(top, f, out=f)
        np.take(v.reshape(-1), flat, out=self.vy.reshape(-1))
        f -= self.vy
        e /= total  # softmax(v)
        flat_e = e.reshape(-1)
        flat_e[flat] -= 1.0
        return f[..., 0]


def row_sum(err: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Σ_i err[b, i, :] into ``out`` (B, 1, h), bitwise ``err.sum(axis=-2, keepdims=True)``.

    For h ≥ 2 numpy's sum adds the rows in order, one short inner loop per row; einsum adds them in
    the same order in one pass (tests/unit/test_mlp_batch.py checks it bitwise), into the contiguous
    ``scratch`` (B, h). For h = 1 the rows are one contiguous axis, which numpy sums pairwise and
    einsum with SIMD partial sums that depend on the data's alignment: there, numpy's sum."""
    if err.shape[-1] == 1:
        return np.sum(err, axis=-2, keepdims=True, out=out)
    out[:, 0, :] = np.einsum("bij->bj", err, out=scratch)
    return out


def loss_and_grad(mlp: MLP, thetas: np.ndarray, x, y, p) -> tuple[np.ndarray, np.ndarray]:
    r"""L^p(θ_b) = Σ_i p_{b,i} f(z_{b,i}; θ_b), shape (B,), and its gradients, shape (B, n_params)."""
    n_nets, m = thetas.shape[0], x.shape[-2]
    grad = np.empty_like(thetas)
    loss = Step(mlp, thetas, grad, m).loss_and_grad(x, np.broadcast_to(y, (n_nets, m)), np.broadcast_to(p, (n_nets, m)))
    return loss, grad


def _row_chunks(n):
    return [slice(start, min(start + EVAL_ROWS, n)) for start in range(0, n, EVAL_ROWS)]


def outputs(mlp: MLP, thetas: np.ndarray, x: np.ndarray) -> np.ndarray:
    """v(x_i; θ_b), shape (B, n, K)."""
    views = stacked_views(mlp, thetas)
    n = x.shape[-2]
    out = np.empty((thetas.shape[0], n, mlp.classes))
    for s in _row_chunks(n):
        out[:, s] = forward(mlp, views, x[..., s, :])[1]
    return out


def sample_losses(mlp: MLP, thetas: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """f(z_i; θ_b), shape (B, n)."""
    views = stacked_views(mlp, thetas)
    n = x.shape[-2]
    out = np.empty((thetas.shape[0], n))
    for s in _row_chunks(n):
        out[:, s] = loss_and_residual(mlp, forward(mlp, views, x[..., s, :])[1], y[..., s])[0]
    return out


def grad_norms(mlp: MLP, thetas: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""‖∇_θ f(z_i; θ_b)‖₂, shape (B, n): Σ_l (‖a_{l-1,i}‖² + 1) ‖δ_{l,i}‖² (the gradient of W_l is the
    outer product a_{l-1,i} ⊗ δ_{l,i}; δ_{L+1,i} = ∂f_i/∂v), exact, without the (n, n_params) matrix."""
    views = stacked_views(mlp, thetas)
    n = x.shape[-2]
    out = np.empty((thetas.shape[0], n))
    for s in _row_chunks(n):
        xs = x[..., s, :]
        acts, v = forward(mlp, views, xs)
        res = loss_and_residual(mlp, v, y[..., s])[1]
        deltas = backward(mlp, views, acts, res)
        sq = 0.0
        for a_in, err in zip([xs, *acts], [*deltas, res]):
            sq = sq + (np.einsum("...ij,...ij->...i", a_in, a_in) + 1.0) * np.einsum("...ij,...ij->...i", err, err)
        out[:, s] = np.sqrt(sq)
    return out


def per_sample_grads(mlp: MLP, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """G[i] = ∇_θ f(z_i; θ) of one network, shape (n, n_params) (outer products a_{l-1,i} ⊗ δ_{l,i})."""
    thetas = theta[None, :]
    views = stacked_views(mlp, thetas)
    acts, v = forward(mlp, views, x)
    res = loss_and_residual(mlp, v, y)[1]
    deltas = backward(mlp, views, acts, res)
    n = x.shape[0]
    out = np.empty((n, mlp.n_params))
    for (wblk, bblk), a_in, err in zip(pairs(mlp.layout()), [x, *acts], [*deltas, res]):
        a_in = a_in if a_in.ndim == 2 else a_in[0]
        err = err[0]
        out[:, wblk.start : wblk.stop] = (a_in[:, :, None] * err[:, None, :]).reshape(n, -1)
        out[:, bblk.start : bblk.stop] = err
    return out
