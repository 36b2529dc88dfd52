r"""One statistics module: the t-interval, the log-log fit, power-law fits (docs/theory.md, "Statistics").

Every interval and slope the toolkit reports comes from here, so a criterion of the claim
register (:mod:`theory_sim.claims`) reads the same statistic that a figure draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["LoglogFit", "TInterval", "loglog_fit", "t_interval", "t_summary"]


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
    """Least-squares fit log y = a + slope · log n, with a t-based 95% CI on the slope."""

    slope: float
    ci_low: float
    ci_high: float
    intercept: float


def loglog_fit(n, y) -> LoglogFit:
    """Fit log y against log n (all points, replications included); needs ≥ 3 points, 2 distinct n.

    Ordinary least squares on every point; the CI is slope ± t_{m−2, 0.975} · se(slope) for m
    points. (:func:`fit_power_law` fits the means instead, weighted by their spread.)
    """
    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(y, float))
    res = stats.linregress(x, y)
    dof = x.shape[0] - 2
    half = stats.t.ppf(0.975, dof) * res.stderr if dof > 0 else math.inf
    return LoglogFit(float(res.slope), float(res.slope - half), float(res.slope + half), float(res.intercept))
