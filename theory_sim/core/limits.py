r"""The asymptotic limits of pruning (docs/theory.md, "Limits"): q_r, A_r, ν_r and the calibrated limits.

For an adapted score (the law of g(Z), Z ~ µ, has a continuous CDF F_g),

.. math::

    q_r = \inf\{q : F_g(q) \ge r\}, \qquad A_r = \{z : g(z) \le q_r\}, \qquad
    \nu_r = \mu|_{A_r} / r .

SBPA's kept points converge weakly, a.s., to ν_r (claim C1), and the empirical threshold
g_(k) converges to q_r. With ``keep="highest"`` the roles are mirrored:
q = F_g^{-1}(1 − r) and A_r = {g ≥ q}. The limit of exact calibration (EC) and of random
pruning is µ itself; the limit of approximate calibration (AC) has density

.. math::

    \frac{d\nu^{AC}}{d\mu}(z) = \frac{1}{r} 1\{z \in A_{\alpha r}\}
        + \frac{1 - \alpha}{1 - \alpha r} 1\{z \notin A_{\alpha r}\}.

Quantiles are exact where the law of g(Z) is tractable (see :func:`score_quantile` for the
list); elsewhere they are Monte Carlo order statistics with a distribution-free standard
error.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from theory_sim.validation import as_generator, check_choice, check_int, check_memory, check_r
from theory_sim.core.laws import entropy_of_margin as _entropy_of_margin, law as _law  # noqa: F401 (tests use it)
from theory_sim.core.policies import get_policy
from theory_sim.core.processes import Data, Process
from theory_sim.core.scores import Score

__all__ = [
    "NonAdaptedScoreWarning",
    "check_rejection_budget",
    "Quantile",
    "Adaptedness",
    "AcceptanceRegion",
    "LimitSample",
    "score_cdf",
    "score_quantile",
    "threshold_sd",
    "check_adapted",
    "acceptance_region",
    "limit_density",
    "sample_limit",
]


class NonAdaptedScoreWarning(UserWarning):
    """The law of g(Z) has atoms: the theory of ν_r (docs/theory.md, "Limits") does not cover this score."""


@dataclass(frozen=True)
class Quantile:
    """The threshold q of the acceptance region.

    Attributes
    ----------
    value : float
        q_r (keep="lowest": F_g^{-1}(r); keep="highest": F_g^{-1}(1 − r)).
    stderr : float
        0.0 when computed exactly (closed form or quadrature to ~1e-12), else the Monte
        Carlo standard error.
    method : str
        'closed-form', 'closed-form cdf + root', 'quadrature + root' or 'monte-carlo'.
    level : float
        The CDF level p with F_g(q) = p.
    n_mc : int
        Monte Carlo sample size (0 when exact).
    """

    value: float
    stderr: float
    method: str
    level: float
    n_mc: int = 0

    @property
    def exact(self) -> bool:
        return self.method != "monte-carlo"


def score_cdf(process: Process, score: Score) -> Callable[[float], float] | None:
    """The exact CDF t ↦ P(g(Z) ≤ t) where it is known and declared, else None.

    Known: ``margin`` and ``entropy`` on every built-in classification process; ``el2n`` and
    ``loss`` on the same (by quadrature on ``gaussian-logistic`` and ``exponential``);
    ``distance`` on every built-in process; and what a process declares with its own
    ``score_law``. Unknown: ``grand``, rounded scores, and every law of a subclass that changes
    the sampling (:mod:`theory_sim.core.exactness`: exactness is declared, never inherited).
    """
    law = _law(process, score)
    return None if law is None else law.cdf


def check_pair(process, score):
    """Check that ``process`` and ``score`` are a Process and a Score of the same dimension d."""
    if not isinstance(process, Process):
        raise TypeError(f"process must be a Process (see make_process), got {type(process).__name__}")
    if not isinstance(score, Score):
        raise TypeError(f"score must be a Score (see make_score), got {type(score).__name__}")
    if score.d != process.d:
        raise ValueError(f"score has dimension d={score.d} but the process has d={process.d}")
    if not score.label_free and process.task != "classification":
        raise ValueError(f"score {score.name!r} needs labels in {{0, 1}}; process {process.name!r} is a regression process")


def _mc_scores(process, score, n_mc, rng):
    data = process.sample(n_mc, rng)
    return score(data.x, data.y)


def score_quantile(process: Process, score: Score, r, *, keep: str = "lowest", method: str = "auto",
                   n_mc: int = 1_000_000, rng=None) -> Quantile:
    r"""The threshold q_r of SBPA's acceptance region.

    .. math::  q_r = \inf\{q : F_g(q) \ge p\}, \quad p = r \text{ (keep lowest)},\ 1 - r \text{ (keep highest)}

    Parameters
    ----------
    process : Process
        µ.
    score : Score
        g.
    r : float in (0, 1]
        Compression level (fraction kept).
    keep : {'lowest', 'highest'}
    method : {'auto', 'exact', 'monte-carlo'}
        ``auto`` is exact where the law is tractable (:func:`score_cdf`), else Monte Carlo;
        ``exact`` raises where it is not.
    n_mc : int ≥ 100
        Monte Carlo sample size.
    rng : Generator, SeedSequence, int or None
        Used by Monte Carlo only.

    Returns
    -------
    Quantile
        Exact: ``stderr = 0``, the error is that of Brent's method and quadrature (~1e-12).
        Monte Carlo: the order statistic g_(⌈p m⌉) of m = n_mc draws, with
        ``stderr`` = (g_(u) − g_(l)) / (2 · 1.96) where [g_(l), g_(u)] is the
        distribution-free 95% binomial confidence interval of the p-quantile.

    Warns
    -----
    NonAdaptedScoreWarning
        When the score is rounded or the Monte Carlo sample has tied scores.
    """
    check_pair(process, score)
    r = check_r(r)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    method = check_choice("method", method, ("auto", "exact", "monte-carlo"))
    n_mc = check_int("n_mc", n_mc, low=100)
    check_memory("n_mc", n_mc, 3 * 8 * (process.d + 2) * n_mc)  # draws, scores, partition
    p = r if keep == "lowest" else 1.0 - r
    if score.decimals is not None:
        _warn_not_adapted(score, "it is rounded, so its law has atoms")
    law = _law(process, score) if method != "monte-carlo" else None
    if law is not None:
        return Quantile(law.quantile(p), 0.0, law.method, p)
    if method == "exact":
        raise ValueError(f"method='exact' is not available for score {score.name!r} on process {process.name!r}; "
                         "use method='auto' or 'monte-carlo'")
    g = _mc_scores(process, score, n_mc, as_generator(rng))
    return _mc_quantile(g, p, score)


def threshold_sd(process: Process, score: Score, r, n: int, *, keep: str = "lowest") -> float | None:
    r"""The asymptotic standard deviation of SBPA's empirical threshold g_(k) at sample size n.

    .. math::  \operatorname{sd}(g_{(k)}) \approx \frac{\sqrt{p (1 - p) / n}}{f_g(q_r)},
               \quad p = r \text{ (keep lowest)},\ 1 - r \text{ (keep highest)}

    the law of a sample quantile (docs/theory.md, "Claim register", C1), with f_g the density of the score at
    q_r, taken from the exact CDF (:func:`score_cdf`) by a central difference of step
    10⁻⁵ · max(1, ``|q_r|``) (relative error O(step²)).

    Returns None where the law of the score is not known exactly (no density to read).
    """
    check_pair(process, score)
    r = check_r(r)
    n = check_int("n", n, low=1)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    law = _law(process, score)
    if law is None:
        return None
    p = r if keep == "lowest" else 1.0 - r
    q = law.quantile(p)
    h = 1e-5 * max(1.0, abs(q))
    density = (law.cdf(q + h) - law.cdf(q - h)) / (2 * h)
    if not density > 0:
        return None  # q_r at an edge of the support or in a gap of it: no density to divide by
    return math.sqrt(p * (1 - p) / n) / density


def _mc_quantile(g, p, score):
    m = g.shape[0]
    half = 1.959963984540054 * math.sqrt(m * p * (1 - p))
    j = min(max(math.ceil(p * m), 1), m) - 1  # 0-based index of g_(⌈pm⌉)
    lo = min(max(math.floor(p * m - half), 1), m) - 1
    hi = min(max(math.ceil(p * m + half), 1), m) - 1
    part = np.partition(g, sorted({j, lo, hi}))
    if np.unique(g).shape[0] < m:
        _warn_not_adapted(score, f"{m - np.unique(g).shape[0]} tied values in {m} Monte Carlo draws")
    return Quantile(float(part[j]), float(part[hi] - part[lo]) / (2 * 1.959963984540054), "monte-carlo", p, m)


def _warn_not_adapted(score, why):
    warnings.warn(
        f"score {score.name!r} is not adapted ({why}): the limit theory of ν_r assumes a continuous law of g(Z); "
        "ties are broken at random but the results are not covered by the theory",
        NonAdaptedScoreWarning,
        stacklevel=3,
    )


@dataclass(frozen=True)
class Adaptedness:
    """Result of :func:`check_adapted`.

    Attributes
    ----------
    adapted : bool
    method : {'exact', 'ties-test'}
    n : int
        Sample size of the ties test (0 when exact).
    n_ties : int
        Draws whose score equals an earlier draw's (ties test).
    """

    adapted: bool
    method: str
    n: int = 0
    n_ties: int = 0


def check_adapted(process: Process, score: Score, *, n: int = 100_000, rng=None) -> Adaptedness:
    """Is the law of g(Z), Z ~ µ, free of atoms (docs/theory.md, "Definitions")?

    Exact where the law is known (:func:`score_cdf`: every such law has a continuous CDF),
    and for rounded scores (which have atoms). Otherwise a ties test: draw ``n`` points and
    count repeated score values. A continuous law repeats a float64 with probability about
    n² 2^-53 (≈ 1e-6 at n = 1e5), so one tie is evidence of an atom.

    Warns ``NonAdaptedScoreWarning`` when the score is not adapted.
    """
    check_pair(process, score)
    n = check_int("n", n, low=2)
    if score.decimals is not None:
        _warn_not_adapted(score, "it is rounded, so its law has atoms")
        return Adaptedness(False, "exact")
    if _law(process, score) is not None:
        return Adaptedness(True, "exact")
    g = _mc_scores(process, score, n, as_generator(rng))
    ties = n - np.unique(g).shape[0]
    if ties:
        _warn_not_adapted(score, f"{ties} tied values in {n} draws")
    return Adaptedness(ties == 0, "ties-test", n, ties)


@dataclass(frozen=True)
class AcceptanceRegion:
    """A_r = {z : g(z) ≤ q} (keep="lowest") or {z : g(z) ≥ q} (keep="highest")."""

    score: Score
    threshold: Quantile
    keep: str

    def contains(self, x, y=None) -> np.ndarray:
        """Boolean mask, shape (n,), of the points in the region."""
        g = self.score(x, y)
        q = self.threshold.value
        return g <= q if self.keep == "lowest" else g >= q


def acceptance_region(process: Process, score: Score, r, *, keep: str = "lowest", **quantile_options) -> AcceptanceRegion:
    """The acceptance region A_r of SBPA at compression level r (options as :func:`score_quantile`)."""
    return AcceptanceRegion(score, score_quantile(process, score, r, keep=keep, **quantile_options), keep)


def limit_density(process: Process, score: Score, r, *, protocol: str = "sbpa", alpha=None, keep: str = "lowest",
                  **quantile_options) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    r"""The density dν/dµ of a protocol's limit, as a function of (x, y).

    SBPA: 1{A_r}/r. AC: 1/r on A_{αr}, (1 − α)/(1 − α r) elsewhere. EC and random: 1. Any
    registered policy: from its ``limit`` (:class:`theory_sim.RegionLimit`) or its ``limit_density``.
    """
    check_pair(process, score)
    policy, alpha, r, lim = _policy_limit(protocol, alpha, r)
    if lim is None:
        density = policy.limit_density(process, score, r, alpha=alpha, keep=keep, **quantile_options)
        if density is None:
            raise ValueError(f"policy {protocol!r} declares no limit law (neither limit() nor limit_density()); "
                             "the limit density is unknown")
        return density
    if lim.level is None:
        return lambda x, y=None: np.ones(np.asarray(x).shape[0])
    region = acceptance_region(process, score, lim.level, keep=keep, **quantile_options)
    inside, outside = 1.0 / lim.scale, lim.outside
    return lambda x, y=None: np.where(region.contains(x, y), inside, outside)


def _policy_limit(protocol, alpha, r):
    """The policy called ``protocol``, its checked α, r, and its region-form limit (or None)."""
    policy = get_policy(protocol)
    alpha = policy.check_alpha(alpha)
    r = check_r(r)
    return policy, alpha, r, policy.limit(r, alpha)


@dataclass(frozen=True)
class LimitSample:
    """i.i.d. draws from a protocol's limit measure.

    Attributes
    ----------
    data : Data
    weights : ndarray, shape (n,), all 1/n
    protocol, r, alpha, keep : as given
    threshold : Quantile or None
        The threshold of the region used (A_r for SBPA, A_{αr} for AC).
    exact : bool
        True when the threshold is exact, so that the draws follow the limit exactly.
    n_proposed : int
        Draws from µ consumed by rejection sampling.
    """

    data: Data
    weights: np.ndarray
    protocol: str
    r: float
    alpha: float | None
    keep: str
    threshold: Quantile | None
    exact: bool
    n_proposed: int


MAX_PROPOSALS = 10**8  # draws from µ one sample_limit may make by rejection (not minutes at r = 1e-9)


def check_rejection_budget(n: int, acceptance: float, what: str) -> None:
    """Refuse ``n`` draws by rejection at this acceptance rate (about n / acceptance proposals)
    beyond ``MAX_PROPOSALS``; ``what`` starts the message (e.g. ``"r=1e-09"``)."""
    if n / acceptance > MAX_PROPOSALS:
        raise ValueError(f"{what}: {n} draws of the limit by rejection from mu at acceptance rate {acceptance:.3g} "
                         f"need ~{n / acceptance:.3g} proposals, more than the bound {MAX_PROPOSALS:.0e}; "
                         "use a larger r or fewer draws")


def _rejection(process, region, n, inside, efficiency, rng):
    """n draws from µ restricted to the region (inside=True) or to its complement; a loop
    that needs 4 times the bound MAX_PROPOSALS (checked by sample_limit) stops with an error."""
    xs, ys, got, proposed = [], [], 0, 0
    batch = max(64, int(1.1 * n / max(efficiency, 1e-6)) + 64)
    check_memory("n", n, 3 * 8 * (process.d + 2) * batch, advice="use fewer draws or a larger r")
    while got < n:
        if proposed > 4 * MAX_PROPOSALS:
            raise RuntimeError(f"rejection sampling made {proposed} proposals for {n} draws (acceptance rate "
                               f"{got / proposed:.3g}, expected {efficiency:.3g}); stopped")
        data = process.sample(batch, rng)
        proposed += batch
        keep = region.contains(data.x, data.y)
        if not inside:
            keep = ~keep
        hits = np.flatnonzero(keep)
        if got + hits.shape[0] >= n:  # count the proposals up to the n-th acceptance only
            proposed += int(hits[n - got - 1]) + 1 - batch
        xs.append(data.x[hits])
        ys.append(data.y[hits])
        got += hits.shape[0]
    return Data(np.concatenate(xs)[:n], np.concatenate(ys)[:n]), proposed


def sample_limit(process: Process, score: Score, r, n: int, *, protocol: str = "sbpa", alpha=None,
                 keep: str = "lowest", rng=None, **quantile_options) -> LimitSample:
    r"""Exact i.i.d. draws from the limit of a pruning protocol.

    SBPA: ν_r = µ|A_r / r, by rejection from µ (acceptance rate r). AC: with probability α a
    draw from ν_{αr}, else a draw from µ restricted to the complement of A_{αr} (both by
    rejection), which is the density of the module docstring. EC and random: µ.

    Parameters
    ----------
    process, score : Process, Score
    r : float in (0, 1]
    n : int ≥ 1
        Number of draws.
    protocol : {'sbpa', 'random', 'ec', 'ac'}
    alpha : float, for 'ec' ([0, 1)) and 'ac' ([0, 1])
    keep : {'lowest', 'highest'}
    rng : Generator, SeedSequence, int or None
    **quantile_options
        Passed to :func:`score_quantile` (``method``, ``n_mc``); draws are exact only when the
        threshold is (``LimitSample.exact``).
    """
    check_pair(process, score)
    policy, alpha, r, lim = _policy_limit(protocol, alpha, r)
    n = check_int("n", n, low=1)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    if lim is None:
        raise ValueError(f"policy {protocol!r} declares no limit of the region form (limit() returns None): "
                         "sample_limit cannot draw from it")
    rng = as_generator(rng)
    if lim.level is None:
        data = process.sample(n, rng)
        return LimitSample(data, np.full(n, 1.0 / n), protocol, r, alpha, keep, None, True, n)
    level = lim.level
    # AC: about alpha n draws at rate alpha r and the rest at rate ≥ 1 - r: about n / scale proposals
    check_rejection_budget(n, lim.scale, f"r={r}")
    qopts = dict(quantile_options)
    qopts.setdefault("rng", rng)
    region = acceptance_region(process, score, level, keep=keep, **qopts)
    if lim.p_inside == 1.0:
        data, proposed = _rejection(process, region, n, True, level, rng)
    else:
        n_in = int(rng.binomial(n, lim.p_inside))
        inner, p_in = _rejection(process, region, n_in, True, level, rng) if n_in else (None, 0)
        outer, p_out = _rejection(process, region, n - n_in, False, 1.0 - level, rng) if n - n_in else (None, 0)
        parts = [d for d in (inner, outer) if d is not None]
        order = rng.permutation(n)
        data = Data(np.concatenate([d.x for d in parts])[order], np.concatenate([d.y for d in parts])[order])
        proposed = p_in + p_out
    return LimitSample(data, np.full(n, 1.0 / n), protocol, r, alpha, keep, region.threshold,
                       region.threshold.exact, proposed)
