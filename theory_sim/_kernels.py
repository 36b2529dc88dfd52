"""numba kernels, each with a plain-numpy reference twin (STYLE habit 5).

The public functions validate and allocate; these kernels only loop. ``tests/reference``
asserts that each kernel and its twin agree bitwise (the arithmetic is the same: comparisons
and copies only).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["split_at_threshold", "split_at_threshold_reference", "merge_sorted", "merge_sorted_reference"]


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
