"""Claim C1 through the experiment that the CLI and the figure use (``run_limit``).

SBPA's kept sample approaches ν_r at rate n^{-1/2} and stays away from µ; g_(k) → q_r.
Statistical tests with fixed seeds; each criterion is stated with its design false-failure
rate (the probability of failing on a correct implementation for a random seed).
"""

import numpy as np
import pytest
from scipy import stats

import theory_sim as ts


@pytest.fixture(scope="module")
def sbpa():
    cfg = ts.LimitConfig(process="gaussian-logistic", score="margin", r=0.1, ns=(1_000, 10_000, 100_000), reps=6,
                         seed=11)
    return ts.run_limit(cfg, progress=False)


def _slope_se(fit, dof):
    return (fit.ci_high - fit.slope) / stats.t.ppf(0.975, dof)


def test_gap_to_nu_r_shrinks_like_root_n(sbpa):
    """|slope + 1/2| ≤ t_{0.9995} · se: false-failure rate 0.1% at the design level."""
    fit = sbpa.fit_limit
    dof = len(sbpa.config.ns) * sbpa.config.reps - 2
    se = _slope_se(fit, dof)
    assert abs(fit.slope + 0.5) <= stats.t.ppf(0.9995, dof) * se, fit


def test_gap_to_mu_is_flat_and_large(sbpa):
    """Negative control: the same kept points measured against µ do not converge.

    The gap to µ at n = 10^5 is at least 10 times the gap to ν_r (observed ratio ≈ 50), and its
    log-log slope is within 0.05 of 0 (a limit distance does not decay).
    """
    last = sbpa.rows[-1]
    assert last.gap_mu > 10 * last.gap_limit
    assert abs(sbpa.fit_mu.slope) < 0.05


def test_threshold_converges_to_q_r(sbpa):
    """|g_(k) − q_r| ≤ 4.5 · sd(g_(k))/√reps at every n (false failure ≈ 7e-6 per n under normality).

    sd(g_(k)) ≈ √(r(1 − r)/n) / f(q_r) (the asymptotic law of an order statistic), with f the
    density of the margin at q_r from the exact CDF, by central differences.
    """
    mu = ts.make_process("gaussian-logistic", d=2)
    cdf = ts.score_cdf(mu, ts.make_score("margin", mu))
    q = sbpa.quantile.value
    h = 1e-5
    f = (cdf(q + h) - cdf(q - h)) / (2 * h)
    r = sbpa.config.r
    for row in sbpa.rows:
        sd = np.sqrt(r * (1 - r) / row.n) / f
        assert abs(row.threshold - q) <= 4.5 * sd / np.sqrt(sbpa.config.reps), row


def test_random_pruning_reaches_mu():
    """Random pruning: its limit is µ, so the gap to µ shrinks like n^{-1/2} (0.1% false failure)."""
    res = ts.run_limit(ts.LimitConfig(r=0.1, protocol="random", ns=(1_000, 10_000, 100_000), reps=6, seed=12),
                       progress=False)
    dof = 3 * 6 - 2
    assert abs(res.fit_mu.slope + 0.5) <= stats.t.ppf(0.9995, dof) * _slope_se(res.fit_mu, dof)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="ns must list at least one"):
        ts.LimitConfig(ns=())
    with pytest.raises(ValueError, match="strictly increasing"):
        ts.LimitConfig(ns=(1000, 100))
    with pytest.raises(ValueError, match="too small"):
        ts.LimitConfig(r=0.1, ns=(5,))
    with pytest.raises(ValueError, match="alpha is required"):
        ts.LimitConfig(protocol="ac")
    with pytest.raises(ValueError, match="alpha must be in"):
        ts.LimitConfig(protocol="ec", alpha=1.0)
    with pytest.raises(TypeError, match="config must be a LimitConfig"):
        ts.run_limit({"r": 0.1})
