r"""Difficulty scores read from a briefly trained probe network (EL2N, GraNd, margin, forgetting).

The scores of the data-pruning literature on real data are not functions of x fixed in
advance (as :mod:`theory_sim.core.scores` are): they are read off a *probe* network trained for a
few steps on the very data to be pruned. This module trains such a probe — a scalar-output
:class:`~theory_sim.models.mlp.MLP` with the binary cross-entropy loss f(z; θ) = log(1 + e^v) − y v,
y ∈ {0, 1}, v = v(x; θ) the logit — by full-batch Adam for ``epochs`` steps, and returns, for
each training point z_i = (x_i, y_i), with θ_T the probe's parameters after the last step:

==============  ===========================================================  ===========
score           definition                                                   hard end
==============  ===========================================================  ===========
``el2n``        ‖p(x_i) − onehot(y_i)‖₂ = √2 |σ(v_i) − y_i|                  high
``grand``       ‖∇_θ f(z_i; θ_T)‖₂ (exact per-sample gradient norm)          high
``margin``      (2 y_i − 1) v_i, the signed logit margin (label-dependent)   low
``abs_margin``  |v_i|, the label-free variant of the margin (confidence)     low
``forgetting``  number of correct → incorrect transitions during training     high
==============  ===========================================================  ===========

EL2N (Paul et al. 2021, "Deep learning on a data diet") is the L2 norm of the error vector of
the softmax output. With a scalar logit the two-class softmax is p = (1 − σ(v), σ(v)) and
onehot(y) = (1 − y, y), so the norm is √2 |σ(v) − y|; we keep the √2 so the numbers are those
of the two-output network (the ranking is that of |σ(v) − y| either way).
GraNd (same paper) is the norm of the per-sample loss gradient, computed exactly by
:meth:`~theory_sim.models.mlp.MLP.grad_norms` (no (n, n_params) matrix). Paul et al. average both over
several probe initialisations; ``inits > 1`` does the same here, for every score.

Forgetting (Toneva et al. 2019, "An empirical study of example forgetting"): after every
``record_every`` Adam steps (after steps m, 2m, …, ⌊T/m⌋ m; **not** at the initialisation) the
probe's prediction ŷ_i = 1{v_i > 0} is recorded and compared with y_i; a *forgetting event* is a
transition correct → incorrect between two consecutive records. Full-batch training has no
mini-batch order, so one "epoch" of Toneva et al. is one full-batch step here. **Convention for
never-learned examples**: Toneva et al. treat them as forgotten infinitely often; we give them the
finite count R (the number of records), larger than any achievable count (at most ⌊R/2⌋), so that
they rank hardest and the array stays finite (JSON- and average-friendly). The count of
:func:`forgetting_counts` is a small function over the (R, n) boolean correctness array so that
it can be tested exactly.

K classes (``classes=K``). The probe is a K-output network with the softmax cross-entropy
(:class:`~theory_sim.models.mlp.MLP` with ``classes=K``), trained by mini-batch Adam
(:func:`~theory_sim.models.batch_training.train_batch`, ``batch_size``; full batch by default, one step per
epoch as above) for ``epochs`` epochs, the ``inits`` probes as one stacked computation. With
logits v ∈ R^K and p = softmax(v):

==============  ===========================================================  ===========
``el2n``        ‖p(x_i) − onehot(y_i)‖₂                                      high
``grand``       ‖∇_θ f(z_i; θ_T)‖₂                                           high
``margin``      v_{y_i} − max_{k ≠ y_i} v_k (true class against the best other)  low
``abs_margin``  v_(1) − v_(2), the gap between the two largest logits         low
                (label-free: the probe's confidence)
``forgetting``  as above, with ŷ_i = argmax_k v_k, recorded after every m-th epoch  high
==============  ===========================================================  ===========

These are the binary scores when K = 2: the scalar logit v is the two-logit network (0, v), for
which ‖p − onehot‖ = √2 |σ(v) − y|, v_y − v_other = (2y − 1) v and the top-two gap is |v|.

Every score declares its orientation (docs/theory.md, "Definitions": no code guesses it): :attr:`ProbeScores.HARD`
says which end is hard, and :meth:`ProbeScores.keep` gives the ``keep`` argument of
:func:`theory_sim.core.pruning.prune` that keeps the hard (or the easy) examples.

Reproducibility: the only random numbers are the probe initialisations, drawn one after the
other from ``rng``; training is deterministic (one BLAS thread, as in :func:`theory_sim.models.mlp.train`),
so the same seed gives the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy.special import expit

from theory_sim.validation import as_generator, check_array, check_choice, check_int, check_real
from theory_sim.models import mlp_batch
from theory_sim.models.batch_training import train_batch
from theory_sim.models.mlp import ACTIVATIONS, MLP, SOFTMAX, train

__all__ = ["PROBE_SCORES", "ProbeScores", "class_scores", "forgetting_counts", "probe_scores"]

PROBE_SCORES = ("el2n", "grand", "margin", "abs_margin", "forgetting")


@dataclass(frozen=True, eq=False)
class ProbeScores:
    """Scores of n training points from a probe network (see the module docstring).

    Attributes
    ----------
    el2n, grand, margin, abs_margin, forgetting : ndarray, shape (n,)
        The scores, averaged over the ``inits`` probe initialisations (read-only).
    logit : ndarray, shape (inits, n), or (inits, n, K) for K classes
        v(x_i; θ_T) of each probe at its last step.
    params : ndarray, shape (inits, n_params)
        θ_T of each probe (layout of :class:`~theory_sim.models.mlp.MLP`).
    mlp : MLP
        The probe's architecture.
    train_accuracy : ndarray, shape (inits,)
        Fraction of the n points each probe classifies correctly (ŷ = 1{v > 0}) at its last step.
    epochs : int
        Adam steps T per probe.
    record_every : int
        Steps between two correctness records (forgetting).
    inits : int
    """

    el2n: np.ndarray
    grand: np.ndarray
    margin: np.ndarray
    abs_margin: np.ndarray
    forgetting: np.ndarray
    logit: np.ndarray
    params: np.ndarray
    mlp: MLP
    train_accuracy: np.ndarray
    epochs: int
    record_every: int
    inits: int

    #: Which end of each score holds the hard examples.
    HARD = MappingProxyType({"el2n": "high", "grand": "high", "margin": "low", "abs_margin": "low",
                             "forgetting": "high"})

    def score(self, name: str) -> np.ndarray:
        """The score array called ``name`` (one of ``PROBE_SCORES``)."""
        return getattr(self, check_choice("score", name, PROBE_SCORES))

    def keep(self, name: str, which: str = "hard") -> str:
        """The ``keep`` argument of :func:`theory_sim.core.pruning.prune` that keeps the ``which`` examples.

        ``keep("el2n", "hard") == "highest"``, ``keep("margin", "hard") == "lowest"``, and
        ``which="easy"`` gives the other end.
        """
        name = check_choice("score", name, PROBE_SCORES)
        which = check_choice("which", which, ("hard", "easy"))
        hard_is_high = self.HARD[name] == "high"
        return "highest" if hard_is_high == (which == "hard") else "lowest"


def forgetting_counts(correct) -> np.ndarray:
    r"""Toneva et al. forgetting counts from a correctness record.

    .. math::

        c_i = \sum_{t=1}^{R-1} 1\{a_{t-1,i} = 1,\ a_{t,i} = 0\}, \qquad
        c_i = R \ \text{if}\ a_{t,i} = 0 \ \text{for every } t \ \text{(never learned)}.

    Parameters
    ----------
    correct : array_like of bool, shape (R, n), R ≥ 1
        a_{t,i}: whether point i is classified correctly at record t.

    Returns
    -------
    counts : ndarray, shape (n,), float64
        In {0, …, ⌊R/2⌋} for points learned at least once, R for the never-learned ones.
    """
    arr = np.asarray(correct)
    if arr.dtype != np.bool_:
        raise TypeError(f"correct must be a boolean array, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"correct must have shape (R, n) with R ≥ 1 and n ≥ 1, got {arr.shape}")
    counts = (arr[:-1] & ~arr[1:]).sum(axis=0).astype(np.float64)
    counts[~arr.any(axis=0)] = float(arr.shape[0])
    return counts


def probe_scores(x, y, *, hidden=(32,), activation: str = "tanh", epochs: int = 100, lr: float = 1e-2,
                 inits: int = 1, record_every: int = 1, rng=None, classes=None, batch_size=None) -> ProbeScores:
    r"""Train ``inits`` probe MLPs for ``epochs`` full-batch Adam steps and score every point.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Inputs (already standardised: the probe uses them as given).
    y : array_like, shape (n,)
        Binary labels, each 0 or 1 (``classes`` None); class labels in {0, …, K − 1} (``classes=K``).
    hidden : tuple of int
        Hidden widths of the probe.
    activation : {'tanh', 'relu'}
    epochs : int ≥ 1
        T, the Adam steps of each probe (one step = one pass over the data = one "epoch").
    lr : float > 0
        Adam's step size η (β and ε of :func:`theory_sim.models.mlp.train`).
    inits : int ≥ 1
        Probe initialisations averaged over (Paul et al. 2021 average EL2N over inits).
    record_every : int in [1, epochs]
        m: correctness is recorded after steps m, 2m, …, for the forgetting counts.
    rng : Generator, SeedSequence, int or None
        The initialisations θ_0 of the probes are drawn one after the other from it (for K
        classes, then the probes' batch orders: ``rng.spawn(inits)``).
    classes : int ≥ 2, optional
        K: a K-class softmax probe (see the module docstring); None: the binary probe.
    batch_size : int, optional
        Mini-batch size of the K-class probe (default n: full batch). Only with ``classes``.

    Returns
    -------
    ProbeScores

    Notes
    -----
    The probe is trained by :func:`theory_sim.models.mlp.train` (Adam, one BLAS thread), whose
    ``callback`` records correctness between steps. It takes exactly ``epochs`` steps (``tol=0``:
    no stopping on a small gradient), so every probe has the same training budget.
    """
    x = check_array("x", x, ndim=2)
    n, d = x.shape
    if n < 1 or d < 1:
        raise ValueError(f"x must have shape (n, d) with n ≥ 1 and d ≥ 1, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x must be finite, got a non-finite entry")
    if classes is not None:
        return _multiclass_probe(x, y, check_int("classes", classes, low=2), hidden, activation, epochs, lr, inits,
                                 record_every, batch_size, rng)
    if batch_size is not None:
        raise ValueError(f"batch_size is for the K-class probe (give classes), got batch_size={batch_size!r}")
    y = check_array("y", y, shape=(n,))
    bad = np.flatnonzero((y != 0.0) & (y != 1.0))
    if bad.size:
        raise ValueError(f"y must hold binary labels 0 or 1, got {float(y[bad[0]])!r} at index {bad[0]}")
    check_choice("activation", activation, ACTIVATIONS)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    inits = check_int("inits", inits, low=1)
    record_every = check_int("record_every", record_every, low=1, high=epochs)
    mlp = MLP(d, hidden, activation, "cross-entropy")
    gen = as_generator(rng)

    sign = 2.0 * y - 1.0
    el2n, grand, margin, absm, forget = (np.zeros(n) for _ in range(5))
    logits, params, accuracy = np.empty((inits, n)), np.empty((inits, mlp.n_params)), np.empty(inits)
    for j in range(inits):
        theta, correct = _adam_with_records(mlp, mlp.init(gen), x, y, epochs, lr, record_every)
        v = mlp.output(theta, x)
        logits[j], params[j] = v, theta
        accuracy[j] = np.mean((v > 0.0) == (y == 1.0))
        el2n += np.sqrt(2.0) * np.abs(_sigmoid(v) - y)
        grand += mlp.grad_norms(theta, x, y)
        margin += sign * v
        absm += np.abs(v)
        forget += forgetting_counts(correct)
    arrays = [a / inits for a in (el2n, grand, margin, absm, forget)] + [logits, params, accuracy]
    for a in arrays:
        a.setflags(write=False)
    return ProbeScores(*arrays[:7], mlp, arrays[7], epochs=epochs, record_every=record_every, inits=inits)


def class_scores(mlp: MLP, params, x, labels) -> tuple:
    """Logits (B, n, K) and the K-class scores EL2N, margin, top-two gap and GraNd, each (B, n), of the
    B networks ``params`` (B, n_params) of a K-class ``mlp`` (module docstring's K-class table)."""
    logits = mlp_batch.outputs(mlp, params, x)
    res = mlp_batch.loss_and_residual(mlp, logits, labels)[1]  # softmax(v) − onehot(y)
    el2n = np.sqrt(np.einsum("bik,bik->bi", res, res))
    index = np.broadcast_to(labels, logits.shape[:-1])[..., None]
    others = logits.copy()
    np.put_along_axis(others, index, -np.inf, axis=-1)
    margin = np.take_along_axis(logits, index, axis=-1)[..., 0] - others.max(axis=-1)
    top2 = np.sort(logits, axis=-1)[..., -2:]
    grand = mlp_batch.grad_norms(mlp, params, x, labels)
    return logits, el2n, margin, top2[..., 1] - top2[..., 0], grand


def _multiclass_probe(x, y, classes, hidden, activation, epochs, lr, inits, record_every, batch_size, rng):
    """The K-class probe of :func:`probe_scores` (see the module docstring)."""
    n, d = x.shape
    check_choice("activation", activation, ACTIVATIONS)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    inits = check_int("inits", inits, low=1)
    record_every = check_int("record_every", record_every, low=1, high=epochs)
    mlp = MLP(d, hidden, activation, SOFTMAX, classes)
    labels = mlp._labels(y, n)
    gen = as_generator(rng)
    theta0 = np.stack([mlp.init(gen) for _ in range(inits)])
    records = []

    def record(epoch, thetas):
        if epoch % record_every == 0:
            records.append(mlp_batch.outputs(mlp, thetas, x).argmax(axis=-1) == labels)

    fit = train_batch(mlp, x, labels, theta0=theta0, epochs=epochs, batch_size=batch_size,
                      order=gen.spawn(inits), lr=lr, callback=record)
    if not fit.finite.all():
        raise ValueError(f"the probe's loss is not finite: lower lr (got {lr!r})")
    params = np.array(fit.params)
    logits, el2n, margin, abs_margin, grand = class_scores(mlp, params, x, labels)
    correct = np.stack(records, axis=1)  # (inits, R, n)
    forget = np.stack([forgetting_counts(c) for c in correct])
    accuracy = (logits.argmax(axis=-1) == labels).mean(axis=-1)
    arrays = [a.mean(axis=0) for a in (el2n, grand, margin, abs_margin, forget)] + [logits, params, accuracy]
    for a in arrays:
        a.setflags(write=False)
    return ProbeScores(*arrays[:7], mlp, arrays[7], epochs=epochs, record_every=record_every, inits=inits)


def _sigmoid(v):
    return expit(v)


def _adam_with_records(mlp, theta0, x, y, epochs, lr, record_every):
    """θ_T after ``epochs`` Adam steps of :func:`theory_sim.models.mlp.train` from θ_0, and the
    (⌊T/m⌋, n) correctness record taken after every m-th step."""
    positive = y == 1.0
    records = []

    def record(t, theta):
        if t % record_every == 0:
            records.append((mlp.output(theta, x) > 0.0) == positive)

    fit = train(mlp, x, y, optimizer="adam", lr=lr, max_iter=epochs, tol=0.0, theta0=theta0, callback=record)
    if fit.n_iter < epochs:
        raise ValueError(f"the probe's loss is not finite after step {fit.n_iter + 1}: lower lr (got {lr!r})")
    return np.array(fit.params), np.array(records, dtype=bool)
