r"""The forward and backward passes of :class:`theory_sim.models.mlp.MLP`, on preallocated buffers.

Loss, gradient and per-sample quantities of a network for n samples, with the elementwise work
done in cache-sized row blocks and the products routed to BLAS or numpy's own loop by size
(docs/theory.md, "Randomness": the runners fix BLAS to one thread, so the sums are in one order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

if TYPE_CHECKING:  # the passes take an MLP; mlp.py imports this module
    from theory_sim.models.mlp import MLP

# Products with a dimension ≤ SMALL_DIM (the d ≤ 2 input layer, the scalar output layer) go through
# numpy's own single-threaded loop (einsum): BLAS gains nothing there, and its threads can make
# such a product several times slower on a busy machine.
SMALL_DIM = 2
# Elementwise work is done in row blocks of about this many numbers (see forward).
BLOCK_SIZE = 2**15


# ---------------------------------------------------------------------------------------
# Forward and backward passes on preallocated buffers
# ---------------------------------------------------------------------------------------
class Workspace:
    """Buffers for n samples: activations a_l and errors δ_l (n, h_l), v, ∂f/∂v, f; a scratch block
    per layer, and the row blocks (slices) in which each layer's elementwise work is done."""

    def __init__(self, mlp: MLP, n: int):
        self.a = [np.empty((n, h)) for h in mlp.hidden]
        self.delta = [np.empty((n, h)) for h in mlp.hidden]
        self.blocks = [_row_blocks(n, h) for h in mlp.hidden]
        self.scratch = [np.empty((blocks[0].stop, h)) for blocks, h in zip(self.blocks, mlp.hidden)]
        self.v = np.empty(n)
        self.res = np.empty(n)
        self.f = np.empty(n)


def _row_blocks(n: int, width: int) -> list:
    """Consecutive row slices of about ``BLOCK_SIZE`` numbers of an (n, width) array."""
    rows = max(1, BLOCK_SIZE // width)
    return [slice(start, min(start + rows, n)) for start in range(0, n, rows)]


def layer_views(mlp: MLP, flat: np.ndarray) -> list:
    """[(W_1, b_1), …, (w_out, b_out)] as writable views of ``flat`` (b_out has shape (1,))."""
    blocks = mlp.layout()
    return [(flat[w.start : w.stop].reshape(w.shape), flat[b.start : b.stop]) for w, b in pairs(blocks)]


def pairs(blocks):
    return list(zip(blocks[0::2], blocks[1::2]))


def _is_small(a, b) -> bool:
    """Whether a @ b (a: (m, k); b: (k, n) or (k,)) has a dimension ≤ SMALL_DIM (then: einsum)."""
    return min(a.shape[0], a.shape[1], b.shape[1] if b.ndim == 2 else 1) <= SMALL_DIM


def _matmul(a, b, out):
    """a @ b into ``out`` (a: (m, k); b: (k, n) or (k,)): BLAS, or einsum when min(m, k, n) ≤ SMALL_DIM."""
    if _is_small(a, b):
        return np.einsum("ik,kj->ij" if b.ndim == 2 else "ik,k->i", a, b, out=out)
    return np.matmul(a, b, out=out)


# Row blocks. The elementwise passes over the (n, h) arrays (bias, φ, φ', products with the errors)
# are done block by block, so that the several passes over one block stay in cache instead of
# streaming n·h numbers from memory each time.
# They are elementwise, so the blocking changes no result; so are the einsum products (row i of
# the output from row i of the input only), which are blocked too. The BLAS products and every sum
# over the n samples (the gradients) run on whole arrays, as before, so their rounding is
# unchanged: BLAS on a block of rows may take another kernel (OpenBLAS's small-matrix path) and
# round differently (trained weights of a (64, 64) net on n = 200 change in the last bits with
# blocks of 3 rows).
# 2^15 numbers = 256 kB per buffer: a block's few buffers fit in L2, and a block is large enough
# that the per-block Python overhead (about 15 numpy calls) is small against its work.


def forward(mlp, views, x, ws, tail=None):
    """a_l (l = 1..L) and v into ``ws``; ``tail(s)``, if given, runs on each row block s of the last
    layer as soon as v[s] is known (the fused start of the backward pass in :func:`loss_and_grad`)."""
    a = x
    n_hidden = len(mlp.hidden)
    w_out, b_out = views[-1]
    for l, ((W, b), out) in enumerate(zip(views[:-1], ws.a)):
        small = _is_small(a, W)
        if not small:
            np.matmul(a, W, out=out)  # BLAS on the whole array: its summation order is unchanged
        last = l == n_hidden - 1
        for s in ws.blocks[l]:
            z = out[s]
            if small:
                np.einsum("ik,kj->ij", a[s], W, out=z)
            z += b
            if mlp.activation == "tanh":
                np.tanh(z, out=z)
            else:
                np.maximum(z, 0.0, out=z)
            if last:
                v = ws.v[s]
                np.einsum("ik,k->i", z, w_out, out=v)
                v += b_out[0]
                if tail is not None:
                    tail(s)
        a = out


def pointwise_loss(loss, v, y, out=None):
    if loss == "mse":
        out = np.subtract(v, y, out=out)
        np.multiply(out, out, out=out)
        out *= 0.5
        return out
    out = np.logaddexp(0.0, v, out=out)
    out -= y * v
    return out


def _residual(loss, v, y, out):
    """∂f/∂v: v − y (mse) or σ(v) − y (cross-entropy)."""
    if loss == "mse":
        return np.subtract(v, y, out=out)
    expit(v, out=out)
    out -= y
    return out


def _activation_derivative(mlp, a, out):
    """φ'(z) from a = φ(z): 1 − a² (tanh), 1{a > 0} (ReLU, with φ'(0) = 0)."""
    if mlp.activation == "tanh":
        np.multiply(a, a, out=out)
        np.subtract(1.0, out, out=out)
    else:
        np.greater(a, 0.0, out=out)  # bool → 1.0 / 0.0 in the float buffer
    return out


def _top_delta(mlp, views, ws, top, s):
    """δ_L[s] = (top[s] ⊗ w_out) · φ'(z_L[s]) on the row block s (the last hidden layer)."""
    l = len(mlp.hidden) - 1
    delta = ws.delta[l][s]
    np.multiply(top[s, None], views[-1][0][None, :], out=delta)
    delta *= _activation_derivative(mlp, ws.a[l][s], ws.scratch[l][: delta.shape[0]])


def _backpropagate(mlp, views, ws, top, from_layer=None):
    """Fill ws.delta[l] = ∂(Σ_i top_i v_i)/∂z_l row by row, given top = per-sample ∂/∂v, for the
    hidden layers l = ``from_layer``, …, 0 (0-based indices of ws.delta; default: all of them)."""
    n_hidden = len(mlp.hidden)
    from_layer = n_hidden - 1 if from_layer is None else from_layer
    for l in range(from_layer, -1, -1):
        if l == n_hidden - 1:
            for s in ws.blocks[l]:
                _top_delta(mlp, views, ws, top, s)
            continue
        delta, a, scratch = ws.delta[l], ws.a[l], ws.scratch[l]
        _matmul(ws.delta[l + 1], views[l + 1][0].T, delta)  # whole array (BLAS order unchanged)
        for s in ws.blocks[l]:
            d = delta[s]
            d *= _activation_derivative(mlp, a[s], scratch[: d.shape[0]])


def backward_deltas(mlp, views, ws, y):
    """Unweighted per-sample errors: (δ_1, …, δ_L) and ∂f/∂v."""
    res = _residual(mlp.loss, ws.v, y, ws.res)
    _backpropagate(mlp, views, ws, res)
    return ws.delta, res


def loss_and_grad(mlp, views, gviews, x, y, p, ws) -> float:
    """L^p(θ) and ∇L^p(θ) into ``gviews`` (views of one flat gradient), on preallocated buffers.

    The per-sample work of the last hidden layer (loss, ∂L^p/∂v_i = p_i ∂f_i/∂v, δ_L) is done in
    the forward pass's row blocks, while a_L is still in cache; the same operations, element by
    element, as a whole-array pass.
    """
    top = ws.res

    def tail(s):
        v = ws.v[s]
        pointwise_loss(mlp.loss, v, y[s], out=ws.f[s])
        t = _residual(mlp.loss, v, y[s], top[s])
        t *= p[s]  # ∂L^p/∂v_i = p_i ∂f_i/∂v
        _top_delta(mlp, views, ws, top, s)

    forward(mlp, views, x, ws, tail)
    loss = float(np.dot(p, ws.f))
    _backpropagate(mlp, views, ws, top, from_layer=len(mlp.hidden) - 2)
    inputs = [x, *ws.a]
    gw, gb = gviews[-1]
    _matmul(inputs[-1].T, top, gw)
    gb[0] = top.sum()
    for l in range(len(mlp.hidden)):
        gW, gbl = gviews[l]
        _matmul(inputs[l].T, ws.delta[l], gW)
        # Σ_i δ_l[i, :]: einsum adds the rows in order, as np.sum(axis=0) does (bitwise the same),
        # but in one vectorised pass: 17× faster for (10^5, 16) (np.sum loops row by row there).
        np.einsum("ij->j", ws.delta[l], out=gbl)
    return loss


