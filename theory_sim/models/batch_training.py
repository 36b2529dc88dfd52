r"""Mini-batch Adam for B networks of one architecture at once (docs/theory.md, "Batched networks").

:func:`train_batch` trains B independent networks of the same :class:`theory_sim.models.mlp.MLP`
(restarts, replications, pruning strategies on equal-sized kept sets) as one stacked computation
(:mod:`theory_sim.models.mlp_batch`), each network with its own data rows, weights and seeded
batch order, and each bitwise equal to the same network trained alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from theory_sim.models import mlp_batch
from theory_sim.models.mlp import DEFAULT_LR, MLP, _readonly, _require_finite, adam_step
from theory_sim.validation import as_generator, check_array, check_int, check_real

__all__ = ["BatchTrainResult", "train_batch"]


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
        m, s, step = np.zeros_like(thetas), np.zeros_like(thetas), np.empty_like(thetas)
        view = thetas.view()
        view.flags.writeable = False
        epoch_loss = np.empty((n_nets, epochs))
        if full:
            fixed = (x[rows], y[rows], np.full((n_nets, n), 1.0 / n) if p is None else p)
        t = 0
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging network is reported in `finite`
            for epoch in range(epochs):
                total = np.zeros(n_nets)
                perm = None if full else np.stack([g.permutation(n) for g in gens])
                starts = range(0, n, batch_size)
                for start in starts:
                    if full:
                        xb, yb, pb = fixed
                    else:
                        idx = perm[:, start : start + batch_size]
                        picked = np.take_along_axis(rows, idx, axis=1)
                        size = idx.shape[1]
                        xb, yb = x[picked], y[picked]
                        pb = (np.full((n_nets, size), 1.0 / size) if p is None
                              else np.take_along_axis(p, idx, axis=1) * (n / size))
                    loss, grad = mlp_batch.loss_and_grad(mlp, thetas, xb, yb, pb)
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
