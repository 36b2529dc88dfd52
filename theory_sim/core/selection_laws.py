r"""The general limit law of selection policies (docs/theory.md, "Selection policies: a general limit law (ours)").

The propositions P1–P4 there are the project's own. A policy whose limit depends on a point
only through its *level* t(z) = F_g(g(z)) (keep-lowest orientation; 1 − F_g with
``keep="highest"``) is described by a *profile* h ≥ 0 on [0, 1] with ∫h = 1, and its limit is

.. math::  \frac{d\nu}{d\mu}(z) = h(t(z)).

- P1, independent selection with probability π(t), unweighted: h = π / ∫π.
- P2, the same with inverse-probability weights: the limit is µ (h = 1) when π > 0.
- P4, stratified selection with shares s_b in bins J_b of mass m_b: h = s_b / (r m_b) on J_b.

SBPA, AC and random pruning are P4 with at most two bins (:func:`protocol_profile`); EC is AC's
design with P4's stratum weights (:func:`stratum_weights`), whose limit is µ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate

from theory_sim.core.limits import check_pair, score_cdf
from theory_sim.validation import check_array, check_choice, check_protocol, check_r

__all__ = ["Profile", "level_density", "levels", "poisson_profile", "protocol_profile", "stratified_profile",
           "stratum_weights"]

_TOL = 1e-12


@dataclass(frozen=True)
class Profile:
    r"""A limit profile h on the levels [0, 1]: dν/dµ = h(t).

    Attributes
    ----------
    fn : callable
        h, vectorised over an array of levels.
    edges : tuple of float
        Levels where h may jump (0 and 1 included): quadrature splits its panels there.
    name : str
    """

    fn: Callable[[np.ndarray], np.ndarray]
    edges: tuple
    name: str = ""

    def __call__(self, t) -> np.ndarray:
        return np.asarray(self.fn(np.asarray(t, dtype=float)), dtype=float)

    def cdf(self, t) -> np.ndarray:
        """H(t) = ∫_0^t h, by the midpoint rule on 2·10^5 cells per piece between the edges (h is
        smooth on each piece: error O(cell²), below 1e-9 for the profiles of theory_sim)."""
        if not hasattr(self, "_grid"):
            parts = [np.linspace(a, b, 200_001) for a, b in zip(self.edges[:-1], self.edges[1:]) if b > a]
            grid = np.concatenate(parts)
            vals = np.concatenate([self((p[:-1] + p[1:]) / 2) for p in parts])  # midpoints
            steps = np.concatenate([np.diff(p) for p in parts])
            cum = np.concatenate([[0.0], np.cumsum(vals * steps)])
            starts = np.concatenate([p[:-1] for p in parts])
            object.__setattr__(self, "_grid", (np.r_[starts, grid[-1]], cum))
        x, c = self._grid
        return np.interp(np.asarray(t, dtype=float), x, c)

    def mass(self) -> float:
        """∫_0^1 h(t) dt (1 for a profile), by adaptive quadrature between the edges."""
        return float(sum(integrate.quad(lambda s: float(self(np.array([s]))[0]), a, b, limit=200)[0]
                         for a, b in zip(self.edges[:-1], self.edges[1:]) if b > a))


def stratified_profile(edges, shares, r=None, name: str = "stratified") -> Profile:
    r"""P4: bins J_b = (edges[b], edges[b + 1]] of levels, shares s_b ∈ [0, m_b] with Σ s_b = r.

    h = s_b / (r m_b) on J_b (the first bin closed at 0).
    """
    edges = check_array("edges", edges, ndim=1)
    shares = check_array("shares", shares, shape=(edges.shape[0] - 1,))
    if edges.shape[0] < 2 or abs(edges[0]) > 0 or abs(edges[-1] - 1.0) > 0 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must increase strictly from 0 to 1, got {edges.tolist()}")
    masses = np.diff(edges)
    if np.any(shares < 0) or np.any(shares > masses * (1 + _TOL)):
        raise ValueError(f"shares must lie in [0, bin mass] = {masses.tolist()}, got {shares.tolist()}")
    total = float(shares.sum())
    r = total if r is None else check_r(r)
    if abs(total - r) > 1e-9:
        raise ValueError(f"shares must sum to r = {r}, got {total}")
    values = shares / (r * masses)

    def h(t):
        b = np.clip(np.searchsorted(edges, t, side="left") - 1, 0, values.shape[0] - 1)
        return values[b]

    return Profile(h, tuple(float(e) for e in edges), name)


def poisson_profile(pi: Callable, edges=(0.0, 1.0), name: str = "poisson") -> Profile:
    r"""P1: keep with probability π(t) (a function of the level, values in [0, 1]), unweighted:
    h = π / ∫_0^1 π. ``edges``: levels where π may jump."""
    edges = tuple(float(e) for e in edges)
    raw = Profile(lambda t: np.asarray(pi(t), dtype=float), edges)
    mass = raw.mass()
    if not mass > 0:
        raise ValueError("pi must keep a positive fraction: its integral over the levels is 0")
    return Profile(lambda t: raw(t) / mass, edges, name)


def protocol_profile(protocol: str, r, alpha=None, *, weighted: bool = False) -> Profile:
    r"""The profiles of the four protocols as special cases of P4 (docs/theory.md, the table of
    "Special cases"): random (one bin, share r), SBPA (bins [0, r], (r, 1], shares r, 0), AC and EC
    (bins [0, αr], (αr, 1], shares αr, (1 − α)r); EC with its weights (``weighted=True``) has the
    limit µ (P4's stratum weights), unweighted it is AC's design."""
    protocol, alpha = check_protocol(protocol, alpha)
    r = check_r(r)
    if protocol == "random" or (protocol == "ec" and weighted):
        return stratified_profile([0.0, 1.0], [r], r, name=protocol)
    if protocol == "sbpa" or (protocol == "ac" and alpha == 1.0) or r == 1.0:
        if r == 1.0:
            return stratified_profile([0.0, 1.0], [1.0], 1.0, name=protocol)
        return stratified_profile([0.0, r, 1.0], [r, 0.0], r, name=protocol)
    if alpha == 0.0:
        return stratified_profile([0.0, 1.0], [r], r, name=protocol)
    return stratified_profile([0.0, alpha * r, 1.0], [alpha * r, (1 - alpha) * r], r, name=protocol)


def stratum_weights(bins, kept_bins, n: int) -> np.ndarray:
    r"""P4's stratum weights p_i = N_b / (n k_b) of the kept points (``kept_bins``: the bin of each
    kept point; ``bins``: the bin of every point of D_n, n of them). They sum to 1."""
    bins = np.asarray(bins)
    kept_bins = np.asarray(kept_bins)
    if bins.shape != (n,):
        raise ValueError(f"bins must hold the bin of each of the n = {n} points, got shape {bins.shape}")
    labels, counts = np.unique(bins, return_counts=True)
    kept_labels, kept_counts = np.unique(kept_bins, return_counts=True)
    big_n = dict(zip(labels.tolist(), counts.tolist()))
    small_k = dict(zip(kept_labels.tolist(), kept_counts.tolist()))
    return np.array([big_n[b] / (n * small_k[b]) for b in kept_bins.tolist()])


def levels(process, score, x, y=None, *, keep: str = "lowest") -> np.ndarray:
    r"""The levels t(z) = F_g(g(z)) (``keep="lowest"``) or 1 − F_g(g(z)) (``"highest"``) of points,
    with the exact CDF of the score (:func:`theory_sim.core.limits.score_cdf`)."""
    check_pair(process, score)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    cdf = score_cdf(process, score)
    if cdf is None:
        raise ValueError(f"score {score.name!r} has no exact law under {process.name!r}: its levels are unknown")
    g = score(x, y)
    t = np.array([cdf(float(v)) for v in g])
    return t if keep == "lowest" else 1.0 - t


def level_density(process, score, profile: Profile, *, keep: str = "lowest"):
    r"""dν/dµ = h(t(z)) as a function of (x, y)."""
    return lambda x, y=None: profile(levels(process, score, x, y, keep=keep))

