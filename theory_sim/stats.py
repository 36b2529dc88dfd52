r"""One statistics module: t-intervals and bands, log-log and power-law fits, plateaus, crossovers
(docs/theory.md, "Statistics").

Every interval and slope the toolkit reports comes from here, so a criterion of the claim
register (:mod:`theory_sim.claims`) reads the same statistic that a figure draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from theory_sim.validation import as_generator, check_int, check_real

__all__ = ["CROSSING_STATUSES", "Crossing", "DECISIONS", "Equivalence", "LoglogFit", "Plateau", "PowerLawFit",
           "TInterval", "bootstrap_crossing", "combine_decisions", "crossing", "equivalence_test", "fit_power_law",
           "ks_pvalues", "log_band", "loglog_fit", "plateau_level", "t_interval", "t_summary"]


@dataclass(frozen=True)
class TInterval:
    """Mean, standard error and Student-t interval of a sample (arrays when taken along an axis)."""

    mean: float | np.ndarray
    stderr: float | np.ndarray
    ci_low: float | np.ndarray
    ci_high: float | np.ndarray


def t_summary(samples, axis: int = -1, level: float = 0.95) -> TInterval:
    r"""Mean and Student-t confidence interval over ``axis``.

    .. math::  \bar x \pm t_{S-1,\,(1+\text{level})/2}\; s / \sqrt{S},

    s the sample standard deviation (ddof = 1) of the S values along ``axis``; needs S ≥ 2.
    The standard error is s / √S. Scalars for a 1-D sample, arrays otherwise.
    """
    a = np.asarray(samples, dtype=np.float64)
    size = a.shape[axis]
    if size < 2:
        raise ValueError(f"a t interval needs at least 2 values along axis {axis}, got {size}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    mean = a.mean(axis=axis)
    sd = a.std(axis=axis, ddof=1)
    half = stats.t.ppf(0.5 + level / 2.0, size - 1) * sd / np.sqrt(size)
    stderr = sd / np.sqrt(size)
    if np.ndim(mean) == 0:
        return TInterval(float(mean), float(stderr), float(mean - half), float(mean + half))
    return TInterval(mean, stderr, mean - half, mean + half)


def t_interval(samples, axis: int = -1, level: float = 0.95):
    """``(mean, low, high)`` of :func:`t_summary`."""
    s = t_summary(samples, axis=axis, level=level)
    return s.mean, s.ci_low, s.ci_high


@dataclass(frozen=True)
class LoglogFit:
    """Least-squares fit log y = a + slope · log n, with a t-based 95% CI on the slope (``stderr``: the slope's
    standard error, ``dof``: its degrees of freedom)."""

    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    stderr: float = math.nan
    dof: int = 0


def loglog_fit(n, y) -> LoglogFit:
    """Fit log y against log n (all points, replications included); needs ≥ 3 points, 2 distinct n.

    Ordinary least squares on every point; the CI is slope ± t_{m−2, 0.975} · se(slope) for m
    points. (:func:`fit_power_law` fits the means instead, weighted by their spread.)
    """
    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(y, float))
    res = stats.linregress(x, y)
    dof = x.shape[0] - 2
    half = stats.t.ppf(0.975, dof) * res.stderr if dof > 0 else math.inf
    return LoglogFit(float(res.slope), float(res.slope - half), float(res.slope + half), float(res.intercept),
                     float(res.stderr), int(dof))


def log_band(samples, axis: int = -1, level: float = 0.95, floor: float = 0.1):
    """``(mean, low, high)`` of :func:`t_interval`, the lower edge raised to ``floor × mean``.

    For drawing a band on a log axis, where a lower edge ≤ 0 cannot be shown.
    """
    mean, low, high = t_interval(samples, axis=axis, level=level)
    return mean, np.maximum(low, mean * floor), high


# ---------------------------------------------------------------------------------------
# Power laws over a grid of sample sizes
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLawFit:
    """Fit log E[y] = a + slope · log n over a window of the grid (:func:`fit_power_law`).

    ``ci_low``, ``ci_high``: CI of the slope (95% unless asked otherwise); ``chi2_dof``: the fit's χ²/dof (the CI is
    widened by √(χ²/dof) when it exceeds 1); ``n_min``, ``n_max``: the window.
    """

    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    chi2_dof: float
    n_min: int
    n_max: int
    points: int


def fit_power_law(ns, values, *, n_min=None, n_max=None, level: float = 0.95) -> PowerLawFit:
    r"""Weighted least-squares fit of log(mean value) against log n, using the replications' spread.

    For each n the mean over replications ȳ_n and its standard error se_n give
    log ȳ_n with variance (se_n/ȳ_n)² (delta method); the line is fitted with weights
    ȳ_n²/se_n². The slope's CI at ``level`` is ±z × its standard error (z the normal quantile,
    1.96 at 95%), times √(χ²/dof) when the points scatter more than their errors say (a
    Birge-ratio inflation; dof = points − 2).

    Parameters
    ----------
    ns : array_like, shape (m,)
    values : array_like, shape (m, replications)
        Positive values (e.g. excess test losses), replications ≥ 2.
    n_min, n_max : int, optional
        Restrict the fit to n_min ≤ n ≤ n_max (needs ≥ 3 points).
    level : float in (0, 1)
        Confidence level of the slope's interval.
    """
    level = check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    ns = np.asarray(ns, dtype=float)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != ns.shape[0] or values.shape[1] < 2:
        raise ValueError(f"values must have shape ({ns.shape[0]}, replications >= 2), got {values.shape}")
    keep = np.ones(ns.shape, dtype=bool)
    if n_min is not None:
        keep &= ns >= n_min
    if n_max is not None:
        keep &= ns <= n_max
    if keep.sum() < 3:
        raise ValueError(f"the fit window [{n_min}, {n_max}] holds {int(keep.sum())} sample sizes; need at least 3")
    mean = values[keep].mean(axis=1)
    se = values[keep].std(axis=1, ddof=1) / math.sqrt(values.shape[1])
    x, y = np.log(ns[keep]), np.log(mean)
    w = (mean / se) ** 2
    design = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    a, b = cov @ design.T @ (w * y)
    dof = x.shape[0] - 2
    chi2 = float(w @ (y - a - b * x) ** 2)
    chi2_dof = chi2 / dof if dof > 0 else math.nan
    birge = max(1.0, math.sqrt(chi2_dof)) if dof > 0 else 1.0
    half = float(stats.norm.ppf(0.5 + level / 2)) * math.sqrt(cov[1, 1]) * birge
    return PowerLawFit(float(b), float(b - half), float(b + half), float(a), chi2_dof, int(ns[keep][0]),
                       int(ns[keep][-1]), int(keep.sum()))


@dataclass(frozen=True)
class Plateau:
    """The mean at the largest n, its 95% CI (t over replications) and the predictions (NaN when none)."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    predicted_limit: float
    predicted_at_n: float


def plateau_level(n: int, values, *, predicted_limit: float = math.nan, predicted_at_n: float = math.nan) -> Plateau:
    """The level reached at sample size ``n``: the mean of ``values`` (its replications) and its 95% t interval."""
    ci = t_summary(np.asarray(values, dtype=float).ravel())
    return Plateau(int(n), ci.mean, ci.ci_low, ci.ci_high, float(predicted_limit), float(predicted_at_n))


# ---------------------------------------------------------------------------------------
# Crossovers of two curves over a grid of sample sizes
# ---------------------------------------------------------------------------------------
CROSSING_STATUSES = ("crossover", "never-better", "no-crossover-in-range")


def crossing(ns, diff) -> tuple[str, float]:
    """Where ``diff`` (log of one curve over another) turns positive for good, interpolated in log n.

    Returns ``(status, n*)``: ``crossover`` with n* interpolated linearly in log n between the
    two grid points around the last sign change; ``never-better`` (diff > 0 at every n) or
    ``no-crossover-in-range`` (diff ≤ 0 at the largest n), with n* NaN.
    """
    ns = np.asarray(ns, dtype=float)
    below = np.flatnonzero(diff <= 0.0)
    if below.size == 0:
        return "never-better", math.nan
    last = below[-1]
    if last == ns.size - 1:
        return "no-crossover-in-range", math.nan
    x0, x1 = math.log(ns[last]), math.log(ns[last + 1])
    d0, d1 = diff[last], diff[last + 1]
    return "crossover", math.exp(x0 + (x1 - x0) * (0.0 - d0) / (d1 - d0))


@dataclass(frozen=True)
class Crossing:
    """A measured crossing (:func:`bootstrap_crossing`).

    ``status``, ``n_star``: :func:`crossing` of the means; ``ci_low``, ``ci_high``: a 95% percentile
    bootstrap over replications from the resamples that show a crossover, whose fraction is
    ``boot_fraction`` (NaN with no resample).
    """

    status: str
    n_star: float
    ci_low: float
    ci_high: float
    boot_fraction: float


def bootstrap_crossing(ns, first, second, *, boot: int = 1000, rng=0) -> Crossing:
    """The crossing of the mean of ``first`` over the mean of ``second``, with a paired bootstrap CI.

    Parameters
    ----------
    ns : array_like, shape (m,)
    first, second : array_like, shape (m, replications)
        Positive values; replication j of both comes from the same data (paired): a resample
        draws the same replications for both.
    boot : int ≥ 0
        Bootstrap resamples.
    rng : Generator, SeedSequence, int or None
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    status, n_star = crossing(ns, np.log(a.mean(axis=1)) - np.log(b.mean(axis=1)))
    boot = check_int("boot", boot, low=0)
    gen = as_generator(rng)
    reps = a.shape[1]
    stars = []
    for _ in range(boot):
        idx = gen.integers(0, reps, reps)
        s, v = crossing(ns, np.log(a[:, idx].mean(axis=1)) - np.log(b[:, idx].mean(axis=1)))
        if s == "crossover":
            stars.append(v)
    lo, hi = (np.percentile(stars, [2.5, 97.5]) if stars else (math.nan, math.nan))
    return Crossing(status, n_star, float(lo), float(hi), len(stars) / boot if boot else math.nan)


# ---------------------------------------------------------------------------------------
# Three-outcome decisions against an equivalence margin
# ---------------------------------------------------------------------------------------
DECISIONS = ("supported", "not supported", "inconclusive")


@dataclass(frozen=True)
class Equivalence:
    """A decision of :func:`equivalence_test`: is the parameter within ``margin`` of ``target``?

    ``ci_low``, ``ci_high``: the (1 − 2 alpha) interval of the estimate; ``power``: the probability of
    "supported" when the parameter equals the target, at the measured standard error; ``min_detectable``: the
    smallest |parameter − target| that gives "not supported" with probability ``power_at`` (0.8); ``dof``: None
    for a normal statistic.
    """

    verdict: str
    estimate: float
    stderr: float
    dof: float | None
    target: float
    margin: float
    ci_low: float
    ci_high: float
    alpha: float
    power: float
    min_detectable: float

    def to_dict(self) -> dict:
        """The fields as a plain dict (for claims.json)."""
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def _dist(dof):
    return stats.norm if dof is None or not math.isfinite(dof) else stats.t(dof)


def equivalence_test(estimate, stderr, target, margin, *, dof=None, alpha: float = 0.05,
                     power_at: float = 0.8) -> Equivalence:
    r"""Two one-sided tests (TOST) of |θ − target| < margin, with three outcomes (docs/theory.md, "Statistics").

    With the (1 − 2α) interval I = estimate ± c · stderr, c = t_{dof, 1−α} (normal when ``dof`` is None):
    *supported* when I lies inside [target − margin, target + margin] (equivalence shown, error ≤ α when
    |θ − target| ≥ margin); *not supported* when I lies entirely outside it (a deviation beyond the margin shown,
    error ≤ α when |θ − target| ≤ margin); *inconclusive* otherwise.

    .. math::  \text{power} = P(|\hat\theta - \text{target}| \le m - c\,s) = 2F\big(m/s - c\big) - 1
               \ (0 \text{ if } m \le c s), \qquad
               D_{\min} = m + (c + F^{-1}(\text{power\_at}))\, s,

    F the t (or normal) CDF, s the standard error, m the margin: the power at θ = target, and the deviation
    |θ − target| beyond which "not supported" has probability at least ``power_at`` (one side's tail ignored).

    Parameters
    ----------
    estimate, stderr : float
        The estimate and its standard error (≥ 0).
    target : float
        The predicted value.
    margin : float > 0
        The equivalence margin (absolute).
    dof : float, optional
        Degrees of freedom of a t statistic (None: normal).
    alpha : float in (0, 0.5)
    power_at : float in (0, 1)

    Examples
    --------
    >>> equivalence_test(-0.49, 0.01, -0.5, 0.1).verdict
    'supported'
    >>> equivalence_test(-0.2, 0.01, -0.5, 0.1).verdict
    'not supported'
    >>> equivalence_test(-0.45, 0.2, -0.5, 0.1).verdict
    'inconclusive'
    """
    estimate, target = check_real("estimate", estimate), check_real("target", target)
    stderr = check_real("stderr", stderr, low=0.0)
    margin = check_real("margin", margin, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, high=0.5, low_open=True, high_open=True)
    power_at = check_real("power_at", power_at, low=0.0, high=1.0, low_open=True, high_open=True)
    if dof is not None:
        dof = check_real("dof", dof, low=0.0, low_open=True)
    dist = _dist(dof)
    c = float(dist.ppf(1.0 - alpha))
    low, high = estimate - c * stderr, estimate + c * stderr
    if target - margin <= low and high <= target + margin:
        verdict = "supported"
    elif high < target - margin or low > target + margin:
        verdict = "not supported"
    else:
        verdict = "inconclusive"
    if stderr == 0.0:
        power = 1.0
    else:
        power = max(0.0, 2.0 * float(dist.cdf(margin / stderr - c)) - 1.0)
    min_detectable = margin + (c + float(dist.ppf(power_at))) * stderr
    return Equivalence(verdict, estimate, stderr, None if dof is None else float(dof), target, margin,
                       float(low), float(high), alpha, power, float(min_detectable))


def combine_decisions(verdicts) -> str:
    """One verdict from several that must all hold: *not supported* if any is, *supported* if all are,
    *inconclusive* otherwise."""
    verdicts = list(verdicts)
    bad = [v for v in verdicts if v not in DECISIONS]
    if bad:
        raise ValueError(f"verdicts must be among {DECISIONS}, got {bad[0]!r}")
    if "not supported" in verdicts:
        return "not supported"
    return "supported" if verdicts and all(v == "supported" for v in verdicts) else "inconclusive"


def ks_pvalues(samples, reference) -> np.ndarray:
    r"""Two-sample Kolmogorov–Smirnov p-values of each row of ``samples`` against one ``reference`` sample.

    D = sup_t |F_row(t) − G(t)| (the empirical CDFs), and the p-value of Smirnov's asymptotic law,
    P(D_{n_e} ≥ D) with n_e = round(n₁ n₂ / (n₁ + n₂)) (``scipy.stats.kstwo``): the same as
    ``scipy.stats.ks_2samp(row, reference, method="asymp")``, for many rows at once (power by simulation).

    Parameters
    ----------
    samples : array_like, shape (n₁,) or (T, n₁)
    reference : array_like, shape (n₂,)

    Returns
    -------
    ndarray, shape () or (T,)
    """
    x = np.asarray(samples, dtype=float)
    ref = np.sort(np.asarray(reference, dtype=float).ravel())
    if x.ndim not in (1, 2) or x.shape[-1] < 1 or ref.shape[0] < 1:
        raise ValueError(f"samples must be (n,) or (T, n) and reference non-empty, got shapes {x.shape} and "
                         f"{ref.shape}")
    if not (np.isfinite(x).all() and np.isfinite(ref).all()):
        raise ValueError("samples and reference must be finite")
    rows = np.sort(np.atleast_2d(x), axis=1)
    n1, n2 = rows.shape[1], ref.shape[0]
    # F is constant between the row's points and G increases, so the sup is reached at a row point, at it or just
    # before it: compare F(x) with G(x) and F(x−) with G(x−) there
    f_at = np.stack([np.searchsorted(row, row, side="right") for row in rows]) / n1
    f_before = np.stack([np.searchsorted(row, row, side="left") for row in rows]) / n1
    g_at, g_before = np.searchsorted(ref, rows, side="right") / n2, np.searchsorted(ref, rows, side="left") / n2
    d = np.maximum(np.abs(f_at - g_at).max(axis=1), np.abs(f_before - g_before).max(axis=1))
    big, small = max(n1, n2), min(n1, n2)
    p = np.clip(stats.kstwo.sf(d, np.round(big * small / (big + small))), 0.0, 1.0)
    return p[0] if x.ndim == 1 else p
