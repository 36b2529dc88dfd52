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

from dataclasses import dataclass

import numpy as np

from theory_sim.numerics.selection import lowest_k, merge_sorted
from theory_sim.validation import (
    PROTOCOL_NAMES,
    as_generator,
    budget,
    check_alpha,
    check_array,
    check_choice,
    check_protocol,
    check_r,
)

__all__ = ["Selection", "PROTOCOLS", "ec_variance", "prune"]

PROTOCOLS = PROTOCOL_NAMES


@dataclass(frozen=True, eq=False)
class Selection:
    """The output of a pruning protocol.

    Attributes
    ----------
    indices : ndarray, shape (k,), int64
        Kept indices into D_n, in increasing order.
    weights : ndarray, shape (k,), float64
        p_i ≥ 0, summing to 1, aligned with ``indices``.
    protocol : {'random', 'sbpa', 'ec', 'ac'}
    n : int
        Size of D_n.
    r : float
        Compression level (fraction kept).
    k : int
        Budget ⌊r n⌋ (= len(indices)).
    alpha : float
        Signal fraction (1.0 for SBPA, 0.0 for random).
    k_signal : int
        Size of the score-based part S (k_s = ⌊α k⌋; k for SBPA, 0 for random).
    keep : {'lowest', 'highest'}
    threshold : float
        The empirical threshold: the k_s-th lowest g (highest when ``keep="highest"``),
        NaN when k_s = 0. For SBPA it estimates q_r.
    signal : ndarray, shape (k,), bool
        True for the points of S.
    """

    indices: np.ndarray
    weights: np.ndarray
    protocol: str
    n: int
    r: float
    k: int
    alpha: float
    k_signal: int
    keep: str
    threshold: float
    signal: np.ndarray

    def __len__(self) -> int:
        return self.k


def _lowest(g: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Indices (increasing) of the k lowest entries of g, ties at the threshold broken at random.

    O(n): the k-th order statistic v with every g < v and every g == v
    (:func:`theory_sim.numerics.selection.lowest_k`), then a prefix of a seeded permutation of the
    entries equal to v.
    Prefixes of one permutation are nested, so the kept sets are nested in k for a fixed seed.
    """
    if k == 0:
        return np.empty(0, dtype=np.int64), float("nan")
    below, tied, v = lowest_k(g, k)
    missing = k - below.shape[0]
    if tied.shape[0] != missing:  # an adapted score has no tie to break
        tied = np.sort(tied[rng.permutation(tied.shape[0])[:missing]])
    return merge_sorted(below, tied), float(v)


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
    r"""Select a fraction r of the data by one of the four protocols.

    Parameters
    ----------
    g : array_like, shape (n,)
        Scores g(z_i); NaN is refused. Ignored by ``random`` except for its length. Scores
        are ranked as float64: integer scores beyond ±2**53 (which float64 cannot tell apart
        from their neighbours) are refused.
    r : float in (0, 1]
        Compression level: the fraction kept. The budget is k = ⌊r n⌋ (r read as the
        decimal it prints as), which must be ≥ 1.
    protocol : {'sbpa', 'random', 'ec', 'ac'}
    alpha : float, optional
        Signal fraction α: in [0, 1) for ``ec``, in [0, 1] for ``ac``; required for them
        and refused for the others.
    keep : {'lowest', 'highest'}
        Which end of g the score-based part keeps (the paper's SBPA keeps the lowest).
    rng : Generator, SeedSequence, int or None
        Randomness for tie-breaking and exploration.

    Returns
    -------
    Selection
    """
    check_choice("protocol", protocol, PROTOCOLS)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    g = check_array("g", _exact_in_float64(g), ndim=1)
    r = check_r(r)
    n = g.shape[0]
    if n == 0:
        raise ValueError("g must hold at least one score, got an empty array")
    k = budget(r, n)
    if k < 1:
        raise ValueError(f"n is too small for the budget: floor(r * n) = floor({r} * {n}) = 0; need r * n >= 1")
    protocol, alpha = check_protocol(protocol, alpha)
    if alpha is None:
        alpha = 1.0 if protocol == "sbpa" else 0.0
    rng = as_generator(rng)

    k_signal = k if protocol == "sbpa" else budget(alpha, k) if protocol in ("ec", "ac") else 0
    scores = g if keep == "lowest" else -g
    signal_idx, v = _lowest(scores, k_signal, rng)
    threshold = v if keep == "lowest" else -v
    k_explore = k - k_signal
    if k_explore == 0:
        indices, signal = signal_idx, np.ones(k, dtype=bool)
    else:
        # E: a uniform subset of D_n \ S. With S empty this is exactly the draw of `random`.
        chosen = rng.choice(n - k_signal, size=k_explore, replace=False)
        kept = np.zeros(n, dtype=bool)
        if k_signal > 0:
            kept[signal_idx] = True
            chosen = np.flatnonzero(~kept)[chosen]
        kept[chosen] = True
        indices = np.flatnonzero(kept)
        signal = np.zeros(k, dtype=bool)
        signal[np.searchsorted(indices, signal_idx)] = True

    if protocol == "ec":
        weights = np.where(signal, 1.0 / n, (n - k_signal) / (n * k_explore) if k_explore else 0.0)
    else:
        weights = np.full(k, 1.0 / k)
    for arr in (indices, weights, signal):
        arr.setflags(write=False)
    return Selection(indices, weights, protocol, n, r, k, float(alpha), k_signal, keep, threshold, signal)



def ec_variance(f, g, r, alpha, *, keep: str = "lowest") -> float:
    r"""Var[L_n^EC | D_n] for per-point losses f, by the stratified-sampling formula (claim C12).

    With S the k_s = ⌊α k⌋ points kept by score, R = D_n \ S (N = n − k_s points) and E a
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
