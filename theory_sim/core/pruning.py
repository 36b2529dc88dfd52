r"""The four pruning protocols, one :class:`Selection` type (docs/theory.md, "Protocols").

Given scores g_1, ..., g_n and a compression level r ∈ (0, 1] (the fraction **kept**),
the budget is k = ⌊r n⌋ ≥ 1 and a protocol returns indices I and weights p_i ≥ 0 with
Σ_{i∈I} p_i = 1, so that the pruned loss is

.. math::  L_n^A(w) = \sum_{i \in I} p_i f(z_i; w).

=============  ==============================================================================
``random``     a uniform k-subset of {1..n} without replacement, p_i = 1/k
``sbpa``       the k points with the lowest g (``keep="lowest"``; ``"highest"`` negates g),
               p_i = 1/k; ties at the threshold broken by a seeded random permutation
``ec``         exact calibration, α ∈ [0, 1): S = SBPA with budget k_s = ⌊α k⌋, E = uniform
               (k − k_s)-subset of D_n \ S; p_i = 1/n on S, (n − k_s)/(n (k − k_s)) on E
``ac``         approximate calibration, α ∈ [0, 1]: the same S and E, p_i = 1/k
=============  ==============================================================================

EC is a take-all stratum plus a simple random sample of the rest, so
E[L_n^EC(w) | D_n] = L_n(w) exactly. AC has no large weights but is biased; α = 0 is
random pruning and α = 1 is SBPA. (The paper's text for AC was not available to us: this
is the project's definition.)

For a fixed seed the random draws are made in one order — SBPA tie-breaking, then the
exploration subset — so EC and AC with the same seed select the same indices, and
EC/AC at α = 0 select exactly what ``random`` selects.

Cost: O(n) (``np.partition``, a selection algorithm, not a sort).
"""

from __future__ import annotations

import numpy as np

from theory_sim.core.policies import Selection, get_policy
from theory_sim.validation import PROTOCOL_NAMES, as_generator, budget, check_alpha, check_array, check_choice, check_r

__all__ = ["Selection", "PROTOCOLS", "ec_variance", "prune"]

PROTOCOLS = PROTOCOL_NAMES


EXACT_INT = 2**53  # every integer of absolute value up to this is exactly a float64


def _exact_in_float64(g):
    """``g``, refused if it holds integers that float64 would round (so rank wrongly)."""
    arr = np.asarray(g)
    if arr.dtype.kind in "iu" and arr.size and (arr.max() > EXACT_INT or arr.min() < -EXACT_INT):
        bad = int(np.flatnonzero((arr > EXACT_INT) | (arr < -EXACT_INT))[0])
        raise ValueError(f"g holds integers beyond 2**53 in absolute value (e.g. {int(arr.flat[bad])} at index "
                         f"{bad}), which float64 cannot rank exactly; rescale the scores")
    return arr


def prune(g, r, protocol: str = "sbpa", *, alpha=None, keep: str = "lowest", rng=None) -> Selection:
    r"""Select a fraction r of the data by one of the four protocols, or any registered policy.

    Parameters
    ----------
    g : array_like, shape (n,)
        Scores g(z_i); NaN is refused. Ignored by ``random`` except for its length. Scores
        are ranked as float64: integer scores beyond ±2**53 (which float64 cannot tell apart
        from their neighbours) are refused.
    r : float in (0, 1]
        Compression level: the fraction kept. The budget is k = ⌊r n⌋ (r read as the
        decimal it prints as), which must be ≥ 1.
    protocol : {'sbpa', 'random', 'ec', 'ac'} or the name of a registered policy
        (:mod:`theory_sim.core.policies`; ``theory_sim.register_policy``).
    alpha : float, optional
        Signal fraction α: in [0, 1) for ``ec``, in [0, 1] for ``ac``; required for them
        and refused for the others (a registered policy checks its own).
    keep : {'lowest', 'highest'}
        Which end of g the score-based part keeps (the paper's SBPA keeps the lowest).
    rng : Generator, SeedSequence, int or None
        Randomness for tie-breaking and exploration.

    Returns
    -------
    Selection
    """
    policy = get_policy(protocol)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    g = check_array("g", _exact_in_float64(g), ndim=1)
    r = check_r(r)
    n = g.shape[0]
    if n == 0:
        raise ValueError("g must hold at least one score, got an empty array")
    k = budget(r, n)
    if k < 1:
        raise ValueError(f"n is too small for the budget: floor(r * n) = floor({r} * {n}) = 0; need r * n >= 1")
    alpha = policy.check_alpha(alpha)
    rng = as_generator(rng)
    sel = policy.select(g, r, alpha=alpha, keep=keep, rng=rng)
    if not isinstance(sel, Selection):
        sel = _selection(sel, protocol, n, r, alpha, keep)
    for arr in (sel.indices, sel.weights, sel.signal):
        arr.setflags(write=False)
    return sel


def _selection(pair, protocol, n, r, alpha, keep) -> Selection:
    """The Selection of a policy that returned ``(indices, weights)``: checked, sorted by index."""
    try:
        indices, weights = pair
    except (TypeError, ValueError):
        raise TypeError(f"policy {protocol!r} must return a Selection or a pair (indices, weights), "
                        f"got {type(pair).__name__}") from None
    indices = np.asarray(indices)
    if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
        raise ValueError(f"policy {protocol!r} returned indices that are not a 1-d integer array")
    indices = indices.astype(np.int64)
    weights = check_array(f"weights of policy {protocol!r}", weights, shape=(indices.shape[0],)).copy()
    if indices.size and (indices.min() < 0 or indices.max() >= n or np.unique(indices).size != indices.size):
        raise ValueError(f"policy {protocol!r} returned indices that are not distinct integers in [0, {n})")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"policy {protocol!r} returned weights that are not finite and >= 0")
    order = np.argsort(indices, kind="stable")
    k = int(indices.shape[0])
    return Selection(indices[order], weights[order], protocol, n, r, k, float(alpha or 0.0), 0, keep, float("nan"),
                     np.zeros(k, dtype=bool))


def ec_variance(f, g, r, alpha, *, keep: str = "lowest") -> float:
    r"""Var[L_n^EC | D_n] for per-point losses f, by the stratified-sampling formula (claim C12).

    With S the k_s = ⌊α k⌋ points kept by score, R = D_n ∖ S (N = n − k_s points) and E a
    simple random sample of m = k − k_s points of R,

    .. math::

        L_n^{EC} = \frac{1}{n}\sum_{S} f_i + \frac{N}{n m} \sum_{E} f_i, \qquad
        \mathrm{Var}[L_n^{EC} \mid D_n] = \Big(\frac{N}{n}\Big)^2 \frac{\sigma_R^2}{m}\,\frac{N - m}{N - 1},

    σ_R² = (1/N) Σ_R (f_i − f̄_R)². For large n (N ≈ (1 − α r) n, m ≈ (1 − α) r n) this is
    [(1 − α r)/(1 − α)] · σ_R²/(r n) times the finite-population factor (1 − r): it grows
    without bound as α → 1 (claim C12). S is taken as SBPA's selection with ``rng=0``; with ties at the threshold S is
    random and the formula is conditional on it.
    """
    f = check_array("f", f, ndim=1)
    g = check_array("g", g, shape=(f.shape[0],))
    alpha = check_alpha(alpha, allow_one=False)
    sel = prune(g, r, "ec", alpha=alpha, keep=keep, rng=0)
    n, k, ks = sel.n, sel.k, sel.k_signal
    rest = np.ones(n, dtype=bool)
    rest[sel.indices[sel.signal]] = False
    big_n, m = n - ks, k - ks
    if big_n == 1:
        return 0.0
    return float((big_n / n) ** 2 * f[rest].var() / m * (big_n - m) / (big_n - 1))
