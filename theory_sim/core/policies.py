r"""Pruning policies: selection and weights from scores (docs/theory.md, "Protocols" and "Extending the toolkit").

A **policy** turns scores g_1, ..., g_n, a compression level r ∈ (0, 1] (the fraction kept),
an optional signal fraction α, an orientation (``keep``: which end of g its score-based part
keeps) and a numpy Generator into kept indices I and weights p_i ≥ 0, so that the pruned loss
is L_n^A(w) = Σ_{i∈I} p_i f(z_i; w). The four protocols of the paper — ``random``, ``sbpa``,
``ec``, ``ac`` (the names of :mod:`theory_sim.core.protocols`) — are policies written against
this interface, and :func:`theory_sim.prune` runs any registered policy by name.

Writing one: subclass :class:`Policy` and implement

``select(g, r, *, alpha, keep, rng)`` (required)
    ``g``: float64 array (n,) already checked (finite, n ≥ 1, ⌊r n⌋ ≥ 1); ``r`` a float in
    (0, 1]; ``alpha`` what :meth:`Policy.check_alpha` returned; ``keep`` 'lowest' or
    'highest'; ``rng`` a ``numpy.random.Generator`` (the only source of randomness).
    Returns a :class:`Selection` or a pair ``(indices, weights)`` (distinct indices into
    0..n−1, weights finite and ≥ 0; :func:`theory_sim.prune` sorts them and builds the
    Selection).

Optional:

``check_alpha(alpha)``
    Validate α (the default refuses any α: the policy has no signal fraction).
``limit(r, alpha)``
    The limit of the kept (weighted) empirical measure when it is a two-level density on an
    acceptance region, as a :class:`RegionLimit` (``MU`` when the limit is µ itself): the
    exact samplers and the population-loss quadrature use this form.
``limit_density(process, score, r, *, alpha, keep, **quantile_options)``
    Any other limit, as the density dν/dµ: a callable of (x, y) returning an array (n,);
    the Monte Carlo population losses use it.

Register it with ``theory_sim.register_policy("name", MyPolicy())`` or an entry point in the
group ``theory_sim.policies``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory_sim.numerics.selection import lowest_k, merge_sorted
from theory_sim.registry import Registry
from theory_sim.validation import budget, check_protocol

__all__ = ["MU", "POLICIES", "Policy", "RegionLimit", "Selection", "get_policy", "register_policy"]


@dataclass(frozen=True, eq=False)
class Selection:
    """The output of a pruning policy.

    Attributes
    ----------
    indices : ndarray, shape (k,), int64
        Kept indices into D_n, in increasing order.
    weights : ndarray, shape (k,), float64
        p_i ≥ 0, aligned with ``indices`` (the four protocols: summing to 1).
    protocol : str
        The policy's name ('random', 'sbpa', 'ec', 'ac' or a registered one).
    n : int
        Size of D_n.
    r : float
        Compression level (fraction kept).
    k : int
        Number kept (= len(indices); ⌊r n⌋ for the four protocols).
    alpha : float
        Signal fraction (1.0 for SBPA, 0.0 for random; 0.0 for a policy without one).
    k_signal : int
        Size of the score-based part S (k_s = ⌊α k⌋; k for SBPA, 0 for random and for a
        policy that does not say).
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


@dataclass(frozen=True)
class RegionLimit:
    r"""A limit ν of the two-level form, on the acceptance region A = A_level of the score:

    .. math::  \nu|_A = \mu|_A / \text{scale}, \qquad
               \frac{d\nu}{d\mu} = \text{outside} \ \text{on } A^c, \qquad \nu(A) = \text{p\_inside}.

    ``level`` is µ(A) (None: ν = µ, see ``MU``). SBPA: (r, 1, r, 0); AC: (α r, α, r,
    (1 − α)/(1 − α r)). ``p_inside`` is stored, not recomputed as level/scale, so that a
    sampler draws exactly α n points of ν_{αr} in law for AC.
    """

    level: float | None
    p_inside: float
    scale: float
    outside: float


MU = RegionLimit(None, 1.0, 1.0, 1.0)  # the limit is µ itself


class Policy:
    """Base class of pruning policies (see the module docstring for what to implement)."""

    name: str = ""

    def check_alpha(self, alpha):
        """The validated signal fraction; the default refuses one."""
        if alpha is not None:
            raise ValueError(f"alpha does not apply to policy {self.name!r}; got alpha={alpha!r}")
        return None

    def select(self, g: np.ndarray, r: float, *, alpha, keep: str, rng: np.random.Generator):  # pragma: no cover
        raise NotImplementedError

    def limit(self, r: float, alpha) -> RegionLimit | None:
        """The limit as a :class:`RegionLimit`, or None when it is not of that form (or unknown)."""
        return None

    def limit_density(self, process, score, r: float, *, alpha, keep: str, **quantile_options):
        """dν/dµ as a callable of (x, y) when :meth:`limit` is None; None when unknown."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# ---------------------------------------------------------------------------------------
# The four protocols (docs/theory.md, "Protocols"): one algorithm, α fixing the signal part.
# ---------------------------------------------------------------------------------------


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


def _calibrated(g, r, protocol, alpha, keep, rng) -> Selection:
    """S = the k_s lowest (by ``keep``), E = a uniform subset of the rest; the protocols' weights."""
    n = g.shape[0]
    k = budget(r, n)
    if alpha is None:
        alpha = 1.0 if protocol == "sbpa" else 0.0
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
    return Selection(indices, weights, protocol, n, r, k, float(alpha), k_signal, keep, threshold, signal)


class _Protocol(Policy):
    """One of the paper's four protocols (their α rules: :func:`theory_sim.validation.check_protocol`)."""

    def __init__(self, name):
        self.name = name

    def check_alpha(self, alpha):
        return check_protocol(self.name, alpha)[1]

    def select(self, g, r, *, alpha, keep, rng):
        return _calibrated(g, r, self.name, alpha, keep, rng)


class RandomPolicy(_Protocol):
    """``random``: a uniform ⌊r n⌋-subset, p_i = 1/k; its limit is µ."""

    def __init__(self):
        super().__init__("random")

    def limit(self, r, alpha):
        return MU


class SBPAPolicy(_Protocol):
    """``sbpa``: the ⌊r n⌋ lowest (``keep``) scores, p_i = 1/k; its limit is ν_r = µ|A_r / r (claim C1)."""

    def __init__(self):
        super().__init__("sbpa")

    def limit(self, r, alpha):
        return RegionLimit(r, 1.0, r, 0.0)


class ECPolicy(_Protocol):
    """``ec``: exact calibration (take-all stratum S plus a simple random sample); its limit is µ."""

    def __init__(self):
        super().__init__("ec")

    def limit(self, r, alpha):
        return MU


class ACPolicy(_Protocol):
    """``ac``: approximate calibration, p_i = 1/k; dν/dµ = 1/r on A_{αr}, (1 − α)/(1 − α r) elsewhere."""

    def __init__(self):
        super().__init__("ac")

    def limit(self, r, alpha):
        if alpha == 0.0:
            return MU
        return RegionLimit(alpha * r, alpha, r, (1.0 - alpha) / (1.0 - alpha * r) if alpha != 1.0 else 0.0)


def _check_policy(name, obj):
    if not isinstance(obj, Policy) and not all(callable(getattr(obj, m, None)) for m in ("select", "check_alpha")):
        raise TypeError(f"policy {name!r} must be a theory_sim.Policy (or have select and check_alpha methods), "
                        f"got {type(obj).__name__}")


POLICIES = Registry("policy", {p.name: p for p in (RandomPolicy(), SBPAPolicy(), ECPolicy(), ACPolicy())},
                    check=_check_policy, param="protocol")


def register_policy(name: str, policy, *, replace: bool = False):
    """Register a :class:`Policy` instance under ``name`` (its ``name`` attribute is set to it)."""
    POLICIES.register(name, policy, replace=replace)
    if isinstance(policy, Policy):
        policy.name = name
    return policy


def get_policy(name: str) -> Policy:
    """The policy called ``name`` (built-in, registered or installed); unknown names are refused."""
    return POLICIES.get_checked(name)
