"""The three-outcome decisions of theory_sim.stats (docs/theory.md, "Statistics": equivalence).

Sources: the rule's definition (interval inside / outside the margin), and Monte Carlo draws of a normal or t
estimate whose fraction of outcomes must match the stated power and error rates. Each Monte Carlo comparison is a
binomial proportion over 4000 fixed-seed draws, accepted within 4.5 standard errors of the stated probability:
false-failure rate 7e-6 per comparison (normal approximation).
"""

import math

import numpy as np
import pytest
from scipy import stats

from theory_sim.stats import combine_decisions, equivalence_test, loglog_fit

DRAWS = 4000


def _outcomes(theta, se, target, margin, dof, seed):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(DRAWS) if dof is None else rng.standard_t(dof, DRAWS)
    return [equivalence_test(theta + se * e, se, target, margin, dof=dof).verdict for e in noise]


def _close(fraction, p):
    return abs(fraction - p) <= 4.5 * math.sqrt(max(p * (1 - p), 1e-4) / DRAWS)


@pytest.mark.parametrize("se,dof", [(0.03, None), (0.02, 5), (0.05, 30)])
def test_power_is_the_chance_of_supported_at_the_target(se, dof):
    verdicts = _outcomes(-0.5, se, -0.5, 0.1, dof, seed=1)
    power = equivalence_test(-0.5, se, -0.5, 0.1, dof=dof).power
    assert _close(np.mean([v == "supported" for v in verdicts]), power)


@pytest.mark.parametrize("dof", [None, 4])
def test_error_rates_at_the_margin_are_at_most_alpha(dof):
    # at |θ − target| = margin, "supported" has probability ≤ 5% (exactly 5% minus the other side's tail)
    verdicts = _outcomes(-0.4, 0.02, -0.5, 0.1, dof, seed=2)
    assert np.mean([v == "supported" for v in verdicts]) <= 0.05 + 4.5 * math.sqrt(0.05 * 0.95 / DRAWS)
    # and at θ = target, "not supported" has probability ≤ 5% (here far smaller)
    verdicts = _outcomes(-0.5, 0.06, -0.5, 0.1, dof, seed=3)
    assert np.mean([v == "not supported" for v in verdicts]) <= 0.05


def test_min_detectable_deviation_gives_not_supported_with_probability_080():
    d = equivalence_test(0.0, 0.02, 0.0, 0.1)
    verdicts = _outcomes(d.min_detectable, 0.02, 0.0, 0.1, None, seed=4)
    assert _close(np.mean([v == "not supported" for v in verdicts]), 0.8)


def test_a_noisier_run_is_never_more_often_supported():
    """The defect of 'the interval contains the value': a larger standard error passes more easily. Here the
    interval must lie inside the margin, so the outcome moves from supported to inconclusive, never back."""
    order = {"supported": 2, "inconclusive": 1, "not supported": 0}
    for estimate in (-0.55, -0.47, -0.41):
        ranks = [order[equivalence_test(estimate, se, -0.5, 0.1).verdict] for se in np.geomspace(1e-3, 1.0, 40)]
        assert ranks[0] == 2 and ranks[-1] == 1 and all(a >= b for a, b in zip(ranks, ranks[1:])), estimate
    # far outside: not supported while precise, inconclusive when noisy
    assert equivalence_test(0.0, 0.01, -0.5, 0.1).verdict == "not supported"
    assert equivalence_test(0.0, 1.0, -0.5, 0.1).verdict == "inconclusive"


def test_interval_and_formula():
    d = equivalence_test(1.0, 0.1, 1.05, 0.2, dof=7)
    c = stats.t.ppf(0.95, 7)
    assert (d.ci_low, d.ci_high) == pytest.approx((1.0 - c * 0.1, 1.0 + c * 0.1))
    assert d.power == pytest.approx(2 * stats.t.cdf(0.2 / 0.1 - c, 7) - 1)
    assert d.min_detectable == pytest.approx(0.2 + (c + stats.t.ppf(0.8, 7)) * 0.1)
    assert equivalence_test(1.0, 0.5, 1.0, 0.2).power == 0.0


def test_loglog_fit_reports_the_slope_standard_error():
    rng = np.random.default_rng(0)
    n = np.repeat([1e3, 1e4, 1e5], 4)
    fit = loglog_fit(n, n**-0.5 * np.exp(0.1 * rng.standard_normal(n.size)))
    assert fit.dof == n.size - 2
    assert fit.ci_high - fit.slope == pytest.approx(stats.t.ppf(0.975, fit.dof) * fit.stderr)


def test_combine_and_bad_input():
    assert combine_decisions(["supported", "supported"]) == "supported"
    assert combine_decisions(["supported", "inconclusive"]) == "inconclusive"
    assert combine_decisions(["inconclusive", "not supported"]) == "not supported"
    assert combine_decisions([]) == "inconclusive"
    with pytest.raises(ValueError, match="verdicts must be among"):
        combine_decisions(["maybe"])
    with pytest.raises(ValueError, match="margin"):
        equivalence_test(0.0, 0.1, 0.0, 0.0)
    with pytest.raises(ValueError, match="stderr"):
        equivalence_test(0.0, -0.1, 0.0, 0.1)
