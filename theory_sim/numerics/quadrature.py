"""Quadrature rules, once: composite Gauss–Legendre on intervals (docs/theory.md, "Population losses").

Every population loss the toolkit computes by quadrature (logistic models, the least-squares
line, small networks) integrates with nodes and weights from :func:`gauss_legendre`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["gauss_legendre", "legendre_nodes"]


@functools.lru_cache(maxsize=16)
def legendre_nodes(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``nodes``-point Gauss–Legendre rule on [−1, 1] (read-only arrays)."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    t.setflags(write=False)
    w.setflags(write=False)
    return t, w


def gauss_legendre(intervals, nodes: int, panel_width: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Composite Gauss–Legendre nodes and weights for :math:`\int f(x)\,dx` over a union of intervals.

    Each interval [lo, hi] is cut into ⌈(hi − lo)/panel_width⌉ equal panels (one panel when
    ``panel_width`` is None), each with the ``nodes``-point rule: node mid + half·t, weight
    half·w. Empty intervals (hi ≤ lo) contribute nothing.

    Parameters
    ----------
    intervals : iterable of (float, float)
    nodes : int ≥ 1
        Nodes per panel.
    panel_width : float > 0, optional

    Returns
    -------
    x, weights : ndarray, shape (m,)
    """
    t, w = legendre_nodes(int(nodes))
    xs, ws = [], []
    for lo, hi in intervals:
        if not hi > lo:
            continue
        panels = 1 if panel_width is None else max(1, math.ceil((hi - lo) / panel_width - 1e-12))
        edges = np.linspace(lo, hi, panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[:-1] + edges[1:])
        xs.append((mid[:, None] + half[:, None] * t[None, :]).ravel())
        ws.append((half[:, None] * w[None, :]).ravel())
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ws)
