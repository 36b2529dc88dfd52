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
from scipy import integrate, optimize, special, stats

from theory_sim.validation import as_generator, check_choice, check_int, check_memory, check_protocol, check_r
from theory_sim.core.processes import Data, Exponential, GaussianLogistic, GaussianMixture, LinearModel, Process, SineRegression
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


# ---------------------------------------------------------------------------------------
# Exact laws of g(Z). Each law is a CDF on an interval plus, where one exists, a closed-form
# quantile function; the quantile is otherwise found by Brent's method on the CDF.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Law:
    cdf: Callable[[float], float]
    lo: float
    hi: float
    method: str
    ppf: Callable[[float], float] | None = None

    def quantile(self, p: float) -> float:
        if p <= 0.0:
            return self.lo
        if p >= 1.0:
            return self.hi
        if self.ppf is not None:
            return float(self.ppf(p))
        return _invert(self.cdf, p, self.lo, self.hi)


def _invert(cdf, p, lo, hi):
    """inf{t : cdf(t) >= p} for a continuous increasing cdf, by bracketing then Brent."""
    a = lo if math.isfinite(lo) else -1.0
    while not math.isfinite(lo) and cdf(a) > p:
        a *= 2.0
    b = hi if math.isfinite(hi) else max(1.0, 2.0 * abs(a))
    while not math.isfinite(hi) and cdf(b) < p:
        b *= 2.0
    return float(optimize.brentq(lambda t: cdf(t) - p, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def _u_cdf(process: Process, model: LinearModel):
    """CDF of u = w·x + b under the x-marginal of ``process``; None if not tractable."""
    s = float(np.linalg.norm(model.w))
    if s == 0.0:
        return None  # a constant logit: g(Z) is an atom
    if isinstance(process, GaussianLogistic):
        return lambda t: special.ndtr((t - model.b) / s)
    if isinstance(process, GaussianMixture):
        mu1 = float(model.w @ process.m) + model.b
        mu0 = -float(model.w @ process.m) + model.b
        tau = process.sigma * s
        pi = process.pi
        return lambda t: pi * special.ndtr((t - mu1) / tau) + (1 - pi) * special.ndtr((t - mu0) / tau)
    if isinstance(process, Exponential):
        w, b, lam = float(model.w[0]), model.b, process.rate
        if w > 0:
            return lambda t: -math.expm1(-lam * max(0.0, (t - b) / w))
        return lambda t: math.exp(-lam * max(0.0, (t - b) / w))
    return None


def _label_joint(process: Process, model: LinearModel):
    r"""G(c) = P(y = 1, u ≥ −c) + P(y = 0, u ≤ c), u the reference logit; None if not tractable.

    el2n ≤ σ(c) and loss ≤ softplus(c) are both the event {y=1, u ≥ −c} ∪ {y=0, u ≤ c}, so one
    increasing function of c gives the law of both scores.
    """
    s = float(np.linalg.norm(model.w))
    if s == 0.0:
        return None
    if isinstance(process, GaussianMixture):
        mu1 = float(model.w @ process.m) + model.b
        mu0 = -float(model.w @ process.m) + model.b
        tau, pi = process.sigma * s, process.pi
        return lambda c: pi * special.ndtr((c + mu1) / tau) + (1 - pi) * special.ndtr((c - mu0) / tau)
    if isinstance(process, GaussianLogistic):
        return _gaussian_logistic_joint(process, model, s)
    if isinstance(process, Exponential):
        truth, lam = process.truth(), process.rate
        w, b = float(model.w[0]), model.b

        def part(c, positive):
            # x-interval where the event holds: u(x) ≥ −c (y = 1) or u(x) ≤ c (y = 0)
            edge = ((-c if positive else c) - b) / w
            upper_side = (w > 0) == positive
            lo, hi = (max(edge, 0.0), math.inf) if upper_side else (0.0, edge)
            if hi <= lo:
                return 0.0

            def f(x):
                p1 = special.expit(truth.w[0] * x + truth.b)
                return lam * math.exp(-lam * x) * (p1 if positive else 1.0 - p1)

            return integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

        return lambda c: part(c, True) + part(c, False)
    return None


# Gauss–Hermite rule for E[σ(m + τ Z)], Z ~ N(0, 1). σ is analytic in the strip |Im| < π,
# so the rule converges geometrically; 96 nodes are exact to ~1e-15 for τ ≤ 5.
_GH_T, _GH_W = np.polynomial.hermite_e.hermegauss(96)
_GH_W = _GH_W / _GH_W.sum()


def _gaussian_logistic_joint(process: GaussianLogistic, model: LinearModel, s_ref: float):
    truth = process.truth()
    s_t2 = float(truth.w @ truth.w)
    cov = float(truth.w @ model.w)
    beta = cov / s_ref**2
    tau = math.sqrt(max(s_t2 - cov * cov / s_ref**2, 0.0))

    def p1_given(v):  # E[σ(u_true) | u_ref = v]: u_true | u_ref is normal
        m = truth.b + beta * (v - model.b)
        if tau == 0.0:
            return special.expit(m)
        return float(_GH_W @ special.expit(m + tau * _GH_T))

    def density(v):
        return math.exp(-0.5 * ((v - model.b) / s_ref) ** 2) / (s_ref * math.sqrt(2 * math.pi))

    def integral(f, lo, hi):
        # integrate in the standardised variable so that quad sees the bulk at O(1)
        z_lo, z_hi = (lo - model.b) / s_ref, (hi - model.b) / s_ref
        z_lo, z_hi = max(z_lo, -40.0), min(z_hi, 40.0)
        if z_hi <= z_lo:
            return 0.0
        g = lambda z: f(model.b + s_ref * z) * density(model.b + s_ref * z) * s_ref  # noqa: E731
        return integrate.quad(g, z_lo, z_hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    return lambda c: integral(p1_given, -c, math.inf) + integral(lambda v: 1.0 - p1_given(v), -math.inf, c)


def _law(process: Process, score: Score) -> _Law | None:
    """The exact law of g(Z) where it is tractable; None otherwise (Monte Carlo is used)."""
    if score.decimals is not None:
        return None
    if score.name in ("margin", "entropy"):
        u_cdf = _u_cdf(process, score.reference)
        if u_cdf is None:
            return None
        margin_cdf = lambda t: 0.0 if t < 0 else u_cdf(t) - u_cdf(-t)  # noqa: E731
        margin = _Law(margin_cdf, 0.0, math.inf, "closed-form cdf + root")
        if score.name == "margin":
            return margin
        # entropy = h(|u|), h(a) = H(σ(a)) strictly decreasing from log 2 to 0:
        # H ≤ h(a) ⇔ |u| ≥ a, so F_H(h(a)) = 1 − F_|u|(a) and q_p(H) = h(q_{1−p}(|u|)).
        h = _entropy_of_margin
        return _Law(
            lambda t: 1.0 - margin_cdf(_invert_entropy(t)),
            0.0,
            math.log(2.0),
            margin.method,
            ppf=lambda p: h(margin.quantile(1.0 - p)),
        )
    if score.name in ("el2n", "loss"):
        joint = _label_joint(process, score.reference)
        if joint is None:
            return None
        method = "quadrature + root" if isinstance(process, (GaussianLogistic, Exponential)) else "closed-form cdf + root"
        c_law = _Law(joint, -math.inf, math.inf, method)
        if score.name == "el2n":  # el2n ≤ σ(c)
            return _Law(lambda t: joint(special.logit(t)) if 0 < t < 1 else float(t >= 1), 0.0, 1.0, method,
                        ppf=lambda p: special.expit(c_law.quantile(p)))
        # loss ≤ softplus(c);  softplus^{-1}(t) = log(expm1(t))
        return _Law(lambda t: joint(math.log(math.expm1(t))) if t > 0 else 0.0, 0.0, math.inf, method,
                    ppf=lambda p: float(np.logaddexp(0.0, c_law.quantile(p))))
    if score.name == "distance":
        return _distance_law(process, np.asarray(score.center))
    return None  # grand: no tractable law


def _entropy_of_margin(a: float) -> float:
    if not math.isfinite(a):
        return 0.0
    # 1 − σ(a) as σ(−a), without cancellation (the entropy of large margins keeps its digits)
    return float(special.expit(a) * np.logaddexp(0.0, -a) + special.expit(-a) * np.logaddexp(0.0, a))


def _invert_entropy(t: float) -> float:
    """a ≥ 0 with h(a) = t (t in (0, log 2])."""
    if t >= math.log(2.0):
        return 0.0
    if t <= 0.0:
        return math.inf
    hi = 1.0
    while _entropy_of_margin(hi) > t:
        hi *= 2.0
    return float(optimize.brentq(lambda a: _entropy_of_margin(a) - t, 0.0, hi, xtol=1e-15))


def _distance_law(process: Process, c: np.ndarray) -> _Law | None:
    if isinstance(process, GaussianLogistic):
        nc, d = float(c @ c), process.d
        if nc == 0.0:  # ‖x‖² ~ χ²_d
            return _Law(lambda t: stats.chi2.cdf(t * t, d), 0.0, math.inf, "closed-form",
                        ppf=lambda p: math.sqrt(stats.chi2.ppf(p, d)))
        return _Law(lambda t: stats.ncx2.cdf(t * t, d, nc), 0.0, math.inf, "closed-form cdf + root")
    if isinstance(process, GaussianMixture):
        s2, d, pi = process.sigma**2, process.d, process.pi
        nc1 = float((process.m - c) @ (process.m - c)) / s2
        nc0 = float((process.m + c) @ (process.m + c)) / s2

        def cdf(t):
            def part(nc):
                return stats.ncx2.cdf(t * t / s2, d, nc) if nc > 0 else stats.chi2.cdf(t * t / s2, d)

            return pi * part(nc1) + (1 - pi) * part(nc0)

        return _Law(cdf, 0.0, math.inf, "closed-form cdf + root")
    if isinstance(process, SineRegression):  # x ~ U[−1, 1]
        c0 = float(c[0])
        cdf = lambda t: max(0.0, min(1.0, c0 + t) - max(-1.0, c0 - t)) / 2.0  # noqa: E731
        return _Law(cdf, 0.0, 1.0 + abs(c0), "closed-form cdf + root")
    if isinstance(process, Exponential):
        c0, lam = float(c[0]), process.rate
        F = lambda x: -math.expm1(-lam * max(x, 0.0))  # noqa: E731
        if c0 == 0.0:
            return _Law(F, 0.0, math.inf, "closed-form", ppf=lambda p: -math.log1p(-p) / lam)
        return _Law(lambda t: max(0.0, F(c0 + t) - F(c0 - t)) if t >= 0 else 0.0, 0.0, math.inf,
                    "closed-form cdf + root")
    return None


def score_cdf(process: Process, score: Score) -> Callable[[float], float] | None:
    """The exact CDF t ↦ P(g(Z) ≤ t) where the toolkit knows it, else None.

    Known: ``margin`` and ``entropy`` on every classification process; ``el2n`` and ``loss``
    on every classification process (by quadrature on ``gaussian-logistic`` and
    ``exponential``); ``distance`` on every process. Unknown: ``grand`` and rounded scores.
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

    SBPA: 1{A_r}/r. AC: 1/r on A_{αr}, (1 − α)/(1 − α r) elsewhere. EC and random: 1.
    """
    check_pair(process, score)
    protocol, alpha = check_protocol(protocol, alpha)
    r = check_r(r)
    if protocol in ("ec", "random") or (protocol == "ac" and alpha == 0.0):
        return lambda x, y=None: np.ones(np.asarray(x).shape[0])
    level = r if protocol == "sbpa" else alpha * r
    region = acceptance_region(process, score, level, keep=keep, **quantile_options)
    outside = 0.0 if protocol == "sbpa" else (1.0 - alpha) / (1.0 - alpha * r)
    return lambda x, y=None: np.where(region.contains(x, y), 1.0 / r, outside)


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
    protocol, alpha = check_protocol(protocol, alpha)
    r = check_r(r)
    n = check_int("n", n, low=1)
    keep = check_choice("keep", keep, ("lowest", "highest"))
    rng = as_generator(rng)
    if protocol in ("random", "ec") or (protocol == "ac" and alpha == 0.0):
        data = process.sample(n, rng)
        return LimitSample(data, np.full(n, 1.0 / n), protocol, r, alpha, keep, None, True, n)
    level = r if protocol == "sbpa" else alpha * r
    check_rejection_budget(n, r, f"r={r}")  # AC: about alpha n draws at rate alpha r, and the rest at rate ≥ 1 - r
    qopts = dict(quantile_options)
    qopts.setdefault("rng", rng)
    region = acceptance_region(process, score, level, keep=keep, **qopts)
    if protocol == "sbpa" or alpha == 1.0:
        data, proposed = _rejection(process, region, n, True, level, rng)
    else:
        n_in = int(rng.binomial(n, alpha))
        inner, p_in = _rejection(process, region, n_in, True, level, rng) if n_in else (None, 0)
        outer, p_out = _rejection(process, region, n - n_in, False, 1.0 - level, rng) if n - n_in else (None, 0)
        parts = [d for d in (inner, outer) if d is not None]
        order = rng.permutation(n)
        data = Data(np.concatenate([d.x for d in parts])[order], np.concatenate([d.y for d in parts])[order])
        proposed = p_in + p_out
    return LimitSample(data, np.full(n, 1.0 / n), protocol, r, alpha, keep, region.threshold,
                       region.threshold.exact, proposed)
