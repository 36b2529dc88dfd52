r"""Distances between a weighted sample and a target measure (given by a large sample).

A point is z = (x, y) ∈ R^{d+1} (the label is a coordinate). Three distances:

``function_gap``
    .. math::  \max_{j \le J} \Big| \sum_i p_i \varphi_j(z_i) - \sum_j q_j \varphi_j(z'_j) \Big|,
       \qquad \varphi_j(z) = \cos(\omega_j \cdot z + c_j),

    over a documented, fixed family of J = 64 bounded continuous functions
    (:func:`cosine_functions`): ω_j ~ N(0, I_{d+1}), c_j ~ U[0, 2π), drawn once from the
    fixed seed :data:`FUNCTION_SEED`. A difference of weighted means: it shrinks like
    n^{-1/2} for i.i.d. draws from the target, and weak convergence implies it goes to 0.
``energy_distance``
    The (weighted) energy distance 2E‖Z − Z'‖ − E‖Z − Z̃‖ − E‖Z' − Z̃'‖ (Székely & Rizzo),
    Z ~ sample, Z' ~ target; zero iff the two laws agree. O(n m): for samples up to ~10^4.
``ks_distance``
    The largest Kolmogorov–Smirnov statistic sup_t |F(t) − G(t)| over 1-D projections
    v·z on the d+1 coordinate axes and 8 fixed random unit directions
    (:func:`ks_directions`). O((n + m) log m).

With the target given by m i.i.d. draws, each distance has a noise floor of order m^{-1/2}:
take m well above the sample size.
"""

from __future__ import annotations

import numpy as np

from theory_sim.validation import check_array, check_int
from theory_sim.core.processes import Data

__all__ = [
    "FUNCTION_SEED",
    "PreparedTarget",
    "cosine_functions",
    "energy_distance",
    "feature_means",
    "function_gap",
    "ks_directions",
    "ks_distance",
]

# The arXiv number of the paper; any fixed value would do, but it must never change
# silently, or distances from different versions would not be comparable.
FUNCTION_SEED = 230206960


def _as_z(name, data) -> np.ndarray:
    if not isinstance(data, Data):
        raise TypeError(f"{name} must be a Data sample, got {type(data).__name__}")
    return np.column_stack([data.x, data.y])


def _weights(name, weights, n) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = check_array(name, weights, shape=(n,))
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite and non-negative")
    total = w.sum()
    if not np.isclose(total, 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"{name} must sum to 1, got sum {total!r}")
    return w


def _pair(data, weights, target, target_weights):
    z, t = _as_z("data", data), _as_z("target", target)
    if z.shape[1] != t.shape[1]:
        raise ValueError(f"data and target must have the same dimension, got d={z.shape[1] - 1} and d={t.shape[1] - 1}")
    return z, _weights("weights", weights, z.shape[0]), t, _weights("target_weights", target_weights, t.shape[0])


def cosine_functions(dim: int, n_functions: int = 64, seed: int = FUNCTION_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The test functions φ_j(z) = cos(ω_j·z + c_j) on R^dim: returns (omega (J, dim), c (J,))."""
    dim = check_int("dim", dim, low=1)
    n_functions = check_int("n_functions", n_functions, low=1)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_functions, dim)), rng.uniform(0.0, 2.0 * np.pi, n_functions)


def _weighted_feature_means(z, w, omega, c, chunk=1 << 16):
    out = np.zeros(omega.shape[0])
    for start in range(0, z.shape[0], chunk):
        block = z[start:start + chunk]
        out += w[start:start + chunk] @ np.cos(block @ omega.T + c)
    return out


def feature_means(data: Data, weights=None, *, functions=None) -> np.ndarray:
    """``Σ_i p_i φ_j(z_i)`` for each test function φ_j (default: :func:`cosine_functions` of the data's
    dimension), shape (J,): the sample's side of :func:`function_gap`."""
    z = _as_z("data", data)
    w = _weights("weights", weights, z.shape[0])
    return _weighted_feature_means(z, w, *(cosine_functions(z.shape[1]) if functions is None else functions))


def function_gap(data: Data, weights, target, target_weights=None, *, functions=None) -> float:
    """``max_j |E_sample φ_j − E_target φ_j|`` over the cosine family (module docstring).

    Parameters
    ----------
    data : Data
        The sample (e.g. the kept points).
    weights : ndarray, shape (n,), or None
        Its weights p_i (summing to 1); None for uniform.
    target : Data or PreparedTarget
        A large sample of the target measure (prepared: reused across calls).
    target_weights : ndarray, shape (m,), or None
    functions : (omega, c), optional
        Another family from :func:`cosine_functions`.
    """
    if not isinstance(target, PreparedTarget):
        target = PreparedTarget(target, target_weights, functions=functions)
    elif target_weights is not None or functions is not None:
        raise ValueError("target_weights and functions are fixed by the PreparedTarget; pass None")
    return target.function_gap(data, weights)


def energy_distance(data: Data, weights, target: Data, target_weights=None, *, max_pairs: int = 10**8) -> float:
    r"""Weighted energy distance between the sample and the target sample.

    .. math::  2\sum_{i,j} p_i q_j \|z_i - z'_j\| - \sum_{i,i'} p_i p_{i'} \|z_i - z_{i'}\|
               - \sum_{j,j'} q_j q_{j'} \|z'_j - z'_{j'}\|

    ``max_pairs`` bounds the work (n m + n² + m²); subsample the target beyond it.
    """
    z, w, t, v = _pair(data, weights, target, target_weights)
    pairs = z.shape[0] * t.shape[0] + z.shape[0] ** 2 + t.shape[0] ** 2
    if pairs > max_pairs:
        raise ValueError(f"energy_distance needs {pairs} pairs, more than max_pairs={max_pairs}; subsample the inputs")
    value = 2 * _cross(z, w, t, v) - _cross(z, w, z, w) - _cross(t, v, t, v)
    return float(max(value, 0.0))


def _cross(a, wa, b, wb, chunk=2048):
    total = 0.0
    for s in range(0, a.shape[0], chunk):
        diff = a[s:s + chunk, None, :] - b[None, :, :]
        total += wa[s:s + chunk] @ np.sqrt((diff * diff).sum(axis=2)) @ wb
    return total


def ks_directions(dim: int, n_random: int = 8, seed: int = FUNCTION_SEED) -> np.ndarray:
    """Projection directions of :func:`ks_distance`: the dim axes, then n_random unit vectors."""
    dim = check_int("dim", dim, low=1)
    rng = np.random.default_rng(seed + 1)
    extra = rng.standard_normal((check_int("n_random", n_random, low=0), dim))
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.vstack([np.eye(dim), extra])


class PreparedTarget:
    """A target sample prepared once for many distance calls.

    Holds the target's means of the test functions and its sorted projections, so that
    :func:`function_gap` and :func:`ks_distance` cost O(n) and O(n log n) in the sample size
    only.

    Parameters
    ----------
    target : Data
    target_weights : ndarray, shape (m,), or None
    functions : (omega, c), optional (default :func:`cosine_functions`)
    directions : ndarray, shape (J, d + 1), optional (default :func:`ks_directions`)
    """

    def __init__(self, target: Data, target_weights=None, *, functions=None, directions=None):
        t = _as_z("target", target)
        v = _weights("target_weights", target_weights, t.shape[0])
        self.dim = t.shape[1]
        self.functions = cosine_functions(self.dim) if functions is None else functions
        self.function_means = _weighted_feature_means(t, v, *self.functions)
        self.directions = ks_directions(self.dim) if directions is None else check_array(
            "directions", directions, shape=(None, self.dim))
        self._sorted, self._cum = [], []
        for u in self.directions:
            proj = t @ u
            order = np.argsort(proj, kind="stable")
            self._sorted.append(proj[order])
            self._cum.append(np.r_[0.0, np.cumsum(v[order])])

    def _check(self, z):
        if self.dim != z.shape[1]:
            raise ValueError(f"data and target must have the same dimension, got d={z.shape[1] - 1} and d={self.dim - 1}")

    def feature_means(self, data: Data, weights=None) -> np.ndarray:
        """The sample's weighted means of the test functions, shape (J,) (what the gap compares)."""
        z = _as_z("data", data)
        self._check(z)
        return feature_means(data, weights, functions=self.functions)

    def function_gap(self, data: Data, weights=None) -> float:
        return float(np.max(np.abs(self.feature_means(data, weights) - self.function_means)))

    def ks(self, data: Data, weights=None) -> float:
        z = _as_z("data", data)
        self._check(z)
        w = _weights("weights", weights, z.shape[0])
        return max(_ks_sorted(z @ u, w, b, cb) for u, b, cb in zip(self.directions, self._sorted, self._cum))


def _ks_sorted(a, wa, b, cb) -> float:
    """sup_t |F(t) − G(t)|: F the weighted ECDF of a; G given by b sorted, cb its cumulative weights.

    F is a step function: on [a_i, a_{i+1}) it is constant while G is increasing, so the
    sup is reached at a jump of F, from the left or at the jump; G is read there by binary
    search. O(n log n + n log m).
    """
    oa = np.argsort(a, kind="stable")
    a, wa = a[oa], wa[oa]
    ua, first = np.unique(a, return_index=True)
    F_at = np.cumsum(wa)[np.r_[first[1:], a.shape[0]] - 1]  # F at each distinct value
    F_before = np.r_[0.0, F_at[:-1]]
    G_at = cb[np.searchsorted(b, ua, side="right")]
    G_before = cb[np.searchsorted(b, ua, side="left")]
    # rounding in the cumulative sums can overshoot 1 by an ulp or two
    return min(1.0, float(max(np.abs(F_at - G_at).max(), np.abs(F_before - G_before).max())))


def ks_distance(data: Data, weights, target, target_weights=None, *, directions=None) -> float:
    """Largest weighted two-sample KS statistic over 1-D projections (module docstring).

    ``target`` is a :class:`Data` sample or a :class:`PreparedTarget`.
    """
    if not isinstance(target, PreparedTarget):
        target = PreparedTarget(target, target_weights, directions=directions)
    elif target_weights is not None or directions is not None:
        raise ValueError("target_weights and directions are fixed by the PreparedTarget; pass None")
    return target.ks(data, weights)
