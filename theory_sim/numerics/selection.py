"""numba kernels, each with a plain-numpy reference twin.

The public functions validate and allocate; these kernels only loop. ``tests/reference``
asserts that each kernel and its twin agree bitwise (the arithmetic is the same: comparisons
and copies only).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "lowest_k",
    "lowest_k_reference",
    "merge_sorted",
    "merge_sorted_reference",
    "split_at_threshold",
    "split_at_threshold_reference",
]


@numba.njit(cache=True, nogil=True)
def _split_kernel(g, v, below, tied):  # pragma: no cover - compiled
    nb = 0
    nt = 0
    for i in range(g.shape[0]):
        gi = g[i]
        if gi < v:
            below[nb] = i
            nb += 1
        elif gi == v:
            tied[nt] = i
            nt += 1
    return nb, nt


def split_at_threshold(g: np.ndarray, v: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (increasing) of the entries of g below v, and of those equal to v.

    One pass over g. ``v`` must be the k-th smallest entry, so that fewer than k entries
    are below it (the output buffer for them has k slots).
    """
    below = np.empty(k, dtype=np.int64)
    tied = np.empty(g.shape[0], dtype=np.int64)  # untouched pages cost nothing
    nb, nt = _split_kernel(g, v, below, tied)
    return below[:nb], tied[:nt].copy()


def split_at_threshold_reference(g, v, k):
    """Twin of :func:`split_at_threshold` in plain numpy."""
    return np.flatnonzero(g < v), np.flatnonzero(g == v)


@numba.njit(cache=True, nogil=True)
def _merge_kernel(a, b, out):  # pragma: no cover - compiled
    i = 0
    j = 0
    for t in range(out.shape[0]):
        if j >= b.shape[0] or (i < a.shape[0] and a[i] < b[j]):
            out[t] = a[i]
            i += 1
        else:
            out[t] = b[j]
            j += 1


def merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two increasing int64 arrays with no common entry into one increasing array."""
    out = np.empty(a.shape[0] + b.shape[0], dtype=np.int64)
    _merge_kernel(a, b, out)
    return out


def merge_sorted_reference(a, b):
    """Twin of :func:`merge_sorted` in plain numpy."""
    return np.sort(np.concatenate([a, b]), kind="stable")


@numba.njit(cache=True, nogil=True)
def _bracket_kernel(g, lo, hi, below, cand):  # pragma: no cover - compiled
    """One pass: indices with g < lo into ``below``, with lo ≤ g ≤ hi into ``cand``.

    Returns the two counts, or -1 for a count whose buffer would overflow (the bracket
    missed: the caller falls back to the exact two-step method).
    """
    nb = 0
    nc = 0
    cap_b = below.shape[0]
    cap_c = cand.shape[0]
    for i in range(g.shape[0]):
        gi = g[i]
        if gi < lo:
            if nb == cap_b:
                return -1, nc
            below[nb] = i
            nb += 1
        elif gi <= hi:
            if nc == cap_c:
                return nb, -1
            cand[nc] = i
            nc += 1
    return nb, nc


def lowest_k(g: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The k-th smallest entry v of g, the indices of g < v and of g == v (both increasing).

    Floyd–Rivest's idea in one pass: a systematic subsample (every ⌊n/m⌋-th entry,
    m ≈ 20 000, no randomness) brackets v in [lo, hi] with high probability; one pass
    collects the entries below lo and the few candidates in [lo, hi]; a small partition of
    the candidates gives v. When the bracket misses (adversarial input), the exact
    two-step method runs instead. Same output as :func:`lowest_k_reference` in every case.
    """
    n = g.shape[0]
    if n < 50_000:
        return lowest_k_reference(g, k)
    stride = n // 20_000
    sample = np.sort(g[::stride])
    m = sample.shape[0]
    p = k / n
    half = 6.0 * np.sqrt(p * (1 - p) / m) + 2.0 / m  # ~6 standard errors of a sample quantile
    lo = sample[max(int(np.floor((p - half) * m)), 0)]
    hi = sample[min(int(np.ceil((p + half) * m)), m - 1)]
    if not (lo <= hi):  # NaN in the sample
        return lowest_k_reference(g, k)
    below = np.empty(k, dtype=np.int64)
    cand = np.empty(min(n, int(4 * half * n) + 1024), dtype=np.int64)
    nb, nc = _bracket_kernel(g, lo, hi, below, cand)
    if nb < 0 or nc < 0 or nb >= k or nb + nc < k:  # v must lie in [lo, hi]
        return lowest_k_reference(g, k)
    cand = cand[:nc]
    values = g[cand]
    v = np.partition(values, k - nb - 1)[k - nb - 1]
    below = merge_sorted(below[:nb], cand[values < v])
    return below, cand[values == v], float(v)


def lowest_k_reference(g, k):
    """Twin of :func:`lowest_k`: introselect for v, then one comparison pass."""
    v = np.partition(g, k - 1)[k - 1]
    below, tied = split_at_threshold(g, v, k)
    return below, tied, float(v)
