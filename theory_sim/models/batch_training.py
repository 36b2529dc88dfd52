r"""Mini-batch Adam for B networks of one architecture at once (docs/theory.md, "Batched networks").

:func:`train_batch` trains B independent networks of the same :class:`theory_sim.models.mlp.MLP`
(restarts, replications, pruning strategies on equal-sized kept sets) as one stacked computation
(:mod:`theory_sim.models.mlp_batch`), each network with its own data rows, weights and seeded
batch order, and each bitwise equal to the same network trained alone.

:func:`train_many` does the same for the full-batch training of scalar-output networks
(:func:`theory_sim.models.mlp.train`, which the C7/C8 experiments and the real-data check use):
B networks of one architecture, each on its own data, stacked, each bitwise equal to ``train``
on it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from theory_sim.models import mlp_batch
from theory_sim.models.mlp import (DEFAULT_LR, DEFAULT_TOL, MLP, OPTIMIZERS, _readonly, _require_finite, _train_result,
                                   adam_step, train)
from theory_sim.models.mlp_passes import SMALL_DIM, _residual, pointwise_loss
from theory_sim.validation import as_generator, check_array, check_choice, check_int, check_real

__all__ = ["STACK_MAX_ROWS_X_WIDTH", "STACK_NUMBERS", "BatchTrainResult", "train_batch", "train_many"]

# train_many stacks a group of networks with n training points when n × max(hidden) is at most
# STACK_MAX_ROWS_X_WIDTH, in chunks of at most STACK_NUMBERS // (n × max(hidden)) networks (the
# stacked (B, n, h) arrays within 2 MB); benchmarks/bench_batched_mlp.py --scalar measures both sides.
STACK_MAX_ROWS_X_WIDTH = 2**15
STACK_NUMBERS = 2**18


@dataclass(frozen=True, eq=False)
class BatchTrainResult:
    """Result of :func:`train_batch` for B networks.

    Attributes
    ----------
    mlp : MLP
    params : ndarray, shape (B, n_params)
        θ_b after the last step (read-only).
    loss : ndarray, shape (B,)
        L^p(θ_b) on network b's whole training set after the last step.
    epoch_loss : ndarray, shape (B, epochs)
        Mean of the mini-batch losses of each epoch (the running training loss).
    finite : ndarray of bool, shape (B,)
        Every loss and parameter of network b stayed finite.
    epochs : int
    batch_size : int
    """

    mlp: MLP
    params: np.ndarray
    loss: np.ndarray
    epoch_loss: np.ndarray
    finite: np.ndarray
    epochs: int
    batch_size: int


def train_batch(mlp: MLP, x, y, weights=None, *, theta0, epochs: int, batch_size=None, rows=None, order=None,
                lr=None, callback=None) -> BatchTrainResult:
    r"""Train B networks of one architecture by mini-batch Adam, as one stacked computation.

    Network b minimises L^p_b(θ) = Σ_i p_{b,i} f(z_{b,i}; θ) over its n training points z_{b,i} =
    (x[rows[b, i]], y[rows[b, i]]). Each epoch draws a fresh permutation π of {0, …, n − 1} from
    network b's own generator ``order[b]`` and takes one Adam step (the update of :func:`train`)
    per consecutive block S of π of ``batch_size`` positions (the last block may be shorter), on
    the unbiased estimate

    .. math::  \frac{n}{|S|} \sum_{i ∈ S} p_{b,i}\, ∇f(z_{b,i}; θ)

    (the mean of ∇f_i over S when p = 1/n).

    The B networks are evaluated by the stacked passes of :mod:`theory_sim.models.mlp_batch`: network
    b's result is bitwise that of ``train_batch`` on network b alone (B = 1, the same arguments
    restricted to b), at a fixed BLAS thread count (one thread here, as in :func:`train`).

    Parameters
    ----------
    mlp : MLP
    x : array_like, shape (N, d)
        The data pool, shared by the networks.
    y : array_like, shape (N,)
        Labels (class indices for the softmax loss).
    weights : array_like, shape (n,) or (B, n), optional
        p ≥ 0 (default 1/n), e.g. a ``Selection.weights`` per network.
    theta0 : array_like, shape (B, n_params)
        The networks' starting points.
    epochs : int ≥ 1
    batch_size : int in [1, n], optional
        Mini-batch size; default n (full batch: one step per epoch, no order drawn).
    rows : array_like of int, shape (B, n) or (n,), optional
        Network b's training points are the rows ``rows[b]`` of the pool (default: all N rows).
    order : sequence of B (Generator, SeedSequence or int), optional
        The generators of the batch orders; required when batch_size < n.
    lr : float > 0, optional
        Adam's η (default ``DEFAULT_LR['adam']``).
    callback : callable(epoch, params), optional
        Called after each epoch with the (B, n_params) parameters (read-only view).

    Returns
    -------
    BatchTrainResult
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP (see make_mlp), got {type(mlp).__name__}")
    x = mlp._x(x)
    n_pool = x.shape[0]
    if mlp.multiclass:
        y = mlp._labels(y, n_pool)
    else:
        y = mlp._xy(x, y)[1]
    thetas = check_array("theta0", theta0, ndim=2)
    if thetas.shape[1] != mlp.n_params or thetas.shape[0] < 1:
        raise ValueError(f"theta0 must have shape (B, {mlp.n_params}) with B ≥ 1, got {thetas.shape}")
    _require_finite("theta0", thetas)
    thetas = thetas.copy()
    n_nets = thetas.shape[0]
    if rows is None:
        rows = np.broadcast_to(np.arange(n_pool), (n_nets, n_pool))
    else:
        rows = np.asarray(rows)
        if rows.dtype.kind not in "iu" or rows.ndim not in (1, 2) or rows.shape[-1] < 1:
            raise ValueError(f"rows must be an integer array of shape (n,) or (B, n), got {rows.dtype} {rows.shape}")
        rows = np.broadcast_to(rows, (n_nets, rows.shape[-1]))
        if rows.min() < 0 or rows.max() >= n_pool:
            raise ValueError(f"rows must index the {n_pool} rows of x, got values in [{rows.min()}, {rows.max()}]")
    n = rows.shape[1]
    if weights is None:
        p = None
    else:
        p = check_array("weights", weights)
        if p.shape not in ((n,), (n_nets, n)):
            raise ValueError(f"weights must have shape ({n},) or ({n_nets}, {n}), got {p.shape}")
        _require_finite("weights", p)
        if (p < 0).any():
            raise ValueError("weights must be ≥ 0, got a negative weight")
        p = np.broadcast_to(p, (n_nets, n))
    epochs = check_int("epochs", epochs, low=1)
    batch_size = n if batch_size is None else check_int("batch_size", batch_size, low=1, high=n)
    lr = DEFAULT_LR["adam"] if lr is None else check_real("lr", lr, low=0.0, low_open=True)
    full = batch_size == n
    if not full:
        if order is None or len(order) != n_nets:
            raise ValueError(f"order must give one generator per network ({n_nets}) when batch_size < n, "
                             f"got {order!r}")
        gens = [as_generator(g) for g in order]

    with threadpool_limits(limits=1, user_api="blas"):
        m, s, step, grad = (np.empty_like(thetas) for _ in range(4))
        m[...] = 0.0
        s[...] = 0.0
        view = thetas.view()
        view.flags.writeable = False
        epoch_loss = np.empty((n_nets, epochs))
        passes = {}  # rows per step -> mlp_batch.Step (at most two sizes: the batch and the last, shorter one)
        uniform = {}  # rows per step -> the weights 1/size
        if full:
            fixed = (x[rows], y[rows], np.full((n_nets, n), 1.0 / n) if p is None else p)
        t = 0
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging network is reported in `finite`
            for epoch in range(epochs):
                total = np.zeros(n_nets)
                if not full:
                    perm = np.stack([g.permutation(n) for g in gens])
                    picked_all = np.take_along_axis(rows, perm, axis=1)  # the pool rows in batch order
                    p_all = None if p is None else np.take_along_axis(p, perm, axis=1)
                starts = range(0, n, batch_size)
                for start in starts:
                    if full:
                        xb, yb, pb = fixed
                    else:
                        picked = picked_all[:, start : start + batch_size]
                        size = picked.shape[1]
                        xb, yb = x[picked], y[picked]
                        if p is None:
                            pb = uniform.get(size)
                            if pb is None:
                                pb = uniform[size] = np.full((n_nets, size), 1.0 / size)
                        else:
                            pb = p_all[:, start : start + batch_size] * (n / size)
                    size = yb.shape[1]
                    pas = passes.get(size)
                    if pas is None:
                        pas = passes[size] = mlp_batch.Step(mlp, thetas, grad, size)
                    loss = pas.loss_and_grad(xb, yb, pb)
                    t += 1
                    thetas -= adam_step(grad, m, s, t, lr, step)
                    total += loss
                epoch_loss[:, epoch] = total / len(starts)
                if callback is not None:
                    callback(epoch + 1, view)
            final = mlp_batch.sample_losses(mlp, thetas, x[rows], y[rows])
            final = ((np.full((n_nets, n), 1.0 / n) if p is None else p) * final).sum(axis=-1)
    finite = np.isfinite(epoch_loss).all(axis=1) & np.isfinite(thetas).all(axis=1) & np.isfinite(final)
    return BatchTrainResult(mlp, _readonly(thetas), _readonly(final), _readonly(epoch_loss), _readonly(finite),
                            epochs, batch_size)


# --------------------------------------------------------------------------------------
# Full-batch training of B scalar-output networks at once (train_many)
# --------------------------------------------------------------------------------------
def _small(a_shape, b_shape):
    """Whether the product of (B, m, k) and (B, k, n) has min(m, k, n) ≤ SMALL_DIM (then: einsum)."""
    return min(a_shape[-2], a_shape[-1], b_shape[-1]) <= SMALL_DIM


def _stacked_matmul(a, b, out):
    """a @ b per network (a: (B, m, k), b: (B, k, n)) into ``out``, as
    :func:`theory_sim.models.mlp_passes._matmul` does it for one network: BLAS, or einsum when
    min(m, k, n) ≤ SMALL_DIM."""
    if _small(a.shape, b.shape):
        return np.einsum("bik,bkj->bij", a, b, out=out)
    return np.matmul(a, b, out=out)


class _ScalarStep:
    """The loss and gradient of B stacked scalar-output networks on their own n rows each, on buffers
    kept from step to step (views of θ and of the gradient built once, every intermediate written
    with ``out=``): the operations of :func:`theory_sim.models.mlp_passes.loss_and_grad`, each on the B
    networks at once (elementwise operations, reductions along one network's own axis, and products
    that evaluate one network's product per network with the same routine and shapes). ``thetas``
    is updated in place by the caller; a new step is made when networks leave the stack."""

    def __init__(self, mlp, thetas, n):
        n_nets = thetas.shape[0]
        self.mlp, self.tanh = mlp, mlp.activation == "tanh"
        self.grad = np.empty_like(thetas)
        self.views = mlp_batch.stacked_views(mlp, thetas)
        self.gviews = mlp_batch.stacked_views(mlp, self.grad)
        w_out, b_out = self.views[-1]
        self.w_out, self.b_out = w_out[..., 0], b_out[..., 0]  # (B, h_L), (B, 1)
        self.acts = [np.empty((n_nets, n, h)) for h in mlp.hidden]
        self.deltas = [np.empty_like(a) for a in self.acts]
        self.deriv = [np.empty_like(a) for a in self.acts]
        self.v, self.f, self.top = (np.empty((n_nets, n)) for _ in range(3))
        # einsum's outputs are written to contiguous buffers and copied into the gradient's rows
        self.gvec = [np.empty((n_nets, h)) for h in mlp.hidden]
        self.gmat = [np.empty((n_nets, fan_in, h)) for fan_in, h in zip(mlp.widths, mlp.hidden)]

    def _derivative(self, l):
        """φ'(z_l) from a_l, as mlp_batch._activation_derivative (1 − a², or 1{a > 0})."""
        a, out = self.acts[l], self.deriv[l]
        if self.tanh:
            np.multiply(a, a, out=out)
            return np.subtract(1.0, out, out=out)
        return np.greater(a, 0.0, out=out)  # bool → 1.0 / 0.0, as (a > 0).astype(float)

    def loss_and_grad(self, x, y, p):
        """L^p(θ_b), shape (B,), with ∇L^p(θ_b) in ``self.grad``, for x (B, n, d), y (B, n), p (B, n)."""
        mlp, views = self.mlp, self.views
        a = x
        for (W, b), z in zip(views, self.acts):
            _stacked_matmul(a, W, z)
            z += b
            if self.tanh:
                np.tanh(z, out=z)
            else:
                np.maximum(z, 0.0, out=z)
            a = z
        v = np.einsum("bik,bk->bi", a, self.w_out, out=self.v)
        v += self.b_out
        f = pointwise_loss(mlp.loss, v, y, out=self.f)
        top = _residual(mlp.loss, v, y, self.top)
        top *= p
        n_hidden = len(self.acts)
        delta = np.multiply(top[..., None], self.w_out[:, None, :], out=self.deltas[-1])
        delta *= self._derivative(n_hidden - 1)
        for l in range(n_hidden - 2, -1, -1):
            delta = _stacked_matmul(delta, views[l + 1][0].swapaxes(-1, -2), self.deltas[l])
            delta *= self._derivative(l)
        loss = np.matmul(p[:, None, :], f[..., None])[:, 0, 0]  # per network p·f, numpy's dot (as np.dot(p, f))
        gw, gb = self.gviews[-1]
        gw[..., 0] = np.einsum("bki,bk->bi", a, top, out=self.gvec[-1])
        gb[..., 0, 0] = top.sum(axis=-1)
        for l, a_in in enumerate([x, *self.acts[:-1]]):
            gW, gbl = self.gviews[l]
            a_t = a_in.swapaxes(-1, -2)
            if _small(a_t.shape, self.deltas[l].shape):
                gW[...] = _stacked_matmul(a_t, self.deltas[l], self.gmat[l])
            else:
                _stacked_matmul(a_t, self.deltas[l], gW)
            gbl[:, 0, :] = np.einsum("bij->bj", self.deltas[l], out=self.gvec[l])
        return loss


def train_many(mlp: MLP, data, *, theta0, optimizer: str = "adam", lr=None, max_iter: int = 2000,
               tol: float = DEFAULT_TOL, stack=None) -> list:
    r""":func:`theory_sim.models.mlp.train` for B scalar-output networks of one architecture, stacked.

    Network b minimises L^p_b(θ) = Σ_i p_{b,i} f(z_{b,i}; θ) on its own data ``data[b] = (x_b,
    y_b, p_b)`` from ``theta0[b]`` by full-batch Adam or GD, and stops as :func:`train` does (at
    ‖∇L^p_b‖₂ ≤ tol, after ``max_iter`` steps, or at a non-finite loss, returning θ_{t−1}). The
    networks with the same number of training points form one group, trained as one stacked
    computation: every operation of :func:`theory_sim.models.mlp_passes.loss_and_grad` and of
    Adam is applied to the group's B networks at once, as an elementwise operation, a reduction
    along one network's own axis, or a product evaluated per network by the same routine with
    the same shapes. So each network's result is **bitwise** that of :func:`train` on it alone
    (one BLAS thread; ``tests/unit/test_mlp_batch.py`` checks this), and the grouping rule below
    changes no number.

    Stacking pays when the per-call overhead of numpy dominates (small n·h); for large n·h the
    stacked (B, n, h) arrays leave the cache and one network at a time is as fast or faster.
    A group is stacked when n × max(hidden) ≤ ``STACK_MAX_ROWS_X_WIDTH``, in chunks of at most
    ``STACK_NUMBERS // (n × max(hidden))`` networks (the stacked activations stay in cache), else
    its networks are trained one by one (``benchmarks/bench_batched_mlp.py --scalar`` measures
    both sides of the rule).

    Parameters
    ----------
    mlp : MLP
        A scalar-output network (``mse`` or ``cross-entropy``).
    data : sequence of B tuples (x, y, weights)
        x (n_b, d), y (n_b,), weights (n_b,) or None (1/n_b), as for :func:`train`.
    theta0 : sequence of B arrays of shape (n_params,)
    optimizer, lr, max_iter, tol
        As for :func:`train` (the same for every network).
    stack : bool, optional
        Force (True: each group as one stack, whatever its size) or forbid (False) stacking;
        default: the rule above.

    Returns
    -------
    list of B TrainResult
        ``result[b]`` is bitwise ``train(mlp, x_b, y_b, p_b, theta0=theta0[b], …)``.
    """
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP (see make_mlp), got {type(mlp).__name__}")
    if mlp.multiclass:
        raise ValueError(f"train_many runs the scalar losses; train {mlp.loss} networks with train_batch")
    data, theta0 = list(data), list(theta0)
    if len(data) != len(theta0):
        raise ValueError(f"theta0 must give one starting point per network ({len(data)}), got {len(theta0)}")
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = DEFAULT_LR[optimizer] if lr is None else check_real("lr", lr, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=0)
    tol = check_real("tol", tol, low=0.0)
    jobs = []
    for b, ((x, y, weights), th) in enumerate(zip(data, theta0)):
        x, y = mlp._xy(x, y)
        p = mlp._weights(weights, x.shape[0])
        if not p.any():
            raise ValueError(f"weights of network {b} must not be all zero: the weighted loss would be 0 "
                             "for every theta")
        jobs.append((x, y, p, mlp._theta(th, f"theta0[{b}]")))
    results = [None] * len(jobs)
    groups = {}
    for b, job in enumerate(jobs):
        groups.setdefault(job[0].shape[0], []).append(b)
    for n, members in groups.items():
        size = n * max(mlp.hidden)
        if stack if stack is not None else size <= STACK_MAX_ROWS_X_WIDTH:
            chunk = len(members) if stack else max(1, STACK_NUMBERS // size)
            for start in range(0, len(members), chunk):
                part = members[start : start + chunk]
                for b, fit in zip(part, _train_stacked(mlp, [jobs[b] for b in part], optimizer, lr, max_iter, tol)):
                    results[b] = fit
        else:
            for b in members:
                x, y, p, th = jobs[b]
                results[b] = train(mlp, x, y, p, optimizer=optimizer, lr=lr, max_iter=max_iter, tol=tol, theta0=th)
    return results


def _train_stacked(mlp, jobs, optimizer, lr, max_iter, tol):
    """The loop of :func:`train` on the stacked networks ``jobs`` [(x, y, p, θ₀)] of equal n."""
    x = np.stack([j[0] for j in jobs])
    y = np.stack([j[1] for j in jobs])
    p = np.stack([j[2] for j in jobs])
    theta = np.stack([j[3] for j in jobs])
    ids = np.arange(len(jobs))  # the job of each stacked row
    history = np.empty((len(jobs), max_iter + 1))
    out = [None] * len(jobs)
    m, s = np.zeros_like(theta), np.zeros_like(theta)
    prev = last_loss = last_gnorm = None
    t = 0
    pas = None
    with threadpool_limits(limits=1, user_api="blas"):  # as train: one summation order everywhere
        while True:
            if pas is None:  # the stack's buffers, made again when networks leave it
                pas, step = _ScalarStep(mlp, theta, x.shape[1]), np.empty_like(theta)
            with np.errstate(over="ignore", invalid="ignore"):
                loss = pas.loss_and_grad(x, y, p)
                grad = pas.grad
                gnorm = np.sqrt(np.matmul(grad[:, None, :], grad[..., None])[:, 0, 0])  # per network g·g
            finite = np.isfinite(loss) & np.isfinite(gnorm)
            history[ids[finite], t] = loss[finite]
            done = ~finite | (gnorm <= tol) | (t >= max_iter)
            for k in np.flatnonzero(done):
                b = ids[k]
                if not finite[k]:
                    if prev is None:
                        raise ValueError(f"the loss or its gradient of network {b} is not finite at theta0 (loss "
                                         f"{loss[k]!r}); rescale x and y or start elsewhere")
                    out[b] = _train_result(mlp, prev[k], last_loss[k], last_gnorm[k], history[b, :t], False, t - 1,
                                           optimizer, f"loss not finite after step {t}: lower lr (returned θ_{t - 1})")
                elif gnorm[k] <= tol:
                    out[b] = _train_result(mlp, theta[k], loss[k], gnorm[k], history[b, : t + 1], True, t, optimizer,
                                           f"gradient norm {gnorm[k]:.3g} ≤ tol {tol:g}")
                else:
                    out[b] = _train_result(mlp, theta[k], loss[k], gnorm[k], history[b, : t + 1], False, t, optimizer,
                                           f"max_iter = {max_iter} steps reached (gradient norm {gnorm[k]:.3g})")
            if done.any():
                keep = ~done
                ids, theta, m, s, x, y, p = (arr[keep] for arr in (ids, theta, m, s, x, y, p))
                loss, gnorm, grad = loss[keep], gnorm[keep], grad[keep]
                pas = None
                if not ids.size:
                    return out
            prev, last_loss, last_gnorm = theta.copy(), loss, gnorm
            t += 1
            if pas is None:
                step = np.empty_like(theta)
            if optimizer == "gd":
                np.multiply(grad, lr, out=step)
            else:
                adam_step(grad, m, s, t, lr, step)
            theta -= step
